export { startWorker, type WorkerHandle, type DrainResult } from "./worker.ts";
export { workerOptionsSchema, type WorkerOptions, type WorkerConfig } from "./config.ts";
export { parseModelSpecs, signedModel, type ModelSpec } from "./models.ts";
export { loadPrivateKey, createKeystore, KeyError } from "./keys.ts";
export { RegistrationRefusedError, GatewayUnavailableError } from "./gateway-client.ts";
export { parseNvidiaSmi } from "./gpu.ts";
export { RUNTIMES, type RuntimeKind } from "./runtimes.ts";
