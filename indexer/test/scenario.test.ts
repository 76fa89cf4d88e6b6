/**
 * The main scenario: every event type of the contracts, indexed from the deployment block, and the
 * GraphQL answers compared with the contracts' views. Runs on PGlite, and on the machine's
 * PostgreSQL in a schema of its own (dropped after).
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { providerRegistryAbi, providerStakingAbi, settlementAbi, slaCreditsAbi, receiptLeafHash, type Deployment } from "@tollgate/protocol";
import type { Abi } from "viem";
import { startDevnet, MODEL_A, type Devnet } from "./helpers/devnet.ts";
import { startGatewayStub, type GatewayStub } from "./helpers/gateway-stub.ts";
import { runScenario, GATEWAY_ID, type ScenarioResult } from "./helpers/scenario.ts";
import { indexerFor, head, gql } from "./helpers/indexer.ts";
import { reconcile } from "../src/reconcile.ts";
import type { Indexer } from "../src/index.ts";

const ALL_EVENTS = new Set(
  [providerRegistryAbi, providerStakingAbi, settlementAbi, slaCreditsAbi].flatMap((abi) => (abi as Abi).filter((i) => i.type === "event").map((i) => (i as { name: string }).name)),
);
ALL_EVENTS.delete("EIP712DomainChanged"); // emitted by no function of these contracts

const PG_URL = process.env.INDEXER_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

async function postgresReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

function scenarioSuite(name: string, dbOpts: () => Promise<{ opts: Record<string, unknown>; cleanup: () => Promise<void> } | null>) {
  describe(name, () => {
    let dn: Devnet;
    let gw: GatewayStub;
    let story: ScenarioResult;
    let ix: Indexer;
    let cleanup = async () => {};
    let skipped: string | null = null;

    before(async () => {
      const db = await dbOpts();
      if (!db) {
        skipped = "PostgreSQL is not reachable at " + PG_URL;
        return;
      }
      cleanup = db.cleanup;
      dn = await startDevnet();
      gw = await startGatewayStub(GATEWAY_ID);
      story = await runScenario(dn, gw);
      ix = await indexerFor(dn, { gateways: { [GATEWAY_ID]: gw.url }, ...db.opts });
      await ix.waitForBlock(await head(dn));
      await ix.verifyNow();
    });
    after(async () => {
      await ix?.stop();
      await gw?.stop();
      await dn?.stop();
      await cleanup();
    });

    test("every event type the contracts emit is indexed", async (t) => {
      if (skipped) return t.skip(skipped);
      const seen = new Set<string>();
      let after: string | null = null;
      do {
        const d: any = await gql(ix.url, `query($after: String) { events(first: 1000, after: $after) { nodes { name } pageInfo { endCursor hasNextPage } } }`, { after });
        d.events.nodes.forEach((n: { name: string }) => seen.add(n.name));
        after = d.events.pageInfo.hasNextPage ? d.events.pageInfo.endCursor : null;
      } while (after);
      const missing = [...ALL_EVENTS].filter((n) => !seen.has(n));
      assert.deepEqual(missing, [], `events never indexed: ${missing.join(", ")}`);
    });

    test("every balance equals the contracts' views (reconcile finds no difference)", async (t) => {
      if (skipped) return t.skip(skipped);
      const r = await reconcile({ graphqlUrl: ix.url, rpcUrl: dn.url, deployment: dn.deployment, client: dn.pc });
      assert.equal(r.customers >= 2 && r.providers === 2, true, `reconciled ${r.customers} customers, ${r.providers} providers`);
      assert.deepEqual(r.differences, []);
    });

    test("provider answers: profile, models and prices in force, workers, status, slashes, SLA", async (t) => {
      if (skipped) return t.skip(skipped);
      const [A, B] = story.providers;
      const d: any = await gql(ix.url, `query($a: String!, $b: String!) {
        a: provider(address: $a) { registered status profile { gpuCount region metadataURI } workers
             models { modelId name listed promptPrice completionPrice nextEffectiveAt delistAt priceHistory { kind } }
             earnings { claimable vesting claimed totalCredited totalRefunded } stakeHistory(first: 100) { nodes { kind } } }
        b: provider(address: $b) { status slashes { nodes { reason paid requested } } slaReports { nodes { creditPaid creditOwed creditBps totalSpend receiptSpend spendMatchesReceipts arrears { owed customers amounts } } }
             slaCreditsPaidTotal arrearsOwed stakeHistory(first: 100) { nodes { kind } } }
      }`, { a: A, b: B });
      assert.equal(d.a.registered, true);
      assert.equal(d.a.profile.gpuCount, 4, "ProfileUpdated is applied");
      assert.equal(d.a.profile.metadataURI, "ipfs://a2");
      assert.deepEqual(d.a.workers, [dn.wallet(6).account.address.toLowerCase()], "the revoked worker is gone");
      const reg = dn.deployment.contracts.providerRegistry;
      const staking = dn.deployment.contracts.providerStaking;
      for (const m of d.a.models) {
        const [p, c, listed] = (await dn.pc.readContract({ address: reg, abi: providerRegistryAbi, functionName: "priceInForce", args: [A!, m.modelId] })) as [number, number, boolean];
        assert.equal(m.listed, listed, `${m.name} listed`);
        if (!listed) continue; // a delisted model keeps showing its last price; the view answers 0
        assert.equal(m.promptPrice, String(p), `${m.name} prompt price in force`);
        assert.equal(m.completionPrice, String(c));
      }
      assert.equal(d.a.models.find((m: any) => m.modelId === MODEL_A).priceHistory.map((h: any) => h.kind).join(","), "LISTED,CHANGE_SCHEDULED");
      for (const [addr, status] of [[A, d.a.status], [B, d.b.status]] as const) {
        const active = await dn.pc.readContract({ address: staking, abi: providerStakingAbi, functionName: "isActive", args: [addr!] });
        assert.equal(status === "ACTIVE", active, `status of ${addr}`);
      }
      assert.equal(d.a.earnings.totalRefunded !== "0", true, "the upheld dispute took from A's earnings");
      assert.equal(d.a.earnings.claimed !== "0", true);
      assert.deepEqual(d.b.slashes.nodes.map((s: any) => s.reason), ["sla"]);
      assert.equal(d.b.slashes.nodes[0].paid, String(100_000_000n), "the whole 100 USDC stake was taken");
      assert.equal(d.b.slaReports.nodes[0].creditOwed, String(250_000_000n));
      assert.equal(d.b.slaCreditsPaidTotal, d.b.slaReports.nodes[0].creditPaid);
      // The 150 USDC unpaid, per customer pro rata (C1 60% of it, C2 40%), never collected.
      assert.deepEqual(d.b.slaReports.nodes[0].arrears, { owed: "150000000", customers: story.customers, amounts: ["90000000", "60000000"] });
      assert.equal(d.b.arrearsOwed, "150000000");
      // The gateway claimed 1,000 USDC of spend; the published receipts of the window hold far less: flagged.
      assert.equal(d.b.slaReports.nodes[0].spendMatchesReceipts, false);
      assert.ok(BigInt(d.b.slaReports.nodes[0].receiptSpend) < BigInt(d.b.slaReports.nodes[0].totalSpend));
      assert.deepEqual(d.b.stakeHistory.nodes.map((n: any) => n.kind).reverse(), ["STAKED", "JAILED", "SLASHED", "LOCKED", "STAKED", "UNJAILED"]);
      assert.deepEqual(d.a.stakeHistory.nodes.map((n: any) => n.kind).reverse(), ["STAKED", "LOCKED", "LOCKED", "UNLOCKED", "UNLOCKED", "UNBOND_STARTED", "REBONDED", "WITHDRAWN", "LOCKED", "UNLOCKED"]);
    });

    test("customer answers: deposits, withdrawals, charges, SLA credits, refunds and balance history", async (t) => {
      if (skipped) return t.skip(skipped);
      const [C1] = story.customers;
      const d: any = await gql(ix.url, `query($c: String!) { customer(address: $c) {
        available pending totalDeposited totalWithdrawn totalCharged totalSlaCredits totalRefunds arrearsDue
        deposits { nodes { amount payer } } withdrawals { nodes { kind amount } } charges(first: 100) { nodes { amount provider gatewayId batchId entryIndex } }
        slaCredits { nodes { amount provider } } balanceHistory(first: 1000) { nodes { kind amount available pending } } } }`, { c: C1 });
      const c = d.customer;
      assert.equal(c.totalDeposited, "300000000");
      assert.equal(c.deposits.nodes[0].payer, C1);
      assert.deepEqual(c.withdrawals.nodes.map((w: any) => w.kind).reverse(), ["WITHDRAWAL_REQUESTED", "WITHDRAWAL_CANCELED", "WITHDRAWAL_REQUESTED", "WITHDRAWN"]);
      assert.equal(c.totalWithdrawn, "30000000");
      assert.equal(c.totalSlaCredits, "60000000", "C1 spent 600 of 1,000 USDC in the window: 60% of the 100 USDC paid");
      assert.equal(c.arrearsDue, "90000000", "and is owed 60% of the 150 USDC B's stake could not pay");
      assert.equal(c.totalRefunds, "8000000");
      // The history's last balance is the balance, and every step adds up.
      const h = c.balanceHistory.nodes;
      assert.equal(h[h.length - 1].available, c.available);
      let total = 0n;
      for (const n of h) {
        const sign = ["DEPOSIT", "SLA_CREDIT", "DISPUTE_REFUND"].includes(n.kind) ? 1n : ["CHARGE", "WITHDRAWN"].includes(n.kind) ? -1n : 0n;
        total += sign * BigInt(n.amount);
        assert.equal(BigInt(n.available) + BigInt(n.pending), total, `balance after ${n.kind}`);
      }
      const charged = c.charges.nodes.reduce((s: bigint, n: any) => s + BigInt(n.amount), 0n);
      assert.equal(String(charged), c.totalCharged);
    });

    test("batches: entries with skips, receipts verified against the on-chain root, disputes", async (t) => {
      if (skipped) return t.skip(skipped);
      const d: any = await gql(ix.url, `{ batches(orderDirection: asc) { nodes { batchId status statusReason charged fees skipped receiptCount
        entries { index charge fee skipped skipReason } receipts(first: 100) { nodes { id } } disputes { id status refund fromFees fromEarnings } } } }`);
      const b = d.batches.nodes;
      assert.deepEqual(b.map((x: any) => x.status), ["VERIFIED", "VERIFIED", "VERIFIED"], JSON.stringify(b.map((x: any) => x.statusReason)));
      assert.deepEqual(b[0].entries.map((e: any) => e.skipReason), [null, null, 1, 2]);
      assert.equal(b[0].entries.reduce((s: bigint, e: any) => s + BigInt(e.charge), 0n), BigInt(b[0].charged));
      assert.equal(b[0].entries.reduce((s: bigint, e: any) => s + BigInt(e.fee), 0n), BigInt(b[0].fees));
      assert.equal(b[0].receipts.nodes.length, b[0].receiptCount);
      assert.deepEqual(b[0].disputes.map((x: any) => x.status), ["UPHELD", "REJECTED"]);
      assert.deepEqual(b[2].disputes.map((x: any) => [x.status, x.refund]), [["EXPIRED", "0"]]);
      assert.equal(b[0].disputes[0].refund, "8000000");
      assert.equal(BigInt(b[0].disputes[0].fromFees) + BigInt(b[0].disputes[0].fromEarnings), 8_000_000n);
    });

    test("disputes: the deadline equals the contract's resolveBy (the period set before they opened)", async (t) => {
      if (skipped) return t.skip(skipped);
      const d: any = await gql(ix.url, `{ disputes(orderDirection: asc) { nodes { id openedAt resolveBy status } } }`);
      const nodes = d.disputes.nodes;
      assert.equal(nodes.length, 3);
      for (const n of nodes) {
        const onChain = await dn.pc.readContract({ address: dn.deployment.contracts.settlement, abi: settlementAbi, functionName: "disputeOf", args: [BigInt(n.id)] });
        assert.equal(n.resolveBy, Number(onChain.resolveBy), `dispute ${n.id}`);
        // The scenario sets a one-day period before any dispute opens (the deployment's is a week).
        assert.equal(n.resolveBy - n.openedAt, 86_400, `dispute ${n.id}`);
      }
      // The expired one was closed at or after its deadline.
      const expired: any = await gql(ix.url, `{ dispute(id: "3") { status resolveBy resolvedAt } }`);
      assert.equal(expired.dispute.status, "EXPIRED");
      assert.ok(expired.dispute.resolvedAt >= expired.dispute.resolveBy);
    });

    test("verifyReceipt gives the leaf, a proof the contract accepts, and the verdict", async (t) => {
      if (skipped) return t.skip(skipped);
      const r = story.batches[1]!.receipts[0]!;
      const d: any = await gql(ix.url, `query($id: String!) { verifyReceipt(id: $id) { verdict leaf proof onChainRoot batchId gatewayId receipt { cost customer } } }`, { id: r.id });
      const v = d.verifyReceipt;
      assert.equal(v.verdict, "VALID");
      assert.equal(v.leaf, receiptLeafHash(r));
      assert.equal(v.onChainRoot, story.batches[1]!.root.toLowerCase());
      const onChain = await dn.pc.readContract({ address: dn.deployment.contracts.settlement, abi: settlementAbi, functionName: "verifyReceipt", args: [v.gatewayId, BigInt(v.batchId), v.leaf, v.proof] });
      assert.equal(onChain, true, "Settlement.verifyReceipt accepts the indexer's proof");
      const unknown: any = await gql(ix.url, `{ verifyReceipt(id: "0x${"ab".repeat(32)}") { verdict proof } }`);
      assert.equal(unknown.verifyReceipt.verdict, "UNKNOWN_RECEIPT");
    });

    test("cursor pagination walks every row once; aggregates agree with the rows", async (t) => {
      if (skipped) return t.skip(skipped);
      const full: any = await gql(ix.url, `{ ledger(first: 1000) { nodes { id amount kind timestamp } } }`);
      const ids: string[] = [];
      let after: string | null = null;
      do {
        const p: any = await gql(ix.url, `query($after: String) { ledger(first: 3, after: $after) { nodes { id } pageInfo { endCursor hasNextPage } } }`, { after });
        ids.push(...p.ledger.nodes.map((n: any) => n.id));
        after = p.ledger.pageInfo.hasNextPage ? p.ledger.pageInfo.endCursor : null;
      } while (after);
      assert.deepEqual(ids, full.ledger.nodes.map((n: any) => n.id));
      assert.equal(new Set(ids).size, ids.length);

      const [A] = story.providers;
      const to = Number(await dn.now()) + 1;
      const agg: any = await gql(ix.url, `query($a: String!, $from: Int!, $to: Int!) { providerPaid(provider: $a, from: $from, to: $to) { credited charged fees entries }
        provider(address: $a) { earnings { totalCredited } }
        dailySeries(from: $from, to: $to) { day date spend promptTokens completionTokens requests }
        totals { charged fees batches entries } }`, { a: A, from: to - 30 * 86_400, to });
      assert.equal(agg.providerPaid.credited, agg.provider.earnings.totalCredited);
      assert.equal(BigInt(agg.providerPaid.charged) - BigInt(agg.providerPaid.fees), BigInt(agg.providerPaid.credited));
      const spend = agg.dailySeries.reduce((s: bigint, p: any) => s + BigInt(p.spend), 0n);
      assert.equal(String(spend), agg.totals.charged);
      assert.match(agg.dailySeries[0].date, /^\d{4}-\d{2}-\d{2}$/);
      const now = Number(await dn.now());
      const empty: any = await gql(ix.url, `query($a: String!, $f: Int!, $t: Int!) { providerPaid(provider: $a, from: $f, to: $t) { credited entries } }`, { a: A, f: now + 10, t: now + 20 });
      assert.deepEqual(empty.providerPaid, { credited: "0", entries: 0 });
    });

    test("bad queries get clear GraphQL errors: depth, page size, address, cursor", async (t) => {
      if (skipped) return t.skip(skipped);
      const err = async (query: string) => {
        const res = await fetch(ix.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
        const body = (await res.json()) as { errors?: { message: string }[] };
        assert.ok(body.errors?.length, `expected an error for ${query}`);
        return body.errors![0]!.message;
      };
      let deep = "address";
      for (let i = 0; i < 6; i++) deep = `providers(first: 1) { nodes { ${deep} } }`;
      assert.match(await err(`{ ${deep} }`), /depth limit of 10/i);
      const wide = Array.from({ length: 12 }, (_, i) => `f${i}: events(first: 1000) { nodes { id name args blockNumber logIndex timestamp txHash contract } }`).join(" ");
      assert.match(await err(`{ ${wide} }`), /cost limit/i);
      assert.match(await err(`{ ledger(first: 5000) { nodes { id } } }`), /first.*1000/);
      assert.match(await err(`{ customer(address: "0x123") { available } }`), /address.*20-byte hex/);
      assert.match(await err(`{ ledger(after: "bogus") { nodes { id } } }`), /cursor/);
      assert.match(await err(`{ ${Array.from({ length: 20 }, (_, i) => `a${i}: totals { charged }`).join(" ")} }`), /alias/i);
    });
  });
}

scenarioSuite("scenario on PGlite", async () => ({ opts: {}, cleanup: async () => {} }));

scenarioSuite("scenario on PostgreSQL", async () => {
  if (!(await postgresReachable())) {
    console.log(`# skipping the PostgreSQL scenario: nothing answers at ${PG_URL}`);
    return null;
  }
  const schema = `idx_test_${process.pid}_${Date.now()}`;
  return {
    opts: { databaseUrl: PG_URL, dbSchema: schema },
    cleanup: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
});

void ({} as Deployment);
