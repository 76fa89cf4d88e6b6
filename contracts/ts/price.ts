/**
 * Price and fee arithmetic, identical to contracts/src/libraries/PriceMath.sol. All amounts are
 * USDC base units (6 decimals); prices are base units per one million tokens.
 */
export const TOKENS_PER_PRICE_UNIT = 1_000_000n;
export const BPS = 10_000n;

/** Exact cost before rounding, in USDC base units x 1e6: what a receipt records. */
export function exactCost(promptTokens: bigint, completionTokens: bigint, promptPrice: bigint, completionPrice: bigint): bigint {
  return promptTokens * promptPrice + completionTokens * completionPrice;
}

/** What Settlement charges for an entry: rounded down, never above the published price. */
export function charge(promptTokens: bigint, completionTokens: bigint, promptPrice: bigint, completionPrice: bigint): bigint {
  return exactCost(promptTokens, completionTokens, promptPrice, completionPrice) / TOKENS_PER_PRICE_UNIT;
}

/** Protocol fee on an amount, rounded down; the provider gets `amount - fee`. */
export function fee(amount: bigint, feeBps: bigint): bigint {
  return (amount * feeBps) / BPS;
}

/** Format USDC base units as a decimal string ("12.345678"). */
export function formatUsdc(amount: bigint): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const whole = abs / 1_000_000n;
  const frac = (abs % 1_000_000n).toString().padStart(6, "0");
  return `${negative ? "-" : ""}${whole}.${frac}`;
}

/** Parse a decimal USDC string ("12.5") into base units; rejects more than 6 decimals. */
export function parseUsdc(text: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!match) throw new Error(`not a USDC amount with at most 6 decimals: ${JSON.stringify(text)}`);
  return BigInt(match[1]!) * 1_000_000n + BigInt((match[2] ?? "").padEnd(6, "0"));
}
