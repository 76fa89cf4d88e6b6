/**
 * `npm start` as a person runs it (the CLI as a child process): a busy default port is replaced and
 * said so; the printed openai snippet works as printed; devnet.json is valid and loadable; Ctrl-C
 * stops every process it started; and if the CLI itself is killed, its watchdog stops them too.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadDeployment } from "@tollgate/protocol";
import OpenAI from "openai";
import { settlementAbi } from "@tollgate/protocol";
import { chainClients, MAIN_MODEL, readManifest, type DevnetManifest } from "@tollgate/devnet";
import { existsSync } from "node:fs";
import { REPO_ROOT, waitFor } from "./helpers.ts";

/** The dApp is served from its build; without one, npm start would build it first (slow): leave it out. */
const WEB_BUILT = existsSync(join(REPO_ROOT, "web/dist/index.html"));

type Run = { proc: ChildProcess; out: () => string; dir: string; manifestPath: string };
const runs: Run[] = [];

function startCli(args: string[], reuse?: string): Run {
  const dir = reuse ?? mkdtempSync(join(tmpdir(), "tollgate-e2e-cli-"));
  const manifestPath = join(dir, "devnet.json");
  const proc = spawn(process.execPath, [join(REPO_ROOT, "devnet/src/cli.ts"), "--data-dir", join(dir, "data"), "--manifest", manifestPath, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: "", REDIS_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  proc.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const run = { proc, out: () => out, dir, manifestPath };
  runs.push(run);
  return run;
}

async function ready(run: Run): Promise<DevnetManifest> {
  await waitFor(() => {
    if (run.proc.exitCode !== null) throw new Error(`npm start exited ${run.proc.exitCode}:\n${run.out()}`);
    return run.out().includes("Ctrl-C stops every process");
  }, 120_000, "npm start to print its summary");
  return readManifest(run.manifestPath);
}

async function refuses(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return false;
  } catch {
    return true;
  }
}

/** Every URL the devnet served. */
function urls(m: DevnetManifest): string[] {
  return [m.rpcUrl, ...m.gatewayUrls.map((u) => `${u}/status`), ...m.providers.flatMap((p) => p.workerUrls), ...(m.graphqlUrl ? [m.graphqlUrl] : []), ...(m.webUrl ? [m.webUrl] : [])];
}

function occupy(): Promise<Server> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => resolve(srv));
  });
}

after(async () => {
  for (const r of runs) if (r.proc.exitCode === null) r.proc.kill("SIGKILL");
  for (const dir of new Set(runs.map((r) => r.dir))) rmSync(dir, { recursive: true, force: true });
});

