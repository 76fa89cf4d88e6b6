/**
 * Reconciliation: every account's balances as the indexer serves them (GraphQL) against the
 * contracts' own views, read at the indexer's last committed block. Used by
 * `npm run indexer:reconcile` and by the tests, so both check the same thing.
 */
import { createPublicClient, http, type Address, type PublicClient } from "viem";
import { providerStakingAbi, settlementAbi, slaCreditsAbi, type Deployment } from "@tollgate/protocol";

export type Difference = { account: string; field: string; indexer: string; chain: string };
export type ReconcileResult = { block: number; customers: number; providers: number; differences: Difference[] };

export async function gql<T = any>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(`GraphQL error: ${body.errors.map((e) => e.message).join("; ")}`);
  return body.data as T;
}

async function all<T>(url: string, query: string, pick: (d: any) => { nodes: T[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } }): Promise<T[]> {
  const out: T[] = [];
  let after: string | null = null;
  for (;;) {
    const p = pick(await gql(url, query, { after }));
    out.push(...p.nodes);
    if (!p.pageInfo.hasNextPage) return out;
    after = p.pageInfo.endCursor;
  }
}

const CUSTOMERS = `query($after: String) { customers(first: 1000, after: $after) { nodes { address available pending unlockAt } pageInfo { endCursor hasNextPage } } }`;
const PROVIDERS = `query($after: String) { providers(first: 200, after: $after) {
  nodes { address stake { bonded unbonding unlockAt jailed locked withdrawable } earnings { claimable vesting nextVestAt } arrearsOwed }
  pageInfo { endCursor hasNextPage } } }`;
const STATUS = `{ indexerStatus { lastBlock } totals { escrowed staked } }`;

async function snapshot(url: string) {
  const before = (await gql(url, STATUS)) as { indexerStatus: { lastBlock: number }; totals: { escrowed: string; staked: string } };
  const customers = await all<any>(url, CUSTOMERS, (d) => d.customers);
  const providers = await all<any>(url, PROVIDERS, (d) => d.providers);
  const after = (await gql(url, STATUS)) as typeof before;
  return { stable: before.indexerStatus.lastBlock === after.indexerStatus.lastBlock, block: after.indexerStatus.lastBlock, totals: after.totals, customers, providers };
}

export async function reconcile(opts: { graphqlUrl: string; rpcUrl: string; deployment: Deployment; client?: PublicClient }): Promise<ReconcileResult> {
  const client = opts.client ?? (createPublicClient({ transport: http(opts.rpcUrl) }) as PublicClient);
  // The indexer may advance while we read it; take a snapshot during which it did not.
  let snap = await snapshot(opts.graphqlUrl);
  for (let i = 0; i < 10 && !snap.stable; i++) snap = await snapshot(opts.graphqlUrl);
  if (!snap.stable) throw new Error("the indexer kept advancing during reconciliation: run it again when the chain is quieter");
  const blockNumber = BigInt(snap.block);
  const { settlement, providerStaking, slaCredits } = opts.deployment.contracts;
  const read = <T>(address: Address, abi: any, functionName: string, args: unknown[] = []) =>
    client.readContract({ address, abi, functionName, args, blockNumber }) as Promise<T>;
  const diffs: Difference[] = [];
  const cmp = (account: string, field: string, indexer: unknown, chain: unknown) => {
    if (String(indexer) !== String(chain)) diffs.push({ account, field, indexer: String(indexer), chain: String(chain) });
  };
  for (const c of snap.customers) {
    const [available, pending, unlockAt] = await read<readonly [bigint, bigint, number]>(settlement, settlementAbi, "accountOf", [c.address]);
    cmp(c.address, "available", c.available, available);
    cmp(c.address, "pending", c.pending, pending);
    cmp(c.address, "unlockAt", c.unlockAt, unlockAt);
  }
  for (const p of snap.providers) {
    const [bonded, unbonding, unlockAt, jailed, locked] = await read<readonly [bigint, bigint, number, boolean, bigint]>(providerStaking, providerStakingAbi, "stakeOf", [p.address]);
    cmp(p.address, "stake.bonded", p.stake.bonded, bonded);
    cmp(p.address, "stake.unbonding", p.stake.unbonding, unbonding);
    cmp(p.address, "stake.unlockAt", p.stake.unlockAt, unlockAt);
    cmp(p.address, "stake.jailed", p.stake.jailed, jailed);
    cmp(p.address, "stake.locked", p.stake.locked, locked);
    cmp(p.address, "stake.withdrawable", p.stake.withdrawable, await read<bigint>(providerStaking, providerStakingAbi, "withdrawable", [p.address]));
    const [claimable, vesting, nextVestAt] = await read<readonly [bigint, bigint, number]>(settlement, settlementAbi, "earningsOf", [p.address]);
    cmp(p.address, "earnings.claimable", p.earnings.claimable, claimable);
    cmp(p.address, "earnings.vesting", p.earnings.vesting, vesting);
    cmp(p.address, "earnings.nextVestAt", p.earnings.nextVestAt ?? 0, nextVestAt);
    cmp(p.address, "arrearsOwed", p.arrearsOwed, await read<bigint>(slaCredits, slaCreditsAbi, "arrearsOf", [p.address]));
  }
  cmp("protocol", "totalEscrowed", snap.totals.escrowed, await read<bigint>(settlement, settlementAbi, "totalEscrowed"));
  cmp("protocol", "totalStaked", snap.totals.staked, await read<bigint>(providerStaking, providerStakingAbi, "totalStaked"));
  return { block: snap.block, customers: snap.customers.length, providers: snap.providers.length, differences: diffs };
}
