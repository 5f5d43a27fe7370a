// Inline SVG charts (no chart library). Pure: usable from server and client components.
import { fmtBits } from '@/lib/web/format';

export function Sparkline({ values, width = 120, height = 24, label }: { values: number[]; width?: number; height?: number; label: string }) {
  if (values.length < 2) {
    const why = 'History appears once the agent has stored two samples of this counter (one every 10 s while it runs; kept 24 h)';
    return <span className="text-xs muted" title={why} aria-label={`${label}: ${why}`}>{values.length === 1 ? 'collecting…' : 'no history yet'}</span>;
  }
  const max = Math.max(...values, 1);
  const step = width / (values.length - 1);
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`).join(' ');
  return (
    <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label} className="text-sky-600 dark:text-sky-400">
      <title>{label}</title>
      <polyline points={`0,${height} ${pts} ${width},${height}`} fill="currentColor" fillOpacity={0.15} stroke="none" />
      <polyline points={pts} fill="none" stroke="currentColor" strokeWidth={1.25} strokeLinejoin="round" />
    </svg>
  );
}

export interface Series {
  label: string;
  className: string;
  points: { ts: number; rate: number }[];
}

/** Bits/s over a time window: one line per series, time axis from `from` to `to`. */
export function TrafficChart({ series, from, to, height = 90, title, empty = 'no traffic samples in the last hour' }: { series: Series[]; from: number; to: number; height?: number; title: string; empty?: string }) {
  const width = 320;
  const pad = { l: 4, r: 4, t: 14, b: 4 };
  const all = series.flatMap((s) => s.points.map((p) => p.rate * 8));
  const hasData = series.some((s) => s.points.length > 1);
  const max = Math.max(...all, 1000);
  const x = (ts: number) => pad.l + ((ts - from) / Math.max(1, to - from)) * (width - pad.l - pad.r);
  const y = (r: number) => pad.t + (1 - (r * 8) / max) * (height - pad.t - pad.b);
  const last = (s: Series) => (s.points.length ? s.points[s.points.length - 1].rate * 8 : 0);
  const desc = series.map((s) => `${s.label} ${fmtBits(last(s))}`).join(', ');
  return (
    <figure className="w-full">
      <svg viewBox={`0 0 ${width} ${height}`} className="h-auto w-full" role="img" aria-label={`${title}: ${hasData ? desc : empty}`} data-testid={hasData ? 'chart' : 'chart-empty'}>
        <title>{title}</title>
        <rect x={0} y={0} width={width} height={height} className="fill-zinc-50 dark:fill-zinc-950" rx={4} />
        <text x={pad.l + 2} y={10} className="fill-zinc-500 text-[8px]">{`peak ${fmtBits(max)}`}</text>
        {hasData ? (
          series.map((s) => (
            <polyline
              key={s.label}
              className={s.className}
              fill="none"
              stroke="currentColor"
              strokeWidth={1.5}
              strokeLinejoin="round"
              points={s.points.map((p) => `${x(p.ts).toFixed(1)},${y(p.rate).toFixed(1)}`).join(' ')}
            />
          ))
        ) : (
          <text x={width / 2} y={height / 2 + 4} textAnchor="middle" className="fill-zinc-400 text-[9px]">{empty.length > 60 ? empty.split(' the agent')[0] : empty}</text>
        )}
      </svg>
      <figcaption className="mt-1 flex gap-3 text-xs muted">
        {series.map((s) => (
          <span key={s.label} className="flex items-center gap-1">
            <span aria-hidden className={`inline-block h-0.5 w-3 bg-current ${s.className}`} />
            {s.label} {hasData ? fmtBits(last(s)) : ''}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
