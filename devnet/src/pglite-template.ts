/**
 * The gateway's embedded database starts from a copy of an empty, migrated PGlite directory.
 * Creating one (WASM start, initdb, schema) takes 10–25 s on two busy cores; copying one takes
 * under 3. The template is built once per gateway schema version and kept under .data/cache.
 * (The gateway's own tests use the same trick: gateway/test/helpers/stack.ts.)
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
// The gateway's storage module: the template must be exactly what the gateway would create.
import { openPglite } from "../../gateway/src/store/db.ts";
import { SCHEMA } from "../../gateway/src/store/schema.ts";
import { REPO_ROOT } from "./options.ts";

const CACHE = join(REPO_ROOT, ".data", "cache");

export function templatePath(): string {
  const version = createHash("sha256").update(SCHEMA.join(";")).digest("hex").slice(0, 12);
  return join(CACHE, `gateway-pglite-${version}`);
}

/** Builds the template if missing (safe against a concurrent builder). Returns its path. */
export async function ensureTemplate(): Promise<string> {
  const template = templatePath();
  if (existsSync(template)) return template;
  mkdirSync(CACHE, { recursive: true });
  const building = mkdtempSync(join(CACHE, "building-"));
  const db = await openPglite(building);
  await db.close();
  try {
    renameSync(building, template);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another devnet finished first
  }
  return template;
}

/** Gives `dir` a fresh migrated database unless it already has one (a kept devnet). */
export async function seedGatewayDb(dir: string): Promise<"seeded" | "kept"> {
  if (existsSync(join(dir, "PG_VERSION"))) return "kept";
  const template = await ensureTemplate();
  rmSync(dir, { recursive: true, force: true });
  cpSync(template, dir, { recursive: true });
  return "seeded";
}
