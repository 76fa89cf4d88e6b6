/** Per-key daily spend caps (UTC days), in this replica's memory, seeded from receipts on first use. */
import type { Db } from "../store/db.ts";
import { big } from "../store/db.ts";

const today = () => Math.floor(Date.now() / 86_400_000);

export class DailySpend {
  private readonly db: Db;
  private rows = new Map<string, { day: number; spent: bigint; reserved: bigint }>();
  constructor(db: Db) {
    this.db = db;
  }
  private async row(keyId: string) {
    const d = today();
    let r = this.rows.get(keyId);
    if (!r || r.day !== d) {
      const q = await this.db.query(`SELECT COALESCE(SUM(charge_units), 0) AS s FROM receipts WHERE key_id = $1 AND served_at >= $2`, [keyId, d * 86_400]);
      r = this.rows.get(keyId);
      if (!r || r.day !== d) {
        r = { day: d, spent: big(q[0]?.s), reserved: 0n };
        this.rows.set(keyId, r);
      }
    }
    return r;
  }
  async reserve(keyId: string, cap: bigint, amount: bigint): Promise<boolean> {
    const r = await this.row(keyId);
    if (r.spent + r.reserved + amount > cap) return false;
    r.reserved += amount;
    return true;
  }
  async commit(keyId: string, reserved: bigint, actual: bigint): Promise<void> {
    const r = await this.row(keyId);
    r.reserved -= reserved;
    r.spent += actual;
  }
}
