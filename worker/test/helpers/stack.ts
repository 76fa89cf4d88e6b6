/** Starts a gateway double and a worker registered with it, for tests of the worker's behaviour. */
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { getAddress, type Address } from "viem";
import { startGatewayDouble, type GatewayDouble } from "./gateway-double.ts";
import { startWorker, type WorkerHandle } from "../../src/agent/worker.ts";
import { parseModelSpecs } from "../../src/agent/models.ts";
import type { WorkerOptions } from "../../src/agent/config.ts";
import { silentLogger } from "../../src/shared/log.ts";

export const PROVIDER: Address = getAddress("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc");

export type Stack = {
  gw: GatewayDouble;
  worker: WorkerHandle;
  /** The bearer token the gateway was issued for this worker. */
  token: () => string;
  chatUrl: string;
  completionsUrl: string;
  close(): Promise<void>;
};

export async function startStack(
  over: Partial<Omit<WorkerOptions, "models">> & { upstream: string; models?: string; heartbeatIntervalMs?: number },
  onFatal?: (err: Error) => void,
): Promise<Stack> {
  const key = generatePrivateKey();
  const address = privateKeyToAccount(key).address;
  const gw = await startGatewayDouble({ authorized: [{ worker: address, provider: PROVIDER }], heartbeatIntervalMs: over.heartbeatIntervalMs ?? 100 });
  const { models, heartbeatIntervalMs: _hb, ...rest } = over;
  const worker = await startWorker(
    {
      runtime: "openai",
      gateway: gw.url,
      gatewayAddress: gw.gatewayAddress,
      provider: PROVIDER,
      chainId: gw.chainId,
      registry: gw.registry,
      listenPort: 0,
      maxConcurrency: 16,
      privateKey: key,
      gpuStats: false,
      firstTokenTimeoutMs: 2_000,
      idleTimeoutMs: 2_000,
      requestTimeoutMs: 5_000,
      ...rest,
      models: parseModelSpecs(models ?? "sim-llama-3.1-8b-instruct"),
    },
    { logger: silentLogger(), onFatal },
  );
  const token = () => gw.registrations.filter((r) => r.worker === address).at(-1)!.token;
  return {
    gw,
    worker,
    token,
    chatUrl: `${worker.url}/v1/chat/completions`,
    completionsUrl: `${worker.url}/v1/completions`,
    async close() {
      await worker.close();
      await gw.close();
    },
  };
}
