// Display formatting shared by server and client components.
export function fmtBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${u[i]}`;
}

export function fmtCount(n: number): string {
  if (n < 1000) return String(n);
  const u = ['k', 'M', 'G', 'T'];
  let i = -1;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n < 10 ? n.toFixed(1) : Math.round(n)}${u[i]}`;
}

export function fmtBits(bps: number): string {
  const u = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s'];
  let i = 0;
  while (bps >= 1000 && i < u.length - 1) {
    bps /= 1000;
    i++;
  }
  return `${bps < 10 && i > 0 ? bps.toFixed(1) : Math.round(bps)} ${u[i]}`;
}

export function fmtAgo(ts: number | null | undefined, now = Date.now()): string {
  if (!ts) return 'never';
  const s = Math.max(0, Math.round((now - ts) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function fmtTime(ts: number): string {
  return new Date(ts).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

/** Rates between consecutive samples: [(t, perSecond)], skipping counter resets. */
export function rates(samples: { ts: number; v: number }[]): { ts: number; rate: number }[] {
  const out: { ts: number; rate: number }[] = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i].ts - samples[i - 1].ts) / 1000;
    const dv = samples[i].v - samples[i - 1].v;
    if (dt <= 0) continue;
    out.push({ ts: samples[i].ts, rate: dv < 0 ? 0 : dv / dt });
  }
  return out;
}