describe("npm start", () => {
  it("takes a free port when the chain's port is busy, says so, prints a working openai snippet, and Ctrl-C stops everything", async () => {
    const busy = await occupy();
    const port = (busy.address() as AddressInfo).port;
    try {
      const run = startCli(["--port-base", String(port), ...(WEB_BUILT ? [] : ["--no-web"])]);
      if (!WEB_BUILT) process.stdout.write("# dApp checks skipped: web/dist is not built (npm run build:web)\n");
      const m = await ready(run);
      assert.match(run.out(), new RegExp(`port ${port} is busy: chain uses \\d+ instead`));
      assert.notEqual(new URL(m.rpcUrl).port, String(port));
      assert.deepEqual(loadDeployment(run.manifestPath), m.deployment, "loadDeployment reads devnet.json");
      assert.match(JSON.stringify(m), /DEVNET ONLY/);
      assert.ok(m.readyMs < 60_000, `ready in ${m.readyMs} ms`);

      // The snippet exactly as printed, run with node: it streams an answer with the printed key.
      const printed = run.out().split("\n");
      const from = printed.findIndex((l) => l.includes('import OpenAI from "openai"'));
      const to = printed.findIndex((l, i) => i > from && l.includes("process.stdout.write"));
      const snippet = printed.slice(from, to + 1).join("\n");
      assert.ok(snippet.includes(m.apiKey));
      const answer = await new Promise<{ code: number | null; text: string }>((resolve) => {
        const p = spawn(process.execPath, ["--input-type=module", "-e", snippet], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
        let text = "";
        p.stdout!.on("data", (c: Buffer) => (text += c.toString()));
        p.stderr!.on("data", (c: Buffer) => (text += c.toString()));
        p.once("exit", (code) => resolve({ code, text }));
      });
      assert.equal(answer.code, 0, answer.text);
      assert.ok(answer.text.trim().length > 0, "the snippet printed a streamed answer");

      if (WEB_BUILT && m.webUrl) {
        const page = await fetch(m.webUrl);
        assert.equal(page.status, 200);
        assert.match(page.headers.get("content-type") ?? "", /text\/html/);
        const cfg = (await (await fetch(`${m.webUrl}/tollgate.config.json`)).json()) as { gatewayUrl: string; graphqlUrl: string; contracts: { settlement: string } };
        assert.equal(cfg.gatewayUrl, m.gatewayUrl, "the dApp talks to this devnet's gateway");
        assert.equal(cfg.graphqlUrl, m.graphqlUrl);
        assert.equal(cfg.contracts.settlement.toLowerCase(), m.deployment.contracts.settlement.toLowerCase());
      }
      for (const u of urls(m)) assert.equal(await refuses(u), false, `${u} is up`);
      run.proc.kill("SIGINT");
      const code = await new Promise<number | null>((resolve) => run.proc.once("exit", (c) => resolve(c)));
      assert.equal(code, 0);
      assert.match(run.out(), /stopped\./);
      for (const u of urls(m)) assert.equal(await refuses(u), true, `${u} still answers after Ctrl-C`);
    } finally {
      busy.close();
    }
  });

  it("if npm start is killed outright, its watchdog stops every process it started", async () => {
    const run = startCli(["--port-base", "0", "--no-web", "--no-indexer"]);
    const m = await ready(run);
    run.proc.kill("SIGKILL");
    await waitFor(async () => {
      for (const u of urls(m)) if (!(await refuses(u))) return false;
      return true;
    }, 20_000, "every devnet service to stop after its parent was killed");
  });

  it("--keep resumes the chain, the contracts, the gateway's data and the API key", async () => {
    const first = startCli(["--keep", "--port-base", "0", "--no-web", "--no-indexer"]);
    const m1 = await ready(first);
    const client = new OpenAI({ baseURL: `${m1.gatewayUrl}/v1`, apiKey: m1.apiKey, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: MAIN_MODEL, messages: [{ role: "user", content: "remember me" }], max_tokens: 10 });
    assert.ok(answer.usage!.completion_tokens > 0);
    const c1 = chainClients(m1.rpcUrl, m1.chainId).publicClient;
    const escrow = async (pc: typeof c1, m: DevnetManifest) =>
      (await pc.readContract({ address: m.deployment.contracts.settlement, abi: settlementAbi, functionName: "accountOf", args: [m.accounts.customer.address] }))[0];
    // Wait for the request's batch to settle, so the kept chain holds a charge.
    const deposited = 500_000_000n;
    await waitFor(async () => (await escrow(c1, m1)) < deposited, 30_000, "the demo customer's first charge");
    const balance = await escrow(c1, m1);
    const height = await c1.getBlockNumber();
    first.proc.kill("SIGINT");
    assert.equal(await new Promise<number | null>((resolve) => first.proc.once("exit", (code) => resolve(code))), 0);

    const second = startCli(["--keep", "--port-base", "0", "--no-web", "--no-indexer"], first.dir);
    const m2 = await ready(second);
    assert.match(second.out(), /\(kept\)/);
    assert.match(second.out(), /contracts\s+kept from/);
    assert.deepEqual(m2.deployment, m1.deployment, "same contracts");
    assert.equal(m2.apiKey, m1.apiKey, "the same API key still works");
    const c2 = chainClients(m2.rpcUrl, m2.chainId).publicClient;
    assert.ok((await c2.getBlockNumber()) >= height, "the chain resumed where it stopped");
    assert.equal(await escrow(c2, m2), balance, "the customer's balance survived the restart");
    const again = new OpenAI({ baseURL: `${m2.gatewayUrl}/v1`, apiKey: m2.apiKey, maxRetries: 0 });
    const answer2 = await again.chat.completions.create({ model: MAIN_MODEL, messages: [{ role: "user", content: "still here?" }], max_tokens: 10 });
    assert.ok(answer2.usage!.completion_tokens > 0);
    second.proc.kill("SIGINT");
    await new Promise((resolve) => second.proc.once("exit", resolve));
  });
});
