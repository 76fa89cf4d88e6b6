/** Small node:http helpers shared by the simulator and the agent. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { openAIError, type ErrorType } from "./errors.ts";

/** A request the caller got wrong: answered with `status` and an OpenAI-style error `code`. */
export class RequestError extends Error {
  status: number;
  code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Reads and JSON-parses a request body, refusing bodies above `limit` bytes. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) throw new RequestError(413, "body_too_large", `request body exceeds ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new RequestError(413, "body_too_large", `request body exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.length === 0) throw new RequestError(400, "invalid_json", "request body is empty");
  try {
    return JSON.parse(text);
  } catch {
    throw new RequestError(400, "invalid_json", "request body is not valid JSON");
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text).toString(),
    ...headers,
  });
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  type: ErrorType,
  code: string | null = null,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, openAIError(message, type, code), headers);
}

/** Formats the first issue of a zod error for a 400 message, without echoing input values. */
export function describeZodIssue(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  const first = issues[0];
  if (!first) return "invalid request";
  const path = first.path.map(String).join(".");
  return path ? `${path}: ${first.message}` : first.message;
}

/** Whether `s` parses as an http: or https: URL (used by the worker's and the provider CLI's config). */
export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}
