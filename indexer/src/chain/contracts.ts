/** Which contract emitted a log, and its decoded event, from the ABIs of @tollgate/protocol. */
import { decodeEventLog, toEventSelector, type Abi, type AbiEvent, type Address, type Hex } from "viem";
import { providerRegistryAbi, providerStakingAbi, settlementAbi, slaCreditsAbi, type Deployment } from "@tollgate/protocol";
import type { RpcLog } from "./rpc.ts";

export const CONTRACT_ABIS = {
  ProviderRegistry: providerRegistryAbi as Abi,
  ProviderStaking: providerStakingAbi as Abi,
  Settlement: settlementAbi as Abi,
  SlaCredits: slaCreditsAbi as Abi,
} as const;
export type ContractName = keyof typeof CONTRACT_ABIS;

export type DecodedLog = {
  contract: ContractName;
  name: string;
  args: Record<string, unknown>;
  blockNumber: number;
  blockHash: Hex;
  logIndex: number;
  txHash: Hex;
  timestamp: number;
};

export function contractAddresses(d: Deployment): Record<ContractName, Address> {
  return {
    ProviderRegistry: d.contracts.providerRegistry,
    ProviderStaking: d.contracts.providerStaking,
    Settlement: d.contracts.settlement,
    SlaCredits: d.contracts.slaCredits,
  };
}

/** topic0 -> event, per contract: viem would otherwise hash every event signature of the ABI per log. */
const EVENTS_BY_TOPIC: Record<ContractName, Map<string, AbiEvent>> = Object.fromEntries(
  Object.entries(CONTRACT_ABIS).map(([name, abi]) => [
    name,
    new Map(abi.filter((i): i is AbiEvent => i.type === "event").map((e) => [toEventSelector(e), e])),
  ]),
) as Record<ContractName, Map<string, AbiEvent>>;

export class LogDecoder {
  private readonly byAddress: Map<string, ContractName>;
  constructor(d: Deployment) {
    this.byAddress = new Map(Object.entries(contractAddresses(d)).map(([name, a]) => [a.toLowerCase(), name as ContractName]));
  }

  /** Decodes a log; null for a log of another address or an event these ABIs do not know. */
  decode(log: RpcLog, timestamp: number): DecodedLog | null {
    const contract = this.byAddress.get(log.address.toLowerCase());
    if (!contract) return null;
    const event = log.topics[0] ? EVENTS_BY_TOPIC[contract].get(log.topics[0]) : undefined;
    if (!event) return null;
    let decoded: { eventName: string; args: unknown };
    try {
      decoded = decodeEventLog({ abi: [event], topics: log.topics as [Hex, ...Hex[]], data: log.data }) as never;
    } catch {
      return null;
    }
    return {
      contract,
      name: decoded.eventName,
      args: lowerAddresses(decoded.args as Record<string, unknown>),
      blockNumber: Number(log.blockNumber),
      blockHash: log.blockHash.toLowerCase() as Hex,
      logIndex: Number(log.logIndex),
      txHash: log.transactionHash.toLowerCase() as Hex,
      timestamp,
    };
  }
}

/** Addresses and hashes are stored and served lowercase. */
function lowerAddresses<T>(v: T): T {
  if (typeof v === "string") return (v.startsWith("0x") ? v.toLowerCase() : v) as T;
  if (Array.isArray(v)) return v.map(lowerAddresses) as T;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, lowerAddresses(x)])) as T;
  return v;
}

/** JSON for the events table: bigints as decimal strings. */
export function argsJson(args: Record<string, unknown>): string {
  return JSON.stringify(args, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}
