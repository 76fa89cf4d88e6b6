/**
 * Sign-In with Ethereum to the gateway. The message uses the domain and chain the gateway announces
 * with its nonce, so the same build works against any gateway. The session moves no money.
 */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { useConfig, useConnection } from "wagmi";
import { signMessage } from "wagmi/actions";
import { createSiweMessage } from "viem/siwe";
import { useAppConfig } from "../lib/config-context.tsx";
import { gateway, sessions } from "../lib/gateway.ts";
import { describeError } from "../lib/errors.ts";

type SessionState = { session: string | null; signIn(): Promise<void>; signOut(): void; busy: boolean; error: string | null };
const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const cfg = useAppConfig();
  const wagmi = useConfig();
  const { address } = useConnection();
  const [session, setSession] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setSession(address ? sessions.get(address) : null), [address]);

  const signIn = useCallback(async () => {
    if (!address) return;
    setBusy(true);
    setError(null);
    try {
      const { nonce, domain, chainId } = await gateway.nonce(cfg.gatewayUrl);
      const message = createSiweMessage({
        domain,
        address,
        statement: "Sign in to Tollgate to manage API keys. This signature moves no funds.",
        uri: cfg.gatewayUrl,
        version: "1",
        chainId,
        nonce,
        issuedAt: new Date(),
        expirationTime: new Date(Date.now() + 10 * 60_000),
      });
      const signature = await signMessage(wagmi, { account: address, message });
      const s = await gateway.login(cfg.gatewayUrl, message, signature);
      sessions.set(address, s.session);
      setSession(s.session);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }, [address, cfg.gatewayUrl, wagmi]);

  const signOut = useCallback(() => {
    if (address) sessions.clear(address);
    setSession(null);
  }, [address]);

  return <SessionContext.Provider value={{ session, signIn, signOut, busy, error }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside <SessionProvider>");
  return s;
}

export function SignInButton() {
  const { session, signIn, signOut, busy, error } = useSession();
  if (session) return <span className="row"><span className="ok">Signed in to the gateway</span> <button className="link" onClick={signOut}>Sign out</button></span>;
  return (
    <span className="row">
      <button onClick={signIn} disabled={busy}>{busy ? "Check your wallet…" : "Sign in with Ethereum"}</button>
      {error && <span className="field-error" role="alert">{error}</span>}
    </span>
  );
}
