/**
 * SLA arrears as the indexer serves them, and what a collection did. A report's arrears are the SLA
 * credit its provider's stake could not pay; `SlaCredits.collectArrears` takes the lists of the
 * report's latest `ArrearsSet` exactly as emitted, so they are passed on untouched.
 */
import { BaseError, ContractFunctionRevertedError, parseEventLogs, type Address, type Hex, type TransactionReceipt } from "viem";
import { abis } from "./abis.ts";
import { describeError } from "./errors.ts";
import { formatAmount } from "./usdc.ts";

export type ArrearsItem = {
  reportKey: Hex;
  provider: string;
  owed: string;
  customers: string[];
  amounts: string[];
  report: { windowStart: number; windowEnd: number; creditOwed: string };
};
export const ARREARS_FIELDS = "reportKey provider owed customers amounts report { windowStart windowEnd creditOwed }";

type Lists = { customers: readonly string[]; amounts: readonly (string | bigint)[] };

/** The arguments of `collectArrears`, in the order and case GraphQL gave them. */
export const collectArgs = (a: ArrearsItem) => [a.reportKey, a.customers as Address[], a.amounts.map(BigInt)] as const;

/** What the lists say `customer` is still owed (0 when they do not name it). */
export function owedTo(lists: Lists, customer: string): bigint {
  const me = customer.toLowerCase();
  return lists.customers.reduce((sum, c, i) => (c.toLowerCase() === me ? sum + BigInt(lists.amounts[i]!) : sum), 0n);
}

const total = (lists: Lists) => lists.amounts.reduce<bigint>((sum, v) => sum + BigInt(v), 0n);
const usdc = (v: bigint) => `${formatAmount(v)} USDC`;

/**
 * The outcome in words, from the lists before and after (the `ArrearsSet` the collection emitted).
 * With `customer`, it speaks to that customer about its own share.
 */
export function describeCollection(before: Lists, after: Lists, customer?: string): string {
  const paid = total(before) - total(after);
  const left = total(after);
  if (paid === 0n) return `Nothing was paid: the provider has no free stake yet. ${usdc(left)} is still owed on this report.`;
  if (customer) {
    const mine = owedTo(before, customer) - owedTo(after, customer);
    const still = owedTo(after, customer);
    return `You received ${usdc(mine)} (${usdc(paid)} to all customers of this report); ${still === 0n ? "nothing more is owed to you on it." : `${usdc(still)} is still owed to you.`}`;
  }
  return `Paid ${usdc(paid)} to customers; ${left === 0n ? "this report is paid off." : `${usdc(left)} is still owed on this report.`}`;
}

/** The lists a confirmed `collectArrears` left behind: its `ArrearsSet` event for that report. */
export function arrearsAfter(receipt: Pick<TransactionReceipt, "logs">, reportKey: Hex): Lists | null {
  const events = parseEventLogs({ abi: abis.sla, eventName: "ArrearsSet", logs: receipt.logs });
  const mine = events.filter((e) => e.args.reportKey.toLowerCase() === reportKey.toLowerCase()).at(-1);
  return mine ? { customers: mine.args.customers, amounts: mine.args.amounts } : null;
}

/** What "Collect now" would do, from a simulation of `collectArrears`; `canCollect` says whether sending it is worth the gas. */
export type CollectPreview = { text: string; canCollect: boolean };

/** The share of `paid` that `customer` would get: the contract's pro rata, rounded down per entry. */
function shareOf(lists: Lists, customer: string, paid: bigint): bigint {
  const owed = total(lists);
  const me = customer.toLowerCase();
  return lists.customers.reduce((sum, c, i) => (c.toLowerCase() === me ? sum + (BigInt(lists.amounts[i]!) * paid) / owed : sum), 0n);
}

const isRevert = (err: unknown) => err instanceof BaseError && !!err.walk((e) => e instanceof ContractFunctionRevertedError);

/**
 * A simulation's answer in words. Nothing paid or a revert (already paid, lists changed, paused…)
 * means the transaction would be wasted: not collectable. When the node could not be asked, the
 * page cannot tell, so collecting stays possible. With `customer`, it speaks to that customer.
 */
export function describePreview(sim: { pending: true } | { paid: bigint } | { error: unknown }, lists: Lists, customer?: string): CollectPreview {
  if ("pending" in sim) return { text: "Checking what collecting would pay…", canCollect: false };
  if ("error" in sim) {
    return isRevert(sim.error)
      ? { text: describeError(sim.error), canCollect: false }
      : { text: `Could not check what collecting would pay now (${describeError(sim.error)}).`, canCollect: true };
  }
  if (sim.paid === 0n) return { text: `Nothing to collect until ${customer ? "the provider stakes" : "you stake"} more.`, canCollect: false };
  const mine = customer ? ` (${usdc(shareOf(lists, customer, sim.paid))} to you)` : "";
  return { text: `Would pay ${usdc(sim.paid)} now${mine}.`, canCollect: true };
}
