/**
 * A small JSON-RPC client for the follower: request batching (one HTTP round trip for many calls),
 * retry with exponential backoff and jitter on 429, 5xx and network errors, and eth_getLogs over
 * ranges that split when the provider refuses them (too many results, response too large, range
 * limits), using @ponder/utils' per-provider knowledge of those errors.
 */
import { getLogsRetryHelper } from "@ponder/utils";
import { RpcError, type Address, type Hex } from "viem";
import type { Logger } from "pino";

export type RpcLog = {
  address: Address;
  topics: Hex[];
  data: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  transactionHash: Hex;
  logIndex: Hex;
  blockTimestamp?: Hex;
};
export type RpcBlock = { number: Hex; hash: Hex; parentHash: Hex; timestamp: Hex };

export class JsonRpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

class TransientError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Rpc {
  private id = 0;
  private readonly url: string;
  private readonly log: Logger | undefined;
  private readonly opts: { retries?: number; baseDelayMs?: number; timeoutMs?: number };
  constructor(url: string, log?: Logger, opts: { retries?: number; baseDelayMs?: number; timeoutMs?: number } = {}) {
    this.url = url;
    this.log = log;
    this.opts = opts;
  }

  async call<T>(method: string, params: unknown[]): Promise<T> {
    const [r] = await this.batch<T>([{ method, params }]);
    return r!;
  }

  /** Several calls in one HTTP request; answers in the order asked. Any error rejects the whole batch. */
  async batch<T = unknown>(calls: { method: string; params: unknown[] }[]): Promise<T[]> {
    if (calls.length === 0) return [];
    const retries = this.opts.retries ?? 6;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.send<T>(calls);
      } catch (err) {
        if (!(err instanceof TransientError) || attempt >= retries) throw err instanceof TransientError ? new Error(`RPC unavailable after ${attempt + 1} tries: ${err.message}`) : err;
        const delay = Math.min(30_000, (this.opts.baseDelayMs ?? 250) * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.log?.warn({ attempt: attempt + 1, delayMs: Math.round(delay), reason: err.message }, "rpc retry");
        await sleep(delay);
      }
    }
  }

  private async send<T>(calls: { method: string; params: unknown[] }[]): Promise<T[]> {
    const body = calls.map((c) => ({ jsonrpc: "2.0", id: ++this.id, method: c.method, params: c.params }));
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body.length === 1 ? body[0] : body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new TransientError(`network: ${(err as Error).message}`);
    }
    if (res.status === 429 || res.status >= 500) throw new TransientError(`HTTP ${res.status}`);
    const text = await res.text();
    if (!res.ok) throw new JsonRpcError(res.status, `HTTP ${res.status}: ${text.slice(0, 200)}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new TransientError(`unparsable answer: ${text.slice(0, 100)}`);
    }
    const answers = (Array.isArray(json) ? json : [json]) as { id: number; result?: T; error?: { code: number; message: string; data?: unknown } }[];
    const byId = new Map(answers.map((a) => [a.id, a]));
    return body.map((b) => {
      const a = byId.get(b.id);
      if (!a) throw new TransientError(`no answer for ${b.method}`);
      if (a.error) {
        // -32005 means "limit exceeded": a rate limit (retry later) unless it is about the range
        // or result size, which getLogs answers by splitting instead.
        const rateLimited = a.error.code === 429 ||
          (a.error.code === -32005 && /rate|too many requests/i.test(a.error.message) && !/results|range|block/i.test(a.error.message));
        if (rateLimited) {
          throw new TransientError(`rate limited: ${a.error.message}`);
        }
        throw new JsonRpcError(a.error.code, a.error.message, a.error.data);
      }
      return a.result as T;
    });
  }

  /**
   * All logs of `addresses` in [from, to], splitting the range wherever the provider refuses it.
   * Returns the logs in chain order.
   */
  async getLogs(addresses: Address[], from: number, to: number): Promise<RpcLog[]> {
    const params = { address: addresses, fromBlock: hex(from), toBlock: hex(to) };
    try {
      return await this.call<RpcLog[]>("eth_getLogs", [params]);
    } catch (err) {
      if (!(err instanceof JsonRpcError)) throw err;
      const help = getLogsRetryHelper({ params: [params], error: new RpcError(err, { code: err.code, shortMessage: err.message }) as never });
      let ranges: { fromBlock: Hex; toBlock: Hex }[];
      if (help.shouldRetry) ranges = help.ranges;
      else if (to > from) {
        // Unknown refusal: halve the range, the safe generic answer.
        const mid = Math.floor((from + to) / 2);
        ranges = [{ fromBlock: hex(from), toBlock: hex(mid) }, { fromBlock: hex(mid + 1), toBlock: hex(to) }];
      } else throw err;
      this.log?.debug({ from, to, parts: ranges.length, reason: err.message }, "eth_getLogs range split");
      const out: RpcLog[] = [];
      // The helper may suggest a first sub-range only; cover whatever remains after it too.
      let next = from;
      for (const r of ranges) {
        const a = Math.max(Number(r.fromBlock), next);
        const b = Math.min(Number(r.toBlock), to);
        if (a > b) continue;
        out.push(...(await this.getLogs(addresses, a, b)));
        next = b + 1;
      }
      if (next <= to) out.push(...(await this.getLogs(addresses, next, to)));
      return out;
    }
  }
}

export const hex = (n: number | bigint): Hex => `0x${n.toString(16)}`;
