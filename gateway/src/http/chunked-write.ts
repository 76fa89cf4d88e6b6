/**
 * One chunk of a streamed (chunked HTTP/1.1) response body, framed here and handed to the socket in
 * one write.
 *
 * `res.write()` frames a chunk as three writes under a cork that is lifted on the next tick: a
 * nextTick, a writev and about a dozen short-lived objects per token, on the thread that relays
 * every token of every stream. The bytes on the wire are the same (`<size hex>\r\n<data>\r\n`).
 *
 * Falls back to `res.write()` whenever this response is not plainly a chunked body that owns its
 * socket right now: headers not yet on the wire, no chunked encoding (an HTTP/1.0 client), a
 * pipelined response waiting its turn, a socket gone. Those checks read Node's own fields; if a
 * Node version renamed them, every chunk would take the fallback, never a wrong path.
 */
import type { ServerResponse } from "node:http";

type NodeInternals = { _headerSent?: boolean; chunkedEncoding?: boolean; outputData?: unknown[] };

export function writeChunk(res: ServerResponse, data: Buffer): void {
  const socket = res.socket;
  const r = res as ServerResponse & NodeInternals;
  if (
    socket === null ||
    socket.destroyed ||
    r._headerSent !== true ||
    r.chunkedEncoding !== true ||
    r.outputData === undefined ||
    r.outputData.length > 0 ||
    (socket as { _httpMessage?: unknown })._httpMessage !== res
  ) {
    res.write(data);
    return;
  }
  if (data.length === 0) return; // a zero-length chunk would end the body
  const size = data.length.toString(16);
  const framed = Buffer.allocUnsafe(size.length + 2 + data.length + 2);
  framed.write(size, 0, "latin1");
  framed[size.length] = 13; // \r
  framed[size.length + 1] = 10; // \n
  data.copy(framed, size.length + 2);
  framed[framed.length - 2] = 13;
  framed[framed.length - 1] = 10;
  socket.write(framed);
}
