/** The one SQL schema, run as-is on PGlite and PostgreSQL. Amounts are bigint (USDC base units) or numeric (exact cost, 1e-12 USDC). */
export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS accounts (
    address text PRIMARY KEY,
    tier text NOT NULL DEFAULT 'hobby',
    created_ms bigint NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS api_keys (
    id text PRIMARY KEY,
    account text NOT NULL,
    name text NOT NULL,
    hash text NOT NULL UNIQUE,
    last4 text NOT NULL,
    daily_cap bigint,
    models jsonb,
    created_ms bigint NOT NULL,
    revoked_ms bigint
  )`,
  `CREATE INDEX IF NOT EXISTS api_keys_account ON api_keys (account)`,
  `CREATE TABLE IF NOT EXISTS siwe_nonces (nonce text PRIMARY KEY, expires_ms bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS sessions (hash text PRIMARY KEY, account text NOT NULL, expires_ms bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS workers (
    id text PRIMARY KEY,
    worker text NOT NULL UNIQUE,
    provider text NOT NULL,
    endpoint text NOT NULL,
    models jsonb NOT NULL,
    max_concurrency int NOT NULL,
    issued_at bigint NOT NULL,
    token_hash text NOT NULL,
    token_nonce text NOT NULL,
    draining boolean NOT NULL DEFAULT false,
    health jsonb,
    last_seen_ms bigint NOT NULL,
    registered_ms bigint NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS receipts (
    id text PRIMARY KEY,
    request_id text NOT NULL,
    customer text NOT NULL,
    provider text NOT NULL,
    worker text NOT NULL,
    model text NOT NULL,
    model_name text NOT NULL,
    key_id text,
    prompt_tokens int NOT NULL,
    cached_tokens int NOT NULL,
    completion_tokens int NOT NULL,
    reasoning_tokens int NOT NULL,
    prompt_price bigint NOT NULL,
    completion_price bigint NOT NULL,
    cost numeric(40,0) NOT NULL,
    charge_units bigint NOT NULL,
    ttft_ms int NOT NULL,
    duration_ms int NOT NULL,
    status int NOT NULL,
    served_at bigint NOT NULL,
    usage_source text,
    drift real,
    batch_id bigint,
    created_ms bigint NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS receipts_unbatched ON receipts (created_ms) WHERE batch_id IS NULL AND status <> 3`,
  `CREATE INDEX IF NOT EXISTS receipts_batch ON receipts (batch_id)`,
  `CREATE INDEX IF NOT EXISTS receipts_customer ON receipts (customer)`,
  `CREATE TABLE IF NOT EXISTS batches (
    id bigint PRIMARY KEY,
    root text NOT NULL,
    receipt_count int NOT NULL,
    deadline bigint NOT NULL,
    entries jsonb NOT NULL,
    signature text NOT NULL,
    state text NOT NULL,
    tx_hash text,
    attempts int NOT NULL DEFAULT 0,
    created_ms bigint NOT NULL,
    settled_block bigint
  )`,
  `CREATE TABLE IF NOT EXISTS skipped_entries (
    batch_id bigint NOT NULL,
    idx int NOT NULL,
    customer text NOT NULL,
    reason int NOT NULL,
    amount bigint NOT NULL,
    PRIMARY KEY (batch_id, idx)
  )`,
  `CREATE TABLE IF NOT EXISTS customers (
    address text PRIMARY KEY,
    available bigint NOT NULL,
    pending bigint NOT NULL,
    debt bigint NOT NULL DEFAULT 0,
    block bigint NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS cursors (name text PRIMARY KEY, block bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS sla_reports (
    provider text NOT NULL,
    tier int NOT NULL,
    window_start bigint NOT NULL,
    state text NOT NULL,
    tx_hash text,
    PRIMARY KEY (provider, tier, window_start)
  )`,
  // A skipped entry's receipts go back to the next batch once the customer can pay (see follower.ts).
  `ALTER TABLE skipped_entries ADD COLUMN IF NOT EXISTS requeued_block bigint`,
  // The receipts each batch committed to, in its Merkle tree. A receipt collected after its entry was
  // skipped is committed again by a later batch, so it belongs to both; receipts.batch_id is the
  // latest. Publishing from here keeps every posted root recomputable from its published receipts.
  `CREATE TABLE IF NOT EXISTS batch_receipts (
    batch_id bigint NOT NULL,
    receipt_id text NOT NULL,
    PRIMARY KEY (batch_id, receipt_id)
  )`,
  // Databases from before batch_receipts: a batch's members are the receipts that point at it.
  `INSERT INTO batch_receipts (batch_id, receipt_id) SELECT batch_id, id FROM receipts
   WHERE batch_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM batch_receipts) ON CONFLICT DO NOTHING`,
  // Per-minute SLI intervals per provider, summed over replicas; samples are TTFT / last-token ms.
  `CREATE TABLE IF NOT EXISTS sli_minutes (
    provider text NOT NULL,
    minute bigint NOT NULL,
    good int NOT NULL,
    bad int NOT NULL,
    s5xx int NOT NULL,
    s429 int NOT NULL,
    ttft jsonb NOT NULL,
    total jsonb NOT NULL,
    PRIMARY KEY (provider, minute)
  )`,
  // Open SLA arrears of this gateway's reports: the lists of each report's latest ArrearsSet, which
  // collectArrears must be given back (the chain keeps only their hash). A report paid off is deleted.
  // owed is a uint96 on-chain, beyond bigint's range; (block, log_index) is the event applied, so an
  // older event read again never overwrites a newer one.
  `CREATE TABLE IF NOT EXISTS sla_arrears (
    report_key text PRIMARY KEY,
    provider text NOT NULL,
    owed numeric(40,0) NOT NULL,
    customers jsonb NOT NULL,
    amounts jsonb NOT NULL,
    opened_block bigint NOT NULL,
    opened_log int NOT NULL,
    block bigint NOT NULL,
    log_index int NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS sla_arrears_provider ON sla_arrears (provider, opened_block, opened_log)`,
];
