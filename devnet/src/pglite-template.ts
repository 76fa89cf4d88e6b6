/**
 * The gateway's and the indexer's embedded databases start from a copy of an empty, migrated PGlite
 * directory. Creating one (WASM start, initdb, schema) takes 10–25 s on two busy cores; copying one
 * takes under 3. A template is built once per service and schema version and kept under
 * .data/cache. (The gateway's own tests use the same trick: gateway/test/helpers/stack.ts.)
 *
 * Each service's own storage module builds its template, so it is exactly what the service would
 * create; the modules are loaded only when that workspace is in the checkout.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "./options.ts";

const CACHE = join(REPO_ROOT, ".data", "cache");

/** Where each service keeps `openPglite(dir)` (opens and migrates) and `SCHEMA` (its DDL). */
const STORES = {
  gateway: { db: "gateway/src/store/db.ts", schema: "gateway/src/store/schema.ts" },
  indexer: { db: "indexer/src/db/db.ts", schema: "indexer/src/db/schema.ts" },
} as const;
export type Service = keyof typeof STORES;

type StoreModule = { openPglite(dir: string): Promise<{ close(): Promise<void> }> };
type SchemaModule = { SCHEMA: readonly string[] };

async function load(service: Service): Promise<{ store: StoreModule; schema: readonly string[] }> {
  const s = STORES[service];
  const store = (await import(pathToFileURL(join(REPO_ROOT, s.db)).href)) as StoreModule;
  const { SCHEMA } = (await import(pathToFileURL(join(REPO_ROOT, s.schema)).href)) as SchemaModule;
  return { store, schema: SCHEMA };
}

/** Builds the service's template if missing (safe against a concurrent builder). Returns its path. */
export async function ensureTemplate(service: Service): Promise<string> {
  const { store, schema } = await load(service);
  const version = createHash("sha256").update(schema.join(";")).digest("hex").slice(0, 12);
  const template = join(CACHE, `${service}-pglite-${version}`);
  if (existsSync(template)) return template;
  mkdirSync(CACHE, { recursive: true });
  const building = mkdtempSync(join(CACHE, `building-${service}-`));
  const db = await store.openPglite(building);
  await db.close();
  try {
    renameSync(building, template);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another devnet finished first
  }
  return template;
}

/** Gives `dir` a fresh migrated database unless it already has one (a kept devnet). */
export async function seedPglite(service: Service, dir: string): Promise<"seeded" | "kept"> {
  if (existsSync(join(dir, "PG_VERSION"))) return "kept";
  const template = await ensureTemplate(service);
  rmSync(dir, { recursive: true, force: true });
  cpSync(template, dir, { recursive: true });
  return "seeded";
}
