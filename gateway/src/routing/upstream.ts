/**
 * One POST to a worker, through undici's `dispatch()` handler API. `request()` wraps every response
 * body in a Readable stream: a push, an event and a nextTick for each chunk, on the thread that
 * relays every token of every stream. Here a chunk is one callback, and nothing is queued.
 */
import type { Dispatcher } from "undici";

export type UpstreamOptions = {
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  /** Milliseconds until the response headers (0: none). */
  headersTimeout: number;
  /** Milliseconds allowed between two body chunks (0: none). */
  bodyTimeout: number;
};

export type UpstreamResponse = {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /**
   * Deliver the body: `onChunk` for every chunk (those already received first), then `onEnd` once,
   * with an error if the body did not complete (upstream failure, timeout or abort).
   */
  stream(onChunk: (chunk: Buffer) => void, onEnd: (err?: Error) => void): void;
  /** The whole body as text; rejects past `maxBytes` (the connection is cut) or on failure. */
  text(maxBytes: number): Promise<string>;
};

export class UpstreamTooLarge extends Error {}

export function postUpstream(dispatcher: Dispatcher, url: string, opts: UpstreamOptions): Promise<UpstreamResponse> {
  const { origin, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    let abort: ((err?: Error) => void) | null = null; // set once undici starts the request
    let headersSeen = false;
    // Until a consumer attaches, chunks (the first token often comes with the headers) wait here.
    let early: Buffer[] | null = [];
    let onChunk: ((chunk: Buffer) => void) | null = null;
    let onEnd: ((err?: Error) => void) | null = null;
    let ended: { err?: Error } | null = null;
    const finish = (err?: Error) => {
      opts.signal.removeEventListener("abort", onAbort);
      if (!headersSeen) return reject(err ?? new Error("upstream closed before its headers"));
      if (ended) return;
      ended = err ? { err } : {};
      onEnd?.(err);
    };
    const onAbort = () => abort?.(new Error("aborted"));
    if (opts.signal.aborted) return reject(new Error("aborted"));
    opts.signal.addEventListener("abort", onAbort, { once: true });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        abort = (err) => controller.abort(err ?? new Error("aborted"));
        if (opts.signal.aborted) onAbort();
      },
      onResponseStart(_controller, statusCode, headers) {
        if (statusCode < 200) return; // 1xx: the real answer follows
        headersSeen = true;
        const response: UpstreamResponse = {
          statusCode,
          headers: headers as UpstreamResponse["headers"],
          stream(chunkCb, endCb) {
            onChunk = chunkCb;
            onEnd = endCb;
            const waiting = early ?? [];
            early = null;
            for (const c of waiting) chunkCb(c);
            if (ended) endCb(ended.err);
          },
          text(maxBytes) {
            return new Promise<string>((res, rej) => {
              const parts: Buffer[] = [];
              let size = 0;
              response.stream(
                (c) => {
                  size += c.length;
                  if (size > maxBytes) return abort?.(new UpstreamTooLarge(`upstream body above ${maxBytes} bytes`));
                  parts.push(c);
                },
                (err) => (err ? rej(err) : res(Buffer.concat(parts).toString("utf8"))),
              );
            });
          },
        };
        resolve(response);
      },
      onResponseData(_controller, chunk) {
        if (onChunk) onChunk(chunk);
        else early?.push(chunk);
      },
      onResponseEnd() {
        finish();
      },
      onResponseError(_controller, err) {
        finish(err);
      },
    };
    dispatcher.dispatch(
      { origin, path: pathname + search, method: "POST", headers: opts.headers, body: opts.body, headersTimeout: opts.headersTimeout, bodyTimeout: opts.bodyTimeout },
      handler,
    );
  });
}
