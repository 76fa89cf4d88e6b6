/**
 * Base (8453) and Base Sepolia (84532): the protocol on Circle's USDC. Parameters in
 * contracts/ignition/parameters/<network>.json set the USDC address, the governor (a multisig)
 * with its execution delay, the guardian, the arbiter and the dispute window.
 *
 *   npx hardhat ignition deploy contracts/ignition/modules/Tollgate.ts \
 *     --network baseSepolia --parameters contracts/ignition/parameters/baseSepolia.json
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { deployProtocol } from "./protocol.ts";

export default buildModule("Tollgate", (m) => {
  const usdc = m.contractAt("TestUSDC", m.getParameter<string>("usdc"), { id: "USDC" });
  return { usdc, ...deployProtocol(m, usdc) };
});
