#!/usr/bin/env node
/** tollgate-gateway: configuration from the environment (see docs/gateway.md), then serve until SIGTERM. */
import { configFromEnv, ConfigError } from "./config.ts";
import { buildGateway } from "./server.ts";
import { setHeapGrowingPercent } from "./shared/heap-growth.ts";

try {
  const config = configFromEnv();
  setHeapGrowingPercent(config.heapGrowingPercent);
  // Chaos testing only: die with SIGKILL at a step of posting a batch (see test/crash.test.ts).
  const crashAt = process.env.TOLLGATE_CHAOS_KILL_AT;
  const gw = await buildGateway({
    ...config,
    ...(crashAt && {
      onBatchStage: async (stage: string) => {
        if (stage === crashAt) process.kill(process.pid, "SIGKILL");
      },
    }),
  });
  const url = await gw.listen();
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    await gw.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Announce readiness only once the signal handlers are in place, so a supervisor reacting to
  // this line with SIGTERM gets a clean close.
  gw.ctx.log.info({ url, gatewayId: config.gatewayId, signer: gw.ctx.signer.address, storage: config.databaseUrl ? "postgres" : `pglite:${config.dataDir}`, redis: Boolean(config.redisUrl), devnet: config.devnet }, "gateway listening");
  process.stdout.write(`tollgate-gateway listening on ${url}\nOpenAI base URL: ${url}/v1   status: ${url}/status   metrics: ${url}/metrics\n`);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\nSee docs/gateway.md for every variable.\n`);
    process.exit(2);
  }
  throw err;
}
