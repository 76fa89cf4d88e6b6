#!/usr/bin/env node
/**
 * tollgate-provider — the provider's side of Tollgate from a terminal: register hardware and models
 * with prices, authorize worker keys, stake, unbond, withdraw, claim earnings, and see it all in
 * `status`. The provider key comes from TOLLGATE_PROVIDER_KEY or an encrypted keystore, never a flag.
 *
 *   export TOLLGATE_RPC_URL=https://sepolia.base.org TOLLGATE_DEPLOYMENT=./base-sepolia.json
 *   export TOLLGATE_PROVIDER_KEY=0x…        (or --keystore file + TOLLGATE_KEYSTORE_PASSWORD)
 *   tollgate-provider register --gpu-model "NVIDIA H100 80GB" --gpu-count 8 --vram-gb 80 --region eu-west \
 *     --model llama-3.1-8b-instruct:0.20:0.60:bf16:131072
 *   tollgate-provider stake 100
 *   tollgate-provider status
 *
 * Exit codes: 0 done, 1 the chain refused or could not be reached, 2 bad input.
 */
import { parseArgs } from "node:util";
import type { Address } from "viem";
import {
  InputError,
  loadProviderKey,
  parseAddressArg,
  parseModelListing,
  parseModelName,
  parsePriceSpec,
  parseProfileFlags,
  parseUsdcArg,
  readDeployment,
  rpcUrlSchema,
} from "../provider/config.ts";
import type { Chain_, Out } from "../provider/chain.ts";

const HELP = `tollgate-provider — manage your Tollgate provider account from a terminal

usage: tollgate-provider <command> [arguments] [flags]

commands:
  register                 register (or update) your hardware profile and list models with prices
                             --gpu-model <name> --gpu-count <n> --vram-gb <n> [--region <r>] [--metadata-uri <uri>]
                             [--model name:prompt:completion[:quant[:contextLength[:modelHash]]]]...
                           prices are USD per million prompt / completion tokens (e.g. 0.20:0.60);
                           re-running with new prices for listed models schedules a price change
  update-profile           change hardware profile fields (only the flags you give)
  list-model               --model name:prompt:completion[:quant[:contextLength[:modelHash]]] (repeatable)
  set-price                --model name:prompt:completion   schedule new prices (after the notice period)
  delist                   --model name                     stop serving a model (after the notice period)
  authorize-worker <addr>  let a worker key register with gateways for you
  revoke-worker <addr>     withdraw a worker key's authority
  stake <usdc>             approve (when needed) and bond USDC, e.g. stake 100
  unbond <usdc>            start unbonding (withdraw after the unbonding delay)
  rebond <usdc>            move unbonding stake back to bonded
  withdraw                 withdraw stake whose unbonding delay has passed
  claim                    claim vested earnings
  unjail                   leave jail once bonded stake is back at the minimum
  status                   stake, earnings, SLA credits, models and prices, workers
                             [--provider <address>] to look at any provider without a key

flags (environment variable in brackets):
  --rpc-url <url>          JSON-RPC endpoint of the chain [TOLLGATE_RPC_URL]
  --deployment <file>      devnet.json or a deployment manifest [TOLLGATE_DEPLOYMENT]
  --keystore <file>        encrypted provider key (password in TOLLGATE_KEYSTORE_PASSWORD) [TOLLGATE_PROVIDER_KEYSTORE]
  -h, --help               this text

The provider key is TOLLGATE_PROVIDER_KEY (hex) or --keystore; never a command-line argument.
Exit codes: 0 done, 1 refused by the chain or the RPC, 2 bad input.
`;

const COMMANDS = [
  "register",
  "update-profile",
  "list-model",
  "set-price",
  "delist",
  "authorize-worker",
  "revoke-worker",
  "stake",
  "unbond",
  "rebond",
  "withdraw",
  "claim",
  "unjail",
  "status",
] as const;
type Command = (typeof COMMANDS)[number];

const out: Out = (line) => void process.stdout.write(`${line}\n`);

