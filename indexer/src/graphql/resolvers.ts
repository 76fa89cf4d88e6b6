/** Resolvers of schema.graphql. Everything is answered from the indexer's database. */
import { GraphQLScalarType, Kind } from "graphql";
import { proofOfLeaf, verifyReceiptProof, receiptLeafHash, type Receipt } from "@tollgate/protocol";
import type { TreeCache } from "./tree-cache.ts";
import { big, type Db, type Row } from "../db/db.ts";
import { earningsAt, type EarningsState } from "../sync/state.ts";
import { badInput, page, type PageArgs } from "./pagination.ts";
import type { FollowerStats } from "../sync/follower.ts";

export type GqlContext = { db: Db; stats: FollowerStats; chainId: number; disputeWindow: bigint; initialMinStake: bigint; trees: TreeCache };
type Args = Record<string, any>;

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;
function address(v: unknown, name = "address"): string {
  if (typeof v !== "string" || !ADDRESS.test(v)) throw badInput(`\`${name}\` must be a 0x-prefixed 20-byte hex address, got ${JSON.stringify(v)}`);
  return v.toLowerCase();
}
function hash32(v: unknown, name: string): string {
  if (typeof v !== "string" || !HASH.test(v)) throw badInput(`\`${name}\` must be 32 bytes of 0x-prefixed hex, got ${JSON.stringify(v)}`);
  return v.toLowerCase();
}
function uintArg(v: unknown, name: string): string {
  if (typeof v !== "string" || !/^\d{1,30}$/.test(v)) throw badInput(`\`${name}\` must be a non-negative integer string, got ${JSON.stringify(v)}`);
  return v;
}

export const BigIntScalar = new GraphQLScalarType({
  name: "BigInt",
  description: "An integer of any size as a decimal string",
  serialize: (v) => String(v),
  parseValue: (v) => {
    if ((typeof v === "string" && /^\d+$/.test(v)) || (typeof v === "number" && Number.isSafeInteger(v) && v >= 0)) return String(v);
    throw badInput(`BigInt must be a non-negative integer (as a string), got ${JSON.stringify(v)}`);
  },
  parseLiteral: (ast) => {
    if ((ast.kind === Kind.STRING || ast.kind === Kind.INT) && /^\d+$/.test(ast.value)) return ast.value;
    throw badInput("BigInt must be a non-negative integer (as a string)");
  },
});

/** "Now" for time-dependent views: the timestamp of the last indexed block. */
async function now(ctx: GqlContext): Promise<bigint> {
  const r = await ctx.db.query(`SELECT timestamp FROM blocks ORDER BY block_number DESC LIMIT 1`);
  return r[0] ? big(r[0].timestamp) : BigInt(Math.floor(Date.now() / 1000));
}

async function minStake(ctx: GqlContext): Promise<bigint> {
  const r = await ctx.db.query(`SELECT args->>'minStake' AS v FROM events WHERE contract = 'ProviderStaking' AND name = 'MinStakeSet' ORDER BY block_number DESC, log_index DESC LIMIT 1`);
  return r[0] ? big(r[0].v) : ctx.initialMinStake;
}

// ------------------------------------------------------------------ row mappers

const ledgerNode = (r: Row) => ({
  id: `${r.block_number}-${r.log_index}-${r.sub}`, kind: r.kind, customer: r.customer, amount: r.amount, available: r.available, pending: r.pending,
  payer: r.payer, provider: r.provider, gatewayId: r.gateway_id, batchId: r.batch_id, entryIndex: r.entry_index, disputeId: r.dispute_id,
  blockNumber: Number(r.block_number), logIndex: r.log_index, timestamp: Number(r.timestamp), txHash: r.tx_hash,
});
const entryNode = (r: Row) => ({
  gatewayId: r.gateway_id, batchId: r.batch_id, index: r.idx, customer: r.customer, provider: r.provider, model: r.model, requests: r.requests,
  promptTokens: r.prompt_tokens, completionTokens: r.completion_tokens, promptPrice: r.prompt_price, completionPrice: r.completion_price,
  charge: r.charge, fee: r.fee, skipped: r.skip_reason !== null, skipReason: r.skip_reason, settledAt: Number(r.timestamp),
});
const receiptNode = (r: Row) => ({
  id: r.id, gatewayId: r.gateway_id, batchId: r.batch_id, leafHash: r.leaf_hash, customer: r.customer, provider: r.provider, worker: r.worker, model: r.model,
  promptTokens: r.prompt_tokens, cachedTokens: r.cached_tokens, completionTokens: r.completion_tokens, reasoningTokens: r.reasoning_tokens,
  promptPrice: r.prompt_price, completionPrice: r.completion_price, cost: r.cost, ttftMs: r.ttft_ms, durationMs: r.duration_ms, status: r.status,
  servedAt: Number(r.served_at),
});
const toReceipt = (r: Row): Receipt => ({
  id: r.id as `0x${string}`, customer: r.customer as `0x${string}`, provider: r.provider as `0x${string}`, worker: r.worker as `0x${string}`,
  model: r.model as `0x${string}`, promptTokens: Number(r.prompt_tokens), cachedTokens: Number(r.cached_tokens), completionTokens: Number(r.completion_tokens),
  reasoningTokens: Number(r.reasoning_tokens), promptPrice: big(r.prompt_price), completionPrice: big(r.completion_price), cost: big(r.cost),
  ttftMs: Number(r.ttft_ms), durationMs: Number(r.duration_ms), status: Number(r.status), servedAt: big(r.served_at),
});
const batchNode = (r: Row) => ({
  gatewayId: r.gateway_id, batchId: r.batch_id, receiptsRoot: r.receipts_root, entriesHash: r.entries_hash, receiptCount: r.receipt_count,
  entryCount: r.entry_count, charged: r.charged, fees: r.fees, skipped: r.skipped, vestsAt: Number(r.vests_at), feeBps: r.fee_bps,
  settledAt: Number(r.timestamp), blockNumber: Number(r.block_number), txHash: r.tx_hash, status: r.status ?? "PENDING", statusReason: r.reason ?? null,
  checkedAt: r.checked_at === null || r.checked_at === undefined ? null : Number(r.checked_at),
});
const disputeNode = (r: Row) => ({
  id: r.dispute_id, customer: r.customer, provider: r.provider, gatewayId: r.gateway_id, batchId: r.batch_id, entryIndex: r.entry_index,
  amount: r.amount, reasonHash: r.reason_hash, openedAt: Number(r.timestamp), resolveBy: Number(r.resolve_by),
  status: r.upheld === null || r.upheld === undefined ? "OPEN" : r.upheld ? "UPHELD" : r.expired ? "EXPIRED" : "REJECTED",
  refund: r.refund ?? null, fromEarnings: r.from_earnings ?? null, fromStake: r.from_stake ?? null, fromFees: r.from_fees ?? null,
  resolvedAt: r.resolved_at === null || r.resolved_at === undefined ? null : Number(r.resolved_at), txHash: r.tx_hash,
});
const slaNode = (r: Row) => ({
  reportKey: r.report_key, gatewayId: r.gateway_id, provider: r.provider, tier: r.tier, windowStart: Number(r.window_start), windowEnd: Number(r.window_end),
  requests: Number(r.requests), availabilityPpm: Number(r.availability_ppm), p95TtftMs: Number(r.p95_ttft_ms), creditBps: r.credit_bps,
  totalSpend: r.total_spend, creditOwed: r.credit_owed, creditPaid: r.credit_paid, blockNumber: Number(r.block_number), timestamp: Number(r.timestamp), txHash: r.tx_hash,
});
const slashNode = (r: Row) => ({
  provider: r.provider, requested: r.requested, paid: r.paid, recipient: r.recipient, reason: r.reason,
  blockNumber: Number(r.block_number), timestamp: Number(r.timestamp), txHash: r.tx_hash,
});

