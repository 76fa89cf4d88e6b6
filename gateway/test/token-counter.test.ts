/**
 * TokenCounter: long prompts and completions are counted on a thread, with the same result as
 * inline, while the event loop keeps running; a thread that dies or a full backlog loses nothing.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { countCompletion, countPrompt, INLINE_MAX_BYTES, MAX_BACKLOG, TokenCounter, type PromptBody } from "../src/metering/token-counter.ts";
import { freshText } from "./helpers/fresh-text.ts";

const chat = (content: string): PromptBody => ({
  model: "m",
  messages: [
    { role: "system", content: "You are terse." },
    { role: "user", content },
  ],
  tools: [{ type: "function", function: { name: "lookup", description: "find a thing", parameters: { type: "object", properties: { q: { type: "string" } } } } }],
});
const bytes = (body: PromptBody) => Buffer.byteLength(JSON.stringify(body));

describe("TokenCounter", () => {
  const counter = new TokenCounter();
  after(() => counter.close());

  it("counts a short prompt inline and a long one on the thread, to the same number", async () => {
    const short = chat("What is the capital of France?");
    assert.equal(typeof counter.prompt("chat", short, 100_000, bytes(short)), "number", "short: counted inline, no promise");
    assert.equal(counter.offloaded, 0);
    for (const chars of [INLINE_MAX_BYTES * 2, 200_000]) {
      const body = chat(freshText(chars, chars));
      const viaThread = counter.prompt("chat", body, 1_000_000, bytes(body));
      assert.ok(viaThread instanceof Promise, `${chars} characters: counted on the thread`);
      assert.equal(await viaThread, countPrompt("chat", body, 1_000_000));
    }
    const completion = { model: "m", prompt: freshText(50_000, 7), suffix: "end" };
    assert.equal(await counter.prompt("completion", completion, 1_000_000, bytes(completion)), countPrompt("completion", completion, 1_000_000));
    assert.equal(counter.offloaded, 3);
  });

  it("says Infinity above the cap on the thread as inline", async () => {
    const body = chat(freshText(100_000, 3));
    assert.equal(await counter.prompt("chat", body, 1_000, bytes(body)), Infinity);
    assert.equal(countPrompt("chat", body, 1_000), Infinity);
  });

  it("counts a long completion on the thread, up to its limit", async () => {
    const text = freshText(60_000, 11);
    const exact = countCompletion(text, Infinity);
    assert.equal(await counter.completion(text, exact + 10), exact);
    assert.equal(await counter.completion(text, 100), 101, "past the limit: limit + 1");
  });

  it("counts a finished stream's completion without waiting behind long prompts", async () => {
    const prompts = [1, 2, 3].map((i) => chat(freshText(300_000, 40 + i)));
    const order: string[] = [];
    const queued = prompts.map((b) => (counter.prompt("chat", b, 10_000_000, bytes(b)) as Promise<number>).then(() => order.push("prompt")));
    const text = freshText(5_000, 50);
    await (counter.completion(text, 100_000) as Promise<number>).then(() => order.push("completion"));
    await Promise.all(queued);
    assert.equal(order[0], "completion", `answered in the order ${order.join(", ")}`);
  });

  it("keeps the event loop running while a long prompt is counted", async () => {
    const body = chat(freshText(400_000, 5));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    const n = (await counter.prompt("chat", body, 10_000_000, bytes(body)))!;
    const ms = performance.now() - t0;
    clearInterval(timer);
    assert.ok(n > 50_000, `a long prompt (${n} tokens)`);
    // Inline, the same count would be one synchronous call: no timer could fire before it returned.
    assert.ok(ticks >= 1, `timers fired ${ticks} times during the ${ms.toFixed(1)} ms count`);
  });

  it("runs its threads below the event loop's priority (Linux)", async (t) => {
    if (process.platform !== "linux") return t.skip("per-thread nice values are a Linux feature");
    const body = chat(freshText(INLINE_MAX_BYTES * 2, 21));
    await counter.prompt("chat", body, 1_000_000, bytes(body)); // the thread is up
    // /proc/<pid>/task/<tid>/stat: field 19 is the nice value (fields counted after the command name).
    const nices = readdirSync("/proc/self/task").map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ")[16]));
    assert.ok(nices.includes(10), `thread nice values: ${nices.join(", ")}`);
    assert.ok(nices.includes(0), "the event loop's thread keeps the process's priority");
  });

  it("counts inline what a dead thread held, and starts a new thread for the next", async () => {
    const body = chat(freshText(300_000, 9));
    const pending = counter.prompt("chat", body, 10_000_000, bytes(body));
    await (counter as unknown as { prompts: { thread: { terminate(): Promise<number> } } }).prompts.thread.terminate();
    assert.equal(await pending, countPrompt("chat", body, 10_000_000));
    const next = chat(freshText(20_000, 10));
    const again = counter.prompt("chat", next, 10_000_000, bytes(next));
    assert.ok(again instanceof Promise, "a new thread takes the next long prompt");
    assert.equal(await again, countPrompt("chat", next, 10_000_000));
  });

  it("refuses an account's long prompt beyond its limit of long prompts being counted, not others'", async () => {
    const long = chat(freshText(INLINE_MAX_BYTES * 4, 17));
    const first = counter.prompt("chat", long, 1_000_000, bytes(long), { id: "0xaa", max: 2 });
    const second = counter.prompt("chat", long, 1_000_000, bytes(long), { id: "0xaa", max: 2 });
    assert.equal(counter.prompt("chat", long, 1_000_000, bytes(long), { id: "0xaa", max: 2 }), null, "a third long prompt of the same account");
    const short = chat("hello");
    assert.equal(typeof counter.prompt("chat", short, 1_000_000, bytes(short), { id: "0xaa", max: 2 }), "number", "its short prompts still pass");
    const other = counter.prompt("chat", long, 1_000_000, bytes(long), { id: "0xbb", max: 2 });
    assert.ok(other instanceof Promise, "another account's long prompt is queued");
    const expected = countPrompt("chat", long, 1_000_000);
    assert.deepEqual(await Promise.all([first, second, other]), [expected, expected, expected]);
    const again = counter.prompt("chat", long, 1_000_000, bytes(long), { id: "0xaa", max: 2 });
    assert.ok(again instanceof Promise, "once counted, the account may send again");
    assert.equal(await again, expected);
  });

  it("counts inline once the thread's backlog is full, instead of queueing without bound", async () => {
    const body = chat(freshText(INLINE_MAX_BYTES * 2, 13));
    const queued = Array.from({ length: MAX_BACKLOG }, () => counter.prompt("chat", body, 1_000_000, bytes(body)));
    assert.ok(queued.every((q) => q instanceof Promise));
    const overflow = counter.prompt("chat", body, 1_000_000, bytes(body));
    assert.equal(typeof overflow, "number", "beyond the backlog: counted inline");
    const expected = countPrompt("chat", body, 1_000_000);
    assert.equal(overflow, expected);
    assert.deepEqual(await Promise.all(queued), queued.map(() => expected));
  });
});
