/**
 * The body of the PGlite thread (see `openPglite` in db.ts). PGlite runs PostgreSQL compiled to
 * WebAssembly on the thread that calls it: a grouped receipt INSERT held the gateway's event loop
 * for about 6 ms, during which no stream moved. Here it has a thread of its own, and the event loop
 * only posts messages.
 *
 * Protocol: `{ id, sql, params }` in, `{ id, rows }` or `{ id, error }` out, answered in order;
 * `{ id, close: true }` closes the database and answers `{ id, rows: [] }`.
 */
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";
import { lowerThisThreadPriority } from "../shared/thread-priority.ts";

export type ThreadRequest = { id: number; sql: string; params?: unknown[] } | { id: number; close: true };
export type ThreadError = { message: string; code?: string; detail?: string };
export type ThreadReply = { id: number; rows: unknown[] } | { id: number; error: ThreadError } | { ready: true } | { failed: ThreadError };

const port = parentPort!;
const reply = (m: ThreadReply) => port.postMessage(m);
const asError = (err: unknown): ThreadError => {
  const e = err as { message?: unknown; code?: unknown; detail?: unknown };
  return {
    message: String(e?.message ?? err),
    ...(typeof e?.code === "string" ? { code: e.code } : {}),
    ...(typeof e?.detail === "string" ? { detail: e.detail } : {}),
  };
};

const { dataDir, nice } = workerData as { dataDir: string; nice: number };

// This thread runs at a lower priority than the event loop (see `dbThreadNice` in config.ts).
lowerThisThreadPriority(nice);

try {
  const pg = new PGlite(dataDir);
  await pg.waitReady;
  // One statement at a time, in the order they were posted: BEGIN … COMMIT from the main thread
  // stays one transaction because the main thread sends nothing else meanwhile.
  let tail: Promise<void> = Promise.resolve();
  port.on("message", (m: ThreadRequest) => {
    tail = tail.then(async () => {
      if ("close" in m) {
        await pg.close();
        reply({ id: m.id, rows: [] });
        return;
      }
      try {
        reply({ id: m.id, rows: (await pg.query(m.sql, m.params)).rows });
      } catch (err) {
        reply({ id: m.id, error: asError(err) });
      }
    });
  });
  reply({ ready: true });
} catch (err) {
  reply({ failed: asError(err) });
}
