import { describe, expect, it } from "vitest";
import { encodeErrorResult, BaseError, ContractFunctionRevertedError } from "viem";
import { settlementAbi } from "@tollgate/protocol/generated/abis";
import { parseConfig } from "../../src/config.ts";
import { DEVNET_CONFIG } from "./fixtures.ts";
import { findSecrets } from "../../src/lib/secrets.ts";
import { formatAmount, parseAmount } from "../../src/lib/usdc.ts";
import { describeError } from "../../src/lib/errors.ts";

const good = DEVNET_CONFIG;

describe("tollgate.config.json", () => {
  it("accepts a complete config", () => {
    expect(parseConfig(good).chainId).toBe(31337);
  });
  it("names every wrong field", () => {
    expect(() => parseConfig({ ...good, contracts: { ...good.contracts, settlement: "0x123" }, gatewayUrl: "nope" })).toThrow(/contracts\.settlement.*gatewayUrl|gatewayUrl.*contracts\.settlement/);
  });
  it("links Basescan on Base networks when the file names no explorer, and nothing when it says null", () => {
    const { explorerUrl: _, ...noExplorer } = good;
    expect(parseConfig({ ...noExplorer, chainId: 84532 }).explorerUrl).toBe("https://sepolia.basescan.org");
    expect(parseConfig({ ...noExplorer, chainId: 8453 }).explorerUrl).toBe("https://basescan.org");
    expect(parseConfig(noExplorer).explorerUrl).toBeNull();
    expect(parseConfig({ ...good, chainId: 84532 }).explorerUrl).toBeNull();
  });
  it("says what a contract address must look like", () => {
    expect(() => parseConfig({ ...good, contracts: { ...good.contracts, usdc: "0x123" } })).toThrow("contracts.usdc: must be a 0x-prefixed 20-byte address");
  });
});

describe("USDC amounts", () => {
  it("shows USDC, not base units", () => {
    expect(formatAmount(1_234_567_890n)).toBe("1,234.56789");
    expect(formatAmount(5_000_000n)).toBe("5.00");
  });
  it("parses what people type and refuses the rest", () => {
    expect(parseAmount("12.5")).toEqual({ units: 12_500_000n });
    expect(parseAmount("1,000")).toEqual({ units: 1_000_000_000n });
    expect(parseAmount("0.0000001")).toHaveProperty("error");
    expect(parseAmount("0")).toHaveProperty("error");
    expect(parseAmount("ten")).toHaveProperty("error");
  });
});

describe("secret detection in the help form", () => {
  it("refuses API keys, private keys, seed phrases and tokens", () => {
    expect(findSecrets("my key is tg_live_AbCdEf0123456789xyz")[0]?.kind).toMatch(/API key/);
    expect(findSecrets(`pk 0x${"ab".repeat(32)}`)[0]?.kind).toMatch(/private key/);
    expect(findSecrets("abandon ability able about above absent absorb abstract absurd abuse access accident")[0]?.kind).toMatch(/seed phrase/);
    expect(findSecrets("Authorization: Bearer sk-proj-aaaaaaaaaaaaaaaaaaaaaaaa").length).toBeGreaterThan(0);
    expect(findSecrets("card 4111 1111 1111 1111")[0]?.kind).toMatch(/card/);
  });
  it("lets an ordinary report through", () => {
    expect(findSecrets("Request 7f3c2a10-9b1e-4c55-a1a2-0c9d2b5e8f11 at 14:05 UTC on llama-3.1-8b returned 503 no_healthy_worker; I expected an answer within a few seconds.")).toEqual([]);
  });
});

describe("errors in words", () => {
  it("decodes a contract's custom error into a sentence", () => {
    const data = encodeErrorResult({ abi: settlementAbi, errorName: "InsufficientAvailable", args: [5_000_000n, 1_000_000n] });
    const err = new BaseError("call failed", { cause: new ContractFunctionRevertedError({ abi: settlementAbi, data, functionName: "requestWithdrawal" }) });
    expect(describeError(err)).toBe("Your available balance is 1.00 USDC; you asked for 5.00 USDC.");
  });
  it("decodes raw revert data found deeper in the error chain", () => {
    const data = encodeErrorResult({ abi: settlementAbi, errorName: "NothingToClaim" });
    const inner = Object.assign(new BaseError("execution reverted"), { data });
    expect(describeError(new BaseError("estimateGas failed", { cause: inner }))).toMatch(/Nothing has vested yet/);
  });
});
