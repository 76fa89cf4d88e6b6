/**
 * The models a worker serves, from `--models name[:modelHash[/quant]][=upstreamName],...`.
 * `name` is the public model name customers ask for; the part before `=` is what the worker signs
 * in its registration; `upstreamName` is what the runtime calls it (e.g. Ollama's "llama3.1:8b").
 */
import { z } from "zod";

export const modelSpecSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._\/-]{0,127}$/, "model name: letters, digits, . _ / - (max 128)"),
  modelHash: z.string().regex(/^(0x)?[0-9a-fA-F]{8,128}$/, "model hash: hex").optional(),
  quant: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, "quant: letters, digits, . _ -").optional(),
  upstreamName: z.string().min(1).max(256),
});
export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** The string signed in WorkerRegistration.models for this model. */
export function signedModel(m: ModelSpec): string {
  if (!m.modelHash) return m.name;
  return m.quant ? `${m.name}:${m.modelHash}/${m.quant}` : `${m.name}:${m.modelHash}`;
}

export function parseModelSpecs(list: string): ModelSpec[] {
  const specs = list
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((item) => {
      const eq = item.indexOf("=");
      const left = eq < 0 ? item : item.slice(0, eq);
      const colon = left.indexOf(":");
      const name = colon < 0 ? left : left.slice(0, colon);
      const rest = colon < 0 ? "" : left.slice(colon + 1);
      const slash = rest.indexOf("/");
      const modelHash = rest ? (slash < 0 ? rest : rest.slice(0, slash)) : undefined;
      const quant = slash < 0 ? undefined : rest.slice(slash + 1);
      const upstreamName = eq < 0 ? name : item.slice(eq + 1);
      return modelSpecSchema.parse({ name, modelHash, quant, upstreamName });
    });
  if (specs.length === 0) throw new Error("--models: at least one model is required");
  const names = new Set(specs.map((s) => s.name));
  if (names.size !== specs.length) throw new Error("--models: a model name is listed twice");
  return specs;
}