const arrearsNode = (r: Row) => ({
  reportKey: r.report_key, provider: r.provider, owed: r.owed, customers: r.customers, amounts: r.amounts,
  blockNumber: Number(r.block_number), timestamp: Number(r.timestamp), txHash: r.tx_hash,
});
const arrearsChangeNode = (r: Row) => ({
  owed: r.owed, customers: r.customers, amounts: r.amounts, blockNumber: Number(r.block_number), logIndex: r.log_index, timestamp: Number(r.timestamp), txHash: r.tx_hash,
});

const BATCH_FROM = `(SELECT b.*, c.status, c.reason, c.checked_at FROM batches b LEFT JOIN batch_checks c USING (gateway_id, batch_id)) bx`;
const DISPUTE_FROM = `(SELECT d.*, r.upheld, r.expired, r.refund, r.from_earnings, r.from_stake, r.from_fees, r.timestamp AS resolved_at
  FROM disputes d LEFT JOIN dispute_resolutions r USING (dispute_id)) dx`;
const LEDGER_KEYS = ["block_number", "log_index", "sub"];

function ledgerPage(ctx: GqlContext, where: string[], params: unknown[], args: PageArgs, dflt: "asc" | "desc" = "desc") {
  return page(ctx.db, { select: "*", from: "ledger", where, params, keys: LEDGER_KEYS, defaultDirection: dflt }, args, ledgerNode);
}
const ph = (params: unknown[], v: unknown) => {
  params.push(v);
  return `$${params.length}`;
};

/**
 * Each report's arrears now: its newest ArrearsSet (derived, not stored, so a reorg's DELETE is all
 * it takes). `inner` picks reports before the newest row is taken, so a filter on the lists of any
 * change (a customer) still finds paid-off reports. Pages are keyed by the report's SlaReported
 * position, which never moves: a walk through the pages stays stable while arrears change.
 */
function arrearsFrom(inner: string[]): string {
  return `(SELECT DISTINCT ON (a.report_key) a.*, r.block_number AS report_block, r.log_index AS report_log
    FROM arrears_changes a JOIN sla_reports r USING (report_key) ${inner.length ? `WHERE ${inner.join(" AND ")}` : ""}
    ORDER BY a.report_key, a.block_number DESC, a.log_index DESC) ax`;
}
/** SQL: the report's arrears lists named `customer` (a JSON array parameter) at some change. */
const namesCustomer = (param: string) => `a.report_key IN (SELECT report_key FROM arrears_changes WHERE customers @> ${param}::jsonb)`;

function arrearsPage(ctx: GqlContext, f: { provider?: string; customer?: string; open?: boolean | null }, args: PageArgs) {
  const params: unknown[] = [];
  const inner: string[] = [];
  if (f.provider) inner.push(`a.provider = ${ph(params, f.provider)}`);
  if (f.customer) inner.push(namesCustomer(ph(params, JSON.stringify([f.customer]))));
  const where = f.open == null ? [] : [f.open ? "owed > 0" : "owed = 0"];
  return page(ctx.db, { select: "*", from: arrearsFrom(inner), where, params, keys: ["report_block", "report_log"], defaultDirection: "desc" }, args, arrearsNode);
}

// ------------------------------------------------------------------ providers

