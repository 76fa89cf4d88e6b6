/** Options of a worker, validated with zod whether they come from flags, env or code. */
import { z } from "zod";
import { getAddress, isAddress, type Address, type Hex } from "viem";
import { RUNTIMES } from "./runtimes.ts";
import { modelSpecSchema } from "./models.ts";
import { isHttpUrl } from "../shared/http.ts";

const address = z
  .string()
  .refine((s) => isAddress(s, { strict: false }), "not an Ethereum address")
  .transform((s) => getAddress(s) as Address);

const httpUrl = z
  .string()
  .refine(isHttpUrl, "must be an http(s) URL")
  .transform((s) => s.replace(/\/+$/, ""));

export const privateKeySchema = z
  .string()
  .trim()
  .regex(/^(0x)?[0-9a-fA-F]{64}$/, "must be 32 bytes of hex")
  .transform((s) => (s.startsWith("0x") ? s : `0x${s}`) as Hex);

const ms = (def: number) => z.number().int().min(1).max(86_400_000).default(def);

export const workerOptionsSchema = z.object({
  /** Base URL of the runtime's OpenAI-compatible API, including /v1. */
  upstream: httpUrl,
  runtime: z.enum(RUNTIMES).default("openai"),
  gateway: httpUrl,
  /** The gateway's signer address: the `gateway` field of the signed registration. */
  gatewayAddress: address,
  provider: address,
  chainId: z.number().int().positive(),
  /** ProviderRegistry address: the verifying contract of the registration's EIP-712 domain. */
  registry: address,
  listenHost: z.string().default("127.0.0.1"),
  listenPort: z.number().int().min(0).max(65535).default(8090),
  /** The URL the gateway calls; defaults to http://listenHost:port. */
  publicUrl: httpUrl.optional(),
  models: z.array(modelSpecSchema).min(1),
  maxConcurrency: z.number().int().min(1).max(10_000).default(8),
  privateKey: privateKeySchema,
  firstTokenTimeoutMs: ms(60_000),
  idleTimeoutMs: ms(30_000),
  requestTimeoutMs: ms(600_000),
  drainTimeoutMs: ms(300_000),
  /** How long a signed registration stays valid (its expiresAt - issuedAt), seconds. */
  registrationTtlSec: z.number().int().min(10).max(3600).default(300),
  /** Give up registering after this long while the gateway is unreachable (0 = keep trying). */
  registerTimeoutMs: z.number().int().min(0).default(0),
  /** Report GPUs from nvidia-smi when it exists. */
  gpuStats: z.boolean().default(true),
  maxBodyBytes: z.number().int().positive().default(8 * 1024 * 1024),
});

export type WorkerOptions = z.input<typeof workerOptionsSchema>;
export type WorkerConfig = z.output<typeof workerOptionsSchema>;
