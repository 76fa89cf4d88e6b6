/**
 * The gateway's reading of a worker's SSE stream: what goes on to the client, the worker's usage
 * chunk, `[DONE]`, error events, and the text for the token cross-check.
 *
 * Hot path: most upstream chunks are whole `data: {…}` events carrying one token. Such a chunk is
 * forwarded as the very bytes received, neither decoded nor re-encoded; only its content's bytes
 * are kept, decoded after the stream for the cross-check. Everything else (the usage chunk,
 * errors, `[DONE]`, events split across chunks, multi-line events, comments) goes through the text
 * path.
 */
import { StringDecoder } from "node:string_decoder";

export type Usage = { prompt: number; completion: number; cached: number; reasoning: number; source: string | null };

/** A worker's `usage` object read defensively: null unless both counts are non-negative integers. */
export function readUsage(u: unknown): Usage | null {
  if (!u || typeof u !== "object") return null;
  const o = u as Record<string, unknown>;
  const p = Number(o.prompt_tokens);
  const c = Number(o.completion_tokens);
  if (!Number.isInteger(p) || !Number.isInteger(c) || p < 0 || c < 0) return null;
  const cached = Number((o.prompt_tokens_details as { cached_tokens?: unknown } | undefined)?.cached_tokens ?? 0) || 0;
  const reasoning = Number((o.completion_tokens_details as { reasoning_tokens?: unknown } | undefined)?.reasoning_tokens ?? 0) || 0;
  return { prompt: p, completion: c, cached, reasoning, source: null };
}

/**
 * The text of one streamed chunk. The common chunk (`"content":"…"` once, no other text field) is
 * read without parsing the whole JSON: a bare `"content":"` cannot occur inside a JSON string, where
 * quotes are escaped. Anything else is parsed.
 */
export function contentOf(data: string): string {
  const i = data.indexOf('"content":"');
  if (i >= 0 && data.indexOf('"content":"', i + 11) < 0 && !data.includes('"reasoning_content":"') && !data.includes('"text":"')) {
    let j = i + 11;
    let escaped = false;
    for (; j < data.length; j++) {
      const ch = data.charCodeAt(j);
      if (ch === 92 /* \\ */) {
        escaped = true;
        j++;
      } else if (ch === 34 /* " */) break;
    }
    if (j < data.length) {
      if (!escaped) return data.slice(i + 11, j);
      try {
        return JSON.parse(data.slice(i + 10, j + 1)) as string;
      } catch {
        // fall through to the full parse
      }
    }
  }
  try {
    return chunkText(JSON.parse(data));
  } catch {
    return ""; // not JSON: counts as nothing
  }
}

/** Generated text of a parsed chunk or completion: content, reasoning and legacy `text` of every choice. */
export function chunkText(obj: unknown): string {
  const choices = (obj as { choices?: unknown })?.choices;
  if (!Array.isArray(choices)) return "";
  let s = "";
  for (const ch of choices) {
    const d = (ch as { delta?: { content?: unknown; reasoning_content?: unknown }; text?: unknown; message?: { content?: unknown } }) ?? {};
    if (typeof d.text === "string") s += d.text;
    if (typeof d.delta?.content === "string") s += d.delta.content;
    if (typeof d.delta?.reasoning_content === "string") s += d.delta.reasoning_content;
    if (typeof d.message?.content === "string") s += d.message.content;
  }
  return s;
}

const NL = 10;
const QUOTE = 34;
const BACKSLASH = 92;
const CONTENT_FIELD = Buffer.from('"content":"');
const REASONING_FIELD = Buffer.from('"reasoning_content":"');
const TEXT_FIELD = Buffer.from('"text":"');
const DATA_OBJECT = Buffer.from("data: {");
const ERROR_OBJECT = Buffer.from('data: {"error"');
const USAGE_KEY = Buffer.from('"usage":');

/** Whether `chunk` holds `bytes` at `at` (a loop: Buffer.compare with ranges allocates a view per call). */
function bytesAt(chunk: Buffer, at: number, bytes: Buffer): boolean {
  if (at + bytes.length > chunk.length) return false;
  for (let i = 0; i < bytes.length; i++) if (chunk[at + i] !== bytes[i]) return false;
  return true;
}