type ProviderParent = { address: string };

async function latestStake(ctx: GqlContext, p: string) {
  const r = (await ctx.db.query(`SELECT * FROM stake_changes WHERE provider = $1 ORDER BY block_number DESC, log_index DESC LIMIT 1`, [p]))[0];
  const bonded = big(r?.bonded), unbonding = big(r?.unbonding), locked = big(r?.locked);
  const reserved = locked > bonded ? locked - bonded : 0n;
  return {
    bonded, unbonding, locked, unlockAt: Number(r?.unlock_at ?? 0), jailed: r?.jailed === true,
    withdrawable: reserved >= unbonding ? 0n : unbonding - reserved,
  };
}

async function providerStatus(ctx: GqlContext, p: string): Promise<string> {
  const reg = await ctx.db.query(`SELECT 1 FROM provider_profiles WHERE provider = $1 LIMIT 1`, [p]);
  if (!reg[0]) return "UNREGISTERED";
  const s = await latestStake(ctx, p);
  if (s.jailed) return "JAILED";
  if (s.bonded < (await minStake(ctx))) return "BELOW_MIN_STAKE";
  return "ACTIVE";
}

type PriceRow = { kind: string; prompt_price: unknown; completion_price: unknown; effective_at: unknown; name?: unknown } & Row;

/** ProviderRegistry's price record replayed from its events, as of `t`. */
function modelAt(rows: PriceRow[], t: bigint) {
  let m = { name: "", quantization: "", modelHash: "", contextLength: 0, promptPrice: 0n, completionPrice: 0n, listed: false };
  let next: { p: bigint; c: bigint; at: bigint } | null = null;
  let delistAt: bigint | null = null;
  for (const r of rows) {
    const at = big(r.effective_at);
    if (r.kind === "LISTED") {
      m = { name: String(r.name), quantization: String(r.quantization), modelHash: String(r.model_hash), contextLength: Number(r.context_length),
        promptPrice: big(r.prompt_price), completionPrice: big(r.completion_price), listed: true };
      next = null;
      delistAt = null;
    } else if (r.kind === "CHANGE_SCHEDULED") next = { p: big(r.prompt_price), c: big(r.completion_price), at };
    else if (r.kind === "DELIST_SCHEDULED") delistAt = at;
  }
  if (next && next.at <= t) {
    m.promptPrice = next.p;
    m.completionPrice = next.c;
    next = null;
  }
  if (delistAt !== null && delistAt <= t) m.listed = false;
  return { ...m, nextPromptPrice: next?.p ?? null, nextCompletionPrice: next?.c ?? null, nextEffectiveAt: next ? Number(next.at) : null, delistAt: delistAt === null ? null : Number(delistAt) };
}

