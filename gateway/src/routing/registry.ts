/**
 * The workers this gateway may route to. Registrations live in the database (so every replica
 * knows every worker); in-flight counts, latency and failure history are this replica's own view.
 * A worker's bearer token is derived (HMAC of a gateway secret and a per-registration nonce), so any
 * replica can call any worker while the database holds only the token's hash.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Address } from "viem";
import { getAddress } from "viem";
import type { Logger } from "pino";
import type { Db, Row } from "../store/db.ts";
import { sha256 } from "../auth/keys.ts";

export type WorkerHealth = { score: number; upstreamOk: boolean; consecutiveFailures: number };

export type WorkerEntry = {
  id: string;
  worker: Address;
  provider: Address;
  endpoint: string;
  /** Public model names (the part of each signed model before ':'). */
  models: string[];
  maxConcurrency: number;
  issuedAt: bigint;
  tokenHash: string;
  token: string;
  draining: boolean;
  lastSeenMs: number;
  health: WorkerHealth | null;
  // this replica's view
  inFlight: number;
  ttftEwmaMs: number;
  consecutiveFailures: number;
  cooldownUntil: number;
  cooldowns: number;
  driftPenalty: number;
};

/** How often the stall clock ticks; lateness below one tick is ordinary timer jitter, not a stall. */
const STALL_TICK_MS = 100;
/** Stalls kept: longer ago than the widest liveness window (3 × 600 s + 0.5 s) they no longer matter. */
const STALL_KEEP_MS = 3_600_000;
const STALL_KEEP_MAX = 10_000;

/**
 * This process's own event-loop stalls (a long synchronous task, a GC pause, a starved CPU): while
 * the loop is blocked no heartbeat can be read, so that time must not count against a worker. One
 * clock per process, since stalls are per process.
 */
class StallClock {
  private last = performance.now();
  private readonly stalls: { end: number; ms: number }[] = [];
  constructor() {
    setInterval(() => this.tick(), STALL_TICK_MS).unref();
  }

  private tick(): void {
    const t = performance.now();
    const late = t - this.last - STALL_TICK_MS;
    this.last = t;
    const now = Date.now();
    if (late >= STALL_TICK_MS) this.stalls.push({ end: now, ms: late });
    while (this.stalls.length > 0 && (this.stalls.length > STALL_KEEP_MAX || this.stalls[0]!.end < now - STALL_KEEP_MS)) this.stalls.shift();
  }

  /** Milliseconds the loop was blocked after `since` (wall clock), counting a stall still under way. */
  stalledSince(since: number, now: number): number {
    let ms = 0;
    for (let i = this.stalls.length - 1; i >= 0 && this.stalls[i]!.end > since; i--) ms += Math.min(this.stalls[i]!.ms, this.stalls[i]!.end - since);
    // Checked from a task that ran before the clock's next tick: the stall just ended is not recorded yet.
    const ongoing = performance.now() - this.last - STALL_TICK_MS;
    if (ongoing >= STALL_TICK_MS) ms += Math.min(ongoing, now - since);
    return ms;
  }
}

let stallClock: StallClock | null = null;

/** A jsonb column: PostgreSQL's driver parses it, PGlite may hand back the text. */
const jsonColumn = (v: unknown): unknown => (v === null || v === undefined ? null : typeof v === "string" ? JSON.parse(v) : v);

export class WorkerRegistry {
  private readonly db: Db;
  private readonly secret: Buffer;
  readonly heartbeatIntervalMs: number;
  private byId = new Map<string, WorkerEntry>();
  /** Models any worker ever registered here: unknown (404) vs momentarily unserved (503). */
  readonly knownModels = new Set<string>();
  private seq = 0;
  /** Routing explains itself here at debug level (why no worker was eligible). */
  readonly log: Logger | undefined;
  constructor(db: Db, secret: Buffer, heartbeatIntervalMs: number, log?: Logger) {
    this.db = db;
    this.secret = secret;
    this.heartbeatIntervalMs = heartbeatIntervalMs;
    this.log = log;
    stallClock ??= new StallClock();
  }

