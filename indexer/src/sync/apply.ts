/**
 * Turns decoded events into rows. Pure bookkeeping over `State`: no I/O except what the follower
 * hands in (the calldata of settleBatch transactions). Each handler mirrors the contract function
 * that emitted the event, so the rows' balances equal the contracts' views.
 */
import { decodeFunctionData, hexToString, type Hex } from "viem";
import { entryCharge, fee as feeOf, settlementAbi, type BatchEntry } from "@tollgate/protocol";
import type { Row } from "../db/db.ts";
import type { TableName } from "../db/schema.ts";
import { argsJson, type DecodedLog } from "../chain/contracts.ts";
import { roll, type State } from "./state.ts";
import type { Logger } from "pino";

export type Rows = Record<TableName, Row[]>;
export const emptyRows = (): Rows => ({
  blocks: [], events: [], ledger: [], stake_changes: [], slashes: [], earnings_changes: [], batches: [], batch_entries: [],
  batch_checks: [], receipts: [], disputes: [], dispute_resolutions: [], sla_reports: [], arrears_changes: [], provider_profiles: [], price_changes: [],
  worker_changes: [],
});

/** What a handler may need beyond the event: settleBatch calldata by tx hash, skipped entries by batch. */
export type Extras = {
  txInputs: Map<string, Hex>;
  skipped: Map<string, Map<number, number>>;
  /** Disputes opened in this range (not yet in the database). */
  disputes: Map<string, { customer: string; provider: string }>;
  lookupDispute(id: string): Promise<{ customer: string; provider: string } | null>;
};

type A = Record<string, any>;
const base = (e: DecodedLog) => ({ block_number: e.blockNumber, log_index: e.logIndex, timestamp: e.timestamp, tx_hash: e.txHash });

function bytes32Text(h: Hex): string {
  try {
    return hexToString(h, { size: 32 }).replace(/\0+$/, "");
  } catch {
    return h;
  }
}

export class Applier {
  private readonly state: State;
  private readonly log: Logger;
  constructor(state: State, log: Logger) {
    this.state = state;
    this.log = log;
  }

