/**
 * tollgate-provider on a real local chain (anvil + the real contracts), run as a child process so
 * the test sees exactly what a provider sees: register, price change, authorize a worker, stake,
 * unbond, a refused withdraw explained in words, withdraw after the delay, claim after a settled
 * batch vests, status, and bad input.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encryptKeystoreJsonSync } from "ethers";
import { erc20Abi, keccak256, stringToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { domainOf, slaReportTypes, type Batch, type SlaReport } from "@tollgate/protocol/eip712";
import { signBatch } from "@tollgate/protocol/batch";
import { modelId } from "@tollgate/protocol/models";
import { providerRegistryAbi, providerStakingAbi, settlementAbi, slaCreditsAbi, testUsdcAbi } from "@tollgate/protocol/generated/abis";
import { deployTollgate, startAnvil, type Anvil, type Deployed } from "./helpers/deploy.ts";

const CLI = fileURLToPath(new URL("../src/cli/provider.ts", import.meta.url));
// The repository's Node 24 (node_modules/.bin/node), as a user runs it; else the one running the tests.
const NODE = fileURLToPath(new URL("../../node_modules/.bin/node", import.meta.url));
const node = existsSync(NODE) ? NODE : process.execPath;

const MODEL = "llama-3.1-8b-instruct";
const HOUR = 3600;
const DAY = 24 * HOUR;
const DISPUTE_WINDOW = 1n * BigInt(HOUR);

type Run = { code: number; stdout: string; stderr: string };

let anvil: Anvil;
let chain: Deployed;
let dir: string;
let deploymentFile: string;
const providerKey = generatePrivateKey();
const provider = privateKeyToAccount(providerKey).address;
const workerAddress = privateKeyToAccount(generatePrivateKey()).address;

function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const fullEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TOLLGATE_RPC_URL: anvil.url,
    TOLLGATE_DEPLOYMENT: deploymentFile,
    TOLLGATE_PROVIDER_KEY: providerKey,
  };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete fullEnv[k];
    else fullEnv[k] = v;
  }
  return new Promise((resolve) => {
    execFile(node, [CLI, ...args], { env: fullEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function ok(r: Run): string {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r.stdout;
}

/** Every amount a person sees is in USDC with decimals, never raw base units like 150000000. */
function noBaseUnits(text: string) {
  assert.doesNotMatch(text, /\b\d{7,}\b(?! ctx)(?!\d)(?![^\n]*block)/, `looks like base units in:\n${text}`);
}

async function stakeOf() {
  return chain.publicClient.readContract({
    address: chain.deployment.contracts.providerStaking,
    abi: providerStakingAbi,
    functionName: "stakeOf",
    args: [provider],
  });
}

before(async () => {
  anvil = await startAnvil();
  chain = await deployTollgate(anvil.url, { disputeWindow: DISPUTE_WINDOW });
  dir = await mkdtemp(join(tmpdir(), "tollgate-provider-cli-"));
  deploymentFile = join(dir, "devnet.json");
  // devnet.json carries the deployment under `deployment`, as `npm start` will write it.
  await writeFile(deploymentFile, JSON.stringify({ deployment: chain.deployment }, null, 2));
  await chain.fund(provider);
  await chain.write(chain.deployment.contracts.usdc, testUsdcAbi, "mint", [provider, 500_000_000n]);
});

