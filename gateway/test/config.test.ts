/** Settings read from the environment at start: defaults and clear errors naming the variable. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { configFromEnv, ConfigError } from "../src/config.ts";

const REQUIRED = {
  TOLLGATE_RPC_URL: "http://127.0.0.1:8545",
  TOLLGATE_CHAIN_ID: "31337",
  TOLLGATE_GATEWAY_ID: "1",
  TOLLGATE_SIGNER_KEY: `0x${"11".repeat(32)}`,
  TOLLGATE_SETTLEMENT: `0x${"22".repeat(20)}`,
  TOLLGATE_REGISTRY: `0x${"33".repeat(20)}`,
  TOLLGATE_STAKING: `0x${"44".repeat(20)}`,
  TOLLGATE_SLA_CREDITS: `0x${"55".repeat(20)}`,
};
const namesVariable = (name: string) => (e: unknown) => e instanceof ConfigError && e.message.includes(name);

test("TOLLGATE_HEAP_GROWING_PERCENT: 300 unless set, 0 leaves V8's own choice, anything else is refused by name", () => {
  assert.equal(configFromEnv(REQUIRED).heapGrowingPercent, 300);
  assert.equal(configFromEnv({ ...REQUIRED, TOLLGATE_HEAP_GROWING_PERCENT: "0" }).heapGrowingPercent, 0);
  for (const bad of ["lots", "-5", "1.5", "5000"]) {
    assert.throws(() => configFromEnv({ ...REQUIRED, TOLLGATE_HEAP_GROWING_PERCENT: bad }), namesVariable("TOLLGATE_HEAP_GROWING_PERCENT"), bad);
  }
});
