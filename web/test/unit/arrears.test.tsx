import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { createConfig, http, WagmiProvider } from "wagmi";
import { mock } from "wagmi/connectors";
import { connect } from "wagmi/actions";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { BaseError, ContractFunctionRevertedError, decodeFunctionData, encodeAbiParameters, encodeErrorResult, encodeEventTopics, encodeFunctionResult, HttpRequestError, numberToHex, type Address, type Hex } from "viem";
import { ConfigContext } from "../../src/lib/config-context.tsx";
import { chainOf } from "../../src/chain/wagmi.ts";
import { abis } from "../../src/lib/abis.ts";
import { describeError } from "../../src/lib/errors.ts";
import { arrearsAfter, collectArgs, describeCollection, describePreview, owedTo, type ArrearsItem, type CollectPreview } from "../../src/lib/arrears.ts";
import { ArrearsTable, CollectButton } from "../../src/components/Arrears.tsx";
import { ArrearsDue } from "../../src/pages/customer/Arrears.tsx";
import { SlaReportTable, type SlaReportRow } from "../../src/pages/auditor/SlaReports.tsx";
import { testConfig } from "./fixtures.ts";

const USDC = 1_000_000n;
const KEY: Hex = `0x${"ab".repeat(32)}`;
const ME: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const me = ME.toLowerCase();
const OTHER = `0x${"c2".repeat(20)}`;
const PROVIDER = `0x${"b0".repeat(20)}`;
const WINDOW_START = 1_796_083_200;

/** A report as GraphQL serves it: 500 USDC still owed, 300 to me and 200 to another customer. */
const item = (over: Partial<ArrearsItem> = {}): ArrearsItem => ({
  reportKey: KEY, provider: PROVIDER, owed: String(500n * USDC), customers: [me, OTHER], amounts: [String(300n * USDC), String(200n * USDC)],
  report: { windowStart: WINDOW_START, windowEnd: WINDOW_START + 3_600, creditOwed: String(1_000n * USDC) }, ...over,
});

/** The ArrearsSet log a collection emits, as it sits in a transaction receipt. */
function arrearsSetLog(customers: string[], amounts: bigint[], key: Hex = KEY) {
  const owed = amounts.reduce((a, b) => a + b, 0n);
  return {
    address: testConfig().contracts.slaCredits,
    topics: encodeEventTopics({ abi: abis.sla, eventName: "ArrearsSet", args: { reportKey: key, provider: PROVIDER as Address } }),
    data: encodeAbiParameters([{ type: "uint256" }, { type: "address[]" }, { type: "uint256[]" }], [owed, customers as Address[], amounts]),
    blockHash: `0x${"11".repeat(32)}`, blockNumber: "0x2", logIndex: "0x0", transactionHash: `0x${"22".repeat(32)}`, transactionIndex: "0x0", removed: false,
  };
}

describe("arrears: what a collection did, in words", () => {
  const before = item();
  it("a partial collection tells the customer its own share and what is still owed to it", () => {
    const after = { customers: [me, OTHER], amounts: [180n * USDC, 120n * USDC] };
    expect(describeCollection(before, after, me)).toBe("You received 120.00 USDC (200.00 USDC to all customers of this report); 180.00 USDC is still owed to you.");
    expect(describeCollection(before, after)).toBe("Paid 200.00 USDC to customers; 300.00 USDC is still owed on this report.");
  });
  it("a collection that pays the report off says so", () => {
    const after = { customers: [], amounts: [] };
    expect(describeCollection(before, after, me)).toBe("You received 300.00 USDC (500.00 USDC to all customers of this report); nothing more is owed to you on it.");
    expect(describeCollection(before, after)).toBe("Paid 500.00 USDC to customers; this report is paid off.");
  });
  it("a collection without free stake says nothing was paid", () => {
    expect(describeCollection(before, { customers: before.customers, amounts: before.amounts }, me)).toBe("Nothing was paid: the provider has no free stake yet. 500.00 USDC is still owed on this report.");
  });
  it("reads the report's new lists from the receipt's ArrearsSet, and the amount owed to one customer in any case", () => {
    const log = arrearsSetLog([me, OTHER], [180n * USDC, 120n * USDC]);
    const after = arrearsAfter({ logs: [log] } as never, KEY)!;
    expect(after.amounts).toEqual([180n * USDC, 120n * USDC]);
    expect(owedTo(after, ME)).toBe(180n * USDC);
    expect(arrearsAfter({ logs: [arrearsSetLog([OTHER], [1n], `0x${"cd".repeat(32)}`)] } as never, KEY)).toBeNull();
  });
  it("passes the lists to collectArrears exactly as GraphQL gave them", () => {
    expect(collectArgs(item())).toEqual([KEY, [me, OTHER], [300n * USDC, 200n * USDC]]);
  });
});

