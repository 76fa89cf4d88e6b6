#!/usr/bin/env node
/**
 * tollgate-indexer: configured by environment (see docs/indexer.md). Prints exactly one line to
 * stdout once ready: `tollgate-indexer listening on http://HOST:PORT/graphql`. Logs go to stderr.
 */
import { startIndexer, optionsFromEnv } from "./index.ts";

let opts;
try {
  opts = optionsFromEnv(process.env);
} catch (err) {
  process.stderr.write(`tollgate-indexer: ${(err as Error).message}\n`);
  process.exit(2);
}
const indexer = await startIndexer(opts).catch((err) => {
  process.stderr.write(`tollgate-indexer: could not start: ${(err as Error).message}\n`);
  process.exit(1);
});
process.stdout.write(`tollgate-indexer listening on ${indexer.url}\n`);
let stopping = false;
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    indexer.stop().then(() => process.exit(0), () => process.exit(1));
  });
}
