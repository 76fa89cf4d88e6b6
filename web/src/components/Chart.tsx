/** Hand-written SVG charts: a few series over time need no chart library in the bundle. */
export type Series = { name: string; color: string; points: { x: number; y: number }[] };

export function LineChart({ series, height = 180, yLabel, xFormat = (x) => new Date(x * 1000).toLocaleDateString(), bars = false }: { series: Series[]; height?: number; yLabel: string; xFormat?: (x: number) => string; bars?: boolean }) {
  const width = 640;
  const pad = { l: 48, r: 8, t: 10, b: 22 };
  const all = series.flatMap((s) => s.points);
  if (!all.length) return <p className="muted">No data yet.</p>;
  const xs = all.map((p) => p.x);
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const maxY = Math.max(...all.map((p) => p.y), 0) || 1;
  const sx = (x: number) => pad.l + (maxX === minX ? (width - pad.l - pad.r) / 2 : ((x - minX) / (maxX - minX)) * (width - pad.l - pad.r));
  const sy = (y: number) => height - pad.b - (y / maxY) * (height - pad.t - pad.b);
  const barW = Math.max(4, (width - pad.l - pad.r) / Math.max(1, new Set(xs).size) / (series.length + 1));
  return (
    <figure className="chart" style={{ margin: 0 }}>
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={`${yLabel} over time`}>
        <line x1={pad.l} y1={sy(0)} x2={width - pad.r} y2={sy(0)} stroke="#c9ced6" />
        {[0, 0.5, 1].map((f) => (
          <text key={f} x={pad.l - 4} y={sy(maxY * f) + 3} textAnchor="end">{formatTick(maxY * f)}</text>
        ))}
        <text x={pad.l} y={height - 6}>{xFormat(minX)}</text>
        <text x={width - pad.r} y={height - 6} textAnchor="end">{xFormat(maxX)}</text>
        {series.map((s, i) =>
          bars ? (
            s.points.map((p) => <rect key={`${s.name}${p.x}`} x={sx(p.x) - barW * (series.length / 2) + i * barW} y={sy(p.y)} width={barW} height={sy(0) - sy(p.y)} fill={s.color}><title>{`${s.name} ${xFormat(p.x)}: ${p.y}`}</title></rect>)
          ) : (
            <polyline key={s.name} fill="none" stroke={s.color} strokeWidth={2} points={s.points.map((p) => `${sx(p.x)},${sy(p.y)}`).join(" ")} />
          ),
        )}
      </svg>
      <figcaption className="muted">
        {yLabel}: {series.map((s) => <span key={s.name} style={{ color: s.color, marginRight: ".8rem" }}>■ {s.name}</span>)}
      </figcaption>
    </figure>
  );
}

function formatTick(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (v === 0) return "0";
  if (v < 0.01) return v.toPrecision(2);
  return v >= 10 ? v.toFixed(0) : v.toFixed(2);
}
