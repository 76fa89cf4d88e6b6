/**
 * EIP-2612 permit for a deposit: one signature and one transaction. The token's domain is read from
 * the token (ERC-5267 `eip712Domain`), falling back to `name()` and version "2" (Circle's USDC).
 */
import { readContract, signTypedData } from "wagmi/actions";
import type { Config } from "wagmi";
import { parseSignature, type Address, type Hex } from "viem";
import { permitTypes } from "@tollgate/protocol/eip712";
import { abis } from "./abis.ts";


async function tokenDomain(wagmi: Config, token: Address, chainId: number) {
  try {
    const d = (await readContract(wagmi, { address: token, abi: abis.usdc, functionName: "eip712Domain" })) as readonly [Hex, string, string, bigint, Address, Hex, readonly bigint[]];
    return { name: d[1], version: d[2], chainId, verifyingContract: token };
  } catch {
    const name = (await readContract(wagmi, { address: token, abi: abis.usdc, functionName: "name" })) as string;
    return { name, version: "2", chainId, verifyingContract: token };
  }
}

export async function signPermit(wagmi: Config, p: { token: Address; owner: Address; spender: Address; value: bigint; chainId: number; ttlSec?: number }) {
  const [domain, nonce] = await Promise.all([
    tokenDomain(wagmi, p.token, p.chainId),
    readContract(wagmi, { address: p.token, abi: abis.usdc, functionName: "nonces", args: [p.owner] }) as Promise<bigint>,
  ]);
  const deadline = BigInt(Math.floor(Date.now() / 1000) + (p.ttlSec ?? 1800));
  const signature = await signTypedData(wagmi, {
    account: p.owner,
    domain,
    types: permitTypes,
    primaryType: "Permit",
    message: { owner: p.owner, spender: p.spender, value: p.value, nonce, deadline },
  });
  const { v, r, s, yParity } = parseSignature(signature);
  return { deadline, v: Number(v ?? BigInt(yParity! + 27)), r, s };
}