const Provider = {
  registered: async (p: ProviderParent, _: Args, ctx: GqlContext) => !!(await ctx.db.query(`SELECT 1 FROM provider_profiles WHERE provider = $1 LIMIT 1`, [p.address]))[0],
  registeredAt: async (p: ProviderParent, _: Args, ctx: GqlContext) => {
    const r = await ctx.db.query(`SELECT min(timestamp) AS t FROM provider_profiles WHERE provider = $1`, [p.address]);
    return r[0]?.t === null || r[0]?.t === undefined ? null : Number(r[0].t);
  },
  profile: async (p: ProviderParent, _: Args, ctx: GqlContext) => {
    const r = (await ctx.db.query(`SELECT * FROM provider_profiles WHERE provider = $1 ORDER BY block_number DESC, log_index DESC LIMIT 1`, [p.address]))[0];
    return r ? { gpuModel: r.gpu_model, gpuCount: r.gpu_count, vramGb: r.vram_gb, region: r.region, metadataURI: r.metadata_uri, updatedAt: Number(r.timestamp) } : null;
  },
  status: (p: ProviderParent, _: Args, ctx: GqlContext) => providerStatus(ctx, p.address),
  models: async (p: ProviderParent, _: Args, ctx: GqlContext) => {
    const rows = (await ctx.db.query(`SELECT * FROM price_changes WHERE provider = $1 ORDER BY block_number, log_index`, [p.address])) as PriceRow[];
    const t = await now(ctx);
    const byModel = new Map<string, PriceRow[]>();
    for (const r of rows) byModel.set(String(r.model), [...(byModel.get(String(r.model)) ?? []), r]);
    return [...byModel.entries()].map(([model, hist]) => ({
      modelId: model,
      ...modelAt(hist, t),
      priceHistory: hist.map((r) => ({
        kind: r.kind, promptPrice: r.prompt_price, completionPrice: r.completion_price, effectiveAt: Number(r.effective_at),
        blockNumber: Number(r.block_number), timestamp: Number(r.timestamp), txHash: r.tx_hash,
      })),
    }));
  },
  workers: async (p: ProviderParent, _: Args, ctx: GqlContext) => {
    const rows = await ctx.db.query(`SELECT worker, authorized FROM worker_changes WHERE provider = $1 ORDER BY block_number, log_index`, [p.address]);
    const set = new Set<string>();
    for (const r of rows) r.authorized ? set.add(String(r.worker)) : set.delete(String(r.worker));
    return [...set];
  },
  stake: (p: ProviderParent, _: Args, ctx: GqlContext) => latestStake(ctx, p.address),
  stakeHistory: (p: ProviderParent, args: PageArgs, ctx: GqlContext) =>
    page(ctx.db, { select: "*", from: "stake_changes", where: ["provider = $1"], params: [p.address], keys: ["block_number", "log_index"], defaultDirection: "desc" }, args, (r) => ({
      kind: r.kind, amount: r.amount, bonded: r.bonded, unbonding: r.unbonding, unlockAt: Number(r.unlock_at), locked: r.locked, jailed: r.jailed,
      blockNumber: Number(r.block_number), timestamp: Number(r.timestamp), txHash: r.tx_hash,
    })),
  earnings: async (p: ProviderParent, _: Args, ctx: GqlContext) => {
    const r = (await ctx.db.query(`SELECT * FROM earnings_changes WHERE provider = $1 ORDER BY block_number DESC, log_index DESC, sub DESC LIMIT 1`, [p.address]))[0];
    const s: EarningsState = {
      claimable: big(r?.claimable), prev: big(r?.prev), cur: big(r?.cur), epoch: big(r?.epoch), claimed: big(r?.claimed), credited: big(r?.credited), refunded: big(r?.refunded),
    };
    const v = earningsAt(s, await now(ctx), ctx.disputeWindow);
    return { claimable: v.claimable, vesting: v.vesting, nextVestAt: v.nextVestAt === null ? null : Number(v.nextVestAt), claimed: s.claimed, totalCredited: s.credited, totalRefunded: s.refunded };
  },
  earningsHistory: (p: ProviderParent, args: PageArgs, ctx: GqlContext) =>
    page(ctx.db, { select: "*", from: "earnings_changes", where: ["provider = $1"], params: [p.address], keys: LEDGER_KEYS, defaultDirection: "desc" }, args, (r) => ({
      kind: r.kind, amount: r.amount, gatewayId: r.gateway_id, batchId: r.batch_id, disputeId: r.dispute_id,
      blockNumber: Number(r.block_number), timestamp: Number(r.timestamp), txHash: r.tx_hash,
    })),
  slaReports: (p: ProviderParent, args: PageArgs, ctx: GqlContext) =>
    page(ctx.db, { select: "*", from: "sla_reports", where: ["provider = $1"], params: [p.address], keys: ["block_number", "log_index"], defaultDirection: "desc" }, args, slaNode),
  slaCreditsPaid: (p: ProviderParent, args: PageArgs, ctx: GqlContext) => ledgerPage(ctx, ["provider = $1", "kind = 'SLA_CREDIT'"], [p.address], args),
  slaCreditsPaidTotal: async (p: ProviderParent, _: Args, ctx: GqlContext) =>
    big((await ctx.db.query(`SELECT coalesce(sum(amount), 0) AS s FROM ledger WHERE provider = $1 AND kind = 'SLA_CREDIT'`, [p.address]))[0]!.s),
  arrearsOwed: async (p: ProviderParent, _: Args, ctx: GqlContext) =>
    big((await ctx.db.query(`SELECT coalesce(sum(owed), 0) AS s FROM ${arrearsFrom(["a.provider = $1"])}`, [p.address]))[0]!.s),
  slashes: (p: ProviderParent, args: PageArgs, ctx: GqlContext) =>
    page(ctx.db, { select: "*", from: "slashes", where: ["provider = $1"], params: [p.address], keys: ["block_number", "log_index"], defaultDirection: "desc" }, args, slashNode),
  entries: (p: ProviderParent, args: PageArgs, ctx: GqlContext) =>
    page(ctx.db, { select: "*", from: "batch_entries", where: ["provider = $1"], params: [p.address], keys: ["block_number", "gateway_id", "batch_id", "idx"], defaultDirection: "desc" }, args, entryNode),
};

// ------------------------------------------------------------------ customers

type CustomerParent = { address: string; row: Row | null; totals?: Promise<Map<string, bigint>> };

/** Sums per ledger kind, read once per customer object of a query (five fields share one read). */
function customerTotals(ctx: GqlContext, c: CustomerParent): Promise<Map<string, bigint>> {
  c.totals ??= ctx.db
    .query(`SELECT kind, sum(amount) AS s FROM ledger WHERE customer = $1 GROUP BY kind`, [c.address])
    .then((rows) => new Map(rows.map((r) => [String(r.kind), big(r.s)])));
  return c.totals;
}

