/**
 * SLA arrears on a real chain: reports whose credit the provider's stake cannot pay leave arrears;
 * GraphQL serves who is owed what, and a keeper calls SlaCredits.collectArrears with exactly the
 * lists GraphQL gave (a partial collection, then full ones) until GraphQL shows nothing owed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Hex } from "viem";
import { slaCreditsAbi } from "@tollgate/protocol";
import { startDevnet, type Devnet, type Wallet } from "./helpers/devnet.ts";
import { setupBasic, submitSlaReport, USDC } from "./helpers/scenario.ts";
import { indexerFor, head, gql } from "./helpers/indexer.ts";
import { reconcile } from "../src/reconcile.ts";
import type { Indexer } from "../src/index.ts";

type ArrearsNode = { reportKey: Hex; owed: string; customers: string[]; amounts: string[] };

const STATE = `query($a: String!, $c1: String!, $c2: String!) {
  open: arrears(where: { provider: $a, open: true }) { nodes { reportKey owed customers amounts } }
  provider(address: $a) { arrearsOwed slaReports { nodes { reportKey creditOwed creditPaid arrears { owed customers amounts } } } }
  c1: customer(address: $c1) { arrearsDue totalSlaCredits }
  c2: customer(address: $c2) { arrearsDue totalSlaCredits }
}`;

const usdc = (n: number) => String(BigInt(n) * USDC);

async function synced(dn: Devnet, ix: Indexer, vars: Record<string, string>) {
  await ix.waitForBlock(await head(dn));
  return gql(ix.url, STATE, vars);
}

/** What a keeper does: collectArrears with the lists GraphQL served, unchanged. */
async function collect(dn: Devnet, keeper: Wallet, n: ArrearsNode): Promise<void> {
  await dn.send(keeper, "slaCredits", "collectArrears", [n.reportKey, n.customers, n.amounts.map(BigInt)]);
}

async function reportOwedOnChain(dn: Devnet, key: Hex): Promise<string> {
  const [, owed] = await dn.pc.readContract({ address: dn.deployment.contracts.slaCredits, abi: slaCreditsAbi, functionName: "arrearsOfReport", args: [key] });
  return String(owed);
}

async function topUp(dn: Devnet, gov: Wallet, prov: Wallet, amount: bigint): Promise<void> {
  await dn.send(gov, "usdc", "mint", [prov.account.address, amount]);
  await dn.send(prov, "usdc", "approve", [dn.deployment.contracts.providerStaking, amount]);
  await dn.send(prov, "providerStaking", "stake", [amount]);
}

