// Agent footprint: CPU % and RSS of the real agent process (and, separately, its children: ping
// probers, and the short-lived nft/ip/conntrack commands it waits for) over an idle window, with
// 4 uplinks probed every 250 ms (the default health timing: intervalMs 500, timeoutMs 1000; each
// target is pinged every min(intervalMs/2, timeoutMs/3) = 250 ms, agent/health/state.ts) and
// ~1 000 rules (≈1 000 named counters read every 2 s).
import fs from 'node:fs';
import { saveConfig } from '../lib/store/revisions';
import { HEALTH_DEFAULTS, type ConfigInput } from '../lib/validations/config';
import { probeIntervalMs } from '../agent/health/state';
import { benchConfig, cpuTicksFromStat, ppidFromStat, rssKbFromStatus, round, median } from './stats';
import { type BenchLab, startAgent, sleep, MarkerWatch, expectedMarker } from './env';

export interface FootprintOptions {
  seconds: number;
  warmupS: number;
  rules: number;
  log: (s: string) => void;
  /** Extra node flags for the agent (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Run this bundled agent file instead of `bin/linkward.js agent` (tsx). */
  bundle?: string;
  /** Extra environment for the agent (e.g. LINKWARD_IDLE=eager). */
  env?: Record<string, string>;
  /** Extra `linkward agent` arguments (e.g. --no-health). */
  agentArgs?: string[];
}

export interface FootprintResult {
  seconds: number;
  uplinks: number;
  rules: number;
  counters: number;
  /** Each health target is pinged this often (ms). */
  probeEveryMs: number | null;
  agentCpuPct: number;
  childrenCpuPct: number;
  agentRssMbMax: number;
  agentRssMbMedian: number;
  childrenRssMbMax: number;
  liveChildren: number;
  clkTck: number;
}

const CLK_TCK = 100; // USER_HZ on Linux (sysconf(_SC_CLK_TCK)); 100 on every mainstream kernel config

function readStat(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
}

/** Descendants of `root` (children, grandchildren...), from /proc. */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = readStat(Number(d));
    if (st) parent.set(Number(d), ppidFromStat(st));
  }
  const out: number[] = [];
  const queue = [root];
  for (let guard = 0; queue.length && guard < 100000; guard++) {
    const p = queue.shift() as number;
    for (const [pid, pp] of parent) if (pp === p) { out.push(pid); queue.push(pid); }
  }
  return out;
}

function reapedChildTicks(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[13]) + Number(f[14]); // cutime + cstime: children the agent waited for
}

export function rssKb(pid: number): number {
  try {
    return rssKbFromStatus(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return 0;
  }
}

/** Health timing of the footprint lab: a probe every 250 ms per target. */
export const FOOTPRINT_TIMING = { intervalMs: 500, timeoutMs: 1000 } as const;

export function footprintConfig(base: ConfigInput, rules: number): ConfigInput {
  const doc = benchConfig(base, { rules });
  // The "probed every 250 ms": rounds of 500 ms (probes every min(500/2, 1000/3) = 250 ms;
  // the defaults probe every 125 ms since 2026-12 for sub-second failover: bench/failover.ts).
  for (const u of doc.uplinks ?? []) if (u.health) u.health = { ...u.health, intervalMs: FOOTPRINT_TIMING.intervalMs, timeoutMs: FOOTPRINT_TIMING.timeoutMs };
  return doc;
}

/** The probe period of the config's first uplink (ms), null without health settings. */
export function probeOf(doc: ConfigInput): number | null {
  const h = doc.uplinks?.[0]?.health;
  if (!h) return null;
  return probeIntervalMs({ intervalMs: h.intervalMs ?? HEALTH_DEFAULTS.intervalMs, timeoutMs: h.timeoutMs ?? HEALTH_DEFAULTS.timeoutMs });
}

export interface ProcessUse {
  seconds: number;
  agentCpuPct: number;
  childrenCpuPct: number;
  agentRssMbMax: number;
  agentRssMbMedian: number;
  childrenRssMbMax: number;
  liveChildren: number;
  clkTck: number;
}

/** CPU % (self; children = live descendants + the ones it waited for) and RSS of `pid` over
 *  `seconds` (RSS sampled every second). Throws when the process exits meanwhile. */
export async function measureProcess(pid: number, seconds: number): Promise<ProcessUse> {
  const snap = () => {
    const st = readStat(pid);
    if (!st) throw new Error('agent exited');
    const kids = descendants(pid);
    const kidTicks = new Map<number, number>();
    for (const k of kids) {
      const ks = readStat(k);
      if (ks) kidTicks.set(k, cpuTicksFromStat(ks));
    }
    return { t: performance.now(), self: cpuTicksFromStat(st), reaped: reapedChildTicks(st), kids: kidTicks };
  };
  const a = snap();
  const rss: number[] = [];
  const kidRss: number[] = [];
  let liveChildren = 0;
  const end = performance.now() + seconds * 1000;
  for (let i = 0; i < 100000 && performance.now() < end; i++) {
    rss.push(rssKb(pid));
    const kids = descendants(pid);
    liveChildren = Math.max(liveChildren, kids.length);
    kidRss.push(kids.reduce((n, k) => n + rssKb(k), 0));
    await sleep(1000);
  }
  const b = snap();
  const wall = (b.t - a.t) / 1000;
  let kidDelta = b.reaped - a.reaped;
  for (const [k, t] of b.kids) kidDelta += t - (a.kids.get(k) ?? 0); // children born mid-window count from 0
  return {
    seconds: round(wall, 1) as number,
    agentCpuPct: round((100 * (b.self - a.self)) / CLK_TCK / wall, 2) as number,
    childrenCpuPct: round((100 * kidDelta) / CLK_TCK / wall, 2) as number,
    agentRssMbMax: round(Math.max(...rss) / 1024, 1) as number,
    agentRssMbMedian: round(median(rss) / 1024, 1) as number,
    childrenRssMbMax: round(Math.max(...kidRss) / 1024, 1) as number,
    liveChildren,
    clkTck: CLK_TCK,
  };
}

export async function footprintBench(L: BenchLab, o: FootprintOptions): Promise<FootprintResult> {
  const doc = footprintConfig(L.baseConfig, o.rules);
  const s = await saveConfig(doc, { author: 'bench', source: 'cli' });
  if (!s.ok) throw new Error(`bench config rejected: ${s.errors.join('; ')}`);
  const watch = new MarkerWatch(L);
  try {
    const marker = await expectedMarker(L, doc);
    const agent = startAgent(L, o.agentArgs ?? [], o.nodeArgs ?? [], o.bundle, o.env ?? {});
    const pid = agent.pid;
    if (!pid) throw new Error('agent did not start');
    const t0 = performance.now();
    if ((await watch.wait(marker, t0, 60000)) === null) throw new Error('agent did not apply the footprint config within 60 s');
  } finally {
    watch.stop();
  }
  const pid = L.agent?.pid as number;
  o.log(`footprint: agent pid ${pid} applied; warming up ${o.warmupS} s, then measuring ${o.seconds} s idle`);
  await sleep(o.warmupS * 1000);
  const m = await measureProcess(pid, o.seconds);
  const counters = (L.db.prepare('SELECT COUNT(*) AS n FROM Counter').get() as { n: number }).n;
  return {
    ...m,
    uplinks: doc.uplinks?.length ?? 0,
    rules: doc.rules?.length ?? 0,
    counters,
    probeEveryMs: probeOf(doc),
  };
}
