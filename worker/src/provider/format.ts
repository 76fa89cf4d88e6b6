/** How the provider CLI shows amounts, times and links: USDC (never base units), UTC times with a countdown. */
import { EXPLORERS } from "@tollgate/protocol/deployments";
import { formatUsdc } from "@tollgate/protocol/price";
import type { Address, Hex } from "viem";

/** "12.5 USDC": trailing zeros trimmed, at least two decimals. */
export function usdc(amount: bigint): string {
  let s = formatUsdc(amount);
  s = s.replace(/0+$/, "");
  const [whole, frac = ""] = s.split(".");
  return `${whole}.${frac.padEnd(2, "0")} USDC`;
}

/** An amount as a person would type it back on the command line ("100", "12.5"). */
export function usdcArg(amount: bigint): string {
  return formatUsdc(amount).replace(/\.?0+$/, "");
}

/** A price in base units per million tokens as "$0.20/M". */
export function pricePerMillion(amount: bigint): string {
  return `${usdc(amount).replace(" USDC", "")} USDC/M`;
}

/** "3 d 4 h", "3 h 12 min", "12 min 5 s", "40 s". */
export function duration(seconds: bigint | number): string {
  let s = Math.max(0, Math.floor(Number(seconds)));
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d >= 2) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (d === 1) return `${24 + h} h${m > 0 ? ` ${m} min` : ""}`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return s > 0 ? `${m} min ${s} s` : `${m} min`;
  return `${s} s`;
}

/** "2025-11-23 14:05:00 UTC". */
export function utc(unixSeconds: bigint | number): string {
  return new Date(Number(unixSeconds) * 1000).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, " UTC");
}

/** "2025-11-23 14:05:00 UTC (in 3 h 12 min)" or "(3 h ago)", relative to the chain's clock. */
export function when(unixSeconds: bigint | number, now: bigint | number): string {
  const delta = Number(unixSeconds) - Number(now);
  const rel = delta > 0 ? `in ${duration(delta)}` : delta === 0 ? "now" : `${duration(-delta)} ago`;
  return `${utc(unixSeconds)} (${rel})`;
}

export function explorerTx(chainId: number, hash: Hex): string | undefined {
  const base = EXPLORERS[chainId];
  return base ? `${base}/tx/${hash}` : undefined;
}

export function explorerAddress(chainId: number, address: Address): string | undefined {
  const base = EXPLORERS[chainId];
  return base ? `${base}/address/${address}` : undefined;
}
