/** Bearer-token check for calls from the gateway. */
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Constant-time comparison of the presented bearer token with the one the gateway issued. Both are
 * hashed first so neither the content nor the length of the expected token leaks through timing.
 */
export function bearerMatches(header: string | undefined, expected: string | null): boolean {
  if (!expected || !header) return false;
  const m = /^Bearer +(\S+)\s*$/i.exec(header);
  if (!m) return false;
  const presented = createHash("sha256").update(m[1]!).digest();
  const wanted = createHash("sha256").update(expected).digest();
  return timingSafeEqual(presented, wanted);
}
