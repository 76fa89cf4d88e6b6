/** Reads of provider state on-chain (registry, staking), cached briefly: they change rarely. */
import type { Address, PublicClient } from "viem";
import { providerRegistryAbi, providerStakingAbi, modelId } from "@tollgate/protocol";

export type ModelPrice = { promptPrice: bigint; completionPrice: bigint; served: boolean; contextLength: number };

type Cached<V> = { v: V; until: number; seq: number };

export class ProviderReads {
  private readonly client: PublicClient;
  private readonly registry: Address;
  private readonly staking: Address;
  private readonly ttlMs: number;
  private active = new Map<string, Cached<boolean>>();
  private prices = new Map<string, Cached<ModelPrice>>();
  /** Issue order of reads: answers can arrive out of order (one HTTP request each). */
  private seq = 0;
  constructor(client: PublicClient, registry: Address, staking: Address, ttlMs = 30_000) {
    this.client = client;
    this.registry = registry;
    this.staking = staking;
    this.ttlMs = ttlMs;
  }

  providerOfWorker(worker: Address): Promise<Address> {
    return this.client.readContract({ address: this.registry, abi: providerRegistryAbi, functionName: "providerOfWorker", args: [worker] });
  }

  async isActive(provider: Address, fresh = false): Promise<boolean> {
    const hit = this.active.get(provider);
    if (!fresh && hit && hit.until > Date.now()) return hit.v;
    const seq = ++this.seq;
    const v = await this.client.readContract({ address: this.staking, abi: providerStakingAbi, functionName: "isActive", args: [provider] });
    return this.keep(this.active, provider, v, seq);
  }

  async price(provider: Address, model: string, fresh = false): Promise<ModelPrice> {
    const key = `${provider}|${model}`;
    const hit = this.prices.get(key);
    if (!fresh && hit && hit.until > Date.now()) return hit.v;
    const id = modelId(model);
    const seq = ++this.seq;
    const [[promptPrice, completionPrice, served], info] = await Promise.all([
      this.client.readContract({ address: this.registry, abi: providerRegistryAbi, functionName: "priceInForce", args: [provider, id] }),
      this.client.readContract({ address: this.registry, abi: providerRegistryAbi, functionName: "modelInfo", args: [provider, id] }),
    ]);
    const v = { promptPrice: BigInt(promptPrice), completionPrice: BigInt(completionPrice), served, contextLength: Number((info as { contextLength: number | bigint }).contextLength) };
    return this.keep(this.prices, key, v, seq);
  }

  /**
   * Caches a read's answer unless a read issued after it has answered already: a slow read started
   * before a change (a provider staking) must not overwrite the newer answer (the stale `false`
   * that left a worker unroutable). Returns the newest answer.
   */
  private keep<V>(map: Map<string, Cached<V>>, key: string, v: V, seq: number): V {
    const hit = map.get(key);
    if (hit && hit.seq > seq) return hit.v;
    map.set(key, { v, until: Date.now() + this.ttlMs, seq });
    return v;
  }

  /**
   * Worth a read before answering 503: state never read, or a negative answer (inactive, model not
   * served) older than the TTL. Events and the slow refresh keep it current; this bounds how long a
   * missed change can keep a live worker unroutable, at one read per TTL per provider.
   */
  worthReading(provider: Address, model: string, now = Date.now()): boolean {
    const a = this.active.get(provider);
    const p = this.prices.get(`${provider}|${model}`);
    if (!a || !p) return true;
    return (!a.v && a.until <= now) || (!p.v.served && p.until <= now);
  }

  /** Cached values only (routing must not wait on the chain). */
  cachedActive(provider: Address): boolean | undefined {
    return this.active.get(provider)?.v;
  }
  cachedPrice(provider: Address, model: string): ModelPrice | undefined {
    return this.prices.get(`${provider}|${model}`)?.v;
  }
}
