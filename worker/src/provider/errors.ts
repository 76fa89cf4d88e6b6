/**
 * Reverts in words. viem decodes a custom error with the ABI; each error a provider can meet is
 * mapped here to a sentence that says what is wrong and, where there is one, what to do.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  InsufficientFundsError,
  decodeErrorResult,
  type Abi,
  type Hex,
} from "viem";
import {
  accessManagerAbi,
  providerRegistryAbi,
  providerStakingAbi,
  settlementAbi,
  slaCreditsAbi,
  testUsdcAbi,
} from "@tollgate/protocol/generated/abis";
import { usdc, when, utc } from "./format.ts";

type AbiError = Extract<Abi[number], { type: "error" }>;

/** Every custom error of every Tollgate contract (and TestUSDC), once: nested reverts bubble up. */
export const ALL_ERRORS: AbiError[] = (() => {
  const seen = new Map<string, AbiError>();
  for (const abi of [providerRegistryAbi, providerStakingAbi, settlementAbi, slaCreditsAbi, testUsdcAbi, accessManagerAbi] as Abi[]) {
    for (const item of abi) {
      if (item.type !== "error") continue;
      const sig = `${item.name}(${item.inputs.map((i) => i.type).join(",")})`;
      if (!seen.has(sig)) seen.set(sig, item);
    }
  }
  return [...seen.values()];
})();

/** A contract's ABI plus every other contract's errors, so viem can decode what bubbles up. */
export function withAllErrors<T extends Abi>(abi: T): T {
  const own = new Set(abi.filter((i) => i.type === "error").map((i) => (i as AbiError).name));
  return [...abi, ...ALL_ERRORS.filter((e) => !own.has(e.name))] as unknown as T;
}

export type DecodedRevert = { name: string; args: readonly unknown[] };

/** The failed transaction or call, explained. */
export class TxError extends Error {
  readonly revert?: DecodedRevert;
  constructor(message: string, revert?: DecodedRevert) {
    super(message);
    this.revert = revert;
  }
}

export function decodeRevertData(data: Hex): DecodedRevert | undefined {
  try {
    const r = decodeErrorResult({ abi: ALL_ERRORS, data });
    return { name: r.errorName, args: (r.args ?? []) as readonly unknown[] };
  } catch {
    return undefined;
  }
}

/** Finds the decoded revert in a viem error, if the failure was a revert. */
export function revertOf(err: unknown): DecodedRevert | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  if (reverted) {
    if (reverted.data) return { name: reverted.data.errorName, args: (reverted.data.args ?? []) as readonly unknown[] };
    if (reverted.raw) return decodeRevertData(reverted.raw) ?? { name: "unknown", args: [reverted.raw] };
    if (reverted.reason) return { name: "Error", args: [reverted.reason] };
    return { name: "unknown", args: [] };
  }
  return undefined;
}

const n = (v: unknown) => BigInt(v as bigint | number);

