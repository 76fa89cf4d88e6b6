/**
 * SLA arrears: a provider whose stake is smaller than the credit its breached window earns pays what
 * it has, and the rest stays owed to the customers. Once the provider stakes again, the gateway
 * collects the rest into their escrow without anyone else acting, also across a restart of the
 * gateway between the report and the new stake.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import type { Address, Hex } from "viem";
import { providerStakingAbi, slaCreditsAbi, testUsdcAbi } from "@tollgate/protocol";
import { MODEL, freshDataDir, loginAndCreateKey, removeDir, startEnv, startGateway, startRig, stopRig, waitFor, type Env, type WorkerRig } from "./helpers/stack.ts";
import { available, write } from "./helpers/chain.ts";
import type { Gateway } from "../src/server.ts";

/** USDC base units: below the credit of five requests' spend (at least 5 units each at the test prices). */
const STAKE = 10n;
/** What the provider tops up by, USDC base units: 1 USDC, far above the arrears. */
const TOP_UP = 1_000_000n;
type Arrears = { reportKey: Hex; owed: bigint; customers: readonly Address[]; amounts: readonly bigint[] };
type Status = { slaArrears: { provider: string; owed: string; reports: number }[] };

/** A chain where every request breaches the SLA and the provider's stake cannot pay the credit. */
async function envInBreach(): Promise<Env> {
  const env = await startEnv({ providers: 1, deposit: 10_000_000n, stake: STAKE });
  const pc = env.chain.publicClient;
  // The default minimum (100 USDC) would leave the small stake unroutable.
  await write(env.deployer, pc, env.contracts.staking, providerStakingAbi, "setMinStake", [STAKE]);
  // Hobby tier (0): a p95 TTFT target of 1 ms that every request misses, a credit of the whole spend,
  // from the first request (the default needs 1,000 requests a window).
  const policy = { availabilityTargetPpm: 999_000, stepPpm: 1_000, ttftTargetMs: 1, minRequests: 1, creditPerStepBps: 500, ttftCreditBps: 10_000, capBps: 10_000 };
  await write(env.deployer, pc, env.contracts.slaCredits, slaCreditsAbi, "setPolicy", [0, policy]);
  return env;
}

/** Serve five requests through the gateway, close the SLA window and return the report's arrears. */
async function breachAndReport(env: Env, gw: Gateway, url: string): Promise<Arrears> {
  const { key } = await loginAndCreateKey(url, env.customer, env.chain.chainId);
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
  for (let i = 0; i < 5; i++) await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: `request ${i}` }], max_tokens: 16 });
  // A window ends a second before now (slaWindowEnd) and must be longer than a second.
  await new Promise((r) => setTimeout(r, 2_100));
  assert.equal(await gw.sla.closeWindow(), 1);
  const pc = env.chain.publicClient;
  const [reported] = await pc.getContractEvents({ address: env.contracts.slaCredits, abi: slaCreditsAbi, eventName: "SlaReported", fromBlock: 0n });
  const outcome = (reported!.args as { outcome: { creditOwed: bigint; creditPaid: bigint } }).outcome;
  assert.equal(outcome.creditPaid, STAKE, "the provider's whole stake went to the credit");
  assert.ok(outcome.creditOwed > STAKE, "and the credit was larger");
  const [set] = await pc.getContractEvents({ address: env.contracts.slaCredits, abi: slaCreditsAbi, eventName: "ArrearsSet", fromBlock: 0n });
  const arrears = set!.args as Arrears;
  assert.equal(arrears.owed, outcome.creditOwed - STAKE);
  assert.deepEqual(arrears.customers, [env.customer.account.address]);
  return arrears;
}

async function topUp(env: Env, amount: bigint): Promise<void> {
  const pc = env.chain.publicClient;
  const provider = env.providers[0]!.wallet;
  await write(env.deployer, pc, env.contracts.usdc, testUsdcAbi, "mint", [provider.account.address, amount]);
  await write(provider, pc, env.contracts.usdc, testUsdcAbi, "approve", [env.contracts.staking, amount]);
  await write(provider, pc, env.contracts.staking, providerStakingAbi, "stake", [amount]);
}

const owedOn = async (env: Env, reportKey: Hex) =>
  (await env.chain.publicClient.readContract({ address: env.contracts.slaCredits, abi: slaCreditsAbi, functionName: "arrearsOfReport", args: [reportKey] }))[1];
const status = async (url: string) => (await (await fetch(`${url}/status`)).json()) as Status;
const gatewayTxCount = (env: Env, gw: Gateway) => env.chain.publicClient.getTransactionCount({ address: gw.ctx.signer.address });

