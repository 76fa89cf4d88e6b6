/**
 * Turn a failed wallet or contract call into one sentence a person understands: the decoded custom
 * error in words, a rejected signature, or the node's short message — never a stack trace.
 */
import { BaseError, ContractFunctionRevertedError, UserRejectedRequestError, decodeErrorResult, type Hex } from "viem";
import { errorAbi } from "./abis.ts";
import { formatAmount } from "./usdc.ts";

type Args = readonly unknown[];
const when = (t: unknown) => new Date(Number(t) * 1000).toLocaleString();
const usdc = (v: unknown) => `${formatAmount(BigInt(v as bigint))} USDC`;

/** Custom errors of the contracts, in words. Unknown ones are shown by name. */
const WORDS: Record<string, (a: Args) => string> = {
  InsufficientAvailable: (a) => `Your available balance is ${usdc(a[1])}; you asked for ${usdc(a[0])}.`,
  NoPendingWithdrawal: () => "There is no pending withdrawal to complete.",
  WithdrawalLocked: (a) => `The withdrawal unlocks at ${when(a[0])}.`,
  AccountFrozen: () => "This account is frozen by the guardian; contact support (security).",
  ZeroAmount: () => "Enter an amount above zero.",
  ZeroAddress: () => "An address is missing.",
  UnsupportedToken: () => "The token moved a different amount than expected.",
  AlreadyRegistered: () => "This address is already registered as a provider.",
  NotRegistered: () => "Register as a provider first.",
  InvalidProfile: () => "The hardware profile is incomplete: GPU model, count, VRAM and region are required.",
  ModelAlreadyListed: () => "You already list this model; schedule a price change instead.",
  ModelNotListed: () => "You do not list this model.",
  PriceChangeSettling: (a) => `A previous price change is still settling until ${when(a[0])}.`,
  WorkerAlreadyBound: (a) => `Worker ${String(a[0])} is already authorized for provider ${String(a[1])}.`,
  NotYourWorker: () => "This worker key is not yours.",
  InsufficientBonded: (a) => `You have ${usdc(a[1])} bonded; you asked to unbond ${usdc(a[0])}.`,
  InsufficientUnbonding: (a) => `You have ${usdc(a[1])} unbonding; you asked for ${usdc(a[0])}.`,
  StillUnbonding: (a) => `The stake is still unbonding until ${when(a[0])}.`,
  NothingToWithdraw: () => "Nothing is unlocked to withdraw yet.",
  NotJailed: () => "The provider is not jailed.",
  BelowMinStake: (a) => `Bonded stake ${usdc(a[0])} is below the minimum ${usdc(a[1])}.`,
  NothingToClaim: () => "Nothing has vested yet: earnings vest when the dispute window closes.",
  DisputeWindowClosed: (a) => `The dispute window closed at ${when(a[0])}.`,
  NotEntryCustomer: () => "Only the entry's customer can dispute it.",
  EntryMismatch: () => "The entry does not match the batch settled on-chain.",
  AlreadyDisputed: () => "This charge is already disputed.",
  EntryNotSettled: () => "This entry was skipped, so nothing was charged for it.",
  UnknownBatch: (a) => `Batch ${String(a[0])}/${String(a[1])} is not on-chain.`,
  DisputeAmountTooHigh: (a) => `You can dispute at most the charge, ${usdc(a[1])}; you asked for ${usdc(a[0])}.`,
  DisputeNotOpen: (a) => `Dispute #${String(a[0])} is already closed (decided or expired).`,
  DisputeNotExpired: (a) => `Dispute #${String(a[0])} cannot be closed yet: the arbiter has until ${when(a[1])} to decide.`,
  ResolutionDeadlinePassed: (a) => `The deadline to decide dispute #${String(a[0])} passed at ${when(a[1])}; it can only be closed as expired now.`,
  NoArrears: () => "Nothing is owed on this SLA report any more: its arrears are already paid.",
  ArrearsMismatch: () => "What this report owes changed since the page read it (someone collected part of it): refresh and collect again.",
  EnforcedPause: () => "The protocol is paused by the guardian; only exits that are safe while paused work.",
  ERC20InsufficientBalance: (a) => `Your wallet holds ${usdc(a[1])}; this needs ${usdc(a[2])}.`,
  ERC20InsufficientAllowance: (a) => `The allowance is ${usdc(a[1])}; this needs ${usdc(a[2])}. Approve first.`,
  ERC2612ExpiredSignature: () => "The permit signature expired; sign again.",
  ERC2612InvalidSigner: () => "The permit was signed by another account or for another network.",
  AccountBlacklisted: () => "USDC has blacklisted this address; it cannot move USDC.",
  AccessManagedUnauthorized: () => "Your account does not hold the role this action needs.",
  ReentrancyGuardReentrantCall: () => "The call re-entered the contract and was refused.",
};

function inWords(name: string, args: Args): string {
  const f = WORDS[name];
  return f ? f(args) : `The contract refused: ${name}${args.length ? `(${args.map(String).join(", ")})` : ""}.`;
}

/** Find revert data anywhere in an error chain and decode it against every protocol error. */
function decodeData(err: BaseError): string | null {
  let found: string | null = null;
  err.walk((e) => {
    const data = (e as { data?: unknown }).data;
    const hex = typeof data === "string" ? data : typeof (data as { data?: unknown })?.data === "string" ? (data as { data: string }).data : null;
    if (!found && hex && /^0x[0-9a-fA-F]{8}/.test(hex)) {
      try {
        const d = decodeErrorResult({ abi: errorAbi, data: hex as Hex });
        found = inWords(d.errorName, (d.args ?? []) as Args);
      } catch {
        /* not one of ours */
      }
    }
    return false;
  });
  return found;
}

export function describeError(err: unknown): string {
  if (err instanceof BaseError) {
    const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (reverted?.data?.errorName) return inWords(reverted.data.errorName, (reverted.data.args ?? []) as Args);
    if (err.walk((e) => e instanceof UserRejectedRequestError) || /rejected|denied/i.test(err.shortMessage)) return "You rejected the request in your wallet.";
    return decodeData(err) ?? err.shortMessage;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
