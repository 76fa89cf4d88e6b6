/**
 * A reorg (evm_snapshot / evm_revert, then different blocks) leaves the indexer equal to the new
 * chain: the orphaned events and everything derived from them (balances, charges, batches) are gone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { receiptsFor, settle, startDevnet } from "./helpers/devnet.ts";
import { setupBasic, entry, submitSlaReport, GATEWAY_ID, USDC } from "./helpers/scenario.ts";
import { indexerFor, head, gql } from "./helpers/indexer.ts";
import { chainLogKeys, indexedLogKeys } from "./helpers/chain-truth.ts";
import { reconcile } from "../src/reconcile.ts";

test("a reorg rolls back orphaned events and derived state, then reapplies the canonical chain", async (t) => {
  const dn = await startDevnet();
  t.after(() => dn.stop());
  const { signer, gov, cust, A, C } = await setupBasic(dn);
  const ix = await indexerFor(dn, { pollMs: 100 });
  t.after(() => ix.stop());
  await ix.waitForBlock(await head(dn));

  const snapshot = await dn.rpc<string>("evm_snapshot");
  // Fork 1: a deposit and a settled batch, indexed.
  await dn.send(cust, "settlement", "deposit", [111n * USDC]);
  const e = [entry(C, A, 1, 10_000_000n, 10_000_000n)];
  await settle(dn, signer, gov, GATEWAY_ID, e, receiptsFor(e, dn.wallet(6).account.address, await dn.now(), "fork1"));
  const fork1Head = await head(dn);
  await ix.waitForBlock(fork1Head);
  const before: any = await gql(ix.url, `query($c: String!) { customer(address: $c) { available totalCharged } totals { batches } }`, { c: C.toLowerCase() });
  assert.equal(before.totals.batches, 1);

  // Fork 2 replaces it from the snapshot: another deposit, no batch, and a longer chain.
  await dn.rpc("evm_revert", [snapshot]);
  await dn.send(cust, "settlement", "deposit", [7n * USDC]);
  // Fork 2 must end up longer than fork 1, whatever fork 1's length was.
  await dn.mine(Math.max(1, fork1Head - (await head(dn))) + 4);
  const fork2Head = await head(dn);
  assert.ok(fork2Head > fork1Head);
  await ix.waitForBlock(fork2Head);

  const after: any = await gql(ix.url, `query($c: String!) { customer(address: $c) { available totalCharged totalDeposited } totals { batches entries } indexerStatus { reorgs lastBlock } }`, { c: C.toLowerCase() });
  assert.ok(after.indexerStatus.reorgs >= 1, "the reorg was detected");
  assert.equal(after.totals.batches, 0, "the orphaned batch is gone");
  assert.equal(after.totals.entries, 0);
  assert.equal(after.customer.totalCharged, "0");
  assert.equal(after.customer.totalDeposited, String(1_007n * USDC), "fork 1's deposit is gone, fork 2's is in");
  assert.deepEqual(await indexedLogKeys(ix.db), await chainLogKeys(dn, fork2Head), "the stored events are exactly the canonical chain's");
  const r = await reconcile({ graphqlUrl: ix.url, rpcUrl: dn.url, deployment: dn.deployment, client: dn.pc });
  assert.deepEqual(r.differences, []);
});

test("a reorg that orphans an arrears collection brings the report's arrears and their lists back", async (t) => {
  const dn = await startDevnet();
  t.after(() => dn.stop());
  const { signer, gov, prov, A, C } = await setupBasic(dn); // A has 500 USDC staked, 500 more approved
  // 25% of 4,000 USDC is owed; the 500 staked pay half: 500 stay owed to C.
  const key = await submitSlaReport(dn, signer, gov, A, [[C, 4_000n * USDC]], 3_600, 60);
  const ix = await indexerFor(dn, { pollMs: 100 });
  t.after(() => ix.stop());
  const query = `query($a: String!) { arrears(where: { open: true }) { nodes { reportKey customers amounts history { nodes { owed } } } } provider(address: $a) { arrearsOwed } }`;
  const read = async () => {
    await ix.waitForBlock(await head(dn));
    return (await gql(ix.url, query, { a: A })) as any;
  };
  const owing = await read();
  assert.deepEqual(owing.arrears.nodes, [{ reportKey: key, customers: [C.toLowerCase()], amounts: [String(500n * USDC)], history: { nodes: [{ owed: String(500n * USDC) }] } }]);

  const snapshot = await dn.rpc<string>("evm_snapshot");
  // Fork 1: A tops up and a keeper collects the arrears with the lists GraphQL gave.
  const collect = async () => {
    const n = (await read()).arrears.nodes[0];
    await dn.send(prov, "providerStaking", "stake", [500n * USDC]);
    await dn.send(gov, "slaCredits", "collectArrears", [n.reportKey, n.customers, n.amounts.map(BigInt)]);
  };
  await collect();
  const fork1Head = await head(dn);
  const paid = await read();
  assert.deepEqual([paid.arrears.nodes, paid.provider.arrearsOwed], [[], "0"]);

  // Fork 2 from the snapshot, longer, without the collection: the arrears are owed again.
  await dn.rpc("evm_revert", [snapshot]);
  await dn.mine(Math.max(1, fork1Head - (await head(dn))) + 4);
  const back = await read();
  assert.deepEqual(back.arrears.nodes, owing.arrears.nodes, "the orphaned paid-off change is gone, the lists are the shortfall's");
  assert.equal(back.provider.arrearsOwed, String(500n * USDC));
  // The lists served after the reorg are the canonical chain's: collecting with them works.
  await collect();
  assert.deepEqual((await read()).arrears.nodes, []);
  const r = await reconcile({ graphqlUrl: ix.url, rpcUrl: dn.url, deployment: dn.deployment, client: dn.pc });
  assert.deepEqual(r.differences, []);
});