const Customer = {
  available: (c: CustomerParent) => big(c.row?.available),
  pending: (c: CustomerParent) => big(c.row?.pending),
  unlockAt: (c: CustomerParent) => Number(c.row?.unlock_at ?? 0),
  totalDeposited: async (c: CustomerParent, _: Args, ctx: GqlContext) => (await customerTotals(ctx, c)).get("DEPOSIT") ?? 0n,
  totalWithdrawn: async (c: CustomerParent, _: Args, ctx: GqlContext) => (await customerTotals(ctx, c)).get("WITHDRAWN") ?? 0n,
  totalCharged: async (c: CustomerParent, _: Args, ctx: GqlContext) => (await customerTotals(ctx, c)).get("CHARGE") ?? 0n,
  totalSlaCredits: async (c: CustomerParent, _: Args, ctx: GqlContext) => (await customerTotals(ctx, c)).get("SLA_CREDIT") ?? 0n,
  totalRefunds: async (c: CustomerParent, _: Args, ctx: GqlContext) => (await customerTotals(ctx, c)).get("DISPUTE_REFUND") ?? 0n,
  deposits: (c: CustomerParent, args: PageArgs, ctx: GqlContext) => ledgerPage(ctx, ["customer = $1", "kind = 'DEPOSIT'"], [c.address], args),
  withdrawals: (c: CustomerParent, args: PageArgs, ctx: GqlContext) =>
    ledgerPage(ctx, ["customer = $1", "kind IN ('WITHDRAWAL_REQUESTED', 'WITHDRAWAL_CANCELED', 'WITHDRAWN')"], [c.address], args),
  charges: (c: CustomerParent, args: PageArgs, ctx: GqlContext) => ledgerPage(ctx, ["customer = $1", "kind = 'CHARGE'"], [c.address], args),
  slaCredits: (c: CustomerParent, args: PageArgs, ctx: GqlContext) => ledgerPage(ctx, ["customer = $1", "kind = 'SLA_CREDIT'"], [c.address], args),
  balanceHistory: (c: CustomerParent, args: PageArgs & { from?: number; to?: number }, ctx: GqlContext) => {
    const params: unknown[] = [c.address];
    const where = ["customer = $1"];
    if (args.from != null) where.push(`timestamp >= ${ph(params, args.from)}`);
    if (args.to != null) where.push(`timestamp < ${ph(params, args.to)}`);
    return ledgerPage(ctx, where, params, args, "asc");
  },
  disputes: (c: CustomerParent, args: PageArgs, ctx: GqlContext) =>
    page(ctx.db, { select: "*", from: DISPUTE_FROM, where: ["customer = $1"], params: [c.address], keys: ["dispute_id"], defaultDirection: "desc" }, args, disputeNode),
  // The customer's entries of each report's current lists (a customer may be listed twice).
  arrearsDue: async (c: CustomerParent, _: Args, ctx: GqlContext) =>
    big((await ctx.db.query(
      `SELECT coalesce(sum(z.amount::numeric), 0) AS s FROM ${arrearsFrom([namesCustomer("$2")])},
         ROWS FROM (jsonb_array_elements_text(ax.customers), jsonb_array_elements_text(ax.amounts)) AS z(customer, amount) WHERE z.customer = $1`,
      [c.address, JSON.stringify([c.address])]))[0]!.s),
  arrears: (c: CustomerParent, args: PageArgs & { open?: boolean | null }, ctx: GqlContext) => arrearsPage(ctx, { customer: c.address, open: args.open }, args),
};

async function customerOf(ctx: GqlContext, a: string): Promise<CustomerParent | null> {
  const row = (await ctx.db.query(`SELECT * FROM ledger WHERE customer = $1 ORDER BY block_number DESC, log_index DESC, sub DESC LIMIT 1`, [a]))[0] ?? null;
  return row ? { address: a, row } : null;
}

// ------------------------------------------------------------------ batches

const Batch = {
  entries: async (b: { gatewayId: number; batchId: string }, _: Args, ctx: GqlContext) =>
    (await ctx.db.query(`SELECT * FROM batch_entries WHERE gateway_id = $1 AND batch_id = $2 ORDER BY idx`, [b.gatewayId, b.batchId])).map(entryNode),
  receipts: (b: { gatewayId: number; batchId: string }, args: PageArgs, ctx: GqlContext) =>
    page(ctx.db, { select: "*", from: "receipts", where: ["gateway_id = $1", "batch_id = $2"], params: [b.gatewayId, b.batchId], keys: ["id"], defaultDirection: "asc" }, { ...args, orderDirection: "asc" }, receiptNode),
  disputes: async (b: { gatewayId: number; batchId: string }, _: Args, ctx: GqlContext) =>
    (await ctx.db.query(`SELECT * FROM ${DISPUTE_FROM} WHERE gateway_id = $1 AND batch_id = $2 ORDER BY dispute_id`, [b.gatewayId, b.batchId])).map(disputeNode),
};

async function verifyReceipt(ctx: GqlContext, idArg: string) {
  const id = hash32(idArg, "id");
  const hit = (await ctx.db.query(`SELECT * FROM receipts WHERE id = $1 ORDER BY block_number DESC LIMIT 1`, [id]))[0];
  if (!hit) return { id, verdict: "UNKNOWN_RECEIPT", reason: "no published receipt with this id has been fetched (its batch may not be settled or verified yet)", proof: [] };
  const batch = (await ctx.db.query(`SELECT receipts_root FROM batches WHERE gateway_id = $1 AND batch_id = $2`, [hit.gateway_id, hit.batch_id]))[0];
  // The batch's leaves as hashed when its receipts were fetched (receipts/verifier.ts): no ABI
  // encoding of every receipt in the batch for each query, and the tree over them built once for
  // as long as they stay the same (tree-cache.ts).
  const leaves = (await ctx.db.query(`SELECT leaf_hash FROM receipts WHERE gateway_id = $1 AND batch_id = $2`, [hit.gateway_id, hit.batch_id])).map((r) => String(r.leaf_hash) as `0x${string}`);
  const receipt = toReceipt(hit);
  const leaf = receiptLeafHash(receipt);
  const tree = ctx.trees.of(`${hit.gateway_id}:${hit.batch_id}`, leaves);
  // A receipt whose fields no longer hash to a stored leaf has no proof: INVALID below.
  const proof = proofOfLeaf(tree, leaf) ?? [];
  const root = batch ? String(batch.receipts_root) : null;
  const ok = root !== null && verifyReceiptProof(root as `0x${string}`, receipt, proof);
  return {
    id, verdict: ok ? "VALID" : "INVALID",
    reason: ok ? null : root === null ? "the receipt's batch is not settled on-chain" : "the proof from this receipt's leaf does not reach the root posted on-chain",
    receipt: receiptNode(hit), gatewayId: hit.gateway_id, batchId: hit.batch_id, leaf, proof, onChainRoot: root,
  };
}

// ------------------------------------------------------------------ root

function optAddress(v: unknown, name: string): string | undefined {
  return v === undefined || v === null ? undefined : address(v, name);
}

