/**
 * SLA windows and one-minute intervals: a provider's minute must be judged in exactly one SLA
 * report, or a bad minute at a window boundary would pay customers twice from its stake.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { slaWindowEnd } from "../src/settlement/sla-reporter.ts";

/** Minutes (unix minute numbers) the reporter reads for a window, as `SliTracker.window` selects them. */
const minutesOf = (fromSec: number, toSec: number) => ({ first: Math.floor(fromSec / 60), last: Math.floor(toSec / 60) });

test("windows of a minute or more close on whole minutes: every minute lands in exactly one report", () => {
  for (const windowSec of [60, 300, 3_600]) {
    let start = 1_767_225_613; // a first start in the middle of a minute
    let previousLast: number | null = null;
    for (let i = 0; i < 200; i++) {
      // the interval timer fires late by up to 3 s, as it does on a busy machine
      const now = start + windowSec + ((i * 7919) % 3);
      const end = slaWindowEnd(now, windowSec);
      assert.ok(end >= start, `window ${i} of ${windowSec} s must not close before it starts`);
      assert.equal((end + 1) % 60, 0, "ends on the last second of a minute");
      const { first, last } = minutesOf(start, end);
      if (previousLast !== null) assert.equal(first, previousLast + 1, `window ${i} of ${windowSec} s starts on the minute after the previous one ended`);
      previousLast = last;
      start = end + 1;
    }
  }
});

test("the minute still filling is left for the next window", () => {
  const now = 1_767_225_600 + 59; // 59 s into a minute
  assert.equal(slaWindowEnd(now, 3_600), 1_767_225_599);
  assert.equal(slaWindowEnd(1_767_225_600, 3_600), 1_767_225_599, "at a minute boundary the previous minute is complete");
});

test("windows shorter than a minute (devnet, tests) end a second before now", () => {
  assert.equal(slaWindowEnd(1_767_225_645, 15), 1_767_225_644);
  assert.equal(slaWindowEnd(1_767_225_645, 0), 1_767_225_644);
});
