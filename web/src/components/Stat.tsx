/** One labelled figure in a card. */
export function Stat({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId?: string }) {
  return (
    <div className="stat">
      <div className="label">{label}</div>
      <div className="value" data-testid={testId}>{value}</div>
      {hint && <div className="muted">{hint}</div>}
    </div>
  );
}
