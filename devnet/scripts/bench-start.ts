/**
 * npm run bench:devnet — how long `npm start` takes to be ready, fresh, on this machine.
 * Starts the devnet RUNS times (default 3) on free ports in a temporary directory and prints the
 * ready time and each phase. Baseline, measured in the same runs: the gateway process alone, from
 * spawn to its listening line (the slowest single service); the ratio says what the rest adds.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDevnet } from "../src/index.ts";

const runs = Number(process.env.RUNS ?? 3);
const ready: number[] = [];
const gateway: number[] = [];
const phases: Record<string, number[]> = {};
for (let i = 0; i < runs; i++) {
  const dataDir = mkdtempSync(join(tmpdir(), "tollgate-bench-devnet-"));
  const net = await startDevnet({ fresh: true, portBase: 0, dataDir, quiet: true, web: false });
  await net.stop();
  rmSync(dataDir, { recursive: true, force: true });
  ready.push(net.manifest.readyMs / 1000);
  gateway.push(net.phases["gateway"] ?? NaN);
  for (const [k, v] of Object.entries(net.phases)) (phases[k] ??= []).push(v);
  process.stdout.write(`run ${i + 1}/${runs}: ready in ${(net.manifest.readyMs / 1000).toFixed(1)} s\n`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write("\nphase medians (s):\n");
for (const [k, v] of Object.entries(phases)) process.stdout.write(`  ${k.padEnd(34)} ${median(v).toFixed(1)}\n`);
const r = median(ready);
const g = median(gateway);
process.stdout.write(`\nready (median of ${runs}): ${r.toFixed(1)} s   target < 60 s: ${r < 60 ? "met" : "MISSED"}\n`);
process.stdout.write(`baseline, gateway process alone (median): ${g.toFixed(1)} s   ratio ready / gateway: ${(r / g).toFixed(2)}\n`);