  async apply(e: DecodedLog, rows: Rows, x: Extras): Promise<void> {
    const a = e.args as A;
    rows.events.push({ ...base(e), contract: e.contract, name: e.name, args: argsJson(a) });
    const key = `${e.contract}.${e.name}`;
    const s = this.state;
    switch (key) {
      // ---------------------------------------------------------------- escrow
      case "Settlement.Deposited": {
        const c = s.customer(a.customer);
        c.available += a.amount;
        this.ledger(rows, e, 0, a.customer, "DEPOSIT", a.amount, { payer: a.payer });
        break;
      }
      case "Settlement.WithdrawalRequested": {
        const c = s.customer(a.customer);
        c.available -= a.amount;
        c.pending = a.pending;
        c.unlockAt = BigInt(a.unlockAt);
        this.ledger(rows, e, 0, a.customer, "WITHDRAWAL_REQUESTED", a.amount, {});
        break;
      }
      case "Settlement.WithdrawalCanceled": {
        const c = s.customer(a.customer);
        c.pending -= a.amount;
        c.available += a.amount;
        this.ledger(rows, e, 0, a.customer, "WITHDRAWAL_CANCELED", a.amount, {});
        break;
      }
      case "Settlement.Withdrawn": {
        const c = s.customer(a.customer);
        c.pending -= a.amount;
        this.ledger(rows, e, 0, a.customer, "WITHDRAWN", a.amount, {});
        break;
      }
      case "Settlement.SlaCreditPaid": {
        s.customer(a.customer).available += a.amount;
        this.ledger(rows, e, 0, a.customer, "SLA_CREDIT", a.amount, { provider: a.provider });
        break;
      }
      // ---------------------------------------------------------------- batches
      case "Settlement.EntrySkipped": {
        const k = `${e.txHash}:${a.gatewayId}:${a.batchId}`;
        if (!x.skipped.has(k)) x.skipped.set(k, new Map());
        x.skipped.get(k)!.set(Number(a.index), Number(a.reason));
        break;
      }
      case "Settlement.BatchSettled":
        this.batchSettled(e, a, rows, x);
        break;
      case "Settlement.FeeSet":
        s.feeBps = BigInt(a.feeBps);
        break;
      case "Settlement.DisputeResolutionPeriodSet":
        // Only disputes opened from now on get it: an open dispute keeps its deadline.
        s.resolutionPeriod = BigInt(a.period);
        break;
      case "Settlement.EarningsClaimed": {
        const w = s.earning(a.provider);
        roll(w, BigInt(e.timestamp) / s.disputeWindow);
        w.claimable -= a.amount;
        w.claimed += a.amount;
        this.earnings(rows, e, 0, a.provider, "CLAIMED", a.amount, {});
        break;
      }
      // ---------------------------------------------------------------- disputes
      case "Settlement.DisputeOpened": {
        const id = String(a.disputeId);
        x.disputes.set(id, { customer: a.customer, provider: a.provider });
        rows.disputes.push({
          dispute_id: id, block_number: e.blockNumber, timestamp: e.timestamp, tx_hash: e.txHash, customer: a.customer, provider: a.provider,
          gateway_id: Number(a.entry.gatewayId), batch_id: a.entry.batchId, entry_index: Number(a.entry.index), amount: a.amount, reason_hash: a.reasonHash,
          // Settlement.openDispute: resolveBy = block.timestamp + disputeResolutionPeriod in force.
          // DisputeOpened does not carry it, but this sum is exact (the period is tracked from the
          // deployment's value and DisputeResolutionPeriodSet events, in log order).
          resolve_by: BigInt(e.timestamp) + s.resolutionPeriod,
        });
        break;
      }
      case "Settlement.DisputeResolved": {
        const id = String(a.disputeId);
        rows.dispute_resolutions.push({
          dispute_id: id, block_number: e.blockNumber, timestamp: e.timestamp, tx_hash: e.txHash, upheld: a.upheld,
          refund: a.refund, from_earnings: a.fromEarnings, from_stake: a.fromStake, from_fees: a.fromFees, expired: false,
        });
        if (!a.upheld) break;
        const d = x.disputes.get(id) ?? (await x.lookupDispute(id));
        if (!d) {
          this.log.error({ disputeId: id }, "DisputeResolved for a dispute never opened: balances of its parties may drift");
          break;
        }
        if (a.fromEarnings > 0n) {
          // Settlement._takeUnvested: newest bucket first.
          const w = s.earning(d.provider);
          roll(w, BigInt(e.timestamp) / s.disputeWindow);
          const fromCur: bigint = a.fromEarnings < w.cur ? a.fromEarnings : w.cur;
          w.cur -= fromCur;
          w.prev -= a.fromEarnings - fromCur;
          w.refunded += a.fromEarnings;
          this.earnings(rows, e, 0, d.provider, "DISPUTE_REFUND", a.fromEarnings, { dispute_id: id });
        }
        s.customer(d.customer).available += a.refund;
        this.ledger(rows, e, 0, d.customer, "DISPUTE_REFUND", a.refund, { dispute_id: id, provider: d.provider });
        break;
      }
      case "Settlement.DisputeExpired": {
        // Settlement.expireDispute emits DisputeResolved(upheld = false, nothing moved) just before,
        // in the same transaction, so its row is in this range: mark it expired.
        const id = String(a.disputeId);
        const row = rows.dispute_resolutions.find((r) => String(r.dispute_id) === id);
        if (row) row.expired = true;
        else this.log.error({ disputeId: id }, "DisputeExpired without its DisputeResolved: status shows REJECTED");
        break;
      }
      // ---------------------------------------------------------------- staking
      case "ProviderStaking.Staked": {
        const st = s.stake(a.provider);
        st.bonded = a.bonded;
        this.stakeRow(rows, e, a.provider, "STAKED", a.amount);
        break;
      }
      case "ProviderStaking.UnbondStarted": {
        const st = s.stake(a.provider);
        st.bonded -= a.amount;
        st.unbonding = a.unbonding;
        st.unlockAt = BigInt(a.unlockAt);
        this.stakeRow(rows, e, a.provider, "UNBOND_STARTED", a.amount);
        break;
      }
      case "ProviderStaking.Rebonded": {
        const st = s.stake(a.provider);
        st.unbonding -= a.amount;
        st.bonded = a.bonded;
        this.stakeRow(rows, e, a.provider, "REBONDED", a.amount);
        break;
      }
      case "ProviderStaking.StakeWithdrawn": {
        s.stake(a.provider).unbonding -= a.amount;
        this.stakeRow(rows, e, a.provider, "WITHDRAWN", a.amount);
        break;
      }
      case "ProviderStaking.Slashed": {
        // ProviderStaking.slash takes from bonded first, then unbonding.
        const st = s.stake(a.provider);
        const fromBonded: bigint = a.paid < st.bonded ? a.paid : st.bonded;
        st.bonded -= fromBonded;
        st.unbonding -= a.paid - fromBonded;
        this.stakeRow(rows, e, a.provider, "SLASHED", a.paid);
        rows.slashes.push({ ...base(e), provider: a.provider, requested: a.requested, paid: a.paid, recipient: a.recipient, reason: bytes32Text(a.reason) });
        break;
      }
      case "ProviderStaking.Jailed":
        s.stake(a.provider).jailed = true;
        this.stakeRow(rows, e, a.provider, "JAILED", a.shortfall);
        break;
      case "ProviderStaking.Unjailed":
        s.stake(a.provider).jailed = false;
        this.stakeRow(rows, e, a.provider, "UNJAILED", 0n);
        break;
      case "ProviderStaking.StakeLocked":
        s.stake(a.provider).locked = a.totalLocked;
        this.stakeRow(rows, e, a.provider, "LOCKED", a.amount);
        break;
      case "ProviderStaking.StakeUnlocked":
        s.stake(a.provider).locked = a.totalLocked;
        this.stakeRow(rows, e, a.provider, "UNLOCKED", a.amount);
        break;
      // ---------------------------------------------------------------- registry
      case "ProviderRegistry.ProviderRegistered":
      case "ProviderRegistry.ProfileUpdated": {
        const p = a.profile as A;
        rows.provider_profiles.push({
          ...base(e), provider: a.provider, registered: true, gpu_model: p.gpuModel, gpu_count: Number(p.gpuCount), vram_gb: Number(p.vramGb),
          region: p.region, metadata_uri: p.metadataURI,
        });
        break;
      }
      case "ProviderRegistry.ModelListed":
        rows.price_changes.push({
          ...base(e), provider: a.provider, model: a.model, kind: "LISTED", name: a.name, quantization: a.quantization, model_hash: a.modelHash,
          context_length: Number(a.contextLength), prompt_price: BigInt(a.promptPrice), completion_price: BigInt(a.completionPrice), effective_at: e.timestamp,
        });
        break;
      case "ProviderRegistry.PriceChangeScheduled":
        rows.price_changes.push({
          ...base(e), provider: a.provider, model: a.model, kind: "CHANGE_SCHEDULED", prompt_price: BigInt(a.promptPrice),
          completion_price: BigInt(a.completionPrice), effective_at: Number(a.effectiveAt),
        });
        break;
      case "ProviderRegistry.ModelDelistScheduled":
        rows.price_changes.push({ ...base(e), provider: a.provider, model: a.model, kind: "DELIST_SCHEDULED", effective_at: Number(a.effectiveAt) });
        break;
      case "ProviderRegistry.WorkerAuthorized":
      case "ProviderRegistry.WorkerRevoked":
        rows.worker_changes.push({ block_number: e.blockNumber, log_index: e.logIndex, provider: a.provider, worker: a.worker, authorized: e.name === "WorkerAuthorized" });
        break;
      // ---------------------------------------------------------------- SLA
      case "SlaCredits.SlaReported": {
        const o = a.outcome as A;
        rows.sla_reports.push({
          report_key: a.reportKey, block_number: e.blockNumber, log_index: e.logIndex, timestamp: e.timestamp, tx_hash: e.txHash,
          gateway_id: Number(a.gatewayId), provider: a.provider, tier: Number(a.tier), window_start: BigInt(a.windowStart), window_end: BigInt(a.windowEnd),
          requests: Number(a.requests), availability_ppm: Number(a.availabilityPpm), p95_ttft_ms: Number(a.p95TtftMs),
          credit_bps: o.creditBps, total_spend: o.totalSpend, credit_owed: o.creditOwed, credit_paid: o.creditPaid,
        });
        break;
      }
      case "SlaCredits.ArrearsSet":
        // Same columns as fillArrears (follower.ts) reads from a stored event.
        rows.arrears_changes.push({
          ...base(e), report_key: a.reportKey, provider: a.provider, owed: a.owed,
          customers: JSON.stringify(a.customers), amounts: JSON.stringify((a.amounts as bigint[]).map(String)),
        });
        break;
      default:
        // Governance and pause events live in `events` only.
        break;
    }
  }

