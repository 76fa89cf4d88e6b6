/**
 * The auditor's view: what the indexer's GraphQL says must equal what the chain says. Used by the
 * end-to-end tests when the indexer workspace is in the checkout.
 */
import assert from "node:assert/strict";
import type { Address, Hex } from "viem";
import { providerStakingAbi, settlementAbi } from "@tollgate/protocol";
import { earningsOf, graphql, waitFor, type TestNet } from "./helpers.ts";

const lower = (a: string) => a.toLowerCase();

/** Waits until the indexer has committed every block up to the chain's head now. */
export async function indexerCaughtUp(net: TestNet): Promise<void> {
  const head = Number(await net.clients.publicClient.getBlockNumber({ cacheTime: 0 }));
  await waitFor(
    async () => {
      try {
        const d = await graphql<{ indexerStatus: { lastBlock: number } }>(net.manifest.graphqlUrl!, "{ indexerStatus { lastBlock } }");
        return d.indexerStatus.lastBlock >= head;
      } catch {
        return false; // not up yet
      }
    },
    60_000,
    `the indexer to reach block ${head}`,
  );
}

type Totals = { escrowed: string; staked: string; batches: number; claimed: string };
type ProviderView = { earnings: { claimable: string; vesting: string; claimed: string }; stake: { bonded: string } };

export async function assertIndexerMatchesChain(net: TestNet, o: { customer: Address; receiptIds: Hex[]; claimedBy: Address; claimed: bigint }): Promise<void> {
  await indexerCaughtUp(net);
  const m = net.manifest;
  const pc = net.clients.publicClient;
  const c = m.deployment.contracts;
  const read = <T>(address: Address, abi: unknown, functionName: string, args: unknown[] = []) => pc.readContract({ address, abi: abi as never, functionName, args } as never) as Promise<T>;

  const { totals } = await graphql<{ totals: Totals }>(m.graphqlUrl!, "{ totals { escrowed staked batches claimed } }");
  assert.equal(BigInt(totals.escrowed), await read<bigint>(c.settlement, settlementAbi, "totalEscrowed"), "escrowed");
  assert.equal(BigInt(totals.staked), await read<bigint>(c.providerStaking, providerStakingAbi, "totalStaked"), "staked");
  // Batch ids start at 0, so the next id is the number settled.
  assert.equal(BigInt(totals.batches), await read<bigint>(c.settlement, settlementAbi, "nextBatchId", [m.gatewayId]), "batches");
  assert.equal(BigInt(totals.claimed), o.claimed, "claimed");

  const { customer } = await graphql<{ customer: { available: string; pending: string } }>(m.graphqlUrl!, "query($a: String!) { customer(address: $a) { available pending } }", { a: lower(o.customer) });
  const [available, pending] = await read<readonly [bigint, bigint, number]>(c.settlement, settlementAbi, "accountOf", [o.customer]);
  assert.equal(BigInt(customer.available), available, "customer's available escrow");
  assert.equal(BigInt(customer.pending), pending);

  for (const p of m.providers) {
    const { provider } = await graphql<{ provider: ProviderView }>(m.graphqlUrl!, "query($a: String!) { provider(address: $a) { earnings { claimable vesting claimed } stake { bonded } } }", { a: lower(p.address) });
    const chain = await earningsOf(net, p.address);
    assert.equal(BigInt(provider.earnings.claimable) + BigInt(provider.earnings.vesting), chain.claimable + chain.vesting, `earnings of ${p.name}`);
    const [bonded] = await read<readonly [bigint]>(c.providerStaking, providerStakingAbi, "stakeOf", [p.address]);
    assert.equal(BigInt(provider.stake.bonded), bonded, `stake of ${p.name}`);
    assert.equal(BigInt(provider.earnings.claimed), lower(p.address) === lower(o.claimedBy) ? o.claimed : 0n, `claimed by ${p.name}`);
  }

  for (const id of o.receiptIds) {
    const { verifyReceipt: v } = await waitFor(
      async () => {
        const d = await graphql<{ verifyReceipt: { verdict: string; onChainRoot: string | null; gatewayId: number; batchId: string } }>(m.graphqlUrl!, "query($id: String!) { verifyReceipt(id: $id) { verdict onChainRoot gatewayId batchId } }", { id });
        return d.verifyReceipt.verdict === "UNKNOWN_RECEIPT" ? null : d;
      },
      30_000,
      `the indexer to know receipt ${id}`,
    );
    assert.equal(v.verdict, "VALID", `receipt ${id}`);
    const record = await read<{ receiptsRoot: Hex }>(c.settlement, settlementAbi, "batchOf", [v.gatewayId, BigInt(v.batchId)]);
    assert.equal(lower(v.onChainRoot!), lower(record.receiptsRoot));
  }
  const { batches } = await graphql<{ batches: { nodes: { batchId: string; status: string; statusReason: string | null }[] } }>(m.graphqlUrl!, "{ batches(first: 100) { nodes { batchId status statusReason } } }");
  for (const b of batches.nodes) {
    const settled = await waitFor(async () => {
      const d = await graphql<{ batch: { status: string; statusReason: string | null } }>(m.graphqlUrl!, "query($g: Int!, $b: BigInt!) { batch(gatewayId: $g, batchId: $b) { status statusReason } }", { g: m.gatewayId, b: b.batchId });
      return d.batch.status === "PENDING" ? null : d.batch;
    }, 30_000, `batch ${b.batchId} checked by the indexer`);
    assert.equal(settled.status, "VERIFIED", `batch ${b.batchId}: ${settled.statusReason ?? ""}`);
  }
}

export async function assertIndexerShowsSlaCredit(net: TestNet, o: { provider: Address; customer: Address; txHash: Hex; creditPaid: bigint; creditToCustomer: bigint }): Promise<void> {
  await indexerCaughtUp(net);
  const url = net.manifest.graphqlUrl!;
  const { slaReports } = await graphql<{ slaReports: { nodes: { txHash: string; creditPaid: string; p95TtftMs: number }[] } }>(url, "query($p: String!) { slaReports(first: 100, where: { provider: $p }) { nodes { txHash creditPaid p95TtftMs } } }", { p: lower(o.provider) });
  const report = slaReports.nodes.find((r) => lower(r.txHash) === lower(o.txHash));
  assert.ok(report, "the SLA report is in GraphQL");
  assert.equal(BigInt(report.creditPaid), o.creditPaid);
  assert.ok(report.p95TtftMs > 1_500);

  const { customer } = await graphql<{ customer: { slaCredits: { nodes: { amount: string; provider: string | null; txHash: string }[] } } }>(url, "query($a: String!) { customer(address: $a) { slaCredits(first: 100) { nodes { amount provider txHash } } } }", { a: lower(o.customer) });
  const credit = customer.slaCredits.nodes.find((n) => lower(n.txHash) === lower(o.txHash));
  assert.ok(credit, "the customer's SLA credit is in GraphQL");
  assert.equal(BigInt(credit.amount), o.creditToCustomer);
  assert.equal(lower(credit.provider ?? ""), lower(o.provider));

  const { slashes } = await graphql<{ slashes: { nodes: { paid: string; reason: string; txHash: string }[] } }>(url, "query($p: String!) { slashes(first: 100, where: { provider: $p }) { nodes { paid reason txHash } } }", { p: lower(o.provider) });
  const slash = slashes.nodes.find((s) => lower(s.txHash) === lower(o.txHash));
  assert.ok(slash, "the slash that paid it is in GraphQL");
  assert.equal(BigInt(slash.paid), o.creditPaid);
  assert.equal(slash.reason, "sla");
}
