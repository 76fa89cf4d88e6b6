/**
 * The machine's PostgreSQL and Redis for the scale-path tests, and why a test skips when one is
 * absent (the reason is printed, never a silent pass).
 */
export const TEST_PG = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const TEST_REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Why PostgreSQL cannot be used here, or null when it answers. */
export async function postgresMissing(url = TEST_PG): Promise<string | null> {
  try {
    const { default: pg } = await import("pg");
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    await c.connect();
    await c.end();
    return null;
  } catch (err) {
    return `PostgreSQL not reachable at ${url}: ${(err as Error).message}`;
  }
}

/** Why Redis cannot be used here, or null when it answers. */
export async function redisMissing(url = TEST_REDIS): Promise<string | null> {
  try {
    const { Redis } = await import("ioredis");
    const r = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await r.connect();
    await r.ping();
    r.disconnect();
    return null;
  } catch (err) {
    return `Redis not reachable at ${url}: ${(err as Error).message}`;
  }
}
