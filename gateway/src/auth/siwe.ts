/**
 * Sign-In with Ethereum (EIP-4361). Nonces are server-side and single use (deleted on first
 * verify); domain, chain id, nonce and time window are enforced; smart-wallet signatures (ERC-1271,
 * ERC-6492) are checked with viem's public client under a timeout. A session only manages keys.
 */
import { randomBytes } from "node:crypto";
import { getAddress, type PublicClient } from "viem";
import { parseSiweMessage, verifySiweMessage } from "viem/siwe";
import type { Db } from "../store/db.ts";
import { sha256 } from "./keys.ts";
import { ApiError, badRequest, unauthorized } from "../shared/errors.ts";

export class Siwe {
  private readonly db: Db;
  private readonly client: PublicClient;
  private readonly opts: { domain: string; chainId: number; nonceTtlMs: number; sessionTtlMs: number; rpcTimeoutMs: number };
  constructor(db: Db, client: PublicClient, opts: Siwe["opts"]) {
    this.db = db;
    this.client = client;
    this.opts = opts;
  }

  async nonce(): Promise<string> {
    const nonce = randomBytes(16).toString("hex");
    const now = Date.now();
    await this.db.query(`DELETE FROM siwe_nonces WHERE expires_ms < $1`, [now]);
    await this.db.query(`INSERT INTO siwe_nonces (nonce, expires_ms) VALUES ($1, $2)`, [nonce, now + this.opts.nonceTtlMs]);
    return nonce;
  }

  async login(message: string, signature: `0x${string}`): Promise<{ session: string; address: `0x${string}`; expiresMs: number }> {
    if (message.length > 4096) throw badRequest("SIWE message too long");
    let fields;
    try {
      fields = parseSiweMessage(message);
    } catch {
      throw badRequest("not a SIWE message");
    }
    if (!fields.address || !fields.nonce || !fields.domain) throw badRequest("SIWE message lacks address, nonce or domain");
    if (fields.domain !== this.opts.domain) throw unauthorized("SIWE message is for another domain", "siwe_wrong_domain");
    if (fields.chainId !== this.opts.chainId) throw unauthorized("SIWE message is for another chain", "siwe_wrong_chain");
    if (!fields.expirationTime) throw unauthorized("SIWE message must carry an expiration time", "siwe_no_expiry");
    // Single use: the nonce is consumed whether or not the signature then verifies.
    const used = await this.db.query(`DELETE FROM siwe_nonces WHERE nonce = $1 AND expires_ms >= $2 RETURNING nonce`, [fields.nonce, Date.now()]);
    if (used.length === 0) throw unauthorized("unknown, used or expired nonce", "siwe_bad_nonce");
    let timer: NodeJS.Timeout | undefined;
    const valid = await Promise.race([
      verifySiweMessage(this.client, { message, signature, domain: this.opts.domain, nonce: fields.nonce, time: new Date() }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ApiError(503, "service_unavailable", "siwe_timeout", "signature check timed out; try again")), this.opts.rpcTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (!valid) throw unauthorized("SIWE signature, time window or fields are invalid", "siwe_invalid");
    const address = getAddress(fields.address);
    const session = `tg_session_${randomBytes(32).toString("base64url")}`;
    const expiresMs = Math.min(Date.now() + this.opts.sessionTtlMs, fields.expirationTime.getTime() + this.opts.sessionTtlMs);
    await this.db.query(`INSERT INTO accounts (address, created_ms) VALUES ($1, $2) ON CONFLICT (address) DO NOTHING`, [address.toLowerCase(), Date.now()]);
    await this.db.query(`INSERT INTO sessions (hash, account, expires_ms) VALUES ($1, $2, $3)`, [sha256(session), address.toLowerCase(), expiresMs]);
    return { session, address, expiresMs };
  }

  async session(token: string): Promise<`0x${string}` | null> {
    if (!token.startsWith("tg_session_")) return null;
    const rows = await this.db.query(`SELECT account FROM sessions WHERE hash = $1 AND expires_ms > $2`, [sha256(token), Date.now()]);
    return rows[0] ? getAddress(String(rows[0].account)) : null;
  }
}