describe("SLA arrears, collected by the gateway", () => {
  let env: Env;
  let gw: Gateway;
  let url: string;
  let rig: WorkerRig;
  before(async () => {
    env = await envInBreach();
    ({ gw, url } = await startGateway(env));
    rig = await startRig(env, url, 0);
    await gw.follower.syncOnce();
  });
  after(async () => {
    await stopRig(rig);
    await gw?.close();
    await env?.stop();
  });

  let arrears: Arrears;
  let escrowBefore: bigint;
  let txsBefore: number;
  const escrow = () => available(env.contracts, env.chain.publicClient, env.customer.account.address);

  it("stay owed, shown in /status, and cost no transaction while the provider has no stake", async () => {
    arrears = await breachAndReport(env, gw, url);
    const shown = await waitFor(async () => (await status(url)).slaArrears[0], 10_000, "/status to show the arrears");
    assert.deepEqual(shown, { provider: rig.provider, owed: arrears.owed.toString(), reports: 1 });
    txsBefore = await gatewayTxCount(env, gw);
    escrowBefore = await escrow();
    await new Promise((r) => setTimeout(r, 1_000)); // 10 poll intervals
    assert.equal(await gatewayTxCount(env, gw), txsBefore, "no transaction while there is nothing to collect");
    assert.equal(await owedOn(env, arrears.reportKey), arrears.owed);
  });

  it("a top-up smaller than the arrears is collected at once (unlockedStake stays 0)", async () => {
    const part = arrears.owed / 2n;
    await topUp(env, part);
    await waitFor(async () => (await owedOn(env, arrears.reportKey)) === arrears.owed - part, 15_000, "the gateway to collect the top-up");
    assert.equal((await escrow()) - escrowBefore, part, "the customer's escrow rose by the top-up");
    assert.equal(await gatewayTxCount(env, gw), txsBefore + 1, "one collectArrears transaction");
  });

  it("the rest is collected once the provider stakes enough, and the gateway forgets the report", async () => {
    await topUp(env, TOP_UP);
    await waitFor(async () => (await owedOn(env, arrears.reportKey)) === 0n, 15_000, "the gateway to collect the rest");
    assert.equal((await escrow()) - escrowBefore, arrears.amounts[0], "the customer's escrow rose by all it was owed");
    assert.equal(await gatewayTxCount(env, gw), txsBefore + 2, "one more collectArrears transaction");
    await waitFor(async () => (await status(url)).slaArrears.length === 0, 5_000, "/status to drop the paid-off arrears");
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.ok(metrics.includes(`tollgate_sla_arrears_collected_base_units_total{provider="${rig.provider}"} ${arrears.owed}`), "/metrics counts what was collected");
    assert.ok(!metrics.includes("tollgate_sla_arrears_open_base_units{"), "and shows nothing open");
  });
});

describe("SLA arrears across a gateway restart", () => {
  let env: Env;
  let dataDir: string;
  let rig: WorkerRig | null = null;
  const started: Gateway[] = [];
  before(async () => {
    env = await envInBreach();
    dataDir = await freshDataDir();
  });
  after(async () => {
    if (rig) await stopRig(rig);
    for (const g of started) await g.close().catch(() => {});
    removeDir(dataDir);
    await env?.stop();
  });

  it("a gateway restarted between the report and the new stake still collects", async () => {
    const first = await startGateway(env, { dataDir });
    started.push(first.gw);
    rig = await startRig(env, first.url, 0);
    await first.gw.follower.syncOnce();
    const arrears = await breachAndReport(env, first.gw, first.url);
    await waitFor(async () => (await status(first.url)).slaArrears.length === 1, 10_000, "the first gateway to record the arrears");
    await stopRig(rig);
    rig = null;
    await first.gw.close();

    // The new incarnation has followed past the ArrearsSet: it knows the lists only from its database.
    const second = await startGateway(env, { dataDir });
    started.push(second.gw);
    assert.deepEqual((await status(second.url)).slaArrears, [{ provider: env.providers[0]!.wallet.account.address, owed: arrears.owed.toString(), reports: 1 }]);
    const escrowBefore = await available(env.contracts, env.chain.publicClient, env.customer.account.address);
    await topUp(env, TOP_UP);
    await waitFor(async () => (await owedOn(env, arrears.reportKey)) === 0n, 15_000, "the restarted gateway to collect the arrears");
    const escrowAfter = await available(env.contracts, env.chain.publicClient, env.customer.account.address);
    assert.equal(escrowAfter - escrowBefore, arrears.owed, "the customer's escrow rose by what it was owed");
  });
});