  private tokenFor(nonce: string): string {
    return createHmac("sha256", this.secret).update(`worker-token:${nonce}`).digest("base64url");
  }

  all(): WorkerEntry[] {
    return [...this.byId.values()];
  }
  get(id: string): WorkerEntry | undefined {
    return this.byId.get(id);
  }

  /** Three missed beats, plus half a second for a beat in flight, drop a worker. */
  get livenessWindowMs(): number {
    return 3 * this.heartbeatIntervalMs + 500;
  }

  /**
   * Is the worker alive as far as heartbeats go (and not draining). Time this process spent stalled
   * since the last beat does not count: a beat may be waiting, unread, behind the stall.
   */
  alive(w: WorkerEntry, now = Date.now()): boolean {
    return !w.draining && this.heartbeatAgeMs(w, now) <= this.livenessWindowMs;
  }

  /** Time since the worker's last heartbeat, minus this process's own stalls in between. */
  heartbeatAgeMs(w: WorkerEntry, now = Date.now()): number {
    const age = now - w.lastSeenMs;
    return age <= this.livenessWindowMs ? age : age - stallClock!.stalledSince(w.lastSeenMs, now);
  }

  async lastIssuedAt(worker: Address): Promise<bigint | null> {
    const rows = await this.db.query(`SELECT issued_at FROM workers WHERE worker = $1`, [worker.toLowerCase()]);
    return rows[0] ? BigInt(String(rows[0].issued_at)) : null;
  }

  async register(r: { worker: Address; provider: Address; endpoint: string; models: string[]; maxConcurrency: number; issuedAt: bigint }): Promise<{ id: string; token: string }> {
    const nonce = randomBytes(24).toString("base64url");
    const token = this.tokenFor(nonce);
    const id = `w-${Date.now().toString(36)}-${(++this.seq).toString(36)}-${randomBytes(3).toString("hex")}`;
    const now = Date.now();
    // One row per worker address: a new registration replaces the old one (its token dies).
    await this.db.query(
      `INSERT INTO workers (id, worker, provider, endpoint, models, max_concurrency, issued_at, token_hash, token_nonce, draining, last_seen_ms, registered_ms)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,false,$10,$10)
       ON CONFLICT (worker) DO UPDATE SET id = $1, provider = $3, endpoint = $4, models = $5, max_concurrency = $6, issued_at = $7,
         token_hash = $8, token_nonce = $9, draining = false, health = NULL, last_seen_ms = $10, registered_ms = $10`,
      [id, r.worker.toLowerCase(), r.provider.toLowerCase(), r.endpoint, JSON.stringify(r.models), r.maxConcurrency, r.issuedAt.toString(), sha256(token), nonce, now],
    );
    for (const [oldId, w] of this.byId) if (w.worker === r.worker) this.byId.delete(oldId);
    for (const m of r.models) this.knownModels.add(m);
    this.byId.set(id, this.fresh({ id, ...r, tokenHash: sha256(token), token, draining: false, lastSeenMs: now, health: null }));
    return { id, token };
  }

  private fresh(base: Pick<WorkerEntry, "id" | "worker" | "provider" | "endpoint" | "models" | "maxConcurrency" | "issuedAt" | "tokenHash" | "token" | "draining" | "lastSeenMs" | "health">): WorkerEntry {
    return { ...base, inFlight: 0, ttftEwmaMs: 200, consecutiveFailures: 0, cooldownUntil: 0, cooldowns: 0, driftPenalty: 0 };
  }

  /** Token check for heartbeats and deregistration, constant time. */
  authenticate(id: string, presented: string | undefined): WorkerEntry | null {
    const w = this.byId.get(id);
    if (!w || !presented?.startsWith("Bearer ")) return null;
    const a = Buffer.from(sha256(presented.slice(7)), "hex");
    const b = Buffer.from(w.tokenHash, "hex");
    return timingSafeEqual(a, b) ? w : null;
  }

