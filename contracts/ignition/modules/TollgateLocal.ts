/**
 * Local chains (devnet, tests): deploys TestUSDC, then the protocol. The deployer is admin,
 * governor (no delay), guardian and arbiter unless parameters say otherwise.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { deployProtocol } from "./protocol.ts";

export default buildModule("TollgateLocal", (m) => {
  const usdc = m.contract("TestUSDC", [m.getAccount(0)]);
  return { usdc, ...deployProtocol(m, usdc).contracts };
});
