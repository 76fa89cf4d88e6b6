/**
 * The worker agent: listens for the gateway, registers with a signed WorkerRegistration, sends
 * heartbeats, and drains cleanly. `startWorker` resolves once the gateway has accepted it.
 */
import type { AddressInfo } from "node:net";
import { privateKeyToAccount } from "viem/accounts";
import type { Address } from "viem";
import type { Logger } from "pino";
import { createLogger } from "../shared/log.ts";
import { workerOptionsSchema, type WorkerConfig, type WorkerOptions } from "./config.ts";
import { createWorkerServer, type WorkerState } from "./server.ts";
import { createUpstreamDispatcher, probeUpstream } from "./upstream.ts";
import { HealthTracker } from "./health.ts";
import { GatewayClient, GatewayUnavailableError, RegistrationRefusedError, type HeartbeatBody, type Registered } from "./gateway-client.ts";
import { buildRegistration, registrationToJson, signRegistration } from "./registration.ts";
import { HeartbeatLoop } from "./heartbeat.ts";
import { findNvidiaSmi, queryGpus } from "./gpu.ts";
import { signedModel } from "./models.ts";

export type DrainResult = { finishedInFlight: number; abandoned: number; deregistered: boolean };

export type WorkerHandle = {
  /** Where the worker listens, e.g. http://127.0.0.1:8090 */
  url: string;
  /** The endpoint registered with the gateway. */
  publicUrl: string;
  address: Address;
  workerId: () => string | null;
  state: () => Readonly<WorkerState>;
  /** Stop taking requests, finish in-flight ones, deregister, close. Idempotent. */
  drain(): Promise<DrainResult>;
  /** Stop at once without deregistering (in-flight requests are cut). */
  close(): Promise<void>;
};

export type WorkerDeps = {
  logger?: Logger;
  /**
   * Called when the gateway refuses a re-registration (e.g. the key was de-authorized on-chain).
   * The worker has stopped serving by then; the CLI exits non-zero so a supervisor notices.
   */
  onFatal?: (err: Error) => void;
};