/**
 * One pass over a chunk, in JavaScript: on ~300-byte token chunks a loop is cheaper than the half
 * dozen native `indexOf` calls it replaces. Whether the chunk is nothing but whole
 * `data: {…}` events, one line each, none an error object and none carrying `"usage":` (exactly
 * the events the text path would forward unchanged): -1 if not, else the count of numbers written
 * to `spans`, two per event:
 * `[from, to)` of its content's bytes when they can be kept as they are (one bare
 * `"content":"…"`, no escapes or control characters, no reasoning or legacy text field), else
 * `-1 - lineStart, lineEnd` for an event to decode and read with contentOf.
 *
 * Keys are matched at every `"` byte: inside a JSON string a quote is escaped, so `"content":"`
 * or `"usage":` there would read `\"content\":\"`, which does not match.
 */
export function scanPlainEvents(chunk: Buffer, spans: number[]): number {
  // Written over from the start, never truncated: setting length to 0 would drop the array's
  // storage and every chunk would allocate it again.
  let count = 0;
  const n = chunk.length;
  if (n < DATA_OBJECT.length + 2 || chunk[n - 1] !== NL || chunk[n - 2] !== NL) return -1;
  for (let at = 0; at < n; ) {
    if (!bytesAt(chunk, at, DATA_OBJECT) || bytesAt(chunk, at, ERROR_OBJECT)) return -1;
    let contents = 0;
    let from = -1;
    let to = -1;
    let other = false; // a reasoning or legacy text field: the event goes to contentOf
    let j = at + DATA_OBJECT.length;
    for (; j < n && chunk[j] !== NL; j++) {
      if (chunk[j] !== QUOTE) continue;
      if (bytesAt(chunk, j, CONTENT_FIELD)) {
        contents++;
        let k = j + CONTENT_FIELD.length;
        while (k < n && chunk[k] !== QUOTE && chunk[k] !== BACKSLASH && chunk[k]! >= 0x20) k++;
        if (chunk[k] === QUOTE) {
          from = j + CONTENT_FIELD.length;
          to = k;
          j = k; // past the value: its closing quote is not a key
        } else from = -1; // escapes or a control character: read by contentOf
      } else if (bytesAt(chunk, j, USAGE_KEY)) return -1;
      else if (bytesAt(chunk, j, REASONING_FIELD) || bytesAt(chunk, j, TEXT_FIELD)) other = true;
    }
    if (j + 1 >= n || chunk[j + 1] !== NL) return -1; // a second line inside one event
    const fast = contents === 1 && from >= 0 && !other;
    spans[count++] = fast ? from : -1 - at;
    spans[count++] = fast ? to : j;
    at = j + 2;
  }
  return count;
}

export class SseRelay {
  /** The worker sent `data: [DONE]`. */
  done = false;
  /** The worker sent an error event (or an unparseable error object). */
  upstreamError = false;
  /** The worker's usage chunk, read; null until it comes. */
  usage: Usage | null = null;
  /** The usage chunk as the client gets it (when it asked for usage), without the worker's own fields. */
  usageLine: string | null = null;
  /** Bytes received from the worker so far. */
  bytes = 0;

  /**
   * The generated text of every forwarded event, as the bytes of a JSON string body (escaped, no
   * quotes), copied into one small growing buffer: about a hundredth of the events' bytes. Keeping
   * the events themselves (a dozen KB a stream) or the chunks (dozens of small Buffers) for the
   * stream's whole life got them promoted out of the young generation, which the heap then paid
   * for in major collections of tens of milliseconds.
   */
  private textBytes = Buffer.allocUnsafe(512);
  private textLength = 0;
  private readonly decoder = new StringDecoder("utf8"); // a character split across two chunks stays whole
  private buffer = "";
  /** Reused by every chunk (see scanPlainEvents). */
  private readonly spans: number[] = [];
  /** The last chunk ended an event exactly, so the text path holds nothing back. */
  private atBoundary = true;

