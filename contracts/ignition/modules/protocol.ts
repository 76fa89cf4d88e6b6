/**
 * The protocol's deployment, shared by the local and the Base modules: one AccessManager, the four
 * contracts, and the role table of contracts/ts/roles.ts wired into the manager.
 */
import type { IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";
import { toFunctionSelector, type Abi, type AbiFunction } from "viem";
import {
  providerRegistryAbi,
  providerStakingAbi,
  settlementAbi,
  slaCreditsAbi,
} from "../../ts/generated/abis.ts";
import { FUNCTION_ROLES, ROLES } from "../../ts/roles.ts";

const ABIS: Record<keyof typeof FUNCTION_ROLES, Abi> = {
  ProviderRegistry: providerRegistryAbi,
  ProviderStaking: providerStakingAbi,
  Settlement: settlementAbi,
  SlaCredits: slaCreditsAbi,
};

function selectors(abi: Abi, names: readonly string[]): `0x${string}`[] {
  return names.map((name) => {
    const fn = abi.find((item): item is AbiFunction => item.type === "function" && item.name === name);
    if (!fn) throw new Error(`no function ${name} in ABI`);
    return toFunctionSelector(fn);
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function deployProtocol(m: IgnitionModuleBuilder, usdc: any) {
  const deployer = m.getAccount(0);
  const governor = m.getParameter("governor", deployer);
  const governorDelay = m.getParameter("governorDelaySeconds", 0);
  const guardian = m.getParameter("guardian", deployer);
  const arbiter = m.getParameter("arbiter", deployer);
  const disputeWindow = m.getParameter("disputeWindowSeconds", 3 * 24 * 3600);

  const manager = m.contract("TollgateAccessManager", [deployer]);
  const registry = m.contract("ProviderRegistry", [manager]);
  const staking = m.contract("ProviderStaking", [usdc, registry, manager]);
  const settlement = m.contract("Settlement", [usdc, registry, staking, manager, disputeWindow]);
  const slaCredits = m.contract("SlaCredits", [settlement, staking, manager]);
  const targets = { ProviderRegistry: registry, ProviderStaking: staking, Settlement: settlement, SlaCredits: slaCredits };

  const wiring = [];
  for (const [contract, byRole] of Object.entries(FUNCTION_ROLES) as [keyof typeof FUNCTION_ROLES, Record<string, readonly string[]>][]) {
    for (const [role, names] of Object.entries(byRole)) {
      wiring.push(
        m.call(manager, "setTargetFunctionRole", [targets[contract], selectors(ABIS[contract], names), ROLES[role as keyof typeof ROLES]], {
          id: `wire_${contract}_${role}`,
        }),
      );
    }
  }
  wiring.push(
    m.call(manager, "grantRole", [ROLES.GOVERNOR, governor, governorDelay], { id: "grant_governor" }),
    m.call(manager, "grantRole", [ROLES.GUARDIAN, guardian, 0], { id: "grant_guardian" }),
    m.call(manager, "grantRole", [ROLES.ARBITER, arbiter, 0], { id: "grant_arbiter" }),
    m.call(manager, "grantRole", [ROLES.PROTOCOL, settlement, 0], { id: "grant_protocol_settlement" }),
    m.call(manager, "grantRole", [ROLES.PROTOCOL, slaCredits, 0], { id: "grant_protocol_sla" }),
  );

  return {
    contracts: { accessManager: manager, providerRegistry: registry, providerStaking: staking, settlement, slaCredits },
    wiring,
  };
}
