/**
 * A real local chain for tests: anvil on a free 127.0.0.1 port and the real Tollgate contracts,
 * both from @tollgate/protocol/devnet (the same deployment the gateway's tests and the devnet use),
 * plus the small conveniences these tests want.
 */
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Deployment } from "@tollgate/protocol/deployments";
import { ANVIL_KEYS, deployProtocol, localChain, startAnvil as startLocalAnvil, type Anvil } from "@tollgate/protocol/devnet";

/** anvil's first default account (the well-known test mnemonic): the deployer, holding every role. */
export const DEPLOYER_KEY: Hex = ANVIL_KEYS[0]!;

export type { Anvil };

/** Starts anvil on a free port, 127.0.0.1 only. */
export function startAnvil(chainId = 31337): Promise<Anvil> {
  return startLocalAnvil({ chainId });
}

export const devChain = localChain;

export type Deployed = {
  deployment: Deployment;
  deployer: PrivateKeyAccount;
  publicClient: PublicClient;
  /** Deployer-signed write, waited for; throws when it reverts. */
  write(address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<Hex>;
  /** Sets an account's ETH balance (anvil). */
  fund(address: Address, ether?: bigint): Promise<void>;
  /** Moves the chain's clock forward and mines a block. */
  increaseTime(seconds: number): Promise<void>;
};

/**
 * Deploys TestUSDC, the AccessManager and the four protocol contracts, wires FUNCTION_ROLES and
 * grants the deployer GOVERNOR, GUARDIAN and ARBITER (zero delay) and the contracts PROTOCOL,
 * as contracts/ignition/modules/protocol.ts does.
 */
export async function deployTollgate(url: string, opts: { chainId?: number; disputeWindow?: bigint } = {}): Promise<Deployed> {
  const chain = devChain(url, opts.chainId);
  const deployer = privateKeyToAccount(DEPLOYER_KEY);
  const publicClient = createPublicClient({ chain, transport: http(url) }) as PublicClient;
  const wallet = createWalletClient({ account: deployer, chain, transport: http(url) });
  const test = createTestClient({ chain, mode: "anvil", transport: http(url) });
  const write = async (address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<Hex> => {
    const { request } = await publicClient.simulateContract({ account: deployer, address, abi, functionName, args } as never);
    const hash = await wallet.writeContract(request as never);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
    return hash;
  };
  const disputeWindowSeconds = Number(opts.disputeWindow ?? 3n * 24n * 3600n);
  const deployment: Deployment = await deployProtocol(wallet as never, publicClient, { disputeWindowSeconds });
  return {
    deployment,
    deployer,
    publicClient,
    write,
    fund: async (address, ether = 10n ** 20n) => {
      await test.setBalance({ address, value: ether });
    },
    increaseTime: async (seconds) => {
      await test.increaseTime({ seconds });
      await test.mine({ blocks: 1 });
    },
  };
}
