/** A minimal HTTP client for tests: posts JSON, collects the body, SSE data payloads and trailers. */
import { request, Agent } from "undici";

export type Reply = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | string[] | undefined>;
  text: string;
  /** `data:` payloads of an SSE body, in order. */
  events: string[];
  json(): any;
};

export const testAgent = new Agent({ connections: 4096, keepAliveTimeout: 1000 });

export function sseData(text: string): string[] {
  const out: string[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).replace(/^ /, ""));
    if (data.length) out.push(data.join("\n"));
  }
  return out;
}

export async function post(url: string, body: unknown, opts: { token?: string; signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<Reply> {
  const res = await request(url, {
    method: "POST",
    dispatcher: testAgent,
    signal: opts.signal,
    headers: {
      "content-type": "application/json",
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    trailers: res.trailers,
    text,
    events: sseData(text),
    json: () => JSON.parse(text),
  };
}

export async function get(url: string, token?: string): Promise<{ status: number; json: any }> {
  const res = await request(url, { dispatcher: testAgent, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : null };
}

export const chatBody = (over: Record<string, unknown> = {}) => ({
  model: "sim-llama-3.1-8b-instruct",
  messages: [
    { role: "system", content: "You are terse." },
    { role: "user", content: "Say something about GPUs." },
  ],
  ...over,
});
