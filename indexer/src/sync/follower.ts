/**
 * Follows the contracts from their deployment block to the head. Each step:
 *   1. check that the last committed block is still canonical; if not, find the newest stored block
 *      that is, and roll every table back to it (one transaction);
 *   2. fetch the next range's logs (the range adapts: it grows while answers are quick and small,
 *      and splits on the provider's refusals), the headers of the blocks they are in and of the
 *      range's last block, and the calldata of settleBatch transactions, in batched RPC calls;
 *   3. apply the events and write every row plus the new checkpoint in ONE transaction, so a crash
 *      leaves either the whole range or none of it, and a restart resumes at the checkpoint.
 */
import type { Hex } from "viem";
import type { Logger } from "pino";
import type { Deployment } from "@tollgate/protocol";
import { providerStakingAbi, settlementAbi } from "@tollgate/protocol";
import { encodeFunctionData, decodeFunctionResult, toEventSelector, type Abi, type AbiEvent } from "viem";
import { insertMany, big, type Db, type Queryable } from "../db/db.ts";
import { ROLLBACK_TABLES } from "../db/schema.ts";
import { Rpc, hex, type RpcBlock, type RpcLog } from "../chain/rpc.ts";
import { LogDecoder, contractAddresses, type DecodedLog } from "../chain/contracts.ts";
import { Applier, emptyRows, type Extras } from "./apply.ts";
import { State } from "./state.ts";

export type FollowerStats = {
  lastBlock: number; lastHash: string | null; head: number; reorgs: number; events: number;
  /** When the first follow step began (ms since epoch): benchmarks time the backfill from here. */
  firstStepAt?: number;
};

const MIN_RANGE = 1;
const TARGET_EVENTS = 4_000;

type Fetched = {
  from: number; to: number; logs: RpcLog[]; byNumber: Map<number, RpcBlock>; blockNums: number[]; txInputs: Map<string, Hex>; fetchMs: number;
};

export class Follower {
  readonly stats: FollowerStats = { lastBlock: -1, lastHash: null, head: -1, reorgs: 0, events: 0 };
  private state!: State;
  private applier!: Applier;
  private readonly decoder: LogDecoder;
  private readonly addresses: Hex[];
  private range = 200;
  initialMinStake = 0n;
  private listeners = new Set<() => void>();

  private readonly db: Db;
  private readonly rpc: Rpc;
  private readonly deployment: Deployment;
  private readonly log: Logger;
  private readonly maxRange: number;

  constructor(db: Db, rpc: Rpc, deployment: Deployment, log: Logger, maxRange = 10_000) {
    this.db = db;
    this.rpc = rpc;
    this.deployment = deployment;
    this.log = log;
    this.maxRange = maxRange;
    this.range = Math.min(this.range, maxRange);
    this.decoder = new LogDecoder(deployment);
    this.addresses = Object.values(contractAddresses(deployment));
  }

  /** Read the checkpoint and the protocol constants; build the state from the stored versions. */
  async init(): Promise<void> {
    const meta = new Map((await this.db.query(`SELECT key, value FROM meta`)).map((r) => [String(r.key), String(r.value)]));
    const settlement = this.deployment.contracts.settlement.toLowerCase();
    if (meta.has("settlement") && meta.get("settlement") !== settlement) {
      throw new Error(`this database indexes Settlement ${meta.get("settlement")}, not ${settlement}: use another data directory or schema`);
    }
    // A database created before disputes had a deadline lacks the period: read the constants again.
    if (!meta.has("dispute_window") || !meta.has("initial_resolution_period")) {
      const { disputeWindow, feeBps, minStake, resolutionPeriod } = await this.readConstants();
      await this.db.query(
        `INSERT INTO meta (key, value) VALUES ('settlement', $1), ('dispute_window', $2), ('initial_fee_bps', $3), ('initial_min_stake', $4),
           ('initial_resolution_period', $5) ON CONFLICT (key) DO NOTHING`,
        [settlement, disputeWindow.toString(), feeBps.toString(), minStake.toString(), resolutionPeriod.toString()],
      );
      if (!meta.has("dispute_window")) {
        meta.set("dispute_window", disputeWindow.toString());
        meta.set("initial_fee_bps", feeBps.toString());
        meta.set("initial_min_stake", minStake.toString());
      }
      meta.set("initial_resolution_period", resolutionPeriod.toString());
    }
    this.initialMinStake = BigInt(meta.get("initial_min_stake") ?? "0");
    const initialPeriod = BigInt(meta.get("initial_resolution_period")!);
    this.state = new State(BigInt(meta.get("dispute_window")!), BigInt(meta.get("initial_fee_bps")!), initialPeriod);
    await fillResolveBy(this.db, initialPeriod);
    await fillArrears(this.db);
    this.applier = new Applier(this.state, this.log);
    await this.state.load(this.db);
    const cp = await this.db.query(`SELECT block_number, block_hash FROM checkpoint WHERE id = 1`);
    if (cp[0]) {
      this.stats.lastBlock = Number(cp[0].block_number);
      this.stats.lastHash = String(cp[0].block_hash);
    } else {
      this.stats.lastBlock = this.deployment.deployBlock - 1;
    }
    this.stats.events = Number((await this.db.query(`SELECT count(*)::int AS n FROM events`))[0]!.n);
  }

