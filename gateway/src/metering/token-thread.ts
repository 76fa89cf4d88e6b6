/**
 * The body of the token counting thread (see `TokenCounter` in token-counter.ts): counts long
 * prompts and completions off the event loop that relays the streams, one job at a time.
 */
import { serveJobs } from "../shared/job-thread.ts";
import { runCountJob } from "./token-counter.ts";

serveJobs(runCountJob);
