/**
 * npm run bench:indexer — backfill speed and head-follow lag, on a real local chain.
 *
 * 1. Generates a history of real events on anvil: customers funded with depositFor, then signed
 *    batches of 512 entries, half settled (each debits a customer and credits the provider) and
 *    half skipped for a price above the published one (each an EntrySkipped event).
 * 2. Baseline, same run: the same logs fetched and decoded with no database (the RPC's own pace).
 * 3. Backfills the history into PGlite and into PostgreSQL (a fresh schema, dropped after).
 * 4. Head-follow lag: one block per second, each with a deposit, for BENCH_FOLLOW_SECONDS.
 *
 * Env: BENCH_EVENTS (default 100000), BENCH_FOLLOW_SECONDS (default 30), BENCH_DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/test). Ends with `backfill events/s: pglite X, postgres Y`.
 */
import pino from "pino";
import pg from "pg";
import { createPublicClient, createWalletClient, http, keccak256, toHex, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signBatch, settlementAbi, testUsdcAbi, providerRegistryAbi, providerStakingAbi, modelId, type BatchEntry, type Deployment } from "@tollgate/protocol";
import { ANVIL_KEYS, deployProtocol, localChain, startAnvil } from "@tollgate/protocol/devnet";
import { startIndexer } from "../src/index.ts";
import { Rpc } from "../src/chain/rpc.ts";
import { LogDecoder, contractAddresses } from "../src/chain/contracts.ts";

const TARGET = Number(process.env.BENCH_EVENTS ?? 100_000);
const FOLLOW_SECONDS = Number(process.env.BENCH_FOLLOW_SECONDS ?? 30);
const PG_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const CUSTOMERS = 256;
const log = pino({ level: process.env.BENCH_LOG_LEVEL ?? "silent" }, pino.destination(2));
const say = (s: string) => process.stderr.write(`${s}\n`);

