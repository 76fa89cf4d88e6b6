/**
 * The gateway's signer sends one transaction at a time: the batch poster, the SLA reporter and the
 * arrears keeper may each want to send at the same moment, and viem reads the pending nonce while
 * preparing each transaction.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { createWalletClient, erc20Abi, http, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { oneAtATime } from "../src/shared/one-at-a-time.ts";
import { startEnv, startGateway, type Env } from "./helpers/stack.ts";
import type { Gateway } from "../src/server.ts";

test("a lane runs tasks one at a time, in order, and a failure does not stop the next", async () => {
  const lane = oneAtATime();
  const log: string[] = [];
  const task = (name: string, ms: number, fail = false) => () =>
    new Promise<string>((resolve, reject) => {
      log.push(`start ${name}`);
      setTimeout(() => {
        log.push(`end ${name}`);
        if (fail) reject(new Error(name));
        else resolve(name);
      }, ms);
    });
  const results = await Promise.allSettled([lane(task("a", 30)), lane(task("b", 1, true)), lane(task("c", 1))]);
  assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
});

let env: Env;
let gw: Gateway;
before(async () => {
  env = await startEnv({ providers: 1 });
  ({ gw } = await startGateway(env));
});
after(async () => {
  await gw?.close();
  await env?.stop();
});

// Three harmless transactions (USDC approvals) from the gateway's signer at the same moment.
const approvals = (spenders: Address[]) => spenders.map((spender, i) => ({ address: env.contracts.usdc, abi: erc20Abi, functionName: "approve" as const, args: [spender, BigInt(i + 1)] as const, chain: null }));
const SPENDERS: Address[] = ["0x000000000000000000000000000000000000dead", "0x000000000000000000000000000000000000beef", "0x000000000000000000000000000000000000cafe"];

test("sent at the same moment without a lane, the signer's transactions take the same nonce and are refused", async () => {
  const raw = createWalletClient({ account: privateKeyToAccount(env.gatewaySignerKey), transport: http(env.chain.url) });
  const sent = await Promise.allSettled(approvals(SPENDERS).map((a) => raw.writeContract(a)));
  assert.ok(sent.some((r) => r.status === "rejected"), "the chain took every send: this test no longer shows the race the lane prevents");
});

test("the gateway's wallet sends them one after the other, and every one is mined", async () => {
  const { walletClient, publicClient, signer } = gw.ctx;
  const hashes = await Promise.all(approvals(SPENDERS).map((a) => walletClient.writeContract({ ...a, account: signer })));
  const receipts = await Promise.all(hashes.map((hash) => publicClient.waitForTransactionReceipt({ hash })));
  assert.deepEqual(receipts.map((r) => r.status), ["success", "success", "success"]);
  for (const [i, spender] of SPENDERS.entries()) {
    assert.equal(await publicClient.readContract({ address: env.contracts.usdc, abi: erc20Abi, functionName: "allowance", args: [signer.address, spender] }), BigInt(i + 1));
  }
});
