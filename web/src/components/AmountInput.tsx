import { useId } from "react";
import { parseAmount } from "../lib/usdc.ts";

/** A USDC amount field: people type USDC ("12.50"); the caller receives base units or nothing. */
export function AmountInput({ label, value, onChange, disabled }: { label: string; value: string; onChange: (v: string) => void; disabled?: boolean }) {
  const id = useId();
  const parsed = value ? parseAmount(value) : null;
  const error = parsed && "error" in parsed ? parsed.error : null;
  return (
    <label htmlFor={id} className="field">
      <span>{label}</span>
      <span className="amount">
        <input id={id} inputMode="decimal" placeholder="0.00" value={value} disabled={disabled} aria-invalid={!!error} onChange={(e) => onChange(e.target.value)} />
        <span className="unit">USDC</span>
      </span>
      {error && <span className="field-error" role="alert">{error}</span>}
    </label>
  );
}

export function unitsOf(value: string): bigint | null {
  const p = parseAmount(value);
  return "units" in p ? p.units : null;
}
