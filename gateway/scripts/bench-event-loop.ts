/**
 * What the gateway's heavy CPU jobs cost the other streams: the longest the event loop stands
 * still (the gap between two 1 ms timer ticks) while it
 *  - counts long prompts: inline on the event loop (the baseline, as before session 7) and with
 *    TokenCounter (on its thread);
 *  - builds a batch's receipts tree: in slices on the event loop (the baseline, session 6) and on
 *    its thread (buildReceiptTree).
 *
 *   npm run bench:event-loop
 *   BENCH_PROMPT_CHARS=100000 BENCH_PROMPTS=20 BENCH_RECEIPTS=1000 npm run bench:event-loop
 *
 * The prompts are text the tokenizer's cache has not seen (as a new customer's document would be):
 * 520,000 characters, about a Business tier's 131,072-token cap of English; counting stops at
 * the cap, as in the gateway.
 */
import { randomBytes } from "node:crypto";
import { getAddress, type Hex } from "viem";
import type { Receipt } from "@tollgate/protocol";
import { countPrompt, TokenCounter, type PromptBody } from "../src/metering/token-counter.ts";
import { buildReceiptTree, buildReceiptTreeInSlices } from "../src/settlement/receipt-tree.ts";
import { freshText } from "../test/helpers/fresh-text.ts";

const CHARS = Number(process.env.BENCH_PROMPT_CHARS ?? 520_000);
const PROMPTS = Number(process.env.BENCH_PROMPTS ?? 6);
/** The default TOLLGATE_BATCH_MAX_RECEIPTS. */
const RECEIPTS = Number(process.env.BENCH_RECEIPTS ?? 5_000);

/** Runs `work` and reports the longest gap between ticks of a 1 ms timer meanwhile, and the wall time. */
async function longestStall(work: () => Promise<unknown>): Promise<{ stallMs: number; wallMs: number }> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  await work();
  const wallMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5)); // the tick that ends the last gap
  clearInterval(timer);
  return { stallMs: worst, wallMs };
}

const bodies = (seed: number): PromptBody[] => Array.from({ length: PROMPTS }, (_, i) => ({ model: "m", messages: [{ role: "user", content: freshText(CHARS, seed + i) }] }));
const size = (b: PromptBody) => Buffer.byteLength(JSON.stringify(b));
/** The Business tier's prompt cap: counting stops there, in the gateway as here. */
const CAP = 131_072;

console.log(`bench:event-loop — long prompts: ${PROMPTS} prompts of ${CHARS.toLocaleString("en")} characters of text new to the tokenizer`);
// Warm both paths (JIT, the thread's start) on prompts the measured ones do not share.
const counter = new TokenCounter();
for (const b of bodies(1_000).slice(0, 2)) {
  countPrompt("chat", b, CAP);
  await counter.prompt("chat", b, CAP, size(b));
}

const inlineBodies = bodies(1);
const inline = await longestStall(async () => {
  for (const b of inlineBodies) {
    countPrompt("chat", b, CAP);
    await new Promise((r) => setTimeout(r, 0)); // between requests the loop turns, timers included
  }
});
const threadBodies = bodies(100);
const counts: number[] = [];
const thread = await longestStall(() => Promise.all(threadBodies.map(async (b) => counts.push((await counter.prompt("chat", b, CAP, size(b)))!))));
await counter.close();

console.log(`inline (baseline): longest event-loop stall ${inline.stallMs.toFixed(1)} ms, ${PROMPTS} prompts in ${inline.wallMs.toFixed(0)} ms`);
console.log(`token thread:      longest event-loop stall ${thread.stallMs.toFixed(1)} ms, ${PROMPTS} prompts in ${thread.wallMs.toFixed(0)} ms (${counts.filter((n) => n === Infinity).length} of them above the cap)`);
console.log(`longest stall, inline ÷ thread: ${(inline.stallMs / thread.stallMs).toFixed(1)}x`);

// A batch's receipts tree: receipts of many customers and providers, as the poster reads them.
const hex = (bytes: number) => `0x${randomBytes(bytes).toString("hex")}` as Hex;
const batch = (): Receipt[] =>
  Array.from({ length: RECEIPTS }, (_, i) => ({
    id: hex(32),
    customer: getAddress(hex(20)),
    provider: getAddress(hex(20)),
    worker: getAddress(hex(20)),
    model: hex(32),
    promptTokens: 40 + (i % 900),
    cachedTokens: 0,
    completionTokens: 64 + (i % 500),
    reasoningTokens: 0,
    promptPrice: 150_000n,
    completionPrice: 600_000n,
    cost: BigInt(i) * 1_000_003n,
    ttftMs: 100 + (i % 50),
    durationMs: 1_300 + (i % 400),
    status: 0,
    servedAt: 1_800_000_000n + BigInt(i),
  }));
console.log(`\nbatch receipts tree: ${RECEIPTS.toLocaleString("en")} receipts`);
await buildReceiptTree(batch().slice(0, 100)); // the thread started and warm, as after the first batch
await buildReceiptTreeInSlices(batch().slice(0, 100));
const [forSlices, forThread] = [batch(), batch()];
const sliced = await longestStall(() => buildReceiptTreeInSlices(forSlices));
const threaded = await longestStall(() => buildReceiptTree(forThread));
console.log(`in slices on the event loop (baseline): longest event-loop stall ${sliced.stallMs.toFixed(1)} ms, built in ${sliced.wallMs.toFixed(0)} ms`);
console.log(`on its thread:                          longest event-loop stall ${threaded.stallMs.toFixed(1)} ms, built in ${threaded.wallMs.toFixed(0)} ms`);
console.log(`longest stall, slices ÷ thread: ${(sliced.stallMs / threaded.stallMs).toFixed(1)}x`);
