/**
 * ABIs from the contracts build (never hand-kept copies). Each contract's ABI is extended with the
 * custom errors of the others, because a call into Settlement can revert inside USDC or the registry
 * and viem decodes only errors it can see.
 */
import { providerRegistryAbi, providerStakingAbi, settlementAbi, slaCreditsAbi, testUsdcAbi } from "@tollgate/protocol/generated/abis";
import type { Abi } from "viem";

const all = [settlementAbi, providerRegistryAbi, providerStakingAbi, slaCreditsAbi, testUsdcAbi] as const;
const errors = all.flatMap((abi) => (abi as Abi).filter((item) => item.type === "error"));
const withErrors = <T extends Abi>(abi: T): T => [...abi, ...errors.filter((e) => !abi.some((i) => i.type === "error" && i.name === (e as { name: string }).name))] as unknown as T;

export const abis = {
  settlement: withErrors(settlementAbi),
  registry: withErrors(providerRegistryAbi),
  staking: withErrors(providerStakingAbi),
  sla: withErrors(slaCreditsAbi),
  usdc: withErrors(testUsdcAbi),
};
/** Every custom error of the protocol, for decoding revert data found anywhere. */
export const errorAbi = errors as Abi;
