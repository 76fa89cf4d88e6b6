/**
 * The body of the token counting thread (see `TokenCounter` in token-counter.ts): counts long
 * prompts and completions off the event loop that relays the streams, one job at a time.
 *
 * Protocol: `{ id, op, … }` (a CountJob) in, `{ id, n }` or `{ id, error }` out.
 */
import { parentPort } from "node:worker_threads";
import { runCountJob, type CountReply, type CountRequest } from "./token-counter.ts";

const port = parentPort!;
port.on("message", (m: CountRequest) => {
  let reply: CountReply;
  try {
    reply = { id: m.id, n: runCountJob(m) };
  } catch (err) {
    reply = { id: m.id, error: String((err as Error)?.message ?? err) };
  }
  port.postMessage(reply);
});
