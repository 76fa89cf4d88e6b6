/**
 * Worker endpoints are untrusted. Outside devnet: https only, and every address a name resolves to
 * must be public unicast (ipaddr.js), checked at connect time by the undici dispatcher's `lookup`,
 * so DNS rebinding cannot reach an internal address. Redirects are never followed (undici's
 * request() does not follow them; a 3xx is treated as a failure).
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import ipaddr from "ipaddr.js";
import { Agent } from "undici";

/** True when an address is safe to connect to from the gateway (public unicast only). */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  let addr = ipaddr.parse(ip);
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  return addr.range() === "unicast";
}

/** Checks a URL at registration: scheme and, for literal IPs, the address. Names are checked again at connect time. */
export function endpointAllowed(url: string, devnet: boolean): { ok: true } | { ok: false; reason: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, reason: "not a URL" };
  }
  if (u.username || u.password) return { ok: false, reason: "credentials in URL" };
  if (u.search || u.hash) return { ok: false, reason: "query or fragment in URL" };
  if (devnet) return u.protocol === "http:" || u.protocol === "https:" ? { ok: true } : { ok: false, reason: "http(s) only" };
  if (u.protocol !== "https:") return { ok: false, reason: "https only" };
  const host = u.hostname.replace(/^\[|\]$/g, "");
  if (ipaddr.isValid(host) && !isPublicAddress(host)) return { ok: false, reason: "private, loopback or metadata address" };
  if (/^\d+$/.test(host) || /^0x/i.test(host) || host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal")) {
    return { ok: false, reason: "private, loopback or metadata address" };
  }
  return { ok: true };
}

type LookupCb = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup replacement that refuses any non-public address among the results. */
export function safeLookup(hostname: string, options: object, callback: LookupCb): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => !isPublicAddress(a.address));
    if (bad || list.length === 0) {
      const e = new Error(`refused to connect: ${hostname} resolves to a non-public address`) as NodeJS.ErrnoException;
      e.code = "ESSRF";
      return callback(e, []);
    }
    if ((options as { all?: boolean }).all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
}

export function createWorkerDispatcher(devnet: boolean): Agent {
  return new Agent({
    connections: 512,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: devnet ? { timeout: 5_000 } : { timeout: 5_000, lookup: safeLookup as never },
  });
}