function fail(message: string, code: number): never {
  process.stderr.write(`tollgate-provider: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        "rpc-url": { type: "string" },
        deployment: { type: "string" },
        keystore: { type: "string" },
        provider: { type: "string" },
        "gpu-model": { type: "string" },
        "gpu-count": { type: "string" },
        "vram-gb": { type: "string" },
        region: { type: "string" },
        "metadata-uri": { type: "string" },
        model: { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new InputError(`${(err as Error).message} (try --help)`);
  }
  const { values: v, positionals } = parsed;
  if (v.help || positionals.length === 0) {
    process.stdout.write(HELP);
    if (!v.help) process.exitCode = 2;
    return;
  }
  const command = positionals[0] as Command;
  if (!COMMANDS.includes(command)) throw new InputError(`unknown command "${positionals[0]}" (try --help)`);
  const arg = positionals[1];
  if (positionals.length > 2) throw new InputError(`unexpected arguments: ${positionals.slice(2).join(" ")}`);
  const needsArg = ["authorize-worker", "revoke-worker", "stake", "unbond", "rebond"].includes(command);
  if (!needsArg && arg !== undefined) throw new InputError(`${command} takes no argument (got "${arg}")`);

  // Validate everything the user typed before touching the network.
  const models = v.model ?? [];
  const profile = parseProfileFlags(v as Record<string, string | undefined>);
  const listings = command === "register" || command === "list-model" ? models.map(parseModelListing) : [];
  if (command === "list-model" && listings.length === 0) throw new InputError("list-model needs --model name:prompt:completion, e.g. --model llama-3.1-8b-instruct:0.20:0.60");
  const priceSpecs = command === "set-price" ? models.map(parsePriceSpec) : [];
  if (command === "set-price" && priceSpecs.length === 0) throw new InputError("set-price needs --model name:prompt:completion, e.g. --model llama-3.1-8b-instruct:0.25:0.70");
  const names = command === "delist" ? models.map(parseModelName) : [];
  if (command === "delist" && names.length === 0) throw new InputError("delist needs --model <name>");
  if (models.length && !["register", "list-model", "set-price", "delist"].includes(command)) throw new InputError(`${command} takes no --model`);
  const amount = ["stake", "unbond", "rebond"].includes(command) ? parseUsdcArg(arg) : 0n;
  const worker: Address | undefined = command.endsWith("-worker") ? parseAddressArg(arg, "worker address") : undefined;
  if (v.provider !== undefined && command !== "status") throw new InputError("--provider is only for status (other commands act for the key's account)");

  const rpc = rpcUrlSchema.safeParse(v["rpc-url"] ?? process.env.TOLLGATE_RPC_URL);
  if (!rpc.success) throw new InputError(`--rpc-url: ${rpc.error.issues.map((i) => i.message).join("; ")}`);
  const deployment = readDeployment(v.deployment ?? process.env.TOLLGATE_DEPLOYMENT);
  const keystore = v.keystore ?? process.env.TOLLGATE_PROVIDER_KEYSTORE;

  // Only now load viem's clients, the ABIs and the commands (bad input is answered quickly).
  const { connect, withSigner } = await import("../provider/chain.ts");
  const cmd = await import("../provider/commands.ts");
  const { status } = await import("../provider/status.ts");

  if (command === "status" && v.provider !== undefined) {
    const provider = parseAddressArg(v.provider, "--provider");
    const c = await connect(rpc.data, deployment);
    return run(c, () => status(c, provider, out));
  }
  const key = await loadProviderKey(process.env, keystore);
  const c = await connect(rpc.data, deployment);
  const s = withSigner(c, key, rpc.data);

  return run(c, async () => {
    switch (command) {
      case "register":
        return cmd.register(s, profile, listings, out);
      case "update-profile":
        return cmd.updateProfile(s, profile, out);
      case "list-model":
        for (const l of listings) await cmd.listModel(s, l, out);
        return;
      case "set-price":
        for (const p of priceSpecs) await cmd.setPrice(s, p, out);
        return;
      case "delist":
        for (const n of names) await cmd.delist(s, n, out);
        return;
      case "authorize-worker":
        return cmd.authorizeWorker(s, worker!, out);
      case "revoke-worker":
        return cmd.revokeWorker(s, worker!, out);
      case "stake":
        return cmd.stake(s, amount, out);
      case "unbond":
        return cmd.unbond(s, amount, out);
      case "rebond":
        return cmd.rebond(s, amount, out);
      case "withdraw":
        return cmd.withdraw(s, out);
      case "claim":
        return cmd.claim(s, out);
      case "unjail":
        return cmd.unjail(s, out);
      case "status":
        return status(c, s.account.address, out);
    }
  });
}

async function run(c: Chain_, fn: () => Promise<void>): Promise<void> {
  const { chainNow } = await import("../provider/chain.ts");
  const { explainFailure } = await import("../provider/errors.ts");
  try {
    await fn();
  } catch (err) {
    let now = BigInt(Math.floor(Date.now() / 1000));
    try {
      now = await chainNow(c);
    } catch {
      // keep the wall clock
    }
    fail(explainFailure(err, now), 1);
  }
}

main().catch(async (err: unknown) => {
  if (err instanceof InputError) fail(err.message, 2);
  const { explainFailure } = await import("../provider/errors.ts");
  fail(explainFailure(err, BigInt(Math.floor(Date.now() / 1000))), 1);
});
