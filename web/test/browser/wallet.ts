/**
 * A browser wallet for tests: an EIP-1193 provider announced through EIP-6963, injected into every
 * page. It signs with an anvil key in Node (real signatures, real signed transactions mined by
 * anvil) and forwards every read to the chain's JSON-RPC. Reverts come back with their data, so the
 * dApp decodes custom errors exactly as it would with a real wallet.
 */
import type { BrowserContext } from "playwright-core";
import { createWalletClient, http, type Hex, type TypedDataDefinition } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { localChain } from "@tollgate/protocol/devnet";

type RpcError = { code: number; message: string; data?: unknown };
type Answer = { result?: unknown; error?: RpcError };

async function rpc(url: string, method: string, params: unknown[]): Promise<Answer> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const body = (await res.json()) as { result?: unknown; error?: RpcError };
  return body.error ? { error: body.error } : { result: body.result };
}

/** eth_signTypedData_v4 carries uints as strings; viem wants bigints. */
function normalize(types: Record<string, { name: string; type: string }[]>, type: string, value: unknown): unknown {
  if (type.endsWith("]")) return (value as unknown[]).map((v) => normalize(types, type.slice(0, type.lastIndexOf("[")), v));
  if (types[type]) return Object.fromEntries(types[type]!.map((f) => [f.name, normalize(types, f.type, (value as Record<string, unknown>)[f.name])]));
  if (/^u?int\d*$/.test(type)) return BigInt(value as string);
  return value;
}

export async function installWallet(context: BrowserContext, opts: { rpcUrl: string; chainId: number; privateKey: Hex }): Promise<{ address: Hex }> {
  const account = privateKeyToAccount(opts.privateKey);
  const wallet = createWalletClient({ account, chain: localChain(opts.rpcUrl, opts.chainId), transport: http(opts.rpcUrl) });

  // Like a real wallet: no account is exposed until the page asks and the user (here: the test) agrees.
  let authorized = false;
  const handle = async (method: string, params: unknown[]): Promise<Answer> => {
    switch (method) {
      case "eth_requestAccounts":
        authorized = true;
        return { result: [account.address] };
      case "eth_accounts":
        return { result: authorized ? [account.address] : [] };
      case "wallet_switchEthereumChain":
        return Number.parseInt((params[0] as { chainId: string }).chainId, 16) === opts.chainId ? { result: null } : { error: { code: 4902, message: "unknown chain" } };
      case "wallet_requestPermissions":
      case "wallet_getPermissions":
        return { result: [{ parentCapability: "eth_accounts" }] };
      case "personal_sign":
        return { result: await account.signMessage({ message: { raw: params[0] as Hex } }) };
      case "eth_signTypedData_v4": {
        const data = JSON.parse(params[1] as string) as { types: Record<string, { name: string; type: string }[]>; primaryType: string; domain: Record<string, unknown>; message: unknown };
        const { EIP712Domain: _, ...types } = data.types;
        const domain = { ...data.domain, ...(data.domain.chainId !== undefined && { chainId: Number(data.domain.chainId) }) };
        return { result: await account.signTypedData({ types, primaryType: data.primaryType, domain, message: normalize(types, data.primaryType, data.message) } as unknown as TypedDataDefinition) };
      }
      case "eth_sendTransaction": {
        const tx = params[0] as { to: Hex; data?: Hex; value?: Hex; gas?: Hex };
        // Estimate first: a revert goes back to the page with its data, like a real wallet's RPC error.
        const estimate = await rpc(opts.rpcUrl, "eth_estimateGas", [{ from: account.address, to: tx.to, data: tx.data, value: tx.value ?? "0x0" }]);
        if (estimate.error) return estimate;
        const gas = (BigInt(estimate.result as Hex) * 12n) / 10n;
        return { result: await wallet.sendTransaction({ to: tx.to, data: tx.data, value: tx.value ? BigInt(tx.value) : 0n, gas }) };
      }
      default:
        return rpc(opts.rpcUrl, method, params);
    }
  };

  await context.exposeFunction("__tollgateTestWallet", async (method: string, params: unknown[]) => {
    try {
      return await handle(method, params ?? []);
    } catch (err) {
      return { error: { code: -32603, message: (err as Error).message.split("\n")[0] } };
    }
  });
  await context.addInitScript(() => {
    const call = (window as unknown as { __tollgateTestWallet(m: string, p: unknown[]): Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }> }).__tollgateTestWallet;
    const listeners: Record<string, ((...a: unknown[]) => void)[]> = {};
    const provider = {
      async request({ method, params }: { method: string; params?: unknown[] }) {
        const r = await call(method, params ?? []);
        if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code, data: r.error.data });
        return r.result;
      },
      on(event: string, fn: (...a: unknown[]) => void) {
        (listeners[event] ??= []).push(fn);
        return provider;
      },
      removeListener(event: string, fn: (...a: unknown[]) => void) {
        listeners[event] = (listeners[event] ?? []).filter((f) => f !== fn);
        return provider;
      },
    };
    const info = {
      uuid: "5c0b6a1e-7d7e-4c1a-9f4e-6e2b7f0a1c11",
      name: "Test Wallet",
      rdns: "dev.tollgate.testwallet",
      icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='16' height='16'%3E%3Crect width='16' height='16' fill='%231d4ed8'/%3E%3C/svg%3E",
    };
    const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
    window.addEventListener("eip6963:requestProvider", announce);
    announce();
  });
  return { address: account.address };
}