  /**
   * As `authenticate`, for a worker this replica has not loaded yet: another replica behind the same
   * load balancer registered it moments ago. Reads that one row (by primary key) before answering
   * 404, which would make the worker register again and replace the token every replica holds.
   */
  async authenticateOrLoad(id: string, presented: string | undefined): Promise<WorkerEntry | null> {
    const known = this.authenticate(id, presented);
    if (known || this.byId.has(id) || !presented?.startsWith("Bearer ")) return known;
    const rows = await this.db.query(`SELECT * FROM workers WHERE id = $1`, [id]);
    if (!rows[0]) return null;
    this.add(rows[0]);
    return this.authenticate(id, presented);
  }

  async heartbeat(w: WorkerEntry, body: { draining: boolean; maxConcurrency: number; health: WorkerHealth }): Promise<void> {
    w.lastSeenMs = Date.now();
    w.draining = body.draining;
    w.maxConcurrency = body.maxConcurrency;
    w.health = body.health;
    await this.db.query(`UPDATE workers SET last_seen_ms = $2, draining = $3, max_concurrency = $4, health = $5 WHERE id = $1`, [
      w.id,
      w.lastSeenMs,
      w.draining,
      w.maxConcurrency,
      JSON.stringify(body.health),
    ]);
  }

  async remove(id: string): Promise<void> {
    this.byId.delete(id);
    await this.db.query(`DELETE FROM workers WHERE id = $1`, [id]);
  }

  /** Drop every worker of a provider or a worker key (e.g. after WorkerRevoked). */
  async removeWorkerKey(worker: Address): Promise<void> {
    for (const [id, w] of this.byId) if (w.worker === worker) this.byId.delete(id);
    await this.db.query(`DELETE FROM workers WHERE worker = $1`, [worker.toLowerCase()]);
  }

  /** Load registrations written by any replica (keeps this replica's local stats). */
  async sync(): Promise<void> {
    const rows = await this.db.query(`SELECT * FROM workers`);
    const seen = new Set<string>();
    for (const row of rows) {
      const id = String(row.id);
      seen.add(id);
      const existing = this.byId.get(id);
      if (!existing) {
        this.add(row);
        continue;
      }
      // A row's id changes with every registration, so only the live fields can differ here.
      existing.lastSeenMs = Math.max(existing.lastSeenMs, Number(row.last_seen_ms));
      existing.draining = Boolean(row.draining);
      existing.maxConcurrency = Number(row.max_concurrency);
      existing.health = jsonColumn(row.health) as WorkerHealth | null;
    }
    for (const id of this.byId.keys()) if (!seen.has(id)) this.byId.delete(id);
  }

  /** A worker entry from its database row (registered by this or another replica). */
  private add(row: Row): void {
    const models = jsonColumn(row.models) as string[];
    const health = jsonColumn(row.health) as WorkerHealth | null;
    for (const m of models) this.knownModels.add(m);
    const worker = getAddress(String(row.worker));
    for (const [oldId, w] of this.byId) if (w.worker === worker && oldId !== String(row.id)) this.byId.delete(oldId); // one entry per worker key
    this.byId.set(
      String(row.id),
      this.fresh({
        id: String(row.id),
        worker,
        provider: getAddress(String(row.provider)),
        endpoint: String(row.endpoint),
        models,
        maxConcurrency: Number(row.max_concurrency),
        issuedAt: BigInt(String(row.issued_at)),
        tokenHash: String(row.token_hash),
        token: this.tokenFor(String(row.token_nonce)),
        draining: Boolean(row.draining),
        lastSeenMs: Number(row.last_seen_ms),
        health,
      }),
    );
  }

  /** Outcome of a request before its first token: failures cool a worker down, successes heal it. */
  recordFailure(w: WorkerEntry): void {
    w.consecutiveFailures++;
    if (w.consecutiveFailures >= 3) {
      w.cooldowns++;
      // Ejection time grows with each ejection (Envoy style), capped at 5 minutes.
      w.cooldownUntil = Date.now() + Math.min(300_000, 5_000 * w.cooldowns);
      w.consecutiveFailures = 0;
    }
  }
  recordSuccess(w: WorkerEntry, ttftMs: number): void {
    w.consecutiveFailures = 0;
    w.ttftEwmaMs = w.ttftEwmaMs * 0.8 + ttftMs * 0.2;
  }
}

export const publicModelName = (signed: string) => signed.split(":")[0]!;
