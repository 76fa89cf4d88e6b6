/**
 * GPU load for heartbeats, from `nvidia-smi` when the machine has it (never required: CPU-only
 * runtimes such as llama.cpp on a laptop simply report no GPUs).
 */
import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";

export type GpuStat = {
  name: string;
  memoryUsedMiB: number | null;
  memoryTotalMiB: number | null;
  utilizationPct: number | null;
};

export const NVIDIA_SMI_ARGS = ["--query-gpu=name,memory.used,memory.total,utilization.gpu", "--format=csv,noheader,nounits"];

/**
 * Parses `nvidia-smi --query-gpu=name,memory.used,memory.total,utilization.gpu --format=csv,noheader,nounits`.
 * The three numbers are taken from the right so a GPU name containing a comma still parses; values
 * the driver does not report ("[N/A]", "[Not Supported]") become null.
 */
export function parseNvidiaSmi(output: string): GpuStat[] {
  const gpus: GpuStat[] = [];
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const fields = line.split(",").map((f) => f.trim());
    if (fields.length < 4) continue;
    const util = fields.pop()!;
    const total = fields.pop()!;
    const used = fields.pop()!;
    const name = fields.join(", ");
    if (!name) continue;
    gpus.push({ name, memoryUsedMiB: num(used), memoryTotalMiB: num(total), utilizationPct: num(util) });
  }
  return gpus;
}

function num(s: string): number | null {
  if (!/^\d+(\.\d+)?$/.test(s)) return null;
  return Number(s);
}

/** The nvidia-smi executable on PATH, or null. */
export async function findNvidiaSmi(pathEnv: string | undefined = process.env.PATH): Promise<string | null> {
  for (const dir of (pathEnv ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, "nvidia-smi");
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** Runs nvidia-smi (5 s limit); null when it fails, so a broken driver never stops heartbeats. */
export function queryGpus(bin: string): Promise<GpuStat[] | null> {
  return new Promise((resolve) => {
    execFile(bin, NVIDIA_SMI_ARGS, { timeout: 5_000, maxBuffer: 64 * 1024 }, (err, stdout) => {
      resolve(err ? null : parseNvidiaSmi(stdout));
    });
  });
}