function timeRange(from: number, to: number) {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to <= from) throw badInput("`from` and `to` are unix seconds with from < to");
}

/** The window's spend from published receipts: per customer, sum of exact costs rounded down once. */
async function receiptSpend(r: { gatewayId: number; provider: string; windowStart: number; windowEnd: number }, ctx: GqlContext): Promise<bigint> {
  const rows = await ctx.db.query(
    `SELECT coalesce(sum(s), 0) AS spend FROM (
       SELECT floor(sum(cost) / 1000000) AS s FROM receipts
        WHERE gateway_id = $1 AND provider = $2 AND served_at >= $3 AND served_at < $4 AND status <> 3 GROUP BY customer) x`,
    [r.gatewayId, r.provider, r.windowStart, r.windowEnd],
  );
  return big(rows[0]!.spend);
}

const SlaReport = {
  receiptSpend: (r: any, _: Args, ctx: GqlContext) => receiptSpend(r, ctx),
  spendMatchesReceipts: async (r: any, _: Args, ctx: GqlContext) => (await receiptSpend(r, ctx)) === big(r.totalSpend),
  arrears: async (r: { reportKey: string }, _: Args, ctx: GqlContext) => {
    const row = (await ctx.db.query(`SELECT * FROM ${arrearsFrom(["a.report_key = $1"])}`, [r.reportKey]))[0];
    return row ? arrearsNode(row) : null;
  },
};

const Arrears = {
  report: async (r: { reportKey: string }, _: Args, ctx: GqlContext) =>
    slaNode((await ctx.db.query(`SELECT * FROM sla_reports WHERE report_key = $1`, [r.reportKey]))[0]!),
  history: (r: { reportKey: string }, args: PageArgs, ctx: GqlContext) =>
    page(ctx.db, { select: "*", from: "arrears_changes", where: ["report_key = $1"], params: [r.reportKey], keys: ["block_number", "log_index"], defaultDirection: "asc" }, args, arrearsChangeNode),
};

