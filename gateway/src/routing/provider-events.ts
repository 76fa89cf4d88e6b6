/**
 * Follows ProviderRegistry and ProviderStaking events (getLogs polling, every replica for its own
 * cache) so routing reacts within one poll interval instead of waiting for the slow refresh:
 *
 *  - WorkerRevoked: the worker key is dropped from the registry at once (and cannot re-register).
 *  - ModelListed, PriceChangeScheduled, ModelDelistScheduled: the provider's prices are re-read now
 *    and again when the change takes effect (`effectiveAt`).
 *  - Staked, UnbondStarted, Rebonded, StakeWithdrawn, Slashed, Jailed, Unjailed: the provider's
 *    `isActive` is re-read; MinStakeSet re-reads every provider's.
 */
import { getAddress, type Address, type Hex, type PublicClient } from "viem";
import type { Logger } from "pino";
import { modelId, providerRegistryAbi, providerStakingAbi } from "@tollgate/protocol";
import type { ProviderReads } from "./chain-reads.ts";
import type { WorkerRegistry } from "./registry.ts";
import { eventsNamed, walkLogRanges, type DecodedLog } from "../shared/range-walker.ts";

const REGISTRY_EVENTS = ["WorkerRevoked", "ModelListed", "PriceChangeScheduled", "ModelDelistScheduled"];
const STAKING_EVENTS = ["Staked", "UnbondStarted", "Rebonded", "StakeWithdrawn", "Slashed", "Jailed", "Unjailed", "MinStakeSet"];
const EVENTS = [...eventsNamed(providerRegistryAbi, REGISTRY_EVENTS), ...eventsNamed(providerStakingAbi, STAKING_EVENTS)];
const MAX_TIMER_MS = 2 ** 31 - 1;

export type ProviderEventDeps = { client: PublicClient; registryAddress: Address; stakingAddress: Address; reads: ProviderReads; workers: WorkerRegistry; log: Logger; pollMs: number };

export class ProviderEvents {
  private readonly d: ProviderEventDeps;
  private head: bigint | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly scheduled = new Set<NodeJS.Timeout>();
  private running: Promise<void> | null = null;
  private stopped = false;
  constructor(deps: ProviderEventDeps) {
    this.d = deps;
  }

  /**
   * Follow from the current head. The caller read every provider's state just before, but a change
   * mined between that read and this head would be missed by both (a provider that staked in
   * between would stay unroutable until the slow refresh), so the state is read again after it.
   */
  async start(): Promise<void> {
    this.head = await this.d.client.getBlockNumber({ cacheTime: 0 });
    await this.rereadAll().catch((err: Error) => this.d.log.warn({ err: err.message }, "provider events: initial re-read failed; the slow refresh still runs"));
    const loop = async () => {
      if (this.stopped) return;
      await this.syncOnce().catch((err: Error) => this.d.log.warn({ err: err.message }, "provider events: sync failed; retrying"));
      if (!this.stopped) this.timer = setTimeout(loop, this.d.pollMs);
    };
    this.timer = setTimeout(loop, this.d.pollMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const t of this.scheduled) clearTimeout(t);
    await this.running;
  }

  async syncOnce(): Promise<void> {
    while (this.running) await this.running;
    this.running = this.doSync().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async doSync(): Promise<void> {
    if (this.head === null) {
      this.head = await this.d.client.getBlockNumber({ cacheTime: 0 }); // not started: follow from now
      return;
    }
    const { applied } = await walkLogRanges({
      client: this.d.client,
      address: [this.d.registryAddress, this.d.stakingAddress],
      events: EVENTS,
      from: this.head + 1n,
      stopped: () => this.stopped,
      onRange: async ({ logs }) => {
        for (const log of logs) await this.apply(log);
      },
    });
    this.head = applied;
  }

  private async apply(log: DecodedLog): Promise<void> {
    const a = log.args;
    const { reads, workers } = this.d;
    switch (log.eventName) {
      case "WorkerRevoked": {
        const worker = String(a.worker).toLowerCase();
        for (const w of workers.all()) {
          if (w.worker.toLowerCase() !== worker) continue;
          this.d.log.warn({ workerId: w.id, worker: w.worker }, "worker key revoked on-chain; no longer routed");
          await workers.removeWorkerKey(w.worker);
        }
        return;
      }
      case "ModelListed":
      case "PriceChangeScheduled":
      case "ModelDelistScheduled": {
        const provider = getAddress(String(a.provider));
        await this.refreshPrices(provider, a.model as Hex);
        const effectiveAt = a.effectiveAt === undefined ? 0 : Number(a.effectiveAt);
        const wait = effectiveAt * 1000 - Date.now() + 1_000; // a second after the change is in force
        if (wait > 0 && wait < MAX_TIMER_MS) {
          const t = setTimeout(() => {
            this.scheduled.delete(t);
            void this.refreshPrices(provider, a.model as Hex).catch(() => {});
          }, wait);
          t.unref();
          this.scheduled.add(t);
        }
        return;
      }
      case "MinStakeSet":
        await Promise.all([...new Set(workers.all().map((w) => w.provider))].map((p) => reads.isActive(p, true)));
        return;
      default:
        if (a.provider !== undefined) await reads.isActive(getAddress(String(a.provider)), true);
    }
  }

  /** Every registered provider's `isActive` and prices, read fresh. */
  private async rereadAll(): Promise<void> {
    const { reads, workers } = this.d;
    const pairs = new Map<Address, Set<string>>();
    for (const w of workers.all()) for (const m of w.models) pairs.set(w.provider, (pairs.get(w.provider) ?? new Set()).add(m));
    await Promise.all([...pairs].flatMap(([p, models]) => [reads.isActive(p, true), ...[...models].map((m) => reads.price(p, m, true))]));
  }

  /** Re-read the prices of `model` (a model id) for the provider's registered workers. */
  private async refreshPrices(provider: Address, model: Hex): Promise<void> {
    const names = new Set<string>();
    for (const w of this.d.workers.all()) if (w.provider === provider) for (const m of w.models) if (modelId(m) === model) names.add(m);
    await Promise.all([...names].map((m) => this.d.reads.price(provider, m, true)));
  }
}