/** collectArrears refused with `errorName`, as viem reports it. */
const revert = (errorName: "NoArrears" | "ArrearsMismatch") => {
  const data = encodeErrorResult({ abi: abis.sla, errorName, args: [KEY] });
  return new BaseError("call failed", { cause: new ContractFunctionRevertedError({ abi: abis.sla, data, functionName: "collectArrears" }) });
};

const button = () => screen.getByRole("button", { name: "Collect now" }) as HTMLButtonElement;
/** The text that describes `el` to a screen reader (aria-describedby), the preview shown beside the button. */
const describedAs = (el: HTMLElement) => document.getElementById(el.getAttribute("aria-describedby")!)?.textContent;

describe("arrears: the contract's refusals in words", () => {
  it("already paid", () => {
    expect(describeError(revert("NoArrears"))).toBe("Nothing is owed on this SLA report any more: its arrears are already paid.");
  });
  it("lists changed since the page read them", () => {
    expect(describeError(revert("ArrearsMismatch"))).toMatch(/changed since the page read it.*refresh and collect again/);
  });
});

describe("arrears: what a collection would pay, from its simulation", () => {
  it("says what it would pay, and the customer's own share (the contract's pro rata)", () => {
    expect(describePreview({ paid: 50n * USDC }, item(), me)).toEqual({ text: "Would pay 50.00 USDC now (30.00 USDC to you).", canCollect: true });
    expect(describePreview({ paid: 50n * USDC }, item())).toEqual({ text: "Would pay 50.00 USDC now.", canCollect: true });
  });
  it("says nothing can be collected until there is free stake, and collecting is not offered", () => {
    expect(describePreview({ paid: 0n }, item(), me)).toEqual({ text: "Nothing to collect until the provider stakes more.", canCollect: false });
    expect(describePreview({ paid: 0n }, item())).toEqual({ text: "Nothing to collect until you stake more.", canCollect: false });
  });
  it("gives a refusal in words and does not offer collecting", () => {
    expect(describePreview({ error: revert("NoArrears") }, item(), me)).toEqual({ text: "Nothing is owed on this SLA report any more: its arrears are already paid.", canCollect: false });
    expect(describePreview({ error: revert("ArrearsMismatch") }, item()).canCollect).toBe(false);
  });
  it("still offers collecting when the node could not be asked, and says so", () => {
    const down = new HttpRequestError({ url: testConfig().rpcUrl, status: 502 });
    expect(describePreview({ error: down }, item())).toEqual({ text: "Could not check what collecting would pay now (HTTP request failed.).", canCollect: true });
  });
  it("does not offer collecting before the simulation answers", () => {
    expect(describePreview({ pending: true }, item())).toEqual({ text: "Checking what collecting would pay…", canCollect: false });
  });
});

