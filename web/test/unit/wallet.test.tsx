import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { createConfig, custom, WagmiProvider } from "wagmi";
import { mock } from "wagmi/connectors";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { encodeFunctionResult, numberToHex, type Address } from "viem";
import { testUsdcAbi } from "@tollgate/protocol/generated/abis";
import { ConfigContext } from "../../src/lib/config-context.tsx";
import { chainOf } from "../../src/chain/wagmi.ts";
import { testConfig } from "./fixtures.ts";
import { WalletButton } from "../../src/components/Wallet.tsx";

const ME: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const cfg = testConfig();

function setup() {
  const chain = chainOf(cfg);
  const calls: string[] = [];
  const wagmi = createConfig({
    chains: [chain],
    connectors: [mock({ accounts: [ME] })],
    transports: {
      [chain.id]: custom({
        async request({ method, params }: { method: string; params: unknown }) {
          calls.push(method);
          if (method === "eth_chainId") return numberToHex(chain.id);
          if (method === "eth_blockNumber") return "0x1";
          if (method === "eth_call") {
            const [{ to }] = params as [{ to: string }];
            if (to.toLowerCase() === cfg.contracts.usdc.toLowerCase()) return encodeFunctionResult({ abi: testUsdcAbi, functionName: "balanceOf", result: 12_500_000n });
          }
          throw new Error(`unexpected ${method}`);
        },
      }),
    },
  });
  render(
    <ConfigContext.Provider value={cfg}>
      <WagmiProvider config={wagmi}>
        <QueryClientProvider client={new QueryClient()}>
          <WalletButton />
        </QueryClientProvider>
      </WagmiProvider>
    </ConfigContext.Provider>,
  );
  return calls;
}

describe("connect UI", () => {
  it("connects a wallet and shows its address and USDC balance in USDC", async () => {
    setup();
    fireEvent.click(screen.getByRole("button", { name: /Connect Mock Connector/ }));
    await waitFor(() => expect(screen.getByTestId("wallet-address").textContent).toBe("0xf39F…2266"));
    await waitFor(() => expect(screen.getByTestId("wallet-usdc").textContent).toBe("12.50 USDC"));
    fireEvent.click(screen.getByRole("button", { name: "Disconnect" }));
    await waitFor(() => screen.getByRole("button", { name: /Connect Mock Connector/ }));
  });
});