after(async () => {
  await anvil?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("tollgate-provider on a local chain", () => {
  test("register lists the hardware profile and models with prices, and says what to do next", async () => {
    const out = ok(
      await cli([
        "register",
        "--gpu-model", "NVIDIA H100 80GB",
        "--gpu-count", "8",
        "--vram-gb", "80",
        "--region", "eu-west",
        "--metadata-uri", "https://provider.example/meta.json",
        "--model", `${MODEL}:0.20:0.60:bf16:131072`,
        "--model", "qwen2.5-7b-instruct:0.1:0.3",
      ]),
    );
    assert.match(out, /register 0x[0-9a-fA-F]{40} as a provider \(8 × NVIDIA H100 80GB, 80 GB VRAM, region eu-west/);
    assert.match(out, /: sent 0x[0-9a-f]{64}/);
    assert.match(out, /llama-3\.1-8b-instruct: listed at 0\.20 USDC\/M prompt, 0\.60 USDC\/M completion, in force now \(bf16, 131072 tokens context\)/);
    assert.match(out, /qwen2\.5-7b-instruct: listed at 0\.10 USDC\/M prompt, 0\.30 USDC\/M completion/);
    assert.match(out, /next: stake at least 100\.00 USDC to be routable: tollgate-provider stake 100\n/);
    assert.match(out, /authorize-worker/);
    assert.doesNotMatch(out, /basescan/, "no explorer link on a local chain");

    const price = await chain.publicClient.readContract({
      address: chain.deployment.contracts.providerRegistry,
      abi: providerRegistryAbi,
      functionName: "priceInForce",
      args: [provider, modelId(MODEL)],
    });
    assert.deepEqual(price, [200_000, 600_000, true]); // base units per million tokens
  });

  test("re-running register with new prices schedules a change and says when it takes effect", async () => {
    const out = ok(await cli(["register", "--model", `${MODEL}:0.25:0.70`, "--model", "qwen2.5-7b-instruct:0.1:0.3"]));
    assert.match(out, /is already registered/);
    assert.match(out, /llama-3\.1-8b-instruct: price change to 0\.25 USDC\/M prompt, 0\.70 USDC\/M completion takes effect at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in 24 h\)/);
    assert.match(out, /until then 0\.20 USDC\/M prompt, 0\.60 USDC\/M completion stays in force/);
    assert.match(out, /qwen2\.5-7b-instruct: already listed at 0\.10 USDC\/M prompt, 0\.30 USDC\/M completion; unchanged/);
  });

  test("authorize-worker binds the worker key to the provider", async () => {
    const out = ok(await cli(["authorize-worker", workerAddress]));
    assert.match(out, new RegExp(`worker ${workerAddress} may now register with gateways`));
    assert.match(out, /next: start it with --provider/);
    const bound = await chain.publicClient.readContract({
      address: chain.deployment.contracts.providerRegistry,
      abi: providerRegistryAbi,
      functionName: "providerOfWorker",
      args: [workerAddress],
    });
    assert.equal(bound, provider);
  });

  test("stake approves, then bonds, and reports being routable", async () => {
    const out = ok(await cli(["stake", "150"]));
    assert.match(out, /approve 150\.00 USDC for the staking contract: sent 0x[0-9a-f]{64}/);
    assert.match(out, /stake 150\.00 USDC: sent 0x[0-9a-f]{64}/);
    assert.match(out, /stake: 150\.00 USDC bonded/);
    assert.match(out, /at or above the minimum 100\.00 USDC: routable/);
    noBaseUnits(out);
    assert.equal((await stakeOf())[0], 150_000_000n);
  });

  test("unbond starts the delay and says when to withdraw", async () => {
    const out = ok(await cli(["unbond", "50"]));
    assert.match(out, /unbonding 50\.00 USDC/);
    assert.match(out, /stake: 100\.00 USDC bonded, 50\.00 USDC unbonding \(unlocks .* \(in 14 d\)\)/);
    assert.match(out, /next: after .* UTC \(in 14 d\) run `tollgate-provider withdraw`/);
  });

  test("a refused withdraw prints the decoded error in words and exits non-zero", async () => {
    const r = await cli(["withdraw"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /withdraw unlocked stake would fail: your stake is still unbonding: it unlocks at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in 14 d\)/);
    assert.doesNotMatch(r.stderr, /StillUnbonding|0x[0-9a-f]{8,}|at .*\.ts:\d+/, "no raw error names, data or stack traces");
    assert.equal((await stakeOf())[1], 50_000_000n, "nothing moved");

    const rebond = await cli(["rebond", "80"]);
    assert.equal(rebond.code, 1);
    assert.match(rebond.stderr, /you asked to rebond 80\.00 USDC but only 50\.00 USDC is unbonding/);
  });

  test("status shows stake with countdown, pending price change, models and workers", async () => {
    const out = ok(await cli(["status"]));
    assert.match(out, /routable: yes/);
    assert.match(out, /bonded: +100\.00 USDC \(minimum 100\.00 USDC\)/);
    assert.match(out, /unbonding: +50\.00 USDC, unlocks at .* \(in 14 d\)/);
    assert.match(out, /jailed: +no/);
    assert.match(out, /locked by open disputes and unpaid SLA credits: 0\.00 USDC/);
    assert.match(out, /llama-3\.1-8b-instruct \(bf16, 131072 ctx\): 0\.20 USDC\/M prompt, 0\.60 USDC\/M completion/);
    assert.match(out, /changes to 0\.25 USDC\/M prompt, 0\.70 USDC\/M completion at .* \(in 2\d h|changes to 0\.25 USDC\/M prompt, 0\.70 USDC\/M completion at .* \(in 23 h/);
    assert.match(out, /authorized workers \(1\)\n {2}0x/);
    assert.ok(out.includes(workerAddress));
    assert.match(out, /credits paid from your stake: 0\.00 USDC/);
    noBaseUnits(out);
  });

  test("withdraw after the unbonding delay pays out the unlocked stake", async () => {
    await chain.increaseTime(14 * DAY + 1);
    const out = ok(await cli(["withdraw"]));
    assert.match(out, /withdraw unlocked stake: sent 0x[0-9a-f]{64}/);
    assert.match(out, /withdrew 50\.00 USDC to 0x/);
    assert.match(out, /stake: 100\.00 USDC bonded\n/);
    const balance = await chain.publicClient.readContract({ address: chain.deployment.contracts.usdc, abi: erc20Abi, functionName: "balanceOf", args: [provider] });
    assert.equal(balance, 400_000_000n); // 500 minted − 150 staked + 50 withdrawn
  });

  test("claim pays vested earnings from a settled batch; claiming again is explained", async () => {
    const { contracts } = chain.deployment;
    const nothing = await cli(["claim"]);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /nothing is claimable yet: earnings vest after the dispute window/);

    // A gateway signer registered by the governor, and a customer with escrow.
    const gateway = privateKeyToAccount(generatePrivateKey());
    await chain.write(contracts.settlement, settlementAbi, "setGatewaySigner", [1, gateway.address]);
    const customer = privateKeyToAccount(generatePrivateKey());
    await chain.write(contracts.usdc, testUsdcAbi, "mint", [chain.deployer.address, 100_000_000n]);
    await chain.write(contracts.usdc, testUsdcAbi, "approve", [contracts.settlement, 100_000_000n]);
    await chain.write(contracts.settlement, settlementAbi, "depositFor", [customer.address, 100_000_000n]);

    // The scheduled price (0.25 / 0.70) is in force now: 2M prompt + 1M completion tokens = 1.20 USDC.
    const batchId = await chain.publicClient.readContract({ address: contracts.settlement, abi: settlementAbi, functionName: "nextBatchId", args: [1] });
    const block = await chain.publicClient.getBlock();
    const batch: Batch = {
      gatewayId: 1,
      batchId,
      receiptsRoot: keccak256(stringToBytes("receipts")),
      receiptCount: 3,
      deadline: block.timestamp + 3600n,
      entries: [
        {
          customer: customer.address,
          provider,
          model: modelId(MODEL),
          requests: 3,
          promptTokens: 2_000_000n,
          completionTokens: 1_000_000n,
          promptPrice: 250_000n,
          completionPrice: 700_000n,
        },
      ],
    };
    const signature = await signBatch(gateway, batch, chain.deployment.chainId, contracts.settlement);
    await chain.write(contracts.settlement, settlementAbi, "settleBatch", [batch, signature]);

    const vesting = ok(await cli(["status"]));
    // 1.20 USDC charged, 2.5% fee → 1.17 USDC to the provider, vesting.
    assert.match(vesting, /claimable: +0\.00 USDC/);
    assert.match(vesting, /vesting: +1\.17 USDC, next vests at .* \(in (1 h|\d+ min)/);

    await chain.increaseTime(Number(2n * DISPUTE_WINDOW) + 1);
    const before = ok(await cli(["status"]));
    assert.match(before, /claimable: +1\.17 USDC \(run `tollgate-provider claim`\)/);

    const out = ok(await cli(["claim"]));
    assert.match(out, /claim vested earnings: sent 0x[0-9a-f]{64}/);
    assert.match(out, /claimed 1\.17 USDC to 0x/);
    const balance = await chain.publicClient.readContract({ address: contracts.usdc, abi: erc20Abi, functionName: "balanceOf", args: [provider] });
    assert.equal(balance, 401_170_000n);

    // An SLA report with 99.75% availability: 0.15% below 99.9% is 2 started steps → 10% of 10 USDC spend, from stake.
    const now = (await chain.publicClient.getBlock()).timestamp;
    const report: SlaReport = {
      gatewayId: 1,
      provider,
      tier: 0,
      windowStart: now - 3600n,
      windowEnd: now - 1n,
      requests: 2000,
      availabilityPpm: 997_500,
      p95TtftMs: 900,
      deadline: now + 3600n,
      spends: [{ customer: customer.address, spend: 10_000_000n }],
    };
    const slaSignature = await gateway.signTypedData({
      domain: domainOf("sla", chain.deployment.chainId, contracts.slaCredits),
      types: slaReportTypes,
      primaryType: "SlaReport",
      message: report,
    });
    await chain.write(contracts.slaCredits, slaCreditsAbi, "submitReport", [report, slaSignature]);
    const status = ok(await cli(["status"]));
    assert.match(status, /SLA reports: 1, 1 with a credit; credits paid from your stake: 1\.00 USDC/);
    assert.match(status, /bonded: +99\.00 USDC \(minimum 100\.00 USDC\)/);
    assert.match(status, /routable: no \(stake 1\.00 USDC more: `tollgate-provider stake 1`\)/);
    assert.match(status, /dispute refunds from your stake: 0\.00 USDC/);
  });

  test("status reads any provider with --provider and no key; the key can come from a keystore", async () => {
    const out = ok(await cli(["status", "--provider", provider], { TOLLGATE_PROVIDER_KEY: undefined }));
    assert.match(out, new RegExp(`provider ${provider}`));
    assert.match(out, /llama-3\.1-8b-instruct \(bf16, 131072 ctx\): 0\.25 USDC\/M prompt, 0\.70 USDC\/M completion/);

    const keystore = join(dir, "provider.json");
    const json = encryptKeystoreJsonSync({ address: provider, privateKey: providerKey }, "correct horse battery", { scrypt: { N: 1024 } });
    await writeFile(keystore, json, { mode: 0o600 });
    const viaKeystore = ok(
      await cli(["status", "--keystore", keystore], { TOLLGATE_PROVIDER_KEY: undefined, TOLLGATE_KEYSTORE_PASSWORD: "correct horse battery" }),
    );
    assert.match(viaKeystore, new RegExp(`provider ${provider}`));
    const wrong = await cli(["status", "--keystore", keystore], { TOLLGATE_PROVIDER_KEY: undefined, TOLLGATE_KEYSTORE_PASSWORD: "wrong" });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /cannot decrypt .*provider\.json: wrong password/);
  });

  test("bad input gets a clear message and exit code 2 before anything is sent", async () => {
    const cases: [string[], Record<string, string | undefined>, RegExp][] = [
      [["stake", "1.2345678"], {}, /amount: "1\.2345678" is not a USDC amount/],
      [["stake", "0"], {}, /amount: must be more than 0/],
      [["stake"], {}, /missing amount in USDC/],
      [["authorize-worker", "0x1234"], {}, /worker address: not an Ethereum address/],
      [["list-model", "--model", "llama:abc:0.6"], {}, /price "abc" is not USD per million tokens/],
      [["list-model", "--model", "llama"], {}, /expected name:promptPrice:completionPrice/],
      [["register", "--gpu-count=0"], {}, /--gpu-count must be at least 1/],
      [["frobnicate"], {}, /unknown command "frobnicate"/],
      [["status"], { TOLLGATE_PROVIDER_KEY: undefined }, /no provider key: set TOLLGATE_PROVIDER_KEY/],
      [["status"], { TOLLGATE_PROVIDER_KEY: "0x1234" }, /TOLLGATE_PROVIDER_KEY must be 32 bytes of hex/],
      [["status"], { TOLLGATE_DEPLOYMENT: join(dir, "missing.json") }, /no deployment manifest at/],
      [["status"], { TOLLGATE_RPC_URL: "ftp://x" }, /--rpc-url: must be an http\(s\) URL/],
      [["status", "--private-key", "0xabc"], {}, /Unknown option '--private-key'/],
    ];
    for (const [args, env, message] of cases) {
      const r = await cli(args, env);
      assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
    const badManifest = join(dir, "bad.json");
    await writeFile(badManifest, JSON.stringify({ chainId: 31337, contracts: {} }));
    const r = await cli(["status"], { TOLLGATE_DEPLOYMENT: badManifest });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not a Tollgate deployment manifest/);
  });
});

