/**
 * Replays recorded runtime responses (test/fixtures/<runtime>/) over real HTTP, in small slices so
 * the worker's parser sees chunk boundaries in odd places. Records the bodies it receives.
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";

export type Scenario = {
  status?: number;
  contentType?: string;
  /** Fixture path relative to test/fixtures, or inline text. */
  file?: string;
  text?: string;
  /** Bytes per write (default 29). */
  slice?: number;
  /** Stop writing after this many bytes and keep the connection open (a hung runtime). */
  stallAfter?: number;
  /** Destroy the socket after this many bytes (a crashed runtime). */
  resetAfter?: number;
};

export type FixtureRuntime = {
  url: string;
  /** Scenario per route key "chat:stream", "chat:json", "completion:stream", "completion:json". */
  set(key: string, scenario: Scenario): void;
  requests: { path: string; body: any }[];
  close(): Promise<void>;
};

const FIXTURES = new URL("../fixtures/", import.meta.url);

export function fixture(path: string): string {
  return readFileSync(new URL(path, FIXTURES), "utf8");
}

async function play(res: ServerResponse, s: Scenario): Promise<void> {
  const bytes = Buffer.from(s.file ? fixture(s.file) : (s.text ?? ""));
  const isSse = s.file ? s.file.endsWith(".sse") : /^(data|error|event):/.test(s.text ?? "");
  res.writeHead(s.status ?? 200, { "content-type": s.contentType ?? (isSse ? "text/event-stream" : "application/json") });
  const slice = s.slice ?? 29;
  const limit = Math.min(bytes.length, s.stallAfter ?? Infinity, s.resetAfter ?? Infinity);
  for (let i = 0; i < limit; i += slice) {
    res.write(bytes.subarray(i, Math.min(i + slice, limit)));
    await new Promise((r) => setImmediate(r));
  }
  if (s.resetAfter !== undefined) {
    setTimeout(() => res.socket?.destroy(), 5);
    return;
  }
  if (s.stallAfter !== undefined) return; // keep the socket open, send nothing more
  res.end();
}

export async function startFixtureRuntime(): Promise<FixtureRuntime> {
  const scenarios = new Map<string, Scenario>();
  const requests: { path: string; body: any }[] = [];
  const server = createServer(async (req, res) => {
    const path = (req.url ?? "").split("?")[0]!;
    if (req.method === "GET" && path === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end('{"object":"list","data":[]}');
    }
    const parts: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) parts.push(c);
    const body = JSON.parse(Buffer.concat(parts).toString() || "{}");
    requests.push({ path, body });
    const endpoint = path === "/v1/chat/completions" ? "chat" : path === "/v1/completions" ? "completion" : null;
    const scenario = endpoint && scenarios.get(`${endpoint}:${body.stream ? "stream" : "json"}`);
    if (!scenario) {
      res.writeHead(404, { "content-type": "application/json" });
      return res.end('{"error":{"message":"no scenario"}}');
    }
    await play(res, scenario);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    set: (key, scenario) => scenarios.set(key, scenario),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