/** One sentence per error. `now` is the chain's time, for "in 3 h 12 min". */
export function explainRevert(r: DecodedRevert, now: bigint): string {
  const a = r.args;
  switch (r.name) {
    // ProviderRegistry
    case "AlreadyRegistered":
      return "this account is already registered as a provider (use update-profile to change the hardware profile)";
    case "NotRegistered":
      return `${String(a[0])} is not a registered provider: run \`tollgate-provider register\` first`;
    case "InvalidProfile":
      return "the hardware profile is incomplete: it needs a GPU model, a GPU count and VRAM above zero";
    case "ModelAlreadyListed":
      return "this model is already listed: change its price with `tollgate-provider set-price`";
    case "ModelNotListed":
      return "this model is not listed by you (or its delisting is pending): list it with `tollgate-provider list-model`";
    case "PriceChangeSettling":
      return `the previous price change is still settling; you can change this model again at ${when(n(a[0]), now)}`;
    case "WorkerAlreadyBound":
      return `worker ${String(a[0])} is already authorized for provider ${String(a[1])}; a worker key serves one provider only (its provider must revoke it first)`;
    case "NotYourWorker":
      return `worker ${String(a[0])} is not authorized for your account, so there is nothing to revoke`;
    case "ZeroAddress":
      return "the zero address cannot be a worker";
    // ProviderStaking
    case "ZeroAmount":
      return "the amount must be more than 0 USDC";
    case "InsufficientBonded":
      return `you asked for ${usdc(n(a[0]))} but only ${usdc(n(a[1]))} is bonded`;
    case "InsufficientUnbonding":
      return `you asked to rebond ${usdc(n(a[0]))} but only ${usdc(n(a[1]))} is unbonding`;
    case "StillUnbonding":
      return `your stake is still unbonding: it unlocks at ${when(n(a[0]), now)}`;
    case "NothingToWithdraw":
      return "there is no unlocked stake to withdraw (nothing is unbonding, or open disputes hold it)";
    case "NotJailed":
      return "you are not jailed, so there is nothing to unjail";
    case "BelowMinStake":
      return `your bonded stake ${usdc(n(a[0]))} is below the minimum ${usdc(n(a[1]))}: stake ${usdc(n(a[1]) - n(a[0]))} more, then unjail`;
    case "UnsupportedToken":
      return "the staking token moved a different amount than asked (fee-on-transfer tokens are not supported)";
    case "EnforcedPause":
      return "the contract is paused by the guardian; staking, unbonding and settlement wait until it is unpaused (withdraw and claim still work)";
    case "SafeERC20FailedOperation":
      return "the USDC transfer failed";
    // Settlement
    case "NothingToClaim":
      return "nothing is claimable yet: earnings vest after the dispute window (see `tollgate-provider status` for the next vest time)";
    case "AccountFrozen":
      return `account ${String(a[0])} is frozen by the guardian; contact the operator`;
    // USDC
    case "ERC20InsufficientBalance":
      return `your USDC balance is ${usdc(n(a[1]))} but ${usdc(n(a[2]))} is needed`;
    case "ERC20InsufficientAllowance":
      return `the staking contract may spend only ${usdc(n(a[1]))} of your USDC but needs ${usdc(n(a[2]))} (approve it first)`;
    case "AccountBlacklisted":
      return `USDC has blacklisted ${String(a[0])}; it cannot send or receive USDC`;
    case "TokenPaused":
      return "USDC transfers are paused by its issuer";
    case "ERC2612ExpiredSignature":
      return `the permit signature expired at ${utc(n(a[0]))}`;
    case "ERC2612InvalidSigner":
      return "the permit signature is not from this account";
    // Access control
    case "AccessManagedUnauthorized":
      return `${String(a[0])} is not allowed to call this function (it needs a protocol role)`;
    case "AccessManagedRequiredDelay":
      return "this call must be scheduled through the AccessManager first (governor delay)";
    case "ReentrancyGuardReentrantCall":
      return "reentrant call refused";
    case "Error":
      return `reverted: ${String(a[0])}`;
    case "Panic":
      return `the contract panicked (code ${String(a[0])})`;
    default:
      return `the contract refused with ${r.name}(${a.map((x) => String(x)).join(", ")})`;
  }
}

/** A failure of any kind as one line for a person. */
export function explainFailure(err: unknown, now: bigint): string {
  if (err instanceof TxError) return err.message;
  const revert = revertOf(err);
  if (revert) return explainRevert(revert, now);
  if (err instanceof BaseError) {
    if (err.walk((e) => e instanceof InsufficientFundsError)) return "your account has too little ETH to pay for gas on this chain";
    const msg = err.shortMessage || err.message;
    if (/fetch failed|ECONNREFUSED|HTTP request failed/i.test(err.message)) return `cannot reach the RPC endpoint: ${msg}`;
    return msg;
  }
  return (err as Error)?.message ?? String(err);
}
