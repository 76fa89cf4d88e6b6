/**
 * Incremental Server-Sent Events parser for upstream streams. Tolerates what real runtimes send:
 * `data:` with or without the space (TGI omits it), CRLF or LF, comments, a missing blank line
 * before end of stream, multi-byte UTF-8 split across network reads, and llama.cpp's non-standard
 * `error: {...}` field, which it uses for errors inside a stream.
 */

export type SseEvent = { event: string; data: string };

export class SseTooLargeError extends Error {}

export class SseParser {
  private readonly decoder = new TextDecoder("utf-8");
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private readonly maxEventBytes: number;

  constructor(maxEventBytes = 1024 * 1024) {
    this.maxEventBytes = maxEventBytes;
  }

  /** Feeds bytes; returns the events completed by them. */
  push(chunk: Uint8Array): SseEvent[] {
    this.buffer += this.decoder.decode(chunk, { stream: true });
    return this.drainLines(false);
  }

  /** Flushes at end of stream; an unterminated last event is still delivered. */
  end(): SseEvent[] {
    this.buffer += this.decoder.decode();
    const events = this.drainLines(true);
    const last = this.dispatch();
    if (last) events.push(last);
    return events;
  }

  private drainLines(final: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = this.findLineEnd(start);
      if (nl < 0) break;
      const line = this.buffer.slice(start, nl);
      // "\r\n" counts as one line end; a lone "\r" at the very end may be the first half of one.
      start = this.buffer[nl] === "\r" && this.buffer[nl + 1] === "\n" ? nl + 2 : nl + 1;
      const ev = this.line(line);
      if (ev) events.push(ev);
    }
    this.buffer = this.buffer.slice(start);
    if (final && this.buffer.length > 0) {
      const ev = this.line(this.buffer.replace(/\r$/, ""));
      this.buffer = "";
      if (ev) events.push(ev);
    }
    if (this.buffer.length > this.maxEventBytes) throw new SseTooLargeError("upstream SSE line too large");
    return events;
  }

  private findLineEnd(from: number): number {
    for (let i = from; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c === 10) return i;
      if (c === 13) return i + 1 < this.buffer.length ? i : -1;
    }
    return -1;
  }

  private line(line: string): SseEvent | null {
    if (line.length === 0) return this.dispatch();
    if (line.startsWith(":")) return null; // comment / keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      this.data.push(value);
      if (this.data.length > 1 && this.data.reduce((n, d) => n + d.length, 0) > this.maxEventBytes) {
        throw new SseTooLargeError("upstream SSE event too large");
      }
    } else if (field === "event") {
      this.event = value;
    } else if (field === "error") {
      // llama.cpp: `error: {json}` — deliver it as an error event carrying the JSON.
      this.event = "error";
      this.data.push(value);
    }
    return null;
  }

  private dispatch(): SseEvent | null {
    if (this.data.length === 0) {
      this.event = "";
      return null;
    }
    const ev = { event: this.event || "message", data: this.data.join("\n") };
    this.data = [];
    this.event = "";
    return ev;
  }
}