describe("arrears table", () => {
  const collectCell = (preview: CollectPreview, busy = false, onCollect = vi.fn()) => render(<CollectButton preview={preview} busy={busy} onCollect={onCollect} />);

  it("shows the customer what it is owed on each report, and fills the last cell per report", () => {
    const second = item({ reportKey: `0x${"cd".repeat(32)}`, owed: String(100n * USDC), customers: [OTHER, me], amounts: [String(40n * USDC), String(60n * USDC)] });
    render(<ArrearsTable rows={[item(), second]} customer={me} collect={(a) => `collect ${a.owed}`} />);
    const [r1, r2] = screen.getAllByTestId("arrears-row");
    expect(within(r1!).getAllByRole("cell").map((c) => c.textContent).slice(1, 5)).toEqual(["0xb0b0b0b0…", "300.00 USDC", "500.00 USDC", `collect ${500n * USDC}`]);
    expect(within(r2!).getAllByRole("cell").map((c) => c.textContent).slice(2, 5)).toEqual(["60.00 USDC", "100.00 USDC", `collect ${100n * USDC}`]);
  });
  it("shows a provider how many customers each report owes", () => {
    render(<ArrearsTable rows={[item()]} collect={() => null} />);
    expect(screen.queryByRole("columnheader", { name: "Owed to you" })).toBeNull();
    expect(within(screen.getByTestId("arrears-row")).getAllByRole("cell")[1]!.textContent).toBe("2");
  });
  it("Collect now says what it would pay, and collects", () => {
    const onCollect = vi.fn();
    collectCell({ text: "Would pay 50.00 USDC now.", canCollect: true }, false, onCollect);
    expect(button().disabled).toBe(false);
    expect(describedAs(button())).toBe("Would pay 50.00 USDC now.");
    fireEvent.click(button());
    expect(onCollect).toHaveBeenCalledOnce();
  });
  it("Collect now is disabled, with the reason beside it, when collecting would pay nothing", () => {
    collectCell({ text: "Nothing to collect until the provider stakes more.", canCollect: false });
    expect(button().disabled).toBe(true);
    expect(describedAs(button())).toBe("Nothing to collect until the provider stakes more.");
  });
  it("Collect now is disabled while a transaction is in flight", () => {
    collectCell({ text: "Would pay 50.00 USDC now.", canCollect: true }, true);
    expect(button().disabled).toBe(true);
  });
});

describe("auditor: SLA reports with their arrears", () => {
  const row = (over: Partial<SlaReportRow>): SlaReportRow => ({
    reportKey: KEY, provider: PROVIDER, windowStart: WINDOW_START, windowEnd: WINDOW_START + 3_600, availabilityPpm: 990_000, p95TtftMs: 200,
    creditOwed: String(1_000n * USDC), creditPaid: String(500n * USDC), arrears: null, ...over,
  });
  it("says per report whether arrears are open, paid off, or never arose", () => {
    render(<SlaReportTable rows={[
      row({ reportKey: "0x01", arrears: { owed: String(500n * USDC), customers: [me, OTHER] } }),
      row({ reportKey: "0x02", arrears: { owed: "0", customers: [] } }),
      row({ reportKey: "0x03", creditPaid: String(1_000n * USDC) }),
    ]} />);
    expect(screen.getAllByTestId("sla-report-arrears").map((c) => c.textContent)).toEqual(["500.00 USDC to 2 customers", "paid off", "—"]);
  });
});

