/** The HTTP client side towards the runtime (undici, one pooled agent per worker). */
import { Agent, request, type Dispatcher } from "undici";

export function createUpstreamDispatcher(maxConcurrency: number): Agent {
  // Timeouts are enforced per request by the forwarders' watchdogs, which know the phase
  // (waiting for the first token vs. idle between tokens); undici's own are off.
  return new Agent({
    connections: maxConcurrency + 4,
    keepAliveTimeout: 10_000,
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: { timeout: 5_000 },
  });
}

export type UpstreamResponse = Dispatcher.ResponseData;

export function postJson(
  dispatcher: Dispatcher,
  url: string,
  body: unknown,
  signal: AbortSignal,
  accept: string,
): Promise<UpstreamResponse> {
  return request(url, {
    method: "POST",
    dispatcher,
    signal,
    headers: { "content-type": "application/json", accept },
    body: JSON.stringify(body),
  });
}

/** Reads a body up to `limit` bytes (the rest is discarded), for error bodies and JSON replies. */
export async function readCapped(body: AsyncIterable<Uint8Array>, limit: number): Promise<{ text: string; truncated: boolean }> {
  const parts: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body) {
    if (size + chunk.length > limit) {
      truncated = true;
      break;
    }
    parts.push(Buffer.from(chunk));
    size += chunk.length;
  }
  return { text: Buffer.concat(parts).toString("utf8"), truncated };
}

/** GET {upstream}/models with a short timeout: is the runtime up? */
export async function probeUpstream(dispatcher: Dispatcher, baseUrl: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await request(`${baseUrl}/models`, { method: "GET", dispatcher, signal: AbortSignal.timeout(timeoutMs) });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}
