import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { DailyCapCell } from "../../src/pages/customer/Keys.tsx";

describe("a key's daily cap, changed after creation", () => {
  it("sets a new cap in USDC and sends it in base units", () => {
    const onSave = vi.fn();
    render(<DailyCapCell cap={null} pending={false} onSave={onSave} />);
    expect(screen.getByText("none")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Change" }));
    expect(screen.queryByRole("button", { name: "No cap" }), "nothing to remove").toBeNull();
    const save = screen.getByRole("button", { name: "Save" }) as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText(/New daily cap/), { target: { value: "2.5" } });
    fireEvent.click(save);
    expect(onSave).toHaveBeenCalledWith("2500000");
    expect(screen.getByRole("button", { name: "Change" }), "back to the plain view").toBeTruthy();
  });

  it("removes a cap, and refuses what is not an amount", () => {
    const onSave = vi.fn();
    render(<DailyCapCell cap="1000000" pending={false} onSave={onSave} />);
    expect(screen.getByText("1.00 USDC")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Change" }));
    fireEvent.change(screen.getByLabelText(/New daily cap/), { target: { value: "abc" } });
    expect((screen.getByRole("button", { name: "Save" }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole("button", { name: "No cap" }));
    expect(onSave).toHaveBeenCalledWith(null);
  });
});