describe("customer page: SLA credit still owed, collected from the page", () => {
  const cfg = testConfig();
  afterEach(() => vi.unstubAllGlobals());

  /**
   * The indexer and the chain behind the page: GraphQL answers `served`; a simulated collectArrears
   * returns `wouldPay` (or reverts with it, given as revert data), and `wouldPayAfter` once a
   * collection was sent; the wallet's RPC records the calls it simulates and what it is asked to send.
   */
  function backend(opts: { served: ArrearsItem[]; wouldPay: bigint | Hex; wouldPayAfter?: bigint; sendError?: Hex; logs?: ReturnType<typeof arrearsSetLog>[] }) {
    const sent: Hex[] = [];
    const simulated: { from: string; data: Hex }[] = [];
    const listed = { times: 0 };
    const rpc = (method: string, params: unknown[]): unknown => {
      if (method === "eth_chainId") return numberToHex(cfg.chainId);
      if (method === "eth_blockNumber") return "0x2";
      if (method === "eth_call") {
        simulated.push(params[0] as { from: string; data: Hex });
        const answer = sent.length > 0 && opts.wouldPayAfter !== undefined ? opts.wouldPayAfter : opts.wouldPay;
        if (typeof answer === "string") throw Object.assign(new Error("execution reverted"), { rpc: { code: 3, message: "execution reverted", data: answer } });
        return encodeFunctionResult({ abi: abis.sla, functionName: "collectArrears", result: answer });
      }
      if (method === "eth_sendTransaction") {
        if (opts.sendError) throw Object.assign(new Error("execution reverted"), { rpc: { code: 3, message: "execution reverted", data: opts.sendError } });
        sent.push((params[0] as { data: Hex }).data);
        return `0x${"22".repeat(32)}`;
      }
      if (method === "eth_getTransactionReceipt") {
        return {
          transactionHash: `0x${"22".repeat(32)}`, transactionIndex: "0x0", blockHash: `0x${"11".repeat(32)}`, blockNumber: "0x2", from: me, to: cfg.contracts.slaCredits,
          cumulativeGasUsed: "0x1", gasUsed: "0x1", effectiveGasPrice: "0x1", contractAddress: null, logs: opts.logs ?? [], logsBloom: `0x${"0".repeat(512)}`, status: "0x1", type: "0x2",
        };
      }
      throw new Error(`unexpected ${method}`);
    };
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body)) as { method?: string; params?: unknown[]; id?: number; query?: string };
      if (url === cfg.graphqlUrl) {
        listed.times++;
        const due = opts.served.reduce((s, a) => s + owedTo(a, me), 0n);
        return Response.json({ data: { customer: { arrearsDue: String(due), arrears: { nodes: opts.served, pageInfo: { endCursor: null, hasNextPage: false } } } } });
      }
      try {
        return Response.json({ jsonrpc: "2.0", id: body.id, result: rpc(body.method!, body.params ?? []) });
      } catch (e) {
        const err = (e as { rpc?: unknown }).rpc ?? { code: -32603, message: (e as Error).message };
        return Response.json({ jsonrpc: "2.0", id: body.id, error: err });
      }
    });
    return { sent, simulated, listed };
  }

  async function renderPage() {
    const chain = chainOf(cfg);
    const wagmi = createConfig({
      chains: [chain],
      storage: null, // nothing persisted between tests, nothing rehydrated over the connection below
      connectors: [mock({ accounts: [ME] })],
      transports: { [chain.id]: http(cfg.rpcUrl, { retryCount: 0 }) }, // the app's transport, over the stubbed fetch
    });
    await connect(wagmi, { connector: wagmi.connectors[0]! });
    render(
      <ConfigContext.Provider value={cfg}>
        <WagmiProvider config={wagmi} reconnectOnMount={false}>
          <QueryClientProvider client={new QueryClient()}>
            <ArrearsDue />
          </QueryClientProvider>
        </WagmiProvider>
      </ConfigContext.Provider>,
    );
    await waitFor(() => expect(screen.getByTestId("arrears-due").textContent).not.toBe("…"));
  }

  /** Wait until the row's preview has its answer, and return it. */
  async function preview() {
    await waitFor(() => expect(screen.getByTestId("collect-preview").textContent).not.toMatch(/^Checking/));
    return screen.getByTestId("collect-preview").textContent;
  }

  it("simulates the collection with the served lists and says what it would pay; sends it and tells the customer what it received", async () => {
    const { sent, simulated } = backend({ served: [item()], wouldPay: 200n * USDC, logs: [arrearsSetLog([me, OTHER], [180n * USDC, 120n * USDC])] });
    await renderPage();
    expect(screen.getByTestId("arrears-due").textContent).toBe("300.00 USDC");
    expect(await preview()).toBe("Would pay 200.00 USDC now (120.00 USDC to you).");
    expect(button().disabled).toBe(false);
    expect(describedAs(button())).toBe("Would pay 200.00 USDC now (120.00 USDC to you).");
    expect(simulated).toHaveLength(1); // one simulation for the one report, until the lists refresh
    expect(simulated[0]!.from.toLowerCase()).toBe(me);
    fireEvent.click(button());
    await waitFor(() => expect(screen.getByRole("status").textContent).toMatch(/Confirmed/));
    expect(screen.getByRole("status").textContent).toMatch(/^Collect SLA arrears: Confirmed — You received 120\.00 USDC \(200\.00 USDC to all customers of this report\); 180\.00 USDC is still owed to you\./);
    for (const data of [sent[0]!, simulated[0]!.data]) {
      const call = decodeFunctionData({ abi: abis.sla, data });
      expect(call.functionName).toBe("collectArrears");
      const [key, customers, amounts] = call.args as readonly [Hex, readonly Address[], readonly bigint[]];
      expect([key, customers.map((c) => c.toLowerCase()), amounts]).toEqual([KEY, [me, OTHER], [300n * USDC, 200n * USDC]]);
    }
  });

  it("disables Collect now, saying why, when collecting would pay nothing", async () => {
    const { sent } = backend({ served: [item()], wouldPay: 0n });
    await renderPage();
    expect(await preview()).toBe("Nothing to collect until the provider stakes more.");
    expect(button().disabled).toBe(true);
    expect(describedAs(button())).toBe("Nothing to collect until the provider stakes more.");
    fireEvent.click(button());
    expect(sent).toEqual([]);
  });

  it("disables Collect now with the contract's refusal in words when the simulation reverts", async () => {
    backend({ served: [item()], wouldPay: encodeErrorResult({ abi: abis.sla, errorName: "NoArrears", args: [KEY] }) });
    await renderPage();
    expect(await preview()).toBe("Nothing is owed on this SLA report any more: its arrears are already paid.");
    expect(button().disabled).toBe(true);
  });

  it("asks again each time the lists refresh, and no more often: the provider staked while the lists stayed the same", async () => {
    const chain = { served: [item()], wouldPay: 0n };
    const { simulated, listed } = backend(chain);
    await renderPage();
    expect(await preview()).toBe("Nothing to collect until the provider stakes more.");
    chain.wouldPay = 50n * USDC;
    await waitFor(() => expect(screen.getByTestId("collect-preview").textContent).toBe("Would pay 50.00 USDC now (30.00 USDC to you)."), { timeout: 7_000 });
    expect(button().disabled).toBe(false);
    expect([listed.times, simulated.length]).toEqual([2, 2]);
  }, 10_000);

  it("simulates again after a collection: the button turns off once the free stake is used up", async () => {
    const { simulated } = backend({ served: [item()], wouldPay: 200n * USDC, wouldPayAfter: 0n, logs: [arrearsSetLog([me, OTHER], [180n * USDC, 120n * USDC])] });
    await renderPage();
    expect(await preview()).toMatch(/^Would pay 200\.00 USDC now/);
    fireEvent.click(button());
    await waitFor(() => expect(screen.getByTestId("collect-preview").textContent).toBe("Nothing to collect until the provider stakes more."));
    expect(button().disabled).toBe(true);
    expect(simulated.length).toBeGreaterThan(1);
  });

  it("says the lists changed when the contract refuses them", async () => {
    backend({ served: [item()], wouldPay: 200n * USDC, sendError: encodeErrorResult({ abi: abis.sla, errorName: "ArrearsMismatch", args: [KEY] }) });
    await renderPage();
    await preview();
    fireEvent.click(button());
    await waitFor(() => expect(screen.getByRole("status").textContent).toMatch(/Failed/));
    expect(screen.getByRole("status").textContent).toMatch(/Collect SLA arrears: Failed — What this report owes changed since the page read it/);
  });

  it("shows nothing owed and no table when no report owes the customer", async () => {
    const { simulated } = backend({ served: [], wouldPay: 0n });
    await renderPage();
    expect(screen.getByTestId("arrears-due").textContent).toBe("0.00 USDC");
    expect(screen.queryByRole("button", { name: "Collect now" })).toBeNull();
    expect(simulated).toEqual([]);
  });
});
