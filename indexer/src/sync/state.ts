/**
 * The running state the follower needs to turn events into balances: customer escrow, provider stake
 * and earnings, and the fee in force. It mirrors the contracts' own bookkeeping (CustomerEscrow,
 * ProviderStaking, Settlement's epoch-rolled earnings word) so the indexer's numbers equal the views.
 * It is loaded from the latest stored versions, so after a restart or a rollback it is exactly what
 * the database says.
 */
import type { Queryable } from "../db/db.ts";
import { big } from "../db/db.ts";

export type CustomerState = { available: bigint; pending: bigint; unlockAt: bigint };
export type StakeState = { bonded: bigint; unbonding: bigint; unlockAt: bigint; locked: bigint; jailed: boolean };
export type EarningsState = {
  claimable: bigint; prev: bigint; cur: bigint; epoch: bigint;
  claimed: bigint; credited: bigint; refunded: bigint;
};

export class State {
  customers = new Map<string, CustomerState>();
  stakes = new Map<string, StakeState>();
  earnings = new Map<string, EarningsState>();
  feeBps = 0n;
  /** Settlement.disputeResolutionPeriod in force: a dispute's deadline is its opening time plus this. */
  resolutionPeriod = 0n;

  readonly disputeWindow: bigint;
  readonly initialFeeBps: bigint;
  readonly initialResolutionPeriod: bigint;
  constructor(disputeWindow: bigint, initialFeeBps: bigint, initialResolutionPeriod: bigint) {
    this.disputeWindow = disputeWindow;
    this.initialFeeBps = initialFeeBps;
    this.feeBps = initialFeeBps;
    this.initialResolutionPeriod = initialResolutionPeriod;
    this.resolutionPeriod = initialResolutionPeriod;
  }

  customer(a: string): CustomerState {
    let s = this.customers.get(a);
    if (!s) this.customers.set(a, (s = { available: 0n, pending: 0n, unlockAt: 0n }));
    return s;
  }
  stake(a: string): StakeState {
    let s = this.stakes.get(a);
    if (!s) this.stakes.set(a, (s = { bonded: 0n, unbonding: 0n, unlockAt: 0n, locked: 0n, jailed: false }));
    return s;
  }
  earning(a: string): EarningsState {
    let s = this.earnings.get(a);
    if (!s) this.earnings.set(a, (s = { claimable: 0n, prev: 0n, cur: 0n, epoch: 0n, claimed: 0n, credited: 0n, refunded: 0n }));
    return s;
  }

  async load(q: Queryable): Promise<void> {
    this.customers.clear();
    this.stakes.clear();
    this.earnings.clear();
    for (const r of await q.query(
      `SELECT DISTINCT ON (customer) customer, available, pending, unlock_at FROM ledger ORDER BY customer, block_number DESC, log_index DESC, sub DESC`,
    )) this.customers.set(String(r.customer), { available: big(r.available), pending: big(r.pending), unlockAt: big(r.unlock_at) });
    for (const r of await q.query(
      `SELECT DISTINCT ON (provider) provider, bonded, unbonding, unlock_at, locked, jailed FROM stake_changes ORDER BY provider, block_number DESC, log_index DESC`,
    )) this.stakes.set(String(r.provider), { bonded: big(r.bonded), unbonding: big(r.unbonding), unlockAt: big(r.unlock_at), locked: big(r.locked), jailed: r.jailed === true });
    for (const r of await q.query(
      `SELECT DISTINCT ON (provider) provider, claimable, prev, cur, epoch, claimed, credited, refunded FROM earnings_changes ORDER BY provider, block_number DESC, log_index DESC, sub DESC`,
    )) this.earnings.set(String(r.provider), {
      claimable: big(r.claimable), prev: big(r.prev), cur: big(r.cur), epoch: big(r.epoch),
      claimed: big(r.claimed), credited: big(r.credited), refunded: big(r.refunded),
    });
    const fee = await q.query(`SELECT args->>'feeBps' AS fee FROM events WHERE name = 'FeeSet' AND contract = 'Settlement' ORDER BY block_number DESC, log_index DESC LIMIT 1`);
    this.feeBps = fee[0] ? big(fee[0].fee) : this.initialFeeBps;
    const period = await q.query(
      `SELECT args->>'period' AS period FROM events WHERE name = 'DisputeResolutionPeriodSet' AND contract = 'Settlement' ORDER BY block_number DESC, log_index DESC LIMIT 1`,
    );
    this.resolutionPeriod = period[0] ? big(period[0].period) : this.initialResolutionPeriod;
  }
}

/** Settlement._roll: move buckets forward to `epoch` (prev vests into claimable, cur becomes prev). */
export function roll(s: Pick<EarningsState, "claimable" | "prev" | "cur" | "epoch">, epoch: bigint): void {
  if (s.epoch === epoch) return;
  if (s.epoch + 1n === epoch) {
    s.claimable += s.prev;
    s.prev = s.cur;
  } else {
    s.claimable += s.prev + s.cur;
    s.prev = 0n;
  }
  s.cur = 0n;
  s.epoch = epoch;
}

/** Settlement.earningsOf at time `now`. */
export function earningsAt(s: EarningsState, now: bigint, disputeWindow: bigint) {
  const epoch = now / disputeWindow;
  const w = { ...s };
  roll(w, epoch);
  const nextVestAt = w.prev !== 0n ? (epoch + 1n) * disputeWindow : w.cur !== 0n ? (epoch + 2n) * disputeWindow : null;
  return { claimable: w.claimable, vesting: w.prev + w.cur, nextVestAt };
}
