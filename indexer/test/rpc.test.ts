/**
 * The RPC client against a hostile provider: a proxy in front of anvil that refuses wide
 * eth_getLogs ranges ("more than 10000 results", like Alchemy/Infura) and answers every third
 * request with HTTP 429. The logs must still come back complete and in order.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Rpc } from "../src/chain/rpc.ts";
import { contractAddresses } from "../src/chain/contracts.ts";
import { startDevnet } from "./helpers/devnet.ts";
import { setupBasic, USDC } from "./helpers/scenario.ts";

test("eth_getLogs splits refused ranges and retries 429s; nothing is lost or repeated", async (t) => {
  const dn = await startDevnet();
  t.after(() => dn.stop());
  const { cust } = await setupBasic(dn);
  for (let i = 0; i < 12; i++) {
    await dn.send(cust, "settlement", "deposit", [USDC]);
    await dn.mine(10);
  }
  let requests = 0, refused = 0, limited = 0;
  const proxy = createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    requests++;
    if (requests % 3 === 0) {
      limited++;
      res.writeHead(429).end("slow down");
      return;
    }
    const msg = JSON.parse(body);
    const calls = Array.isArray(msg) ? msg : [msg];
    const wide = calls.find((c: any) => c.method === "eth_getLogs" && Number(c.params[0].toBlock) - Number(c.params[0].fromBlock) > 20);
    if (wide) {
      refused++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: wide.id, error: { code: -32005, message: "query returned more than 10000 results" } }));
      return;
    }
    const upstream = await fetch(dn.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
  t.after(() => new Promise<void>((r) => proxy.close(() => r())));
  const rpc = new Rpc(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, undefined, { baseDelayMs: 5 });
  const head = Number(await dn.rpc<string>("eth_blockNumber"));
  const addresses = Object.values(contractAddresses(dn.deployment));
  const got = await rpc.getLogs(addresses, dn.deployment.deployBlock, head);
  const want = await dn.rpc<any[]>("eth_getLogs", [{ address: addresses, fromBlock: `0x${dn.deployment.deployBlock.toString(16)}`, toBlock: `0x${head.toString(16)}` }]);
  assert.ok(refused > 0 && limited > 0, `the proxy refused ${refused} ranges and rate-limited ${limited} requests`);
  assert.deepEqual(got.map((l) => `${l.blockNumber}:${l.logIndex}`), want.map((l) => `${l.blockNumber}:${l.logIndex}`));
});
