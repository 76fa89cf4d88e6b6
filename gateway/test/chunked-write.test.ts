/**
 * writeChunk frames a streamed body's chunk itself: the bytes on the wire must be exactly what
 * res.write() would send, for HTTP/1.1 (chunked) and for an HTTP/1.0 client (no chunked encoding,
 * where it must fall back), including before the headers went out.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { writeChunk } from "../src/http/chunked-write.ts";

const PIECES = ["data: one\n\n", "data: twö 🦙\n\n", "data: three\n\n"];

/** The raw bytes a client receives for one request, read until the server closes the connection. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(request));
    const parts: Buffer[] = [];
    socket.on("data", (c: Buffer) => parts.push(c));
    socket.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    socket.on("error", reject);
  });
}

describe("writeChunk", () => {
  let server: Server;
  let port = 0;
  before(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      // The first chunk before the headers were sent: writeChunk must let res.write() send both.
      for (const p of PIECES) writeChunk(res, Buffer.from(p));
      res.end("data: [DONE]\n\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  after(() => server.close());

  it("sends the chunked framing res.write() would, and the body reads back whole", async () => {
    const raw = await rawExchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const body = raw.slice(raw.indexOf("\r\n\r\n") + 4);
    const expected = [...PIECES, "data: [DONE]\n\n"].map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join("") + "0\r\n\r\n";
    assert.match(raw, /transfer-encoding: chunked/i);
    assert.equal(body, expected);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await res.text(), PIECES.join("") + "data: [DONE]\n\n");
  });

  it("falls back to res.write() for an HTTP/1.0 client, which gets the body unframed", async () => {
    const raw = await rawExchange(port, "GET / HTTP/1.0\r\nHost: x\r\n\r\n");
    assert.doesNotMatch(raw, /transfer-encoding/i);
    assert.equal(raw.slice(raw.indexOf("\r\n\r\n") + 4), PIECES.join("") + "data: [DONE]\n\n");
  });
});
