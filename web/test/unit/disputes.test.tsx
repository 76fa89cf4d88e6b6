import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/react";
import { DisputeTable, type DisputeItem } from "../../src/components/Disputes.tsx";
import { describeError } from "../../src/lib/errors.ts";
import { BaseError, ContractFunctionRevertedError, encodeErrorResult } from "viem";
import { abis } from "../../src/lib/abis.ts";

const RESOLVE_BY = 1_796_083_200;
const dispute = (over: Partial<DisputeItem> = {}): DisputeItem => ({
  id: "7", gatewayId: 1, batchId: "3", entryIndex: 0, amount: "1000000", status: "OPEN", refund: null,
  openedAt: RESOLVE_BY - 7 * 86_400, resolveBy: RESOLVE_BY, customer: `0x${"c1".repeat(20)}`, provider: `0x${"b0".repeat(20)}`, ...over,
});
const at = new Date(RESOLVE_BY * 1000).toLocaleString();

function renderTable(rows: DisputeItem[], now: number, busy = false) {
  const onExpire = vi.fn();
  render(<DisputeTable rows={rows} now={now} party="customer" busy={busy} onExpire={onExpire} />);
  return onExpire;
}
const closeButton = () => screen.queryByRole("button", { name: "Close expired dispute" }) as HTMLButtonElement | null;

describe("disputes: the arbiter's deadline", () => {
  it("before the deadline says by when the arbiter must decide, and offers no close button", () => {
    renderTable([dispute()], RESOLVE_BY - 2 * 86_400 - 3_600);
    expect(screen.getByTestId("dispute-deadline").textContent).toBe(`The arbiter must decide by ${at} (in 2d 1h 0m).`);
    expect(closeButton()).toBeNull();
  });

  it("from the deadline on (the contract's >=), an open dispute can be closed by anyone", () => {
    const onExpire = renderTable([dispute()], RESOLVE_BY);
    expect(screen.getByTestId("dispute-deadline").textContent).toMatch(/deadline passed at .*anyone may now close it as rejected/);
    expect(closeButton()!.disabled).toBe(false);
    fireEvent.click(closeButton()!);
    expect(onExpire).toHaveBeenCalledWith("7");
  });

  it("the button stays disabled while a transaction is in flight", () => {
    renderTable([dispute()], RESOLVE_BY + 60, true);
    expect(closeButton()!.disabled).toBe(true);
  });

  it("a decided or already expired dispute past its deadline has no button", () => {
    renderTable([dispute({ id: "1", status: "UPHELD", refund: "500000" }), dispute({ id: "2", status: "REJECTED" }), dispute({ id: "3", status: "EXPIRED" })], RESOLVE_BY + 86_400);
    expect(closeButton()).toBeNull();
    expect(within(screen.getByTestId("dispute-3")).getByTestId("dispute-deadline").textContent).toBe(`Not decided by ${at}: closed as rejected.`);
    expect(within(screen.getByTestId("dispute-1")).getByTestId("dispute-deadline").textContent).toMatch(/^Decided/);
  });

  it("shows one button per expired open dispute, each closing its own", () => {
    const onExpire = renderTable([dispute({ id: "4" }), dispute({ id: "5", resolveBy: RESOLVE_BY + 3_600 })], RESOLVE_BY + 60);
    expect(screen.getAllByRole("button", { name: "Close expired dispute" })).toHaveLength(1);
    fireEvent.click(within(screen.getByTestId("dispute-4")).getByRole("button"));
    expect(onExpire).toHaveBeenCalledWith("4");
    expect(within(screen.getByTestId("dispute-5")).queryByRole("button")).toBeNull();
  });
});

describe("disputes: deadline errors in words", () => {
  // What a failed wagmi write carries: the revert decoded against the Settlement ABI.
  const revert = (errorName: string, args: readonly unknown[]) => {
    const data = encodeErrorResult({ abi: abis.settlement, errorName, args } as Parameters<typeof encodeErrorResult>[0]);
    return new BaseError("call failed", { cause: new ContractFunctionRevertedError({ abi: abis.settlement, data, functionName: "expireDispute" }) });
  };

  it("closing too early says until when the arbiter may decide", () => {
    expect(describeError(revert("DisputeNotExpired", [7n, RESOLVE_BY]))).toBe(`Dispute #7 cannot be closed yet: the arbiter has until ${at} to decide.`);
  });

  it("resolving too late and closing twice are explained", () => {
    expect(describeError(revert("ResolutionDeadlinePassed", [7n, RESOLVE_BY]))).toMatch(/deadline to decide dispute #7 passed at/);
    expect(describeError(revert("DisputeNotOpen", [7n]))).toBe("Dispute #7 is already closed (decided or expired).");
  });
});