  private batchSettled(e: DecodedLog, a: A, rows: Rows, x: Extras): void {
    const s = this.state;
    const gatewayId = Number(a.gatewayId);
    const entries = this.entriesOf(e.txHash, x.txInputs.get(e.txHash), gatewayId, a.batchId);
    // The calldata of a successful direct settleBatch call is exactly what the contract hashed (the
    // follower hands in calldata only for transactions sent straight to Settlement).
    const known = entries !== null && entries.length === Number(a.entryCount);
    if (!known) this.log.error({ gatewayId, batchId: String(a.batchId), tx: e.txHash }, "batch entries not recoverable from calldata: customer balances of this batch are not indexed");
    rows.batches.push({
      gateway_id: gatewayId, batch_id: a.batchId, ...base(e), receipts_root: a.receiptsRoot, entries_hash: a.entriesHash,
      receipt_count: Number(a.receiptCount), entry_count: Number(a.entryCount), charged: a.charged, fees: a.fees, skipped: Number(a.skipped),
      vests_at: Number(a.vestsAt), fee_bps: Number(s.feeBps), entries_known: known,
    });
    rows.batch_checks.push({ gateway_id: gatewayId, batch_id: a.batchId, block_number: e.blockNumber, status: "PENDING", reason: null, checked_at: null, attempts: 0, next_try_ms: 0 });
    if (!known) return;
    const skipped = x.skipped.get(`${e.txHash}:${a.gatewayId}:${a.batchId}`) ?? new Map<number, number>();
    const epoch = BigInt(e.timestamp) / s.disputeWindow;
    let charged = 0n;
    let fees = 0n;
    const credits = new Map<string, { amount: bigint; first: number }>();
    entries.forEach((en, i) => {
      const reason = skipped.get(i);
      const amount = reason ? 0n : entryCharge(en);
      const fee = reason ? 0n : feeOf(amount, s.feeBps);
      rows.batch_entries.push({
        gateway_id: gatewayId, batch_id: a.batchId, idx: i, block_number: e.blockNumber, timestamp: e.timestamp,
        customer: en.customer.toLowerCase(), provider: en.provider.toLowerCase(), model: en.model.toLowerCase(), requests: en.requests,
        prompt_tokens: en.promptTokens, completion_tokens: en.completionTokens, prompt_price: en.promptPrice, completion_price: en.completionPrice,
        charge: amount, fee, skip_reason: reason ?? null,
      });
      if (reason) return;
      charged += amount;
      fees += fee;
      // CustomerEscrow: available first, then the pending withdrawal.
      const c = s.customer(en.customer.toLowerCase());
      if (amount <= c.available) c.available -= amount;
      else {
        c.pending -= amount - c.available;
        c.available = 0n;
      }
      this.ledger(rows, e, i, en.customer.toLowerCase(), "CHARGE", amount, { provider: en.provider.toLowerCase(), gateway_id: gatewayId, batch_id: a.batchId, entry_index: i });
      const p = en.provider.toLowerCase();
      const credit = credits.get(p) ?? { amount: 0n, first: i };
      credit.amount += amount - fee;
      credits.set(p, credit);
    });
    // One earnings row per provider per batch (the sum of its entries' credits).
    for (const [p, c] of credits) {
      const w = s.earning(p);
      roll(w, epoch);
      w.cur += c.amount;
      w.credited += c.amount;
      this.earnings(rows, e, c.first, p, "CREDITED", c.amount, { gateway_id: gatewayId, batch_id: a.batchId });
    }
    if (charged !== a.charged || fees !== a.fees) {
      this.log.error({ gatewayId, batchId: String(a.batchId), charged: String(charged), onChain: String(a.charged) }, "recomputed batch charge differs from BatchSettled");
    }
  }

