/**
 * Walks the chain's logs from a block up to the current head in bounded ranges (getLogs polling,
 * never per request), handing each range's decoded logs to the caller in block order. Used by the
 * escrow follower and by the provider-event follower, so both page the chain the same way.
 */
import type { Abi, AbiEvent, Address, Log, PublicClient } from "viem";

/** Blocks per getLogs call: hosted RPCs refuse wide ranges; 2,000 is the bound both followers used before sharing this walker. */
export const MAX_RANGE = 2_000n;

export type DecodedLog = Log & { eventName: string; args: Record<string, unknown> };

/** The events of `abi` called one of `names`: what a follower passes as `events`. */
export function eventsNamed(abi: Abi, names: readonly string[]): AbiEvent[] {
  return abi.filter((i): i is AbiEvent => i.type === "event" && names.includes(i.name));
}

export type RangeWalk = {
  client: PublicClient;
  address: Address | Address[];
  events: readonly AbiEvent[];
  /** First block to read. */
  from: bigint;
  /** Checked before each range: a stopping follower does not start another getLogs. */
  stopped?: () => boolean;
  /** Applies one range; the walk moves on only once it resolves (a throw ends the walk, nothing skipped). */
  onRange: (range: { from: bigint; to: bigint; logs: DecodedLog[] }) => Promise<void>;
};

/**
 * Reads the head (uncached: viem caches it for a polling interval) and applies every range from
 * `from` up to it. Returns the head read and the last block applied (`from - 1` when none was).
 */
export async function walkLogRanges(w: RangeWalk): Promise<{ latest: bigint; applied: bigint }> {
  const latest = await w.client.getBlockNumber({ cacheTime: 0 });
  let applied = w.from - 1n;
  for (const [from, to] of blockRanges(w.from, latest)) {
    if (w.stopped?.()) break;
    const logs = (await w.client.getLogs({ address: w.address, events: w.events as AbiEvent[], fromBlock: from, toBlock: to, strict: true })) as unknown as DecodedLog[];
    await w.onRange({ from, to, logs });
    applied = to;
  }
  return { latest, applied };
}

/** [from, to] inclusive ranges of at most `max` blocks covering `from..latest` (none if from > latest). */
export function* blockRanges(from: bigint, latest: bigint, max = MAX_RANGE): Generator<[bigint, bigint]> {
  for (let f = from; f <= latest; f += max) yield [f, f + max - 1n < latest ? f + max - 1n : latest];
}