const anvil = await startAnvil();
try {
  const chain = localChain(anvil.url);
  const transport = http(anvil.url);
  const pc = createPublicClient({ chain, transport }) as PublicClient;
  const gov = createWalletClient({ chain, transport, account: privateKeyToAccount(ANVIL_KEYS[0]!) });
  const prov = createWalletClient({ chain, transport, account: privateKeyToAccount(ANVIL_KEYS[1]!) });
  const signer = privateKeyToAccount(ANVIL_KEYS[2]!);
  const deployment = await deployProtocol(gov as never, pc);
  const c = deployment.contracts;
  const send = async (w: typeof gov, address: Hex, abi: unknown, functionName: string, args: unknown[], wait = true) => {
    const hash = await w.writeContract({ address, abi: abi as never, functionName, args, chain, account: w.account } as never);
    if (wait) {
      const r = await pc.waitForTransactionReceipt({ hash });
      if (r.status !== "success") throw new Error(`${functionName} reverted`);
    }
    return hash;
  };

  // ---------------------------------------------------------------- history
  const t0 = Date.now();
  const MODEL = modelId("bench-model");
  await send(gov, c.settlement, settlementAbi, "setGatewaySigner", [1, signer.address]);
  await send(prov, c.providerRegistry, providerRegistryAbi, "register", [{ gpuModel: "H100", gpuCount: 8, vramGb: 80, region: "bench", metadataURI: "ipfs://bench" }]);
  await send(prov, c.providerRegistry, providerRegistryAbi, "listModel", [MODEL, { name: "bench-model", quantization: "fp16", modelHash: MODEL, contextLength: 8192 }, 100_000, 200_000]);
  await send(gov, c.usdc, testUsdcAbi, "mint", [prov.account.address, 1_000_000_000n]);
  await send(prov, c.usdc, testUsdcAbi, "approve", [c.providerStaking, 1_000_000_000n]);
  await send(prov, c.providerStaking, providerStakingAbi, "stake", [1_000_000_000n]);
  await send(gov, c.usdc, testUsdcAbi, "mint", [gov.account.address, 1_000_000_000_000n]);
  await send(gov, c.usdc, testUsdcAbi, "approve", [c.settlement, 1_000_000_000_000n]);
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => `0x${(0x1000 + i).toString(16).padStart(40, "0")}` as Hex);
  for (const cu of customers) await send(gov, c.settlement, settlementAbi, "depositFor", [cu, 10_000_000n], false);
  const entries: BatchEntry[] = customers.flatMap((cu) => [
    { customer: cu, provider: prov.account.address, model: MODEL, requests: 1, promptTokens: 1_000n, completionTokens: 500n, promptPrice: 100_000n, completionPrice: 200_000n },
    // Above the published price: skipped with an EntrySkipped event.
    { customer: cu, provider: prov.account.address, model: MODEL, requests: 1, promptTokens: 1_000n, completionTokens: 500n, promptPrice: 100_001n, completionPrice: 200_000n },
  ]);
  const typedEntries = entries.map((e) => ({ ...e, promptPrice: Number(e.promptPrice), completionPrice: Number(e.completionPrice) }));
  const batches = Math.ceil((TARGET - CUSTOMERS) / (CUSTOMERS + 1));
  // The bench publishes no receipts (no gateway configured): its batches stay PENDING, which costs nothing.
  const root = keccak256(toHex("bench receipts"));
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 30 * 86_400);
  for (let b = 0; b < batches; b++) {
    const batch = { gatewayId: 1, batchId: BigInt(b), receiptsRoot: root, receiptCount: entries.length, deadline, entries };
    const sig = await signBatch(signer, batch, deployment.chainId, c.settlement);
    await send(gov, c.settlement, settlementAbi, "settleBatch", [{ ...batch, entries: typedEntries }, sig], b === batches - 1);
    if (b % 50 === 49) say(`  generated ${b + 1}/${batches} batches`);
  }
  const headBlock = Number(await pc.request({ method: "eth_blockNumber" }));
  const rpc = new Rpc(anvil.url);
  const addresses = Object.values(contractAddresses(deployment));
  const allLogs = await rpc.getLogs(addresses, deployment.deployBlock, headBlock);
  const events = allLogs.length;
  if (process.env.BENCH_DEBUG) say(`chain logs ${events}, blocks ${deployment.deployBlock}..${headBlock}, last log block ${allLogs.at(-1)?.blockNumber}`);
  say(`history: ${events} events in ${headBlock - deployment.deployBlock} blocks, generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // ---------------------------------------------------------------- baseline: fetch + decode, no database
  const tb = Date.now();
  const decoder = new LogDecoder(deployment);
  let decoded = 0;
  for (let from = deployment.deployBlock; from <= headBlock; from += 2_000) {
    for (const l of await rpc.getLogs(addresses, from, Math.min(headBlock, from + 1_999))) if (decoder.decode(l, 0)) decoded++;
  }
  const baseline = decoded / ((Date.now() - tb) / 1000);
  say(`baseline (eth_getLogs + decode, no database): ${Math.round(baseline)} events/s`);

  // ---------------------------------------------------------------- backfill
  async function backfill(kind: "pglite" | "postgres", opts: Record<string, unknown>, keep = false) {
    const ix = await startIndexer({ rpcUrl: anvil.url, deployment, port: 0, pollMs: 200, logger: log, ...opts });
    await ix.waitForBlock(headBlock, 1_800_000);
    // From the first follow step (after the database opened) to the head.
    const seconds = (Date.now() - ix.stats.firstStepAt!) / 1000;
    const n = ix.stats.events;
    if (n !== events) throw new Error(`${kind} indexed ${n} events, the chain has ${events}`);
    const rate = n / seconds;
    say(`${kind}: ${n} events in ${seconds.toFixed(1)} s = ${Math.round(rate)} events/s (${(rate / baseline).toFixed(2)}x the no-database baseline)`);
    if (!keep) await ix.stop();
    return { rate, ix };
  }
  // The PGlite indexer stays up for the head-follow measurement below.
  const { rate: pgliteRate, ix } = await backfill("pglite", { dataDir: "memory://" }, true);
  let postgresRate = NaN;
  const schema = `bench_indexer_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  try {
    await admin.connect();
    postgresRate = (await backfill("postgres", { databaseUrl: PG_URL, dbSchema: schema })).rate;
  } catch (err) {
    say(`postgres: skipped (${(err as Error).message})`);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end().catch(() => {});
  }

  // ---------------------------------------------------------------- head-follow lag
  const lags: number[] = [];
  const lagMs: number[] = [];
  for (let s = 0; s < FOLLOW_SECONDS; s++) {
    const tick = Date.now();
    await send(gov, c.settlement, settlementAbi, "depositFor", [customers[s % CUSTOMERS]!, 1n], true);
    const block = Number(await pc.request({ method: "eth_blockNumber" }));
    while (Date.now() - tick < 1000) {
      lags.push(block - ix.stats.lastBlock);
      await new Promise((r) => setTimeout(r, 50));
    }
    const seen = Date.now();
    await ix.waitForBlock(block, 30_000);
    lagMs.push(Date.now() - tick - Math.max(0, Date.now() - seen));
  }
  await ix.stop();
  const maxLag = Math.max(...lags);
  const p95 = lags.sort((a, b) => a - b)[Math.floor(lags.length * 0.95)]!;
  say(`head-follow at 1 block/s for ${FOLLOW_SECONDS} s (pglite, poll 200 ms): lag max ${maxLag} blocks, p95 ${p95} blocks`);
  console.log(`history events: ${events}; baseline (fetch+decode, no db) events/s: ${Math.round(baseline)}`);
  console.log(`head-follow lag at 1 block/s: max ${maxLag} blocks, p95 ${p95} blocks`);
  console.log(`backfill events/s: pglite ${Math.round(pgliteRate)}, postgres ${Number.isNaN(postgresRate) ? "skipped" : Math.round(postgresRate)}`);
} finally {
  await anvil.stop();
}
void ({} as Deployment);
