/**
 * The demo customer's API key, obtained the way a person gets one: Sign-In with Ethereum at the
 * gateway, then POST /v1/keys with the session.
 */
import { createSiweMessage } from "viem/siwe";
import type { PrivateKeyAccount } from "viem/accounts";

async function json(res: Response, what: string): Promise<unknown> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} failed: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** SIWE login; returns the session token. */
export async function signIn(gatewayUrl: string, account: PrivateKeyAccount, opts: { domain: string; chainId: number }): Promise<string> {
  const { nonce } = (await json(await fetch(`${gatewayUrl}/v1/auth/nonce`), "SIWE nonce")) as { nonce: string };
  const message = createSiweMessage({
    domain: opts.domain,
    address: account.address,
    statement: "Sign in to Tollgate",
    uri: `http://${opts.domain}`,
    version: "1",
    chainId: opts.chainId,
    nonce,
    expirationTime: new Date(Date.now() + 10 * 60_000),
  });
  const signature = await account.signMessage({ message });
  const res = await fetch(`${gatewayUrl}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message, signature }) });
  return ((await json(res, "SIWE login")) as { session: string }).session;
}

/** Creates an API key with a session; the key is shown once. */
export async function createApiKey(gatewayUrl: string, session: string, name: string): Promise<{ key: string; id: string }> {
  const res = await fetch(`${gatewayUrl}/v1/keys`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${session}` },
    body: JSON.stringify({ name }),
  });
  return (await json(res, "API key creation")) as { key: string; id: string };
}

/** True if the gateway accepts this key (a kept devnet reuses its key). */
export async function keyWorks(gatewayUrl: string, key: string): Promise<boolean> {
  const res = await fetch(`${gatewayUrl}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).catch(() => null);
  return res?.status === 200;
}
