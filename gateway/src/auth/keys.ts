/**
 * API keys: `tg_<env>_` + 43 base62 characters of a 256-bit random secret + 6 base62 characters of
 * its CRC32 (so scanners can recognise a leaked key offline). Stored as SHA-256 only, shown once,
 * compared in constant time. A short cache keeps the hot path off the database; revocation clears it.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { crc32 } from "node:zlib";
import type { Db } from "../store/db.ts";
import { big } from "../store/db.ts";
import { RefreshCache } from "../shared/refresh-cache.ts";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function base62(n: bigint, width: number): string {
  let out = "";
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(width, "0");
}

export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export function generateKey(env: "live" | "test"): string {
  const secret = base62(BigInt(`0x${randomBytes(32).toString("hex")}`), 43);
  const body = `tg_${env}_${secret}`;
  return body + base62(BigInt(crc32(body)), 6);
}

/**
 * The credential of an `Authorization: Bearer …` header. The scheme is case-insensitive (RFC 9110
 * §11.1) and clients differ in spacing, so `bearer  tg_…` works as `Bearer tg_…` does.
 */
export function bearerToken(header: string | undefined): string | null {
  const m = header ? /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  return m ? m[1]! : null;
}

/** Shape and checksum, before any lookup. */
export function keyLooksValid(key: string): boolean {
  const m = /^(tg_(?:live|test)_[0-9A-Za-z]{43})([0-9A-Za-z]{6})$/.exec(key);
  return !!m && base62(BigInt(crc32(m[1]!)), 6) === m[2];
}

export type ApiKey = {
  id: string;
  account: `0x${string}`;
  name: string;
  dailyCap: bigint | null;
  models: string[] | null;
  createdMs: number;
  revokedMs: number | null;
  last4: string;
};

export class KeyStore {
  private readonly cache: RefreshCache<(ApiKey & { hash: string }) | null>;
  private readonly db: Db;
  private readonly env: "live" | "test";
  constructor(db: Db, env: "live" | "test", cacheMs = 1000) {
    this.db = db;
    this.env = env;
    this.cache = new RefreshCache(cacheMs, async (hash) => {
      const row = (await this.db.query(`SELECT * FROM api_keys WHERE hash = $1`, [hash]))[0];
      return row ? { ...toKey(row), hash: String(row.hash) } : null;
    });
  }

  async create(account: `0x${string}`, name: string, dailyCap: bigint | null, models: string[] | null): Promise<{ key: string; record: ApiKey }> {
    const key = generateKey(this.env);
    const id = `key_${randomBytes(9).toString("base64url")}`;
    const now = Date.now();
    await this.db.query(
      `INSERT INTO api_keys (id, account, name, hash, last4, daily_cap, models, created_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
      [id, account.toLowerCase(), name, sha256(key), key.slice(-4), dailyCap?.toString() ?? null, models ? JSON.stringify(models) : null, now],
    );
    return { key, record: { id, account, name, dailyCap, models, createdMs: now, revokedMs: null, last4: key.slice(-4) } };
  }

  async list(account: `0x${string}`): Promise<ApiKey[]> {
    const rows = await this.db.query(`SELECT * FROM api_keys WHERE account = $1 ORDER BY created_ms`, [account.toLowerCase()]);
    return rows.map(toKey);
  }

  async revoke(account: `0x${string}`, id: string): Promise<boolean> {
    const rows = await this.db.query(`UPDATE api_keys SET revoked_ms = $3 WHERE id = $1 AND account = $2 AND revoked_ms IS NULL RETURNING hash`, [
      id,
      account.toLowerCase(),
      Date.now(),
    ]);
    for (const r of rows) this.cache.delete(String(r.hash));
    return rows.length > 0;
  }

  /**
   * Change an active key's name, daily spend cap or allowed models (`undefined` leaves a field as it
   * is; `null` removes the cap or the model list). The secret stays the same. Takes effect for the
   * next request on this replica at once, on others within the authentication cache (`cacheMs`).
   */
  async update(account: `0x${string}`, id: string, patch: { name?: string; dailyCap?: bigint | null; models?: string[] | null }): Promise<ApiKey | null> {
    const sets: string[] = [];
    const params: unknown[] = [id, account.toLowerCase()];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.name !== undefined) set("name", patch.name);
    if (patch.dailyCap !== undefined) set("daily_cap", patch.dailyCap === null ? null : patch.dailyCap.toString());
    if (patch.models !== undefined) set("models", patch.models === null ? null : JSON.stringify(patch.models));
    if (sets.length === 0) return null;
    const rows = await this.db.query(`UPDATE api_keys SET ${sets.join(", ")} WHERE id = $1 AND account = $2 AND revoked_ms IS NULL RETURNING *`, params);
    for (const r of rows) this.cache.delete(String(r.hash));
    return rows[0] ? toKey(rows[0]) : null;
  }

  /** The active key for a presented secret, or null. */
  async authenticate(presented: string): Promise<ApiKey | null> {
    if (!keyLooksValid(presented)) return null;
    const hash = sha256(presented);
    const key = await this.cache.get(hash);
    if (!key || key.revokedMs !== null) return null;
    const a = Buffer.from(key.hash, "hex");
    const b = Buffer.from(hash, "hex");
    return a.length === b.length && timingSafeEqual(a, b) ? key : null;
  }
}

function toKey(row: Record<string, unknown>): ApiKey {
  const models = row.models === null || row.models === undefined ? null : typeof row.models === "string" ? JSON.parse(row.models) : row.models;
  return {
    id: String(row.id),
    account: String(row.account) as `0x${string}`,
    name: String(row.name),
    dailyCap: row.daily_cap === null ? null : big(row.daily_cap),
    models: models as string[] | null,
    createdMs: Number(row.created_ms),
    revokedMs: row.revoked_ms === null ? null : Number(row.revoked_ms),
    last4: String(row.last4),
  };
}
