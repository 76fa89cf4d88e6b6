/**
 * The indexer's tables. Every row derived from the chain carries the block it came from, so a reorg
 * rolls everything back with one `DELETE ... WHERE block_number > $ancestor` per table (ROLLBACK_TABLES).
 * State that evolves (balances, stake, earnings) is stored as versions: one row per change with the
 * state after it. The latest row is the current state; the rows are also the history the API serves.
 */
export const SCHEMA: string[] = [
  `CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS checkpoint (id int PRIMARY KEY, block_number bigint NOT NULL, block_hash text NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS blocks (block_number bigint PRIMARY KEY, hash text NOT NULL, timestamp bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS events (block_number bigint NOT NULL, log_index int NOT NULL, timestamp bigint NOT NULL, tx_hash text NOT NULL,
     contract text NOT NULL, name text NOT NULL, args jsonb NOT NULL, PRIMARY KEY (block_number, log_index))`,
  `CREATE INDEX IF NOT EXISTS events_name ON events (name, block_number, log_index)`,
  `CREATE TABLE IF NOT EXISTS ledger (block_number bigint NOT NULL, log_index int NOT NULL, sub int NOT NULL, timestamp bigint NOT NULL, tx_hash text NOT NULL,
     customer text NOT NULL, kind text NOT NULL, amount numeric NOT NULL, available numeric NOT NULL, pending numeric NOT NULL, unlock_at bigint NOT NULL,
     payer text, provider text, gateway_id int, batch_id numeric, entry_index int, dispute_id numeric,
     PRIMARY KEY (block_number, log_index, sub))`,
  `CREATE INDEX IF NOT EXISTS ledger_customer ON ledger (customer, block_number, log_index, sub)`,
  `CREATE INDEX IF NOT EXISTS ledger_kind ON ledger (kind, block_number, log_index, sub)`,
  `CREATE INDEX IF NOT EXISTS ledger_provider ON ledger (provider, kind) WHERE provider IS NOT NULL`,
  `CREATE TABLE IF NOT EXISTS stake_changes (block_number bigint NOT NULL, log_index int NOT NULL, timestamp bigint NOT NULL, tx_hash text NOT NULL,
     provider text NOT NULL, kind text NOT NULL, amount numeric NOT NULL, bonded numeric NOT NULL, unbonding numeric NOT NULL, unlock_at bigint NOT NULL,
     locked numeric NOT NULL, jailed boolean NOT NULL, PRIMARY KEY (block_number, log_index))`,
  `CREATE INDEX IF NOT EXISTS stake_changes_provider ON stake_changes (provider, block_number, log_index)`,
  `CREATE TABLE IF NOT EXISTS slashes (block_number bigint NOT NULL, log_index int NOT NULL, timestamp bigint NOT NULL, tx_hash text NOT NULL,
     provider text NOT NULL, requested numeric NOT NULL, paid numeric NOT NULL, recipient text NOT NULL, reason text NOT NULL, PRIMARY KEY (block_number, log_index))`,
  `CREATE TABLE IF NOT EXISTS earnings_changes (block_number bigint NOT NULL, log_index int NOT NULL, sub int NOT NULL, timestamp bigint NOT NULL, tx_hash text NOT NULL,
     provider text NOT NULL, kind text NOT NULL, amount numeric NOT NULL, claimable numeric NOT NULL, prev numeric NOT NULL, cur numeric NOT NULL, epoch bigint NOT NULL,
     claimed numeric NOT NULL, credited numeric NOT NULL, refunded numeric NOT NULL, gateway_id int, batch_id numeric, dispute_id numeric,
     PRIMARY KEY (block_number, log_index, sub))`,
  `CREATE INDEX IF NOT EXISTS earnings_changes_provider ON earnings_changes (provider, block_number, log_index, sub)`,
  `CREATE TABLE IF NOT EXISTS batches (gateway_id int NOT NULL, batch_id numeric NOT NULL, block_number bigint NOT NULL, log_index int NOT NULL, timestamp bigint NOT NULL,
     tx_hash text NOT NULL, receipts_root text NOT NULL, entries_hash text NOT NULL, receipt_count int NOT NULL, entry_count int NOT NULL,
     charged numeric NOT NULL, fees numeric NOT NULL, skipped int NOT NULL, vests_at bigint NOT NULL, fee_bps int NOT NULL, entries_known boolean NOT NULL,
     PRIMARY KEY (gateway_id, batch_id))`,
  `CREATE INDEX IF NOT EXISTS batches_order ON batches (block_number, log_index)`,
  `CREATE TABLE IF NOT EXISTS batch_entries (gateway_id int NOT NULL, batch_id numeric NOT NULL, idx int NOT NULL, block_number bigint NOT NULL, timestamp bigint NOT NULL,
     customer text NOT NULL, provider text NOT NULL, model text NOT NULL, requests int NOT NULL, prompt_tokens numeric NOT NULL, completion_tokens numeric NOT NULL,
     prompt_price numeric NOT NULL, completion_price numeric NOT NULL, charge numeric NOT NULL, fee numeric NOT NULL, skip_reason int,
     PRIMARY KEY (gateway_id, batch_id, idx))`,
  `CREATE INDEX IF NOT EXISTS batch_entries_customer ON batch_entries (customer, timestamp)`,
  `CREATE INDEX IF NOT EXISTS batch_entries_provider ON batch_entries (provider, timestamp)`,
  `CREATE INDEX IF NOT EXISTS batch_entries_block ON batch_entries (block_number)`,
  `CREATE TABLE IF NOT EXISTS batch_checks (gateway_id int NOT NULL, batch_id numeric NOT NULL, block_number bigint NOT NULL, status text NOT NULL, reason text,
     checked_at bigint, attempts int NOT NULL DEFAULT 0, next_try_ms bigint NOT NULL DEFAULT 0, PRIMARY KEY (gateway_id, batch_id))`,
  `CREATE TABLE IF NOT EXISTS receipts (id text NOT NULL, gateway_id int NOT NULL, batch_id numeric NOT NULL, block_number bigint NOT NULL, leaf_hash text NOT NULL,
     customer text NOT NULL, provider text NOT NULL, worker text NOT NULL, model text NOT NULL, prompt_tokens int NOT NULL, cached_tokens int NOT NULL,
     completion_tokens int NOT NULL, reasoning_tokens int NOT NULL, prompt_price numeric NOT NULL, completion_price numeric NOT NULL, cost numeric NOT NULL,
     ttft_ms int NOT NULL, duration_ms int NOT NULL, status int NOT NULL, served_at bigint NOT NULL, PRIMARY KEY (gateway_id, batch_id, id))`,
  `CREATE INDEX IF NOT EXISTS receipts_id ON receipts (id)`,
  `CREATE TABLE IF NOT EXISTS disputes (dispute_id numeric PRIMARY KEY, block_number bigint NOT NULL, timestamp bigint NOT NULL, tx_hash text NOT NULL,
     customer text NOT NULL, provider text NOT NULL, gateway_id int NOT NULL, batch_id numeric NOT NULL, entry_index int NOT NULL, amount numeric NOT NULL, reason_hash text NOT NULL,
     resolve_by bigint)`,
  // Databases created before disputes had a deadline lack the column; Follower.init fills it in.
  `ALTER TABLE disputes ADD COLUMN IF NOT EXISTS resolve_by bigint`,
  `CREATE TABLE IF NOT EXISTS dispute_resolutions (dispute_id numeric PRIMARY KEY, block_number bigint NOT NULL, timestamp bigint NOT NULL, tx_hash text NOT NULL,
     upheld boolean NOT NULL, refund numeric NOT NULL, from_earnings numeric NOT NULL, from_stake numeric NOT NULL, from_fees numeric NOT NULL,
     expired boolean NOT NULL DEFAULT false)`,
  // Databases created before disputes could expire (Settlement.expireDispute) lack the column.
  `ALTER TABLE dispute_resolutions ADD COLUMN IF NOT EXISTS expired boolean NOT NULL DEFAULT false`,
  `CREATE TABLE IF NOT EXISTS sla_reports (report_key text PRIMARY KEY, block_number bigint NOT NULL, log_index int NOT NULL, timestamp bigint NOT NULL, tx_hash text NOT NULL,
     gateway_id int NOT NULL, provider text NOT NULL, tier int NOT NULL, window_start bigint NOT NULL, window_end bigint NOT NULL, requests bigint NOT NULL,
     availability_ppm bigint NOT NULL, p95_ttft_ms bigint NOT NULL, credit_bps numeric NOT NULL, total_spend numeric NOT NULL, credit_owed numeric NOT NULL, credit_paid numeric NOT NULL)`,
  // Every ArrearsSet, lists as the event gave them (JSON arrays of lowercase addresses / decimal
  // strings, in order): collectArrears must be called with exactly these. A report's current
  // arrears are its newest row, derived by query like every other balance here, so a reorg needs
  // nothing beyond the DELETE. A database created before this table is filled from `events` on
  // start (Follower.init, fillArrears).
  `CREATE TABLE IF NOT EXISTS arrears_changes (block_number bigint NOT NULL, log_index int NOT NULL, timestamp bigint NOT NULL, tx_hash text NOT NULL,
     report_key text NOT NULL, provider text NOT NULL, owed numeric NOT NULL, customers jsonb NOT NULL, amounts jsonb NOT NULL, PRIMARY KEY (block_number, log_index))`,
  `CREATE INDEX IF NOT EXISTS arrears_changes_report ON arrears_changes (report_key, block_number, log_index)`,
  `CREATE INDEX IF NOT EXISTS arrears_changes_provider ON arrears_changes (provider, report_key)`,
  `CREATE INDEX IF NOT EXISTS arrears_changes_customers ON arrears_changes USING gin (customers jsonb_path_ops)`,
  `CREATE TABLE IF NOT EXISTS provider_profiles (block_number bigint NOT NULL, log_index int NOT NULL, timestamp bigint NOT NULL, tx_hash text NOT NULL, provider text NOT NULL,
     registered boolean NOT NULL, gpu_model text NOT NULL, gpu_count int NOT NULL, vram_gb int NOT NULL, region text NOT NULL, metadata_uri text NOT NULL,
     PRIMARY KEY (block_number, log_index))`,
  `CREATE TABLE IF NOT EXISTS price_changes (block_number bigint NOT NULL, log_index int NOT NULL, timestamp bigint NOT NULL, tx_hash text NOT NULL, provider text NOT NULL,
     model text NOT NULL, kind text NOT NULL, name text, quantization text, model_hash text, context_length int, prompt_price numeric, completion_price numeric,
     effective_at bigint NOT NULL, PRIMARY KEY (block_number, log_index))`,
  `CREATE TABLE IF NOT EXISTS worker_changes (block_number bigint NOT NULL, log_index int NOT NULL, provider text NOT NULL, worker text NOT NULL, authorized boolean NOT NULL,
     PRIMARY KEY (block_number, log_index))`,
];

/** Tables holding rows derived from blocks: all rolled back together on a reorg. */
export const ROLLBACK_TABLES = [
  "blocks", "events", "ledger", "stake_changes", "slashes", "earnings_changes", "batches", "batch_entries", "batch_checks",
  "receipts", "disputes", "dispute_resolutions", "sla_reports", "arrears_changes", "provider_profiles", "price_changes", "worker_changes",
] as const;
export type TableName = (typeof ROLLBACK_TABLES)[number];
