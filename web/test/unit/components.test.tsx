import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { createElement, type ReactNode } from "react";
import { ConfigContext } from "../../src/lib/config-context.tsx";
import type { AppConfig } from "../../src/config.ts";
import { testConfig } from "./fixtures.ts";
import { ReportForm } from "../../src/pages/help/ReportForm.tsx";
import { TxStatus } from "../../src/components/TxStatus.tsx";
import { AmountInput } from "../../src/components/AmountInput.tsx";
import { NewKey } from "../../src/pages/customer/Keys.tsx";
import { LineChart } from "../../src/components/Chart.tsx";

const cfg = (explorerUrl: string | null): AppConfig =>
  testConfig({ chainId: 8453, chainName: "Base", gatewayUrl: "https://api.tollgate.example", graphqlUrl: "https://index.tollgate.example/graphql", explorerUrl });
const withConfig = (c: AppConfig, node: ReactNode) => createElement(ConfigContext.Provider, { value: c }, node);
const HASH = `0x${"ab".repeat(32)}` as const;

describe("help: report form", () => {
  const fill = (label: RegExp, value: string) => fireEvent.change(screen.getByLabelText(label), { target: { value } });

  it("refuses a report that contains an API key and says why", () => {
    render(<ReportForm />);
    fill(/Request id/, "req_123");
    fill(/^Time/, "2026-12-01 14:05 UTC");
    fill(/What you expected/, "an answer");
    fill(/What happened/, "401, here is my key tg_live_abcdefghijklmnop1234");
    expect(screen.getByTestId("secret-warning").textContent).toMatch(/Tollgate API key.*revoke/);
    expect((screen.getByRole("button", { name: "Prepare report" }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("prepares a report with the minimum useful context", () => {
    render(<ReportForm />);
    fill(/Request id/, "req_123");
    fill(/^Time/, "2026-12-01 14:05 UTC");
    fill(/^Model/, "llama-3.1-8b-instruct");
    fill(/What you expected/, "an answer");
    fill(/What happened/, "503 no_healthy_worker");
    fireEvent.click(screen.getByRole("button", { name: "Prepare report" }));
    const ready = screen.getByTestId("report-ready").textContent!;
    expect(ready).toMatch(/Request id: req_123/);
    expect(ready).toMatch(/Model: llama-3.1-8b-instruct/);
    expect(ready).toMatch(/What happened: 503 no_healthy_worker/);
  });

  it("keeps receipt ids out of the free text but accepts them in their own field", () => {
    render(<ReportForm />);
    fill(/Receipt id/, HASH);
    fill(/^Time/, "now");
    fill(/What you expected/, "x");
    fill(/What happened/, "y");
    expect(screen.queryByTestId("secret-warning")).toBeNull();
    fill(/What happened/, `see ${HASH}`);
    expect(screen.getByTestId("secret-warning").textContent).toMatch(/private key/);
  });
});

describe("transaction status", () => {
  it("links a pending transaction to Basescan on Base", () => {
    render(withConfig(cfg("https://basescan.org"), <TxStatus state={{ phase: "pending", hash: HASH, label: "Top up" }} />));
    expect(screen.getByRole("status").textContent).toMatch(/Top up: Pending on-chain/);
    expect(screen.getByRole("link", { name: /view transaction/ }).getAttribute("href")).toBe(`https://basescan.org/tx/${HASH}`);
  });
  it("shows a failure's reason in words, and no link without an explorer", () => {
    render(withConfig(cfg(null), <TxStatus state={{ phase: "failed", hash: HASH, label: "Claim", message: "Nothing has vested yet." }} />));
    expect(screen.getByRole("status").textContent).toMatch(/Claim: Failed — Nothing has vested yet\./);
    expect(screen.queryByRole("link")).toBeNull();
  });
});

describe("amount input", () => {
  it("takes USDC and flags what is not an amount", () => {
    const onChange = vi.fn();
    const { rerender } = render(<AmountInput label="Amount" value="" onChange={onChange} />);
    fireEvent.change(screen.getByLabelText(/Amount/), { target: { value: "1.5" } });
    expect(onChange).toHaveBeenCalledWith("1.5");
    rerender(<AmountInput label="Amount" value="1.1234567" onChange={onChange} />);
    expect(screen.getByRole("alert").textContent).toMatch(/at most 6 decimals/);
  });
});

describe("new API key", () => {
  it("shows the key once with copy, curl and openai SDK snippets", async () => {
    const writeText = vi.fn(() => Promise.resolve());
    Object.assign(navigator, { clipboard: { writeText } });
    const key = "tg_test_0123456789abcdef";
    render(<NewKey keyText={key} gatewayUrl="https://api.tollgate.example" onDone={() => {}} />);
    expect(screen.getByTestId("new-key-value").textContent).toBe(key);
    const text = screen.getByTestId("new-key").textContent!;
    expect(text).toMatch(/shown only once/);
    expect(text).toContain(`curl https://api.tollgate.example/v1/chat/completions`);
    expect(text).toContain(`OpenAI(base_url="https://api.tollgate.example/v1", api_key="${key}")`);
    fireEvent.click(screen.getByRole("button", { name: "Copy" }));
    expect(writeText).toHaveBeenCalledWith(key);
    await waitFor(() => screen.getByRole("button", { name: "Copied" }));
  });
});

describe("charts", () => {
  it("draws one bar per point and says when there is no data", () => {
    const { container, rerender } = render(<LineChart bars yLabel="Spend" series={[{ name: "spend", color: "#000", points: [{ x: 0, y: 1 }, { x: 86400, y: 3 }] }]} />);
    expect(container.querySelectorAll("rect")).toHaveLength(2);
    rerender(<LineChart yLabel="Spend" series={[]} />);
    expect(screen.getByText("No data yet.")).toBeTruthy();
  });
});