export async function startWorker(options: WorkerOptions, deps: WorkerDeps = {}): Promise<WorkerHandle> {
  const config: WorkerConfig = workerOptionsSchema.parse(options);
  const log = deps.logger ?? createLogger("tollgate-worker");
  const account = privateKeyToAccount(config.privateKey);
  const state: WorkerState = { token: null, draining: false, inFlight: 0 };
  const health = new HealthTracker();
  const dispatcher = createUpstreamDispatcher(config.maxConcurrency);
  const gateway = new GatewayClient(config.gateway);
  let registered: Registered | null = null;
  let idleWaiters: (() => void)[] = [];

  const server = createWorkerServer({
    config,
    state,
    health,
    dispatcher,
    log,
    onIdle: () => {
      if (state.inFlight === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
      }
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: config.listenPort, host: config.listenHost, backlog: 4096 }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.listenHost.includes(":") ? `[${config.listenHost}]` : config.listenHost;
  const url = `http://${host}:${port}`;
  const publicUrl = config.publicUrl ?? url;

  const closeServer = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  // The gateway accepts a registration only if it is newer than the last one it accepted, to the
  // second: a re-registration within the same second as the previous one would be refused for good.
  let lastIssuedAt = 0;
  async function register(): Promise<Registered> {
    const issuedAt = Math.max(Math.floor(Date.now() / 1000), lastIssuedAt + 1);
    lastIssuedAt = issuedAt;
    const registration = buildRegistration(account, {
      provider: config.provider,
      endpoint: publicUrl,
      models: config.models.map(signedModel),
      maxConcurrency: config.maxConcurrency,
      gateway: config.gatewayAddress,
      ttlSec: config.registrationTtlSec,
    }, issuedAt);
    const signature = await signRegistration(account, config.chainId, config.registry, registration);
    return gateway.register({ registration: registrationToJson(registration), signature });
  }

  /** Registers, retrying while the gateway is unreachable; a refusal is final. */
  async function registerWithRetry(): Promise<Registered> {
    const deadline = config.registerTimeoutMs > 0 ? Date.now() + config.registerTimeoutMs : Number.POSITIVE_INFINITY;
    let delay = 500;
    for (;;) {
      try {
        return await register();
      } catch (err) {
        if (!(err instanceof GatewayUnavailableError) || Date.now() + delay > deadline) throw err;
        log.warn({ err: err.message, retryInMs: delay }, "gateway not reachable; retrying registration");
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  const nvidiaSmi = config.gpuStats ? await findNvidiaSmi() : null;
  health.setUpstreamOk(await probeUpstream(dispatcher, config.upstream, 5_000));

  try {
    registered = await registerWithRetry();
  } catch (err) {
    await closeServer();
    await dispatcher.close();
    if (err instanceof RegistrationRefusedError) log.error({ status: err.status, code: err.code, reason: err.message }, "gateway refused the registration");
    throw err;
  }
  state.token = registered.token;
  log.info(
    { workerId: registered.workerId, worker: account.address, provider: config.provider, endpoint: publicUrl, models: config.models.map((m) => m.name), runtime: config.runtime },
    "registered with gateway",
  );

  const heartbeat = new HeartbeatLoop({
    intervalMs: () => registered?.heartbeatIntervalMs ?? 10_000,
    log,
    beat: async () => {
      if (!registered) return;
      if (!state.draining) health.setUpstreamOk(await probeUpstream(dispatcher, config.upstream, 5_000));
      const body: HeartbeatBody = { inFlight: state.inFlight, maxConcurrency: config.maxConcurrency, draining: state.draining, health: health.snapshot() };
      if (nvidiaSmi) {
        const gpus = await queryGpus(nvidiaSmi);
        if (gpus) body.gpu = gpus;
      }
      const answer = await gateway.heartbeat(registered.workerId, registered.token, body);
      if (answer === "gone" && !state.draining) {
        // The gateway forgot this worker (restart, expiry): sign a fresh registration.
        log.warn({ workerId: registered.workerId }, "gateway no longer knows this worker; registering again");
        state.token = null; // the old token is dead on the gateway side
        try {
          registered = await register();
        } catch (err) {
          if (err instanceof RegistrationRefusedError) {
            log.error({ status: err.status, code: err.code, reason: err.message }, "gateway refused the re-registration; not serving");
            void heartbeat.stop();
            deps.onFatal?.(err);
          }
          throw err;
        }
        state.token = registered.token;
        log.info({ workerId: registered.workerId }, "registered with gateway");
      }
    },
  });
  heartbeat.start();

  let draining: Promise<DrainResult> | null = null;
  let closed = false;

  async function drain(): Promise<DrainResult> {
    const finishedInFlight = state.inFlight;
    state.draining = true;
    log.info({ inFlight: state.inFlight }, "draining: refusing new requests, finishing in-flight ones");
    await heartbeat.beatNow(); // tell the gateway at once, not at the next interval
    let abandoned = 0;
    if (state.inFlight > 0) {
      const idle = new Promise<void>((resolve) => idleWaiters.push(resolve));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), config.drainTimeoutMs);
      });
      if ((await Promise.race([idle, timeout])) === "timeout") abandoned = state.inFlight;
      clearTimeout(timer);
    }
    await heartbeat.stop();
    let deregistered = false;
    if (registered) {
      try {
        await gateway.deregister(registered.workerId, registered.token);
        deregistered = true;
      } catch (err) {
        log.warn({ err: (err as Error).message }, "deregistration failed; the gateway will expire this worker");
      }
    }
    state.token = null;
    closed = true;
    await closeServer();
    await dispatcher.close();
    log.info({ finishedInFlight: finishedInFlight - abandoned, abandoned, deregistered }, "drained");
    return { finishedInFlight: finishedInFlight - abandoned, abandoned, deregistered };
  }

  return {
    url,
    publicUrl,
    address: account.address,
    workerId: () => registered?.workerId ?? null,
    state: () => ({ ...state }),
    drain: () => (draining ??= drain()),
    close: async () => {
      if (closed) return;
      closed = true;
      state.draining = true;
      await heartbeat.stop();
      await closeServer();
      await dispatcher.destroy();
    },
  };
}
