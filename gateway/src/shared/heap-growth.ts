/**
 * How far V8 lets the old generation grow past what the last full collection left alive before it
 * starts the next one. The gateway keeps every stream's state for the stream's life (about 1.4 s at
 * 64 tokens), long enough for much of it to be promoted, so under load the old generation fills
 * with dead streams. V8 picks the growth itself (1.1 to 4 times the live heap, by how busy the
 * collector has been); under the benchmark's 100 streams it chose little, and a full collection
 * came every ~6 s, each pausing the event loop for 15–17 ms (evacuating the young generation and
 * updating pointers into it; marking itself runs concurrently). Every first token that crossed the
 * gateway during a pause was late by it.
 *
 * With 300 % (a factor of 4, the top of V8's own range) there was none in about two minutes of the
 * same load, for a heap of 107–136 MB instead of 76–81 MB. The figures are in docs/benchmarks.md
 * ("Session 8").
 */
import { setFlagsFromString } from "node:v8";

export const HEAP_GROWING_PERCENT = 300;

/**
 * Applies the growth to this process (0 leaves V8's own heuristics). V8 reads the flag whenever it
 * sets the next limit, so setting it after start-up takes effect from the next collection on. The
 * process's entry point calls it, not the gateway library: the setting is the whole process's.
 */
export function setHeapGrowingPercent(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
