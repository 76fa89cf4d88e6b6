/**
 * Everything the provider CLI reads from its user, validated with zod: the RPC URL, the deployment
 * manifest, the provider key, hardware profiles, model specs with prices, USDC amounts, addresses.
 */
import { z } from "zod";
import { getAddress, isAddress, isHex, type Address, type Hex } from "viem";
// Subpath imports keep start-up light: input is checked before the ABIs, ethers or viem's clients load.
import { loadDeployment, type Deployment } from "@tollgate/protocol/deployments";
import { modelId } from "@tollgate/protocol/models";
import { parseUsdc } from "@tollgate/protocol/price";
import { privateKeySchema } from "../agent/config.ts";
import { isHttpUrl } from "../shared/http.ts";

/** Bad input from the user: printed as is, exit code 2. */
export class InputError extends Error {}

const UINT48_MAX = 2n ** 48n - 1n;

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new InputError(`${what}: ${r.error.issues.map((i) => i.message).join("; ")}`);
  return r.data;
}

export const addressSchema = z
  .string()
  .trim()
  .refine((s) => isAddress(s, { strict: false }), "not an Ethereum address (0x followed by 40 hex digits)")
  .transform((s) => getAddress(s) as Address);

export const rpcUrlSchema = z
  .string({ error: "missing: pass --rpc-url or set TOLLGATE_RPC_URL" })
  .trim()
  .refine(isHttpUrl, "must be an http(s) URL, e.g. https://sepolia.base.org");

/** A USDC amount typed by a person ("100", "12.5"); must be positive. */
export const usdcAmountSchema = z
  .string({ error: "missing amount in USDC, e.g. 100 or 12.5" })
  .trim()
  .transform((s, ctx) => {
    try {
      const v = parseUsdc(s);
      if (v === 0n) {
        ctx.addIssue({ code: "custom", message: "must be more than 0" });
        return z.NEVER;
      }
      return v;
    } catch {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(s)} is not a USDC amount (digits, at most 6 decimals, e.g. 12.5)` });
      return z.NEVER;
    }
  });

/** A price in USD per million tokens ("0.20") as USDC base units per million tokens. */
const priceSchema = z
  .string()
  .trim()
  .transform((s, ctx) => {
    let v: bigint;
    try {
      v = parseUsdc(s);
    } catch {
      ctx.addIssue({ code: "custom", message: `price ${JSON.stringify(s)} is not USD per million tokens with at most 6 decimals (e.g. 0.20)` });
      return z.NEVER;
    }
    if (v > UINT48_MAX) {
      ctx.addIssue({ code: "custom", message: `price ${s} is above the on-chain maximum (about 281 million USD per million tokens)` });
      return z.NEVER;
    }
    return v;
  });

const modelNameSchema = z
  .string()
  .trim()
  .min(1, "model name is empty")
  .max(200, "model name longer than 200 characters")
  .regex(/^[^\s:,]+$/, "model name must not contain spaces, ':' or ','");

const modelHashSchema = z
  .string()
  .trim()
  .transform((s) => (/^[0-9a-fA-F]{64}$/.test(s) ? `0x${s}` : s))
  .refine((s) => isHex(s) && s.length === 66, "model hash must be 32 bytes of hex (e.g. the sha256 of the weights file)")
  .transform((s) => s.toLowerCase() as Hex);

export type ModelListing = {
  name: string;
  id: Hex;
  promptPrice: bigint;
  completionPrice: bigint;
  quantization: string;
  contextLength: number;
  modelHash: Hex;
};

const ZERO_HASH = `0x${"0".repeat(64)}` as Hex;

/** `name:prompt:completion[:quant[:contextLength[:modelHash]]]`, prices in USD per million tokens. */
export function parseModelListing(spec: string): ModelListing {
  const parts = spec.split(":");
  if (parts.length < 3 || parts.length > 6) {
    throw new InputError(
      `--model ${JSON.stringify(spec)}: expected name:promptPrice:completionPrice[:quant[:contextLength[:modelHash]]], e.g. llama-3.1-8b-instruct:0.20:0.60:q4_k_m:16384`,
    );
  }
  const [name, prompt, completion, quant = "", ctx = "", hash = ""] = parts as [string, string, string, ...string[]];
  const what = `--model ${JSON.stringify(spec)}`;
  const contextLength = ctx === "" ? 0 : check(z.coerce.number().int("context length must be a whole number").min(0).max(2 ** 32 - 1), ctx, `${what}: context length`);
  return {
    name: check(modelNameSchema, name, what),
    id: modelId(name.trim()),
    promptPrice: check(priceSchema, prompt, what),
    completionPrice: check(priceSchema, completion, what),
    quantization: check(z.string().trim().max(64, "quantization label longer than 64 characters"), quant, what),
    contextLength,
    modelHash: hash === "" ? ZERO_HASH : check(modelHashSchema, hash, what),
  };
}

/** `name:prompt:completion` for set-price. */
export function parsePriceSpec(spec: string): Pick<ModelListing, "name" | "id" | "promptPrice" | "completionPrice"> {
  const parts = spec.split(":");
  if (parts.length !== 3) throw new InputError(`--model ${JSON.stringify(spec)}: expected name:promptPrice:completionPrice, e.g. llama-3.1-8b-instruct:0.25:0.70`);
  const l = parseModelListing(spec);
  return { name: l.name, id: l.id, promptPrice: l.promptPrice, completionPrice: l.completionPrice };
}

export function parseModelName(spec: string): { name: string; id: Hex } {
  const name = check(modelNameSchema, spec, `--model ${JSON.stringify(spec)}`);
  return { name, id: modelId(name) };
}

export type ProfileInput = {
  gpuModel?: string;
  gpuCount?: number;
  vramGb?: number;
  region?: string;
  metadataUri?: string;
};

export type HardwareProfile = { gpuModel: string; gpuCount: number; vramGb: number; region: string; metadataURI: string };

const profileFlags = z.object({
  gpuModel: z.string().trim().min(1, "--gpu-model is empty").max(100, "--gpu-model longer than 100 characters").optional(),
  gpuCount: z.coerce.number({ error: "--gpu-count must be a number" }).int("--gpu-count must be a whole number").min(1, "--gpu-count must be at least 1").max(65535, "--gpu-count must be at most 65535").optional(),
  vramGb: z.coerce.number({ error: "--vram-gb must be a number" }).int("--vram-gb must be whole gigabytes").min(1, "--vram-gb must be at least 1").max(2 ** 32 - 1).optional(),
  region: z.string().trim().max(64, "--region longer than 64 characters").optional(),
  metadataUri: z
    .string()
    .trim()
    .max(2048, "--metadata-uri longer than 2048 characters")
    .refine((s) => s === "" || /^(https?|ipfs|ar):\/\/\S+$/.test(s), "--metadata-uri must be an https://, http://, ipfs:// or ar:// URI")
    .optional(),
});

export function parseProfileFlags(raw: Record<string, string | undefined>): ProfileInput {
  const r = profileFlags.safeParse({
    gpuModel: raw["gpu-model"],
    gpuCount: raw["gpu-count"],
    vramGb: raw["vram-gb"],
    region: raw.region,
    metadataUri: raw["metadata-uri"],
  });
  if (!r.success) throw new InputError(r.error.issues.map((i) => i.message).join("; "));
  return r.data;
}

/** A full profile from flags, falling back to `base` (the on-chain profile) for flags not given. */
export function completeProfile(input: ProfileInput, base?: HardwareProfile): HardwareProfile {
  const gpuModel = input.gpuModel ?? base?.gpuModel;
  const gpuCount = input.gpuCount ?? base?.gpuCount;
  const vramGb = input.vramGb ?? base?.vramGb;
  const missing = [!gpuModel && "--gpu-model", !gpuCount && "--gpu-count", !vramGb && "--vram-gb"].filter(Boolean);
  if (missing.length) throw new InputError(`missing ${missing.join(", ")} (e.g. --gpu-model "NVIDIA H100 80GB" --gpu-count 8 --vram-gb 80)`);
  return {
    gpuModel: gpuModel!,
    gpuCount: gpuCount!,
    vramGb: vramGb!,
    region: input.region ?? base?.region ?? "",
    metadataURI: input.metadataUri ?? base?.metadataURI ?? "",
  };
}

export function readDeployment(path: string | undefined): Deployment {
  if (!path) throw new InputError("no deployment: pass --deployment <file> (devnet.json or a deployment manifest) or set TOLLGATE_DEPLOYMENT");
  try {
    return loadDeployment(path);
  } catch (err) {
    if (err instanceof z.ZodError) {
      throw new InputError(`${path} is not a Tollgate deployment manifest: ${err.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    }
    if (err instanceof SyntaxError) throw new InputError(`${path} is not JSON`);
    throw new InputError((err as Error).message);
  }
}