  get disputeWindow(): bigint {
    return this.state.disputeWindow;
  }

  /**
   * DISPUTE_WINDOW (immutable), and the fee, minimum stake and dispute resolution period in force
   * when the contracts were deployed (later values come from FeeSet / MinStakeSet /
   * DisputeResolutionPeriodSet events; the initial values are set without an event).
   */
  private async readConstants(): Promise<{ disputeWindow: bigint; feeBps: bigint; minStake: bigint; resolutionPeriod: bigint }> {
    const call = async (to: Hex, abi: Abi, fn: string, block: Hex | "latest") => {
      const data = encodeFunctionData({ abi, functionName: fn });
      const out = await this.rpc.call<Hex>("eth_call", [{ to, data }, block]);
      return BigInt(decodeFunctionResult({ abi, functionName: fn, data: out }) as bigint | number);
    };
    const { settlement, providerStaking } = this.deployment.contracts;
    const disputeWindow = await call(settlement, settlementAbi, "DISPUTE_WINDOW", "latest");
    // The first block where both contracts have code.
    let block = this.deployment.deployBlock;
    const head = Number(await this.rpc.call<Hex>("eth_blockNumber", []));
    const hasCode = async (a: Hex, b: number) => (await this.rpc.call<Hex>("eth_getCode", [a, hex(b)])) !== "0x";
    while (block < head && !((await hasCode(settlement, block)) && (await hasCode(providerStaking, block)))) block++;
    return {
      disputeWindow,
      feeBps: await call(settlement, settlementAbi, "feeBps", hex(block)),
      minStake: await call(providerStaking, providerStakingAbi, "minStake", hex(block)),
      resolutionPeriod: await call(settlement, settlementAbi, "disputeResolutionPeriod", hex(block)),
    };
  }

