/** USDC amounts for people: entered and shown in USDC, never base units. Parsing rules from the protocol. */
import { formatUsdc, parseUsdc } from "@tollgate/protocol/price";

/** "1234.5" style with 2–6 decimals, thousands separated. */
export function formatAmount(units: bigint): string {
  const [whole, frac = ""] = formatUsdc(units).split(".");
  const trimmed = frac.replace(/0+$/, "").padEnd(2, "0");
  const negative = whole!.startsWith("-");
  const digits = negative ? whole!.slice(1) : whole!;
  return `${negative ? "-" : ""}${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${trimmed}`;
}

/** Parse what a person typed; `null` with a reason when it is not an amount. */
export function parseAmount(text: string): { units: bigint } | { error: string } {
  const t = text.trim().replace(/,/g, "");
  if (!t) return { error: "Enter an amount in USDC." };
  try {
    const units = parseUsdc(t);
    if (units <= 0n) return { error: "Enter an amount above zero." };
    return { units };
  } catch {
    return { error: "Use a number like 12.50 (at most 6 decimals)." };
  }
}