  /** What to send to the client for one upstream chunk ("" when nothing). */
  push(chunk: Buffer): Buffer | string {
    this.bytes += chunk.length;
    const boundary = chunk.length >= 2 && chunk[chunk.length - 1] === NL && chunk[chunk.length - 2] === NL;
    const spans = this.atBoundary ? scanPlainEvents(chunk, this.spans) : -1;
    if (spans >= 0) {
      this.keepSpans(chunk, this.spans, spans);
      return chunk;
    }
    this.atBoundary = boundary;
    this.buffer += this.decoder.write(chunk);
    let from = 0;
    let out = "";
    let idx: number;
    while ((idx = this.buffer.indexOf("\n\n", from)) >= 0) {
      out += this.onEvent(this.buffer.slice(from, idx));
      from = idx + 2;
    }
    if (from > 0) this.buffer = this.buffer.slice(from);
    return out;
  }

  /** At the end of the upstream body: a last event that came without its blank line. */
  end(): string {
    this.buffer += this.decoder.end();
    const rest = this.buffer.trim();
    this.buffer = "";
    return rest.length > 0 ? this.onEvent(rest) : "";
  }

  /** The generated text of every forwarded event. */
  text(): string {
    if (this.textLength === 0) return "";
    try {
      return JSON.parse(`"${this.textBytes.toString("utf8", 0, this.textLength)}"`) as string;
    } catch {
      return ""; // unreachable: only unescaped plain bytes and JSON.stringify output are kept
    }
  }

  /** Keeps the text of a chunk scanPlainEvents accepted, from its spans. */
  private keepSpans(chunk: Buffer, spans: number[], count: number): void {
    for (let i = 0; i < count; i += 2) {
      const a = spans[i]!;
      const b = spans[i + 1]!;
      if (a >= 0) this.keepBytes(chunk, a, b);
      else this.keepText(contentOf(chunk.toString("utf8", -1 - a + 6, b))); // after "data: "
    }
  }

  private keepText(text: string): void {
    if (text.length === 0) return;
    const escaped = JSON.stringify(text);
    const n = Buffer.byteLength(escaped) - 2;
    this.ensure(n);
    this.textBytes.write(escaped.slice(1, -1), this.textLength);
    this.textLength += n;
  }

  private keepBytes(chunk: Buffer, from: number, to: number): void {
    this.ensure(to - from);
    chunk.copy(this.textBytes, this.textLength, from, to);
    this.textLength += to - from;
  }

  private ensure(more: number): void {
    const need = this.textLength + more;
    if (need <= this.textBytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, this.textBytes.length * 2));
    this.textBytes.copy(grown, 0, 0, this.textLength);
    this.textBytes = grown;
  }

  private onEvent(event: string): string {
    // The usual event is one `data: {...}` line: forwarded as is.
    if (event.startsWith("data: ") && event.indexOf("\n") < 0) {
      const data = event.slice(6);
      if (data.charCodeAt(0) === 123 /* { */ && !data.startsWith('{"error"') && !data.includes('"usage":')) {
        this.keepText(contentOf(data));
        return event + "\n\n";
      }
      return this.onData(data);
    }
    let out = "";
    for (const line of event.split("\n")) if (line.startsWith("data:")) out += this.onData(line.slice(line[5] === " " ? 6 : 5));
    return out;
  }

  private onData(data: string): string {
    if (data === "[DONE]") {
      this.done = true;
      return "";
    }
    if (data.startsWith('{"error"') || data.includes('"usage":')) {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(data);
      } catch {
        return ""; // malformed chunk: dropped; the stream ends as partial if [DONE] never comes
      }
      if (obj.error !== undefined) {
        this.upstreamError = true;
        return "";
      }
      if (Array.isArray(obj.choices) && obj.choices.length === 0 && obj.usage) {
        this.usage = readUsage(obj.usage);
        if (this.usage) this.usage.source = typeof obj.tollgate_usage_source === "string" ? obj.tollgate_usage_source : "runtime";
        delete obj.tollgate_usage_source;
        this.usageLine = `data: ${JSON.stringify(obj)}\n\n`;
        return "";
      }
    }
    this.keepText(contentOf(data));
    return `data: ${data}\n\n`;
  }
}