  onProgress(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** One pass: reorg check, then ranges until the head. Returns the number of blocks advanced. */
  async step(): Promise<number> {
    this.stats.firstStepAt ??= Date.now();
    const head = Number(await this.rpc.call<Hex>("eth_blockNumber", []));
    this.stats.head = head;
    await this.checkReorg();
    const start = this.stats.lastBlock;
    // Fetch the next range while the current one is applied and written (two stages in flight).
    const fetchFrom = (from: number) => {
      const p = this.fetchRange(from, Math.min(head, from + this.range - 1));
      p.catch(() => {}); // awaited below; never an unhandled rejection if we stop early
      return p;
    };
    let next: Promise<Fetched | null> | null = this.stats.lastBlock < head ? fetchFrom(this.stats.lastBlock + 1) : null;
    while (next) {
      const t0 = Date.now();
      const fetched = await next;
      if (!fetched) {
        // The chain changed under us while fetching: check for a reorg and start again.
        await this.checkReorg();
        next = this.stats.lastBlock < head ? fetchFrom(this.stats.lastBlock + 1) : null;
        continue;
      }
      next = fetched.to < head ? fetchFrom(fetched.to + 1) : null;
      const n = await this.commitRange(fetched);
      // Aim each range at about TARGET_EVENTS events (big enough to batch writes, small enough to
      // keep memory flat and let fetching overlap writing); grow at most 2x per range.
      const blocks = fetched.to - fetched.from + 1;
      const ideal = n === 0 ? this.range * 2 : Math.floor((blocks * TARGET_EVENTS) / n);
      this.range = Math.max(MIN_RANGE, Math.min(this.maxRange, this.range * 2, ideal));
      if (Date.now() - t0 > 10_000) this.range = Math.max(MIN_RANGE, Math.floor(this.range / 2));
      for (const l of this.listeners) l();
    }
    return this.stats.lastBlock - start;
  }

  /** Logs, headers and settleBatch calldata of [from, to]; null if the blocks moved (reorg) between the calls. */
  private async fetchRange(from: number, to: number): Promise<Fetched | null> {
    const t0 = performance.now();
    const logs = await this.rpc.getLogs(this.addresses, from, to);
    const blockNums = [...new Set(logs.map((l) => Number(l.blockNumber)))].filter((n) => n !== to);
    const headers = await this.rpc.batch<RpcBlock | null>([to, ...blockNums].map((n) => ({ method: "eth_getBlockByNumber", params: [hex(n), false] })));
    if (headers.some((h) => !h)) return null;
    const byNumber = new Map(headers.map((h) => [Number(h!.number), h!]));
    for (const l of logs) {
      if (byNumber.get(Number(l.blockNumber))!.hash.toLowerCase() !== l.blockHash.toLowerCase()) return null;
    }
    const settleTxs = this.settleTxHashes(logs);
    const txs = await this.rpc.batch<{ input: Hex; to: Hex | null } | null>(settleTxs.map((h) => ({ method: "eth_getTransactionByHash", params: [h] })));
    const txInputs = new Map<string, Hex>();
    const settlement = this.deployment.contracts.settlement.toLowerCase();
    // Only a direct call to Settlement carries the batch as its calldata (one settleBatch per tx).
    settleTxs.forEach((h, i) => txs[i]?.to?.toLowerCase() === settlement && txInputs.set(h.toLowerCase(), txs[i]!.input));
    return { from, to, logs, byNumber, blockNums, txInputs, fetchMs: performance.now() - t0 };
  }

  /** Applies a fetched range and commits its rows and the checkpoint in one transaction. */
  private async commitRange(f: Fetched): Promise<number> {
    const { from, to, logs, byNumber, blockNums, txInputs } = f;
    const t1 = performance.now();
    const rows = emptyRows();
    const extras: Extras = {
      txInputs,
      skipped: new Map(),
      disputes: new Map(),
      lookupDispute: async (id) => {
        const r = await this.db.query(`SELECT customer, provider FROM disputes WHERE dispute_id = $1`, [id]);
        return r[0] ? { customer: String(r[0].customer), provider: String(r[0].provider) } : null;
      },
    };
    let count = 0;
    for (const raw of logs) {
      const ts = Number(raw.blockTimestamp ?? byNumber.get(Number(raw.blockNumber))!.timestamp);
      const e: DecodedLog | null = this.decoder.decode(raw, ts);
      if (!e) continue;
      await this.applier.apply(e, rows, extras);
      count++;
    }
    for (const n of new Set([...blockNums, to])) {
      const h = byNumber.get(n)!;
      rows.blocks.push({ block_number: n, hash: h.hash.toLowerCase(), timestamp: Number(h.timestamp) });
    }
    const last = byNumber.get(to)!;
    const t2 = performance.now();
    try {
      await this.db.tx(async (q) => {
        for (const table of ROLLBACK_TABLES) await insertMany(q, table, rows[table]);
        await q.query(
          `INSERT INTO checkpoint (id, block_number, block_hash) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET block_number = $1, block_hash = $2`,
          [to, last.hash.toLowerCase()],
        );
      });
    } catch (err) {
      // The in-memory state already moved; rebuild it from what is committed.
      await this.state.load(this.db);
      throw err;
    }
    this.stats.lastBlock = to;
    this.stats.lastHash = last.hash.toLowerCase();
    this.stats.events += count;
    const t3 = performance.now();
    this.log.debug({ from, to, events: count, fetchMs: Math.round(f.fetchMs), applyMs: Math.round(t2 - t1), writeMs: Math.round(t3 - t2) }, "range indexed");
    return count;
  }

  /** Transactions that emitted BatchSettled: their calldata carries the entries. */
  private settleTxHashes(logs: RpcLog[]): Hex[] {
    const settlement = this.deployment.contracts.settlement.toLowerCase();
    const out = new Set<Hex>();
    for (const l of logs) if (l.address.toLowerCase() === settlement && l.topics[0] === BATCH_SETTLED_TOPIC) out.add(l.transactionHash.toLowerCase() as Hex);
    return [...out];
  }

  /** If the checkpoint block is no longer canonical, roll back to the newest stored block that is. */
  private async checkReorg(): Promise<void> {
    if (!this.stats.lastHash) return;
    const cur = await this.rpc.call<RpcBlock | null>("eth_getBlockByNumber", [hex(this.stats.lastBlock), false]);
    if (cur && cur.hash.toLowerCase() === this.stats.lastHash) return;
    let below = this.stats.lastBlock + 1;
    let ancestor = this.deployment.deployBlock - 1;
    for (;;) {
      const stored = await this.db.query(`SELECT block_number, hash FROM blocks WHERE block_number < $1 ORDER BY block_number DESC LIMIT 64`, [below]);
      if (stored.length === 0) break;
      const chain = await this.rpc.batch<RpcBlock | null>(stored.map((r) => ({ method: "eth_getBlockByNumber", params: [hex(Number(r.block_number)), false] })));
      const i = stored.findIndex((r, k) => chain[k] && chain[k]!.hash.toLowerCase() === r.hash);
      if (i >= 0) {
        ancestor = Number(stored[i]!.block_number);
        break;
      }
      below = Number(stored[stored.length - 1]!.block_number);
    }
    this.log.warn({ from: this.stats.lastBlock, to: ancestor }, "reorg: rolling back to the last canonical block");
    await this.rollbackTo(ancestor);
    this.stats.reorgs++;
  }

  async rollbackTo(ancestor: number): Promise<void> {
    await this.db.tx(async (q: Queryable) => {
      for (const table of ROLLBACK_TABLES) await q.query(`DELETE FROM ${table} WHERE block_number > $1`, [ancestor]);
      const h = await q.query(`SELECT hash FROM blocks WHERE block_number = $1`, [ancestor]);
      if (h[0]) await q.query(`UPDATE checkpoint SET block_number = $1, block_hash = $2 WHERE id = 1`, [ancestor, h[0].hash]);
      else await q.query(`DELETE FROM checkpoint WHERE id = 1`);
    });
    await this.state.load(this.db);
    this.stats.lastBlock = ancestor;
    const h = await this.db.query(`SELECT hash FROM blocks WHERE block_number = $1`, [ancestor]);
    this.stats.lastHash = h[0] ? String(h[0].hash) : null;
    this.stats.events = Number(big((await this.db.query(`SELECT count(*) AS n FROM events`))[0]!.n));
  }
}

/**
 * Deadlines of disputes indexed before the column existed: the same sum as Applier's, with the
 * period in force just before the DisputeOpened log (the last DisputeResolutionPeriodSet before it).
 */
export async function fillResolveBy(q: Queryable, initialPeriod: bigint): Promise<void> {
  await q.query(
    `UPDATE disputes d SET resolve_by = d.timestamp + COALESCE((
       SELECT (p.args->>'period')::bigint FROM events o, events p
       WHERE o.contract = 'Settlement' AND o.name = 'DisputeOpened' AND o.args->>'disputeId' = d.dispute_id::text
         AND p.contract = 'Settlement' AND p.name = 'DisputeResolutionPeriodSet' AND (p.block_number, p.log_index) < (o.block_number, o.log_index)
       ORDER BY p.block_number DESC, p.log_index DESC LIMIT 1), $1::bigint)
     WHERE d.resolve_by IS NULL`,
    [initialPeriod.toString()],
  );
}

/**
 * Arrears changes of a database indexed before arrears_changes existed: every ArrearsSet is already
 * in `events` with its decoded args, so the rows are copied from there (the same columns as
 * Applier's). A row already present is kept, so this is a no-op on every later start.
 */
export async function fillArrears(q: Queryable): Promise<void> {
  await q.query(
    `INSERT INTO arrears_changes (block_number, log_index, timestamp, tx_hash, report_key, provider, owed, customers, amounts)
     SELECT block_number, log_index, timestamp, tx_hash, args->>'reportKey', args->>'provider', (args->>'owed')::numeric, args->'customers', args->'amounts'
       FROM events WHERE contract = 'SlaCredits' AND name = 'ArrearsSet'
     ON CONFLICT (block_number, log_index) DO NOTHING`,
  );
}

const BATCH_SETTLED_TOPIC = toEventSelector(settlementAbi.find((i) => i.type === "event" && i.name === "BatchSettled") as AbiEvent);