export const resolvers = {
  BigInt: BigIntScalar,
  SlaReport,
  Arrears,
  Provider,
  Customer,
  Batch,
  Query: {
    indexerStatus: async (_: unknown, __: Args, ctx: GqlContext) => ({
      chainId: ctx.chainId, lastBlock: ctx.stats.lastBlock, lastBlockHash: ctx.stats.lastHash, headBlock: ctx.stats.head, reorgs: ctx.stats.reorgs,
      eventCount: ctx.stats.events,
      batchesPending: Number((await ctx.db.query(`SELECT count(*) AS n FROM batch_checks WHERE status = 'PENDING'`))[0]!.n),
    }),
    provider: async (_: unknown, a: Args, ctx: GqlContext) => {
      const p = address(a.address);
      const seen = await ctx.db.query(`SELECT 1 FROM provider_profiles WHERE provider = $1 UNION ALL SELECT 1 FROM stake_changes WHERE provider = $1 LIMIT 1`, [p]);
      return seen[0] ? { address: p } : null;
    },
    providers: async (_: unknown, a: Args, ctx: GqlContext) => {
      const from = `(SELECT provider FROM provider_profiles UNION SELECT provider FROM stake_changes) px`;
      if (!a.where?.status) return page(ctx.db, { select: "provider", from, where: [], params: [], keys: ["provider"], defaultDirection: "asc" }, a, (r) => ({ address: r.provider }));
      // Status depends on stake and time: filter in memory (there are few providers), then paginate.
      const all = await ctx.db.query(`SELECT provider FROM ${from} ORDER BY provider ${a.orderDirection === "desc" ? "DESC" : "ASC"}`);
      const keep: string[] = [];
      for (const r of all) if ((await providerStatus(ctx, String(r.provider))) === a.where.status) keep.push(String(r.provider));
      const after = a.after ? Buffer.from(a.after, "base64url").toString("utf8") : null;
      const start = after ? keep.findIndex((x) => JSON.stringify([x]) === after) + 1 : 0;
      const first = a.first ?? 50;
      const shown = keep.slice(start, start + first);
      return {
        nodes: shown.map((address) => ({ address })),
        pageInfo: { hasNextPage: start + first < keep.length, endCursor: shown.length ? Buffer.from(JSON.stringify([shown[shown.length - 1]])).toString("base64url") : null },
      };
    },
    customer: (_: unknown, a: Args, ctx: GqlContext) => customerOf(ctx, address(a.address)),
    customers: (_: unknown, a: Args, ctx: GqlContext) =>
      page(ctx.db, {
        select: "*",
        from: `(SELECT DISTINCT ON (customer) * FROM ledger ORDER BY customer, block_number DESC, log_index DESC, sub DESC) cx`,
        where: [], params: [], keys: ["customer"], defaultDirection: "asc",
      }, a, (r) => ({ address: r.customer, row: r })),
    batch: async (_: unknown, a: Args, ctx: GqlContext) => {
      const r = (await ctx.db.query(`SELECT * FROM ${BATCH_FROM} WHERE gateway_id = $1 AND batch_id = $2`, [a.gatewayId, uintArg(a.batchId, "batchId")]))[0];
      return r ? batchNode(r) : null;
    },
    batches: (_: unknown, a: Args, ctx: GqlContext) => {
      const params: unknown[] = [];
      const where: string[] = [];
      const w = a.where ?? {};
      if (w.gatewayId != null) where.push(`gateway_id = ${ph(params, w.gatewayId)}`);
      if (w.status != null) where.push(`coalesce(status, 'PENDING') = ${ph(params, w.status)}`);
      if (w.settledFrom != null) where.push(`timestamp >= ${ph(params, w.settledFrom)}`);
      if (w.settledTo != null) where.push(`timestamp < ${ph(params, w.settledTo)}`);
      return page(ctx.db, { select: "*", from: BATCH_FROM, where, params, keys: ["block_number", "log_index"], defaultDirection: "desc" }, a, batchNode);
    },
    entries: (_: unknown, a: Args, ctx: GqlContext) => {
      const params: unknown[] = [];
      const where: string[] = [];
      const w = a.where ?? {};
      if (w.customer != null) where.push(`customer = ${ph(params, address(w.customer, "customer"))}`);
      if (w.provider != null) where.push(`provider = ${ph(params, address(w.provider, "provider"))}`);
      if (w.model != null) where.push(`model = ${ph(params, hash32(w.model, "model"))}`);
      if (w.gatewayId != null) where.push(`gateway_id = ${ph(params, w.gatewayId)}`);
      if (w.skipped != null) where.push(w.skipped ? "skip_reason IS NOT NULL" : "skip_reason IS NULL");
      if (w.settledFrom != null) where.push(`timestamp >= ${ph(params, w.settledFrom)}`);
      if (w.settledTo != null) where.push(`timestamp < ${ph(params, w.settledTo)}`);
      return page(ctx.db, { select: "*", from: "batch_entries", where, params, keys: ["block_number", "gateway_id", "batch_id", "idx"], defaultDirection: "desc" }, a, entryNode);
    },
    receipt: async (_: unknown, a: Args, ctx: GqlContext) => {
      const r = (await ctx.db.query(`SELECT * FROM receipts WHERE id = $1 ORDER BY block_number DESC LIMIT 1`, [hash32(a.id, "id")]))[0];
      return r ? receiptNode(r) : null;
    },
    verifyReceipt: (_: unknown, a: Args, ctx: GqlContext) => verifyReceipt(ctx, a.id),
    dispute: async (_: unknown, a: Args, ctx: GqlContext) => {
      const r = (await ctx.db.query(`SELECT * FROM ${DISPUTE_FROM} WHERE dispute_id = $1`, [uintArg(a.id, "id")]))[0];
      return r ? disputeNode(r) : null;
    },
    disputes: (_: unknown, a: Args, ctx: GqlContext) => {
      const params: unknown[] = [];
      const where: string[] = [];
      const w = a.where ?? {};
      if (w.customer != null) where.push(`customer = ${ph(params, address(w.customer, "customer"))}`);
      if (w.provider != null) where.push(`provider = ${ph(params, address(w.provider, "provider"))}`);
      if (w.status === "OPEN") where.push("upheld IS NULL");
      if (w.status === "UPHELD") where.push("upheld = true");
      if (w.status === "REJECTED") where.push("upheld = false AND NOT expired");
      if (w.status === "EXPIRED") where.push("expired");
      return page(ctx.db, { select: "*", from: DISPUTE_FROM, where, params, keys: ["dispute_id"], defaultDirection: "desc" }, a, disputeNode);
    },
    slaReports: (_: unknown, a: Args, ctx: GqlContext) => {
      const params: unknown[] = [];
      const where: string[] = [];
      if (a.where?.provider != null) where.push(`provider = ${ph(params, address(a.where.provider, "provider"))}`);
      if (a.where?.gatewayId != null) where.push(`gateway_id = ${ph(params, a.where.gatewayId)}`);
      return page(ctx.db, { select: "*", from: "sla_reports", where, params, keys: ["block_number", "log_index"], defaultDirection: "desc" }, a, slaNode);
    },
    arrears: (_: unknown, a: Args, ctx: GqlContext) =>
      arrearsPage(ctx, { provider: optAddress(a.where?.provider, "provider"), customer: optAddress(a.where?.customer, "customer"), open: a.where?.open }, a),
    slashes: (_: unknown, a: Args, ctx: GqlContext) => {
      const params: unknown[] = [];
      const where: string[] = [];
      if (a.where?.provider != null) where.push(`provider = ${ph(params, address(a.where.provider, "provider"))}`);
      return page(ctx.db, { select: "*", from: "slashes", where, params, keys: ["block_number", "log_index"], defaultDirection: "desc" }, a, slashNode);
    },
    ledger: (_: unknown, a: Args, ctx: GqlContext) => {
      const params: unknown[] = [];
      const where: string[] = [];
      const w = a.where ?? {};
      if (w.customer != null) where.push(`customer = ${ph(params, address(w.customer, "customer"))}`);
      if (w.provider != null) where.push(`provider = ${ph(params, address(w.provider, "provider"))}`);
      if (w.kind != null) where.push(`kind = ${ph(params, w.kind)}`);
      if (w.from != null) where.push(`timestamp >= ${ph(params, w.from)}`);
      if (w.to != null) where.push(`timestamp < ${ph(params, w.to)}`);
      return ledgerPage(ctx, where, params, a);
    },
    events: (_: unknown, a: Args, ctx: GqlContext) => {
      const params: unknown[] = [];
      const where: string[] = [];
      const w = a.where ?? {};
      if (w.contract != null) where.push(`contract = ${ph(params, w.contract)}`);
      if (w.name != null) where.push(`name = ${ph(params, w.name)}`);
      if (w.fromBlock != null) where.push(`block_number >= ${ph(params, w.fromBlock)}`);
      if (w.toBlock != null) where.push(`block_number <= ${ph(params, w.toBlock)}`);
      return page(ctx.db, { select: "*", from: "events", where, params, keys: ["block_number", "log_index"], defaultDirection: "asc" }, a, (r) => ({
        id: `${r.block_number}-${r.log_index}`, contract: r.contract, name: r.name, args: JSON.stringify(r.args),
        blockNumber: Number(r.block_number), logIndex: r.log_index, timestamp: Number(r.timestamp), txHash: r.tx_hash,
      }));
    },
    totals: async (_: unknown, __: Args, ctx: GqlContext) => {
      const q = async (sql: string) => (await ctx.db.query(sql))[0]!;
      const l = new Map((await ctx.db.query(`SELECT kind, sum(amount) AS s FROM ledger GROUP BY kind`)).map((r) => [String(r.kind), big(r.s)]));
      const b = await q(`SELECT coalesce(sum(charged), 0) AS charged, coalesce(sum(fees), 0) AS fees, count(*) AS n, coalesce(sum(receipt_count), 0) AS receipts FROM batches`);
      const esc = await q(`SELECT coalesce(sum(available + pending), 0) AS s, count(*) AS n FROM (SELECT DISTINCT ON (customer) available, pending FROM ledger ORDER BY customer, block_number DESC, log_index DESC, sub DESC) x`);
      const stk = await q(`SELECT coalesce(sum(bonded + unbonding), 0) AS s FROM (SELECT DISTINCT ON (provider) bonded, unbonding FROM stake_changes ORDER BY provider, block_number DESC, log_index DESC) x`);
      const claimed = await q(`SELECT coalesce(sum(amount), 0) AS s FROM earnings_changes WHERE kind = 'CLAIMED'`);
      const slashed = await q(`SELECT coalesce(sum(paid), 0) AS s FROM slashes`);
      const fw = await q(`SELECT coalesce(sum((args->>'amount')::numeric), 0) AS s FROM events WHERE contract = 'Settlement' AND name = 'FeesWithdrawn'`);
      const fee = await q(`SELECT coalesce((SELECT (args->>'feeBps')::int FROM events WHERE contract = 'Settlement' AND name = 'FeeSet' ORDER BY block_number DESC, log_index DESC LIMIT 1),
        (SELECT value::int FROM meta WHERE key = 'initial_fee_bps'), 0) AS v`);
      const ent = await q(`SELECT count(*) AS n FROM batch_entries`);
      const prov = await q(`SELECT count(*) AS n FROM (SELECT provider FROM provider_profiles UNION SELECT provider FROM stake_changes) p`);
      const open = await q(`SELECT count(*) AS n FROM disputes d WHERE NOT EXISTS (SELECT 1 FROM dispute_resolutions r WHERE r.dispute_id = d.dispute_id)`);
      return {
        deposited: l.get("DEPOSIT") ?? 0n, withdrawn: l.get("WITHDRAWN") ?? 0n, charged: b.charged, fees: b.fees, escrowed: esc.s, claimed: claimed.s,
        slaCredits: l.get("SLA_CREDIT") ?? 0n, slashed: slashed.s, disputeRefunds: l.get("DISPUTE_REFUND") ?? 0n, feesWithdrawn: fw.s, staked: stk.s,
        feeBps: Number(fee.v), batches: Number(b.n), entries: Number(ent.n), receipts: b.receipts, customers: Number(esc.n), providers: Number(prov.n),
        openDisputes: Number(open.n),
      };
    },
    providerPaid: async (_: unknown, a: Args, ctx: GqlContext) => {
      const p = address(a.provider, "provider");
      timeRange(a.from, a.to);
      const e = (await ctx.db.query(
        `SELECT coalesce(sum(charge - fee), 0) AS credited, coalesce(sum(charge), 0) AS charged, coalesce(sum(fee), 0) AS fees, count(*) AS n
           FROM batch_entries WHERE provider = $1 AND skip_reason IS NULL AND timestamp >= $2 AND timestamp < $3`, [p, a.from, a.to]))[0]!;
      const c = (await ctx.db.query(`SELECT coalesce(sum(amount), 0) AS s FROM earnings_changes WHERE provider = $1 AND kind = 'CLAIMED' AND timestamp >= $2 AND timestamp < $3`, [p, a.from, a.to]))[0]!;
      return { provider: p, from: a.from, to: a.to, credited: e.credited, charged: e.charged, fees: e.fees, claimed: c.s, entries: Number(e.n) };
    },
    dailySeries: async (_: unknown, a: Args, ctx: GqlContext) => {
      timeRange(a.from, a.to);
      if (a.to - a.from > 3660 * 86400) throw badInput("a daily series spans at most 3660 days");
      const params: unknown[] = [a.from, a.to];
      const where = ["skip_reason IS NULL", "timestamp >= $1", "timestamp < $2"];
      if (a.customer != null) where.push(`customer = ${ph(params, address(a.customer, "customer"))}`);
      if (a.provider != null) where.push(`provider = ${ph(params, address(a.provider, "provider"))}`);
      if (a.model != null) where.push(`model = ${ph(params, hash32(a.model, "model"))}`);
      const rows = await ctx.db.query(
        `SELECT (timestamp / 86400) * 86400 AS day, sum(charge) AS spend, sum(fee) AS fees, sum(requests) AS requests,
                sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion
           FROM batch_entries WHERE ${where.join(" AND ")} GROUP BY 1 ORDER BY 1`, params);
      return rows.map((r) => ({
        day: Number(r.day), date: new Date(Number(r.day) * 1000).toISOString().slice(0, 10), spend: r.spend, fees: r.fees, requests: r.requests,
        promptTokens: r.prompt, completionTokens: r.completion,
      }));
    },
  },
};
