/**
 * The small connect UI: every EIP-6963 wallet the browser announces, the connected address, a
 * switch to the configured network, and the wallet's USDC balance.
 */
import { useConnect, useConnection, useConnectors, useDisconnect, useReadContract, useSwitchChain } from "wagmi";
import { useAppConfig } from "../lib/config-context.tsx";
import { abis } from "../lib/abis.ts";
import { formatAmount } from "../lib/usdc.ts";
import { describeError } from "../lib/errors.ts";

export const shortAddress = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;

export function WalletButton() {
  const cfg = useAppConfig();
  const { address, chainId, status } = useConnection();
  const connectors = useConnectors();
  const connect = useConnect();
  const disconnect = useDisconnect();
  const switchChain = useSwitchChain();
  const balance = useReadContract({ address: cfg.contracts.usdc, abi: abis.usdc, functionName: "balanceOf", args: address ? [address] : undefined, query: { enabled: !!address, refetchInterval: 4_000 } });

  if (status !== "connected" || !address) {
    // Prefer wallets announced through EIP-6963 (they carry a name and icon) over the generic injected one.
    const announced = connectors.filter((c) => c.id !== "injected");
    const legacy = typeof window !== "undefined" && (window as { ethereum?: unknown }).ethereum !== undefined;
    const shown = announced.length ? announced : legacy ? connectors : [];
    return (
      <div className="wallet" data-testid="wallet">
        {shown.length === 0 && <span className="muted">No browser wallet found: install a wallet extension and reload. Reading works without one.</span>}
        {shown.map((c) => (
          <button key={c.uid} disabled={connect.isPending} onClick={() => connect.mutate({ connector: c, chainId: cfg.chainId })}>
            {c.icon && <img src={c.icon} alt="" width={16} height={16} />} Connect {c.name}
          </button>
        ))}
        {connect.error && <span className="field-error" role="alert">{describeError(connect.error)}</span>}
      </div>
    );
  }
  return (
    <div className="wallet" data-testid="wallet">
      {chainId !== cfg.chainId ? (
        <button className="warn" disabled={switchChain.isPending} onClick={() => switchChain.mutate({ chainId: cfg.chainId })}>
          Switch to {cfg.chainName}
        </button>
      ) : (
        <span className="balance" data-testid="wallet-usdc">{balance.data !== undefined ? `${formatAmount(balance.data as bigint)} USDC` : "…"}</span>
      )}
      <code title={address} data-testid="wallet-address">{shortAddress(address)}</code>
      <button className="link" onClick={() => disconnect.mutate()}>Disconnect</button>
      {switchChain.error && <span className="field-error" role="alert">{describeError(switchChain.error)}</span>}
    </div>
  );
}

/** Renders children only with a wallet on the right network; otherwise says what to do. */
export function RequireWallet({ children }: { children: React.ReactNode }) {
  const cfg = useAppConfig();
  const { address, chainId, status } = useConnection();
  if (status !== "connected" || !address) return <p className="notice">Connect a wallet (top right) to continue.</p>;
  if (chainId !== cfg.chainId) return <p className="notice">Your wallet is on another network. Use “Switch to {cfg.chainName}” at the top right.</p>;
  return <>{children}</>;
}
