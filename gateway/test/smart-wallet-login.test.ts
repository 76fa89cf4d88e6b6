/**
 * Sign-In with Ethereum from smart wallets: a deployed ERC-1271 wallet (a test-only contract on the
 * real anvil chain) and a counterfactual one (ERC-6492: not deployed yet, the signature carries its
 * factory call). Each gets a session and can create an API key; a signature by anyone else is refused.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeFunctionData, keccak256, serializeErc6492Signature, toHex, type Abi, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { startEnv, startGateway, type Env } from "./helpers/stack.ts";
import type { Gateway } from "../src/server.ts";

const ARTIFACT = resolve(import.meta.dirname, "../../", process.env.TOLLGATE_ARTIFACTS ?? "contracts/artifacts", "contracts/src/test-only/TestSmartWallet.sol");
const factoryArtifact = JSON.parse(readFileSync(`${ARTIFACT}/TestSmartWalletFactory.json`, "utf8")) as { abi: Abi; bytecode: Hex };

let env: Env;
let gw: Gateway;
let url: string;
let factory: Address;
const owner = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());

before(async () => {
  env = await startEnv({ providers: 0 });
  ({ gw, url } = await startGateway(env));
  const hash = await env.deployer.deployContract({ abi: factoryArtifact.abi, bytecode: factoryArtifact.bytecode, args: [], chain: env.deployer.chain, account: env.deployer.account });
  factory = (await env.chain.publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
});

after(async () => {
  await gw?.close();
  await env?.stop();
});

const salt = (s: string) => keccak256(toHex(s));
const walletOf = (s: string) => env.chain.publicClient.readContract({ address: factory, abi: factoryArtifact.abi, functionName: "addressOf", args: [owner.address, salt(s)] }) as Promise<Address>;

async function login(address: Address, sign: (message: string) => Promise<Hex>): Promise<Response> {
  const { nonce } = (await (await fetch(`${url}/v1/auth/nonce`)).json()) as { nonce: string };
  const message = createSiweMessage({ domain: "gateway.test", address, statement: "Sign in to Tollgate", uri: "https://gateway.test", version: "1", chainId: env.chain.chainId, nonce, expirationTime: new Date(Date.now() + 600_000) });
  return fetch(`${url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message, signature: await sign(message) }) });
}

async function createKey(session: string): Promise<number> {
  const res = await fetch(`${url}/v1/keys`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${session}` }, body: JSON.stringify({ name: "from a smart wallet" }) });
  await res.text();
  return res.status;
}

describe("Sign-In with Ethereum from smart wallets", () => {
  it("a deployed ERC-1271 wallet signs in with its owner's signature and creates a key", async () => {
    const hash = await env.deployer.writeContract({ address: factory, abi: factoryArtifact.abi, functionName: "deploy", args: [owner.address, salt("deployed")], chain: env.deployer.chain, account: env.deployer.account });
    await env.chain.publicClient.waitForTransactionReceipt({ hash });
    const wallet = await walletOf("deployed");
    assert.ok((await env.chain.publicClient.getCode({ address: wallet }))?.length, "the wallet is deployed");
    const res = await login(wallet, (message) => owner.signMessage({ message }));
    assert.equal(res.status, 200);
    const body = (await res.json()) as { session: string; address: string };
    assert.equal(body.address.toLowerCase(), wallet.toLowerCase(), "the session belongs to the wallet, not its owner");
    assert.equal(await createKey(body.session), 201);
  });

  it("the same wallet refuses a signature by anyone but its owner", async () => {
    const res = await login(await walletOf("deployed"), (message) => stranger.signMessage({ message }));
    assert.equal(res.status, 401);
    const body = (await res.json()) as { error: { type: string } };
    assert.ok(body.error, "an OpenAI-shaped error");
  });

  it("a counterfactual wallet (ERC-6492) signs in before it is deployed", async () => {
    const wallet = await walletOf("counterfactual");
    assert.equal(await env.chain.publicClient.getCode({ address: wallet }), undefined, "not deployed");
    const res = await login(wallet, async (message) =>
      serializeErc6492Signature({
        address: factory,
        data: encodeFunctionData({ abi: factoryArtifact.abi, functionName: "deploy", args: [owner.address, salt("counterfactual")] }),
        signature: await owner.signMessage({ message }),
      }),
    );
    assert.equal(res.status, 200);
    const body = (await res.json()) as { session: string; address: string };
    assert.equal(body.address.toLowerCase(), wallet.toLowerCase());
    assert.equal(await createKey(body.session), 201);
    assert.equal(await env.chain.publicClient.getCode({ address: wallet }), undefined, "verifying did not deploy it");
  });
});
