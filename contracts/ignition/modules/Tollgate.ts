/**
 * Base (8453) and Base Sepolia (84532): the protocol on Circle's USDC. Parameters in
 * contracts/ignition/parameters/<network>.json set the USDC address, the governor (a multisig)
 * with its execution delay, the guardian, the arbiter and the dispute window, and the `admin`
 * (a timelocked multisig, never the deployer) that receives the AccessManager's admin role with
 * `adminDelaySeconds`. The deployer renounces that role last: after deployment it holds nothing.
 *
 *   npx hardhat ignition deploy contracts/ignition/modules/Tollgate.ts \
 *     --network baseSepolia --parameters contracts/ignition/parameters/baseSepolia.json
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { ROLES } from "../../ts/roles.ts";
import { deployProtocol } from "./protocol.ts";

export default buildModule("Tollgate", (m) => {
  const usdc = m.contractAt("TestUSDC", m.getParameter<string>("usdc"), { id: "USDC" });
  const { contracts, wiring } = deployProtocol(m, usdc);
  const admin = m.getParameter<string>("admin");
  const adminDelay = m.getParameter("adminDelaySeconds", 2 * 24 * 3600);
  const grantAdmin = m.call(contracts.accessManager, "grantRole", [ROLES.ADMIN, admin, adminDelay], {
    id: "grant_admin",
    after: wiring,
  });
  m.call(contracts.accessManager, "renounceRole", [ROLES.ADMIN, m.getAccount(0)], {
    id: "renounce_deployer_admin",
    after: [grantAdmin],
  });
  return { usdc, ...contracts };
});