  private entriesOf(txHash: string, input: Hex | undefined, gatewayId: number, batchId: bigint): BatchEntry[] | null {
    if (!input) return null;
    try {
      const { functionName, args } = decodeFunctionData({ abi: settlementAbi, data: input });
      if (functionName !== "settleBatch") return null;
      const batch = (args as unknown as [{ gatewayId: number; batchId: bigint; entries: readonly A[] }])[0];
      if (Number(batch.gatewayId) !== gatewayId || BigInt(batch.batchId) !== BigInt(batchId)) return null;
      return batch.entries.map((en) => ({
        customer: en.customer, provider: en.provider, model: en.model, requests: Number(en.requests),
        promptTokens: BigInt(en.promptTokens), completionTokens: BigInt(en.completionTokens),
        promptPrice: BigInt(en.promptPrice), completionPrice: BigInt(en.completionPrice),
      }));
    } catch {
      this.log.debug({ txHash }, "settleBatch calldata not decodable (called through another contract?)");
      return null;
    }
  }

  private ledger(rows: Rows, e: DecodedLog, sub: number, customer: string, kind: string, amount: bigint, extra: Row): void {
    const c = this.state.customer(customer);
    rows.ledger.push({
      ...base(e), sub, customer, kind, amount, available: c.available, pending: c.pending, unlock_at: c.unlockAt,
      payer: null, provider: null, gateway_id: null, batch_id: null, entry_index: null, dispute_id: null, ...extra,
    });
  }

  private earnings(rows: Rows, e: DecodedLog, sub: number, provider: string, kind: string, amount: bigint, extra: Row): void {
    const w = this.state.earning(provider);
    rows.earnings_changes.push({
      ...base(e), sub, provider, kind, amount, claimable: w.claimable, prev: w.prev, cur: w.cur, epoch: w.epoch,
      claimed: w.claimed, credited: w.credited, refunded: w.refunded, gateway_id: null, batch_id: null, dispute_id: null, ...extra,
    });
  }

  private stakeRow(rows: Rows, e: DecodedLog, provider: string, kind: string, amount: bigint): void {
    const st = this.state.stake(provider);
    rows.stake_changes.push({ ...base(e), provider, kind, amount, bonded: st.bonded, unbonding: st.unbonding, unlock_at: st.unlockAt, locked: st.locked, jailed: st.jailed });
  }
}
