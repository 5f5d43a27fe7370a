// Pure helpers for the benchmarks: statistics, config generators, table formatting.
import type { ConfigInput } from '../lib/validations/config';

/** Nearest-rank percentile (p in 0..100) of a non-empty list; NaN for an empty one. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export const median = (v: readonly number[]) => {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const round = (x: number, digits = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null);

/** Least-squares slope and intercept of y over x. */
export function linearFit(xs: readonly number[], ys: readonly number[]): { slope: number; intercept: number } {
  const n = xs.length;
  if (n < 2) return { slope: NaN, intercept: NaN };
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  const slope = den === 0 ? NaN : num / den;
  return { slope, intercept: my - slope * mx };
}

/** The i-th address of a deterministic pool in 10.0.0.0/8 that never includes the lab's own networks. */
export function poolAddress(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= 2 ** 24) throw new Error(`pool index out of range: ${i}`);
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** n distinct /32 addresses in 10.0.0.0/8, spaced so they do not merge into ranges (every 2nd address). */
export function blocklistEntries(n: number, offset = 0): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`${poolAddress(2 * (i + offset))}/32`);
  return out;
}

/** n filler forward rules that never match lab traffic (tcp to 10.x addresses, distinct ports). */
export function fillerRules(n: number): NonNullable<ConfigInput['rules']> {
  const rules: NonNullable<ConfigInput['rules']> = [];
  for (let i = 0; i < n; i++) {
    rules.push({ name: `bench-${i}`, chain: 'forward', action: i % 2 ? 'accept' : 'drop', protocol: 'tcp', destination: `${poolAddress(4 * i + 1)}/32`, port: 1024 + (i % 60000) });
  }
  return rules;
}

/** The lab config plus `rules` filler rules and, optionally, a blocklist address list used by a forward drop rule. */
export function benchConfig(base: ConfigInput, opts: { rules?: number; blocklist?: string[]; flip?: number }): ConfigInput {
  const doc = structuredClone(base);
  doc.rules = [...(doc.rules ?? []), ...fillerRules(opts.rules ?? 0)];
  if (opts.flip !== undefined) doc.rules.push({ name: 'bench-flip', chain: 'forward', action: 'drop', protocol: 'udp', destination: '10.255.255.1/32', port: 1 + (opts.flip % 65535) });
  if (opts.blocklist) {
    doc.addressLists = [...(doc.addressLists ?? []), { name: 'blocklist', entries: opts.blocklist }];
    doc.rules.unshift({ name: 'blocklist', chain: 'forward', action: 'drop', destinationList: 'blocklist' });
  }
  return doc;
}

/** Render rows as an aligned text table. */
export function table(header: string[], rows: (string | number | null)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null ? '–' : String(c))))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(cells[0]), w.map((x) => '-'.repeat(x)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** CPU seconds (utime+stime, children excluded) from a /proc/<pid>/stat line. */
export function cpuTicksFromStat(stat: string): number {
  const close = stat.lastIndexOf(')');
  const f = stat.slice(close + 2).split(' ');
  // fields after ")": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
  return Number(f[11]) + Number(f[12]);
}

/** Children-included CPU ticks (utime+stime+cutime+cstime: waited-for children count). */
export function cpuTicksWithChildrenFromStat(stat: string): number {
  const close = stat.lastIndexOf(')');
  const f = stat.slice(close + 2).split(' ');
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

export function ppidFromStat(stat: string): number {
  const close = stat.lastIndexOf(')');
  return Number(stat.slice(close + 2).split(' ')[1]);
}

/** VmRSS in kB from /proc/<pid>/status text (0 if absent). */
export function rssKbFromStatus(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) : 0;
}
