/**
 * Port choice for the devnet's services: the wanted port when it is free, otherwise one the OS
 * picks (and the caller says so). Port 0 always means "any free port".
 */
import { createServer, type AddressInfo } from "node:net";

/** True if nothing listens on 127.0.0.1:port right now. */
function tryListen(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(null));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      const got = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(got));
    });
  });
}

export type PortChoice = { port: number; wanted: number; moved: boolean };

/**
 * Picks a port for one service. `taken` holds ports already handed to other services of this
 * devnet (they are not listening yet, so the OS cannot tell us).
 */
export async function choosePort(wanted: number, taken: Set<number>): Promise<PortChoice> {
  if (wanted > 0 && !taken.has(wanted)) {
    const got = await tryListen(wanted);
    if (got !== null) {
      taken.add(got);
      return { port: got, wanted, moved: false };
    }
  }
  for (;;) {
    const got = await tryListen(0);
    if (got !== null && !taken.has(got)) {
      taken.add(got);
      return { port: got, wanted, moved: wanted > 0 };
    }
  }
}
