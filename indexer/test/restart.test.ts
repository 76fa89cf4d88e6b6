/**
 * Killing the indexer (SIGKILL, mid-backfill) and starting it again on the same data directory
 * resumes from the last committed block: no gap, no duplicate. Also: the CLI's one ready line, and
 * one clear message per configuration mistake.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDevnet } from "./helpers/devnet.ts";
import { setupBasic, USDC } from "./helpers/scenario.ts";
import { head, gql, indexerFor } from "./helpers/indexer.ts";
import { chainLogKeys, indexedLogKeys } from "./helpers/chain-truth.ts";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;

function startCli(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI], { env: { ...process.env, LOG_LEVEL: "warn", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "", err = "";
    const timer = setTimeout(() => reject(new Error(`CLI did not start: ${err.slice(-500)}`)), 120_000);
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /^tollgate-indexer listening on (http:\/\/\S+\/graphql)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    child.once("exit", (code) => reject(new Error(`CLI exited ${code}: ${err.slice(-500)}`)));
  });
}

test("SIGKILL mid-backfill, restart on the same data directory: no gaps, no duplicates", async (t) => {
  const dn = await startDevnet();
  t.after(() => dn.stop());
  const { cust } = await setupBasic(dn);
  // A history spread over ~3,000 blocks, indexed 40 blocks per range: many commits to die between.
  for (let i = 0; i < 30; i++) {
    await dn.send(cust, "settlement", "deposit", [BigInt(i + 1) * USDC]);
    await dn.mine(100);
  }
  const target = await head(dn);
  const dir = mkdtempSync(join(tmpdir(), "tollgate-indexer-restart-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const manifest = join(dir, "devnet.json");
  writeFileSync(manifest, JSON.stringify({ deployment: dn.deployment }));
  const env = { INDEXER_RPC_URL: dn.url, INDEXER_DEPLOYMENT: manifest, INDEXER_DATA_DIR: join(dir, "db"), PORT: "0", INDEXER_POLL_MS: "100", INDEXER_MAX_BLOCK_RANGE: "40" };

  const first = await startCli(env);
  let at = -1;
  while (at < dn.deployment.deployBlock + 1000) {
    at = ((await gql(first.url, `{ indexerStatus { lastBlock } }`)) as any).indexerStatus.lastBlock;
    await new Promise((r) => setTimeout(r, 20));
  }
  first.child.kill("SIGKILL");
  await new Promise((r) => first.child.once("exit", r));
  assert.ok(at < target, `killed mid-backfill (at block ${at} of ${target})`);

  const second = await startCli(env);
  t.after(() => second.child.kill("SIGTERM"));
  const resumed = ((await gql(second.url, `{ indexerStatus { lastBlock } }`)) as any).indexerStatus.lastBlock;
  assert.ok(resumed >= at, `resumed at ${resumed}, not from scratch`);
  let status: any;
  do {
    status = ((await gql(second.url, `{ indexerStatus { lastBlock eventCount } }`)) as any).indexerStatus;
    await new Promise((r) => setTimeout(r, 100));
  } while (status.lastBlock < target);
  const expected = await chainLogKeys(dn, target);
  assert.equal(status.eventCount, expected.length);
  // Read the stored rows through a second, read-only look at the same data: stop the CLI first.
  second.child.kill("SIGTERM");
  const code = await new Promise((r) => second.child.once("exit", r));
  assert.equal(code, 0, "SIGTERM stops cleanly");
  const ix = await indexerFor(dn, { dataDir: join(dir, "db") });
  t.after(() => ix.stop());
  assert.deepEqual(await indexedLogKeys(ix.db), expected);
  const d: any = await gql(ix.url, `query($c: String!) { customer(address: $c) { totalDeposited deposits(first: 1000) { nodes { amount } } } }`, { c: cust.account.address.toLowerCase() });
  assert.equal(d.customer.deposits.nodes.length, 31, "every deposit once");
  assert.equal(d.customer.totalDeposited, String(1_000n * USDC + 465n * USDC));
});

test("the CLI names every configuration mistake by its variable", async () => {
  const child = spawn(process.execPath, [CLI], {
    env: { PATH: process.env.PATH, INDEXER_RPC_URL: "not-a-url", INDEXER_GATEWAYS: "1=http://x,oops", PORT: "eighty", INDEXER_DEPLOYMENT: "/nonexistent.json" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "", out = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  const code = await new Promise((r) => child.once("exit", r));
  assert.equal(code, 2);
  assert.equal(out, "", "nothing on stdout");
  for (const v of ["INDEXER_DEPLOYMENT", "INDEXER_GATEWAYS", "PORT", "INDEXER_RPC_URL"]) assert.match(err, new RegExp(`- ${v}: `), `${v} is named`);
});