/**
 * The provider's key: TOLLGATE_PROVIDER_KEY (hex), or an encrypted keystore (the worker's format and
 * code) whose password is in TOLLGATE_KEYSTORE_PASSWORD. Never a command-line argument.
 */
export async function loadProviderKey(env: NodeJS.ProcessEnv, keystorePath: string | undefined): Promise<Hex> {
  const envKey = env.TOLLGATE_PROVIDER_KEY;
  if (keystorePath && envKey) throw new InputError("set either TOLLGATE_PROVIDER_KEY or --keystore, not both");
  if (keystorePath) {
    const { KeyError, loadPrivateKey } = await import("../agent/keys.ts");
    try {
      return await loadPrivateKey({ TOLLGATE_KEYSTORE_PASSWORD: env.TOLLGATE_KEYSTORE_PASSWORD }, keystorePath);
    } catch (err) {
      if (err instanceof KeyError) throw new InputError(err.message);
      throw err;
    }
  }
  if (!envKey) throw new InputError("no provider key: set TOLLGATE_PROVIDER_KEY (hex) or use --keystore <file> with TOLLGATE_KEYSTORE_PASSWORD");
  const parsed = privateKeySchema.safeParse(envKey);
  if (!parsed.success) throw new InputError("TOLLGATE_PROVIDER_KEY must be 32 bytes of hex");
  return parsed.data;
}

export function parseAddressArg(value: string | undefined, what: string): Address {
  if (value === undefined) throw new InputError(`missing ${what}`);
  return check(addressSchema, value, what);
}

export function parseUsdcArg(value: string | undefined): bigint {
  return check(usdcAmountSchema, value, "amount");
}
