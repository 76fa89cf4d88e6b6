/**
 * AccessManager roles (contracts/src/governance/Roles.sol) and which functions each may call.
 * The Ignition module wires exactly this table; the contract tests wire the same in Solidity.
 */
export const ROLES = {
  ADMIN: 0n,
  GOVERNOR: 1n,
  GUARDIAN: 2n,
  ARBITER: 3n,
  PROTOCOL: 4n,
} as const;
export type RoleName = keyof typeof ROLES;

/** contract -> role -> function names restricted to that role. */
export const FUNCTION_ROLES = {
  ProviderRegistry: {
    GOVERNOR: ["setPriceNotice", "setPriceGrace"],
  },
  ProviderStaking: {
    PROTOCOL: ["slash", "slashUnlocked", "lock", "unlock", "setFrozen"],
    GOVERNOR: ["setMinStake", "setUnbondingDelay"],
    GUARDIAN: ["pause", "unpause"],
  },
  Settlement: {
    GUARDIAN: ["freeze", "unfreeze", "pause", "unpause", "revokeGatewaySigner"],
    GOVERNOR: ["setWithdrawalDelay", "setGatewaySigner", "setFeeBps", "setCaps", "withdrawFees", "setDisputeResolutionPeriod"],
    ARBITER: ["resolveDispute"],
    PROTOCOL: ["creditSla"],
  },
  SlaCredits: {
    GOVERNOR: ["setPolicy", "setMaxCreditPerReport", "setPeriodCap"],
    GUARDIAN: ["pause", "unpause"],
  },
} as const satisfies Record<string, Partial<Record<RoleName, readonly string[]>>>;