test("arrears: short reports, the lists GraphQL serves, collected with them down to zero", async (t) => {
  const dn = await startDevnet();
  t.after(() => dn.stop());
  const { gov, prov, signer, A, C } = await setupBasic(dn); // A has 500 USDC staked
  const C2 = dn.wallet(4).account.address;
  const keeper = dn.wallet(8);
  // Report 1 owes 25% of 4,000 = 1,000 USDC: the 500 staked pay half pro rata, 300 + 200 stay owed.
  const k1 = await submitSlaReport(dn, signer, keeper, A, [[C, 2_400n * USDC], [C2, 1_600n * USDC]], 7_200, 3_700);
  // Report 2 owes 25% of 400 = 100 USDC with no stake left: all of it stays owed.
  const k2 = await submitSlaReport(dn, signer, keeper, A, [[C2, 400n * USDC]], 3_600, 60);
  const ix = await indexerFor(dn);
  t.after(() => ix.stop());
  const vars = { a: A.toLowerCase(), c1: C.toLowerCase(), c2: C2.toLowerCase() };
  const [c1, c2] = [vars.c1, vars.c2];

  let d: any = await synced(dn, ix, vars);
  assert.deepEqual(d.open.nodes, [
    { reportKey: k2, owed: usdc(100), customers: [c2], amounts: [usdc(100)] },
    { reportKey: k1, owed: usdc(500), customers: [c1, c2], amounts: [usdc(300), usdc(200)] },
  ], "newest report first, each with its ArrearsSet lists");
  for (const n of d.open.nodes) assert.equal(n.owed, await reportOwedOnChain(dn, n.reportKey), `arrearsOfReport(${n.reportKey})`);
  assert.equal(d.provider.arrearsOwed, usdc(600));
  assert.deepEqual(d.provider.slaReports.nodes.map((r: any) => [r.reportKey, r.creditOwed, r.creditPaid, r.arrears.owed]), [
    [k2, usdc(100), "0", usdc(100)],
    [k1, usdc(1_000), usdc(500), usdc(500)],
  ]);
  assert.deepEqual([d.c1.arrearsDue, d.c2.arrearsDue], [usdc(300), usdc(300)], "C2 is owed by both reports");
  assert.deepEqual((await reconcile({ graphqlUrl: ix.url, rpcUrl: dn.url, deployment: dn.deployment, client: dn.pc })).differences, []);

  // Filters and pages: C1 is named by report 1 only; one report per page walks both.
  const byC1: any = await gql(ix.url, `query($c: String!) { arrears(where: { customer: $c }) { nodes { reportKey } } }`, { c: C });
  assert.deepEqual(byC1.arrears.nodes.map((n: any) => n.reportKey), [k1]);
  const p1: any = await gql(ix.url, `{ arrears(first: 1, orderDirection: asc) { nodes { reportKey } pageInfo { endCursor hasNextPage } } }`);
  const p2: any = await gql(ix.url, `query($after: String) { arrears(first: 1, orderDirection: asc, after: $after) { nodes { reportKey } pageInfo { hasNextPage } } }`, { after: p1.arrears.pageInfo.endCursor });
  assert.deepEqual([p1.arrears.nodes[0].reportKey, p1.arrears.pageInfo.hasNextPage, p2.arrears.nodes[0].reportKey, p2.arrears.pageInfo.hasNextPage], [k1, true, k2, false]);

  // A tops up 200: collecting report 1 pays 200 of its 500 pro rata and publishes new lists.
  await topUp(dn, gov, prov, 200n * USDC);
  await collect(dn, keeper, d.open.nodes[1]);
  d = await synced(dn, ix, vars);
  const r1 = d.open.nodes.find((n: ArrearsNode) => n.reportKey === k1);
  assert.deepEqual(r1, { reportKey: k1, owed: usdc(300), customers: [c1, c2], amounts: [usdc(180), usdc(120)] });
  assert.equal(r1.owed, await reportOwedOnChain(dn, k1));
  assert.equal(d.provider.arrearsOwed, usdc(400));
  assert.deepEqual([d.c1.arrearsDue, d.c2.arrearsDue], [usdc(180), usdc(220)]);

  // A tops up 400: the latest lists of each report (from GraphQL again) pay both off.
  await topUp(dn, gov, prov, 400n * USDC);
  await collect(dn, keeper, r1);
  await collect(dn, keeper, d.open.nodes.find((n: ArrearsNode) => n.reportKey === k2));
  d = await synced(dn, ix, vars);
  assert.deepEqual(d.open.nodes, [], "nothing left to collect");
  assert.equal(d.provider.arrearsOwed, "0");
  assert.deepEqual(d.provider.slaReports.nodes.map((r: any) => r.arrears), [
    { owed: "0", customers: [], amounts: [] },
    { owed: "0", customers: [], amounts: [] },
  ]);
  assert.deepEqual([d.c1.arrearsDue, d.c2.arrearsDue], ["0", "0"]);
  assert.deepEqual([d.c1.totalSlaCredits, d.c2.totalSlaCredits], [usdc(600), usdc(500)], "each customer got its whole credit: a quarter of its spend");
  assert.deepEqual((await reconcile({ graphqlUrl: ix.url, rpcUrl: dn.url, deployment: dn.deployment, client: dn.pc })).differences, []);

  // The paid-off reports are still found, with every change in order.
  const done: any = await gql(ix.url, `query($c: String!) { customer(address: $c) { arrears(open: false) { nodes { reportKey history { nodes { owed } } } } } }`, { c: C2 });
  assert.deepEqual(done.customer.arrears.nodes.map((n: any) => [n.reportKey, n.history.nodes.map((h: any) => h.owed)]), [
    [k2, [usdc(100), "0"]],
    [k1, [usdc(500), usdc(300), "0"]],
  ]);
});
