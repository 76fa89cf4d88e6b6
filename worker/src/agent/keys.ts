/**
 * The worker's signing key: from TOLLGATE_WORKER_KEY, or from an encrypted Web3 Secret Storage
 * keystore whose password is in TOLLGATE_KEYSTORE_PASSWORD. Never from a command-line argument,
 * which other users of the machine can read in the process list.
 */
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { Wallet } from "ethers";
import { z } from "zod";
import type { Hex } from "viem";
import { privateKeySchema } from "./config.ts";

export class KeyError extends Error {}

const keystoreSchema = z.looseObject({
  address: z.string().optional(),
  version: z.literal(3),
  crypto: z.looseObject({}).optional(),
  Crypto: z.looseObject({}).optional(),
}).refine((k) => k.crypto || k.Crypto, "not a keystore: no crypto section");

export async function loadPrivateKey(env: NodeJS.ProcessEnv, keystorePath?: string): Promise<Hex> {
  const envKey = env.TOLLGATE_WORKER_KEY;
  if (keystorePath && envKey) throw new KeyError("set either TOLLGATE_WORKER_KEY or --keystore, not both");
  if (keystorePath) {
    const password = env.TOLLGATE_KEYSTORE_PASSWORD;
    if (!password) throw new KeyError("--keystore needs the password in TOLLGATE_KEYSTORE_PASSWORD");
    let text: string;
    try {
      text = await readFile(keystorePath, "utf8");
    } catch {
      throw new KeyError(`cannot read keystore ${keystorePath}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new KeyError(`${keystorePath} is not JSON`);
    }
    const parsed = keystoreSchema.safeParse(json);
    if (!parsed.success) throw new KeyError(`${keystorePath} is not a Web3 Secret Storage (v3) keystore`);
    try {
      const wallet = await Wallet.fromEncryptedJson(text, password);
      return wallet.privateKey as Hex;
    } catch {
      throw new KeyError(`cannot decrypt ${keystorePath}: wrong password or damaged file`);
    }
  }
  if (!envKey) throw new KeyError("no worker key: set TOLLGATE_WORKER_KEY or use --keystore (create one with `tollgate-worker keygen`)");
  const parsed = privateKeySchema.safeParse(envKey);
  if (!parsed.success) throw new KeyError("TOLLGATE_WORKER_KEY must be 32 bytes of hex");
  return parsed.data;
}

/** Creates a new random key in an encrypted keystore file (mode 0600, never overwrites). */
export async function createKeystore(path: string, password: string): Promise<{ address: string }> {
  if (password.length < 8) throw new KeyError("TOLLGATE_KEYSTORE_PASSWORD must be at least 8 characters");
  if (await exists(path)) throw new KeyError(`${path} already exists; not overwriting it`);
  const wallet = Wallet.createRandom();
  const json = await wallet.encrypt(password);
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(path, json, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as { code?: string }).code === "EEXIST") throw new KeyError(`${path} already exists; not overwriting it`);
    throw err;
  }
  return { address: wallet.address };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
