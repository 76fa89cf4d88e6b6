/** Reads of provider state on-chain (registry, staking), cached briefly: they change rarely. */
import type { Address, PublicClient } from "viem";
import { providerRegistryAbi, providerStakingAbi, modelId } from "@tollgate/protocol";

export type ModelPrice = { promptPrice: bigint; completionPrice: bigint; served: boolean; contextLength: number };

export class ProviderReads {
  private readonly client: PublicClient;
  private readonly registry: Address;
  private readonly staking: Address;
  private readonly ttlMs: number;
  private active = new Map<string, { v: boolean; until: number }>();
  private prices = new Map<string, { v: ModelPrice; until: number }>();
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
    const v = await this.client.readContract({ address: this.staking, abi: providerStakingAbi, functionName: "isActive", args: [provider] });
    this.active.set(provider, { v, until: Date.now() + this.ttlMs });
    return v;
  }

  async price(provider: Address, model: string, fresh = false): Promise<ModelPrice> {
    const key = `${provider}|${model}`;
    const hit = this.prices.get(key);
    if (!fresh && hit && hit.until > Date.now()) return hit.v;
    const id = modelId(model);
    const [[promptPrice, completionPrice, served], info] = await Promise.all([
      this.client.readContract({ address: this.registry, abi: providerRegistryAbi, functionName: "priceInForce", args: [provider, id] }),
      this.client.readContract({ address: this.registry, abi: providerRegistryAbi, functionName: "modelInfo", args: [provider, id] }),
    ]);
    const v = { promptPrice: BigInt(promptPrice), completionPrice: BigInt(completionPrice), served, contextLength: Number((info as { contextLength: number | bigint }).contextLength) };
    this.prices.set(key, { v, until: Date.now() + this.ttlMs });
    return v;
  }

  /** Cached values only (routing must not wait on the chain). */
  cachedActive(provider: Address): boolean | undefined {
    return this.active.get(provider)?.v;
  }
  cachedPrice(provider: Address, model: string): ModelPrice | undefined {
    return this.prices.get(`${provider}|${model}`)?.v;
  }
}
