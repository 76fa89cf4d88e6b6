/** The SLA credit formula, identical to contracts/src/libraries/SlaMath.sol. */
export type SlaPolicy = {
  availabilityTargetPpm: number;
  stepPpm: number;
  ttftTargetMs: number;
  minRequests: number;
  creditPerStepBps: number;
  ttftCreditBps: number;
  capBps: number;
};

/** The market's usual SLA addendum; the contract's default for every tier. */
export const DEFAULT_SLA_POLICY: SlaPolicy = {
  availabilityTargetPpm: 999_000,
  stepPpm: 1_000,
  ttftTargetMs: 1_500,
  minRequests: 1_000,
  creditPerStepBps: 500,
  ttftCreditBps: 500,
  capBps: 2_500,
};

/** Credit in basis points of spend for a measured window. */
export function creditBps(policy: SlaPolicy, requests: number, availabilityPpm: number, p95TtftMs: number): number {
  if (requests < policy.minRequests) return 0;
  let bps = 0;
  if (availabilityPpm < policy.availabilityTargetPpm) {
    const steps = Math.ceil((policy.availabilityTargetPpm - availabilityPpm) / policy.stepPpm);
    bps = steps * policy.creditPerStepBps;
  }
  if (p95TtftMs > policy.ttftTargetMs) bps += policy.ttftCreditBps;
  return Math.min(bps, policy.capBps);
}

/** One customer's credit for `spend` (USDC base units) at `bps`, rounded down. */
export function creditFor(spend: bigint, bps: number): bigint {
  return (spend * BigInt(bps)) / 10_000n;
}
