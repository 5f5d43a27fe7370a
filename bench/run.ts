// `npm run bench [-- --quick] [--only apply,forward,footprint,probers,conntrack,failover,dashboard] [--no-save]`
// `npm run bench -- --peer shorewall [--quick] [--no-save]`: only the side-by-side section (peer),
// installing Debian's shorewall and lsm when missing; writes bench/results/peer-shorewall-<date>.json.
// Runs the benchmarks in labs with unique prefixes, prints a table per section and, as the last
// line, one JSON object with every figure; also writes bench/results/<YYYY-MM-DD>.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { realRunner } from '../agent/system/runner';
import { benchLab, startAgent, ROOT, bounded, installSignalCleanup, cleanupAll, type BenchLab } from './env';
import { applyBench } from './apply';
import { forwardBench } from './forward';
import { proberBench, proberTable } from './probers';
import { footprintBench } from './footprint';
import { conntrackBench } from './conntrack';
import { dashboardBench } from './dashboard';
import { table } from './stats';
import { ensurePeerPackages } from './peer/install';
import { peerBench, PEER_PARTS, type PeerPart } from './peer/peer';
import { failoverArgs, failoverBench, failoverTable, saveFailover } from './failover';
import { goalRows } from './goals';

type Section = 'apply' | 'forward' | 'footprint' | 'probers' | 'conntrack' | 'failover' | 'dashboard' | 'peer';
const SECTIONS: Section[] = ['apply', 'forward', 'footprint', 'probers', 'conntrack', 'failover', 'dashboard'];
/** Peers that --peer knows (bench/peer/). */
const PEERS = ['shorewall'] as const;

export interface BenchArgs {
  quick: boolean;
  only: Section[];
  save: boolean;
  /** --rules N,M: the apply section's rule-set sizes (default 10,100,1000[,10000]). */
  rules: number[] | null;
  /** --flows N,M and --ct-modes events,watched,poll: the conntrack section's table sizes and modes. */
  flows: number[] | null;
  ctModes: ('events' | 'watched' | 'poll')[] | null;
  /** --peer shorewall: run the side-by-side section (alone, unless --only names more). */
  peer: (typeof PEERS)[number] | null;
  /** --peer-parts forward,apply,failover: a subset of the peer section. */
  peerParts: PeerPart[] | null;
}

export function parseBenchArgs(args: string[]): BenchArgs {
  const out: BenchArgs = { quick: false, only: [...SECTIONS], save: true, rules: null, flows: null, ctModes: null, peer: null, peerParts: null };
  let onlyGiven = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--quick') out.quick = true;
    else if (a === '--no-save') out.save = false;
    else if (a === '--peer') {
      const v = args[++i] ?? '';
      if (!(PEERS as readonly string[]).includes(v)) throw new Error(`--peer needs one of: ${PEERS.join(', ')}`);
      out.peer = v as BenchArgs['peer'];
    } else if (a === '--peer-parts') {
      const v = (args[++i] ?? '').split(',');
      if (!v.length || v.some((p) => !(PEER_PARTS as readonly string[]).includes(p))) throw new Error(`--peer-parts: ${PEER_PARTS.join(',')}`);
      out.peerParts = v as PeerPart[];
    }
    else if (a === '--flows') {
      const v = (args[++i] ?? '').split(',').map(Number);
      if (!v.length || v.some((n) => !Number.isInteger(n) || n < 0 || n > 250000)) throw new Error('--flows needs sizes: e.g. 0,50000');
      out.flows = v;
    } else if (a === '--ct-modes') {
      const v = (args[++i] ?? '').split(',');
      if (!v.length || v.some((m) => !['events', 'watched', 'poll'].includes(m))) throw new Error('--ct-modes: events,watched,poll');
      out.ctModes = v as BenchArgs['ctModes'];
    } else if (a === '--rules') {
      const v = (args[++i] ?? '').split(',').map(Number);
      if (!v.length || v.some((n) => !Number.isInteger(n) || n < 1 || n > 100000)) throw new Error('--rules needs sizes: e.g. 10000 or 100,10000');
      out.rules = v;
    } else if (a === '--only') {
      const v = args[++i];
      if (!v) throw new Error(`--only needs a list: ${SECTIONS.join(',')}`);
      const parts = v.split(',').map((x) => x.trim());
      for (const p of parts) if (!SECTIONS.includes(p as Section)) throw new Error(`unknown section ${JSON.stringify(p)} (${SECTIONS.join(', ')})`);
      out.only = parts as Section[];
      onlyGiven = true;
    } else throw new Error(`unknown argument ${JSON.stringify(a)}; usage: bench [--quick] [--only ${SECTIONS.join(',')}] [--rules N,M] [--peer shorewall] [--no-save]`);
  }
  if (out.peer) out.only = onlyGiven ? [...out.only, 'peer'] : ['peer'];
  return out;
}

/** The machine the figures come from. */
export async function machineInfo(): Promise<Record<string, unknown>> {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const nft = await realRunner.run(['nft', '--version']).then((r) => r.stdout.trim(), () => 'unknown');
  return { nproc: os.cpus().length, cpu, kernel: os.release(), nft, node: process.version, memMb: Math.round(os.totalmem() / 1048576), loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100) };
}

/** Summary of the newest bench/results/failover-*.json (written by bench/failover.ts), or null. */
/** What the summary keeps of each failover profile row. */
const FAILOVER_KEEP = ['profile', 'trials', 'detectMedianMs', 'failoverMedianMs', 'failoverMaxMs', 'failbackMedianMs', 'failbackMaxMs', 'failover6MedianMs', 'failback6MedianMs', 'ratio6to4', 'lostAttemptsMedian', 'falseTransitions', 'filteredTargetTransitions', 'lossAndFilteredTransitions', 'met'];
const keepOf = (r: Record<string, unknown>) => Object.fromEntries(FAILOVER_KEEP.filter((k) => k in r).map((k) => [k, r[k]]));

/** The newest saved failover run (bench/failover.ts or an earlier bench), when this run did not measure it. */
export function failoverSummary(dir = path.join(ROOT, 'bench', 'results')): Record<string, unknown> | null {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^failover-.*\.json$/.test(f)).sort() : [];
  const newest = files.at(-1);
  if (!newest) return null;
  try {
    const doc = JSON.parse(fs.readFileSync(path.join(dir, newest), 'utf8')) as { date?: string; results?: Record<string, unknown>[] };
    const keep = FAILOVER_KEEP;
    return { measured: false, file: newest, date: doc.date ?? null, profiles: (doc.results ?? []).map((r) => Object.fromEntries(keep.filter((k) => k in r).map((k) => [k, r[k]]))) };
  } catch (e) {
    return { file: newest, error: (e as Error).message };
  }
}

const log = (s: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

async function withLab<T>(tag: string, uplinks: number, fn: (L: BenchLab) => Promise<T>): Promise<T> {
  const L = await benchLab(tag, uplinks);
  try {
    return await fn(L);
  } finally {
    await L.cleanup();
  }
}

export async function main(argv: string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (process.getuid && process.getuid() !== 0) {
    process.stderr.write('bench: must run as root (network namespaces, nftables)\n');
    return 1;
  }
  installSignalCleanup(log);
  const result: Record<string, unknown> = { date: new Date().toISOString(), quick: args.quick, machine: await machineInfo() };
  const started = performance.now();
  const failed: Record<string, string> = {};
  /** One section: bounded in time; a failure is reported and the run goes on (its lab is removed). */
  async function section(name: string, deadlineMs: number, fn: () => Promise<void>): Promise<void> {
    if (!args.only.includes(name as Section)) return;
    const t0 = performance.now();
    try {
      await bounded(`section ${name}`, deadlineMs, fn());
    } catch (e) {
      failed[name] = (e as Error).message;
      console.log(`\n${name}: FAILED after ${Math.round((performance.now() - t0) / 1000)} s: ${(e as Error).message}`);
      log(`${name} failed: ${(e as Error).stack ?? (e as Error).message}`);
      await cleanupAll();
    }
  }

  await section('apply', (args.quick ? 10 : 30) * 60000, async () => {
    const r = await withLab('ba', 2, async (L) => {
      startAgent(L);
      return applyBench(L, {
        ruleSizes: args.rules ?? (args.quick ? [10, 100, 1000] : [10, 100, 1000, 10000]),
        changes: args.quick ? 8 : 20,
        setSize: 10000,
        setChanges: args.quick ? 4 : 10,
        log,
      });
    });
    console.log('\nApply latency (commit to SQLite → kernel carries the plan marker; real agent in the lab)');
    console.log(table(['series', 'changes', 'ok', 'p50 ms', 'p95 ms', 'max ms', 'agent apply p50', 'db write p50'], r.series.map((s) => [s.name, s.changes, s.ok, s.p50, s.p95, s.max, s.agentApplyP50, s.writeP50])));
    console.log(`growth: ~${r.slopeMsPer1000Rules} ms per 1 000 rules (intercept ${r.interceptMs} ms)`);
    const by = (n: string) => r.series.find((s) => s.name === n);
    const big = Math.max(...r.series.filter((s) => s.kind === 'rules').map((s) => s.size));
    const part = by(`rules-${big}`);
    const full = by(`rules-${big}-full`);
    if (part?.p50 && full?.p50) console.log(`one-rule change at ${big} rules: partial sync ${part.p50} ms vs every chain refilled ${full.p50} ms p50 (ratio ${Math.round((part.p50 / full.p50) * 1000) / 1000}; goal ≤ 300 ms at 10 000)`);
    const load = by(`rules-${big}-load`);
    if (load?.p50) console.log(`loading ${big} rules: ${load.p50} ms p50 (goal ≤ 1 000 ms at 10 000)`);
    Object.assign(result, {
      apply_series: r.series,
      apply_p50_ms_10: by('rules-10')?.p50 ?? null,
      apply_p50_ms_100: by('rules-100')?.p50 ?? null,
      apply_p95_ms_100: by('rules-100')?.p95 ?? null,
      apply_p50_ms_1000: by('rules-1000')?.p50 ?? null,
      apply_p50_ms_10000_rules: by('rules-10000')?.p50 ?? null,
      apply_p50_ms_10000_rules_full: by('rules-10000-full')?.p50 ?? null,
      apply_p50_ms_10000_rules_load: by('rules-10000-load')?.p50 ?? null,
      apply_ms_10k: by('set-10000-load')?.p50 ?? null,
      apply_ms_10k_unload: by('set-10000-unload')?.p50 ?? null,
      apply_ms_10k_one_entry: by('set-10000-one-entry')?.p50 ?? null,
      apply_ms_per_1000_rules: r.slopeMsPer1000Rules,
    });
  });

  await section('forward', (args.quick ? 8 : 20) * 60000, async () => {
    const r = await withLab('bf', 2, (L) => forwardBench(L, { rounds: args.quick ? 2 : 5, seconds: args.quick ? 2 : 4, connCount: args.quick ? 200 : 500, log }));
    console.log(`\nForwarding (iperf3 -P 4 LAN → 203.0.113.80 through the router; medians of alternated runs; (d) uses ${r.iptables})`);
    const row = (m: 'a' | 'b' | 'c' | 'd', what: string, ratio: number | null) => [what, r.gbps[m], r.samples[m].map((x) => x.toFixed(2)).join(' '), ratio];
    console.log(table(['configuration', 'Gbit/s', 'runs', 'vs (a)'], [
      row('a', '(a) baseline: routing + NAT only', 1),
      row('b', '(b) linkward, lab config', r.ratios.full),
      row('c', '(c) linkward + 10k-address set', r.ratios.set10k),
      row('d', '(d) baseline + 10k iptables rules', r.ratios.iptables10k),
    ]));
    console.log(table(['new TCP connections/s (sequential)', 'median', 'runs', 'vs (a)'], [
      ['(a) baseline', r.connPerSec.a, r.connSamples.a.map((x) => x.toFixed(0)).join(' '), 1],
      ['(b) linkward', r.connPerSec.b, r.connSamples.b.map((x) => x.toFixed(0)).join(' '), r.ratios.connRate],
    ]));
    for (const f of r.failures) console.log(`  not measured: round ${f.round + 1} (${f.mode}): ${f.what}`);
    Object.assign(result, {
      forward_gbps: r.gbps,
      forward_samples_gbps: r.samples,
      forward_iptables: r.iptables,
      throughput_ratio_full: r.ratios.full,
      throughput_ratio_10k_set: r.ratios.set10k,
      throughput_ratio_10k_iptables: r.ratios.iptables10k,
      conn_rate_baseline: r.connPerSec.a,
      conn_rate_linkward: r.connPerSec.b,
      conn_rate_ratio: r.ratios.connRate,
      forward_failures: r.failures,
    });
  });

  await section('footprint', (args.quick ? 8 : 15) * 60000, async () => {
    const opts = { seconds: args.quick ? 20 : 60, warmupS: args.quick ? 5 : 10, rules: 1000, log };
    const tsxRun = await withLab('bc', 4, (L) => footprintBench(L, opts));
    // Side by side: the same agent with the idle work of before 2026-12 (counters every 2 s
    // whether watched or not, the periodic resync reading the whole table every 30 s).
    const eager = await withLab('bd', 4, (L) => footprintBench(L, { ...opts, env: { LINKWARD_IDLE: 'eager' } }));
    const r = tsxRun;
    const total = (x: { agentCpuPct: number; childrenCpuPct: number }) => Math.round((x.agentCpuPct + x.childrenCpuPct) * 100) / 100;
    console.log(`\nAgent footprint (idle ${r.seconds} s; ${r.uplinks} uplinks probed every 250 ms; ${r.rules} rules, ${r.counters} counters; nobody watching) — goal ≤ 0.5 % CPU incl. children`);
    const rows: (string | number | null)[][] = [
      ['agent (bin/linkward.js agent)', tsxRun.agentCpuPct, tsxRun.agentRssMbMax, tsxRun.agentRssMbMedian],
      [`  its children (${tsxRun.liveChildren} live: ping, ip/nft monitor, conntrack -E, nft -i; + runs)`, tsxRun.childrenCpuPct, tsxRun.childrenRssMbMax, null],
      ['  together', total(tsxRun), null, null],
      ['same agent, LINKWARD_IDLE=eager (counters every 2 s, resync reads every 30 s)', eager.agentCpuPct, eager.agentRssMbMax, eager.agentRssMbMedian],
      [`  its children (${eager.liveChildren} live)`, eager.childrenCpuPct, eager.childrenRssMbMax, null],
      ['  together', total(eager), null, null],
    ];
    console.log(`idle work on demand vs eager, same run: ${total(tsxRun)} % vs ${total(eager)} % (ratio ${Math.round((total(tsxRun) / Math.max(0.01, total(eager))) * 100) / 100})`);
    console.log(table(['process', 'CPU %', 'RSS MB (max)', 'RSS MB (median)'], rows));
    Object.assign(result, {
      agent_cpu_pct: tsxRun.agentCpuPct,
      agent_rss_mb: tsxRun.agentRssMbMax,
      agent_rss_mb_median: tsxRun.agentRssMbMedian,
      agent_children_cpu_pct: tsxRun.childrenCpuPct,
      agent_children_rss_mb: tsxRun.childrenRssMbMax,
      agent_children_live: tsxRun.liveChildren,
      agent_total_cpu_pct: total(tsxRun),
      agent_eager_total_cpu_pct: total(eager),
      footprint_tsx: tsxRun,
      footprint_eager: eager,
    });
  });

  // The floor under the idle goal: what the probes alone cost with each ICMP prober Debian has
  await section('probers', (args.quick ? 6 : 15) * 60000, async () => {
    const seconds = args.quick ? 15 : 60;
    const rounds = args.quick ? 1 : 2;
    const rows = await proberBench({ seconds, rounds, log });
    const ping = rows.find((x) => x.prober === '12 ping');
    console.log(`\nProbers alone (4 uplinks x 3 targets every 250 ms, loopback targets in a namespace; CPU from schedstat; ${seconds} s windows, median of ${rounds}, alternated) — the idle goal (≤ 0.5 % for agent + children) leaves ${ping ? Math.round((0.5 - ping.cpuPct) * 1000) / 1000 : '–'} % for the agent once the agent's 12 pings are counted`);
    console.log(proberTable(rows));
    console.log('  only "12 ping" and the per-uplink probers can mark and bind each uplink\'s probes; "1 oping x12" shares one mark and interface; scamper completes ~1 task per target a second');
    Object.assign(result, { probers: rows, probers_ping_cpu_pct: ping?.cpuPct ?? null });
  });

  await section('conntrack', (args.quick ? 10 : 25) * 60000, async () => {
    const r = await withLab('bt', 2, (L) => conntrackBench(L, {
      flows: args.flows ?? (args.quick ? [0, 50000] : [0, 50000, 200000]),
      modes: args.ctModes ?? ['events', 'watched', 'poll'],
      seconds: args.quick ? 20 : 60,
      warmupS: args.quick ? 5 : 10,
      failover: true,
      log,
    }));
    // RSS is judged over the agent's whole life: the window and the start-up (the seeding listing)
    const goal = (x: { flows: number; agentCpuPct: number; childrenCpuPct: number; agentRssMbMax: number; startRssMbMax: number }) => x.flows === 50000 ? `${x.agentCpuPct + x.childrenCpuPct <= 1 ? 'CPU met' : 'CPU missed'}, ${Math.max(x.agentRssMbMax, x.startRssMbMax) <= 100 ? 'RSS met' : x.agentRssMbMax <= 100 ? 'RSS met after start-up, missed at it' : 'RSS missed'}` : '–';
    console.log(`\nAgent with many tracked flows (idle ${r.rows[0]?.seconds ?? '–'} s; 2 uplinks probed every 250 ms; flows loaded with conntrack -R; goal at 50 000: ≤ 1 % CPU incl. children, ≤ 100 MB RSS)`);
    console.log(table(['flows', 'conntrack reading', 'agent CPU %', 'children CPU %', 'total %', 'RSS MB max', 'RSS MB median', 'RSS MB max at start-up', 'seeded in s', 'goal'], r.rows.map((x) => [x.flows, x.flows === 0 ? 'baseline: no flows loaded (events)' : x.mode === 'events' ? 'event stream + counts' : x.mode === 'watched' ? 'events, page open (listing for bytes)' : 'full listing every 5 s', x.agentCpuPct, x.childrenCpuPct, Math.round((x.agentCpuPct + x.childrenCpuPct) * 100) / 100, x.agentRssMbMax, x.agentRssMbMedian, x.startRssMbMax, x.seedS, goal(x)])));
    const ev = r.rows.find((x) => x.flows === 50000 && x.mode === 'events');
    const po = r.rows.find((x) => x.flows === 50000 && x.mode === 'poll');
    if (ev && po) console.log(`events vs poll at 50 000 flows: total CPU ${Math.round((ev.agentCpuPct + ev.childrenCpuPct) * 100) / 100} % vs ${Math.round((po.agentCpuPct + po.childrenCpuPct) * 100) / 100} % (ratio ${po.agentCpuPct + po.childrenCpuPct > 0 ? Math.round(((ev.agentCpuPct + ev.childrenCpuPct) / (po.agentCpuPct + po.childrenCpuPct)) * 1000) / 1000 : '–'})`);
    if (r.failover) console.log(`failover with ${r.failover.flows} flows (${r.failover.isp1Flows} on isp1): detection → kernel clear ${r.failover.detectToKernelClearMs ?? '–'} ms, → card 0 ${r.failover.detectToCardZeroMs ?? '–'} ms (goal ≤ 1000 ms)`);
    Object.assign(result, {
      conntrack_rows: r.rows,
      conntrack_failover: r.failover,
      agent_cpu_pct_50k_flows: ev ? Math.round((ev.agentCpuPct + ev.childrenCpuPct) * 100) / 100 : null,
      agent_rss_mb_50k_flows: ev?.agentRssMbMax ?? null,
      agent_rss_mb_50k_flows_start: ev?.startRssMbMax ?? null,
      agent_cpu_pct_50k_flows_poll: po ? Math.round((po.agentCpuPct + po.childrenCpuPct) * 100) / 100 : null,
    });
  });

  // Failover and failback, default and fast profile, IPv4 and IPv6 (NPTv6) in the same trials,
  // then the false-transition phases (bench/failover.ts; also runnable alone)
  let failoverRun: Record<string, unknown> | null = null;
  await section('failover', (args.quick ? 15 : 35) * 60000, async () => {
    const fa = failoverArgs(args.quick ? ['--quick'] : []);
    const { doc, results } = await failoverBench(fa, log);
    console.log(`\nFailover (${fa.trials} trials a profile, new LAN connection every 50 ms; false transitions: one of three targets filtered 20 s, ${fa.lossSeconds} s of 20 % loss each way, both at once) — goal: default ≤ 1.5 s median, fast ≤ 0.5 s, 0 false transitions`);
    console.log(failoverTable(doc, results));
    const file = args.save ? path.basename(saveFailover(doc)) : null;
    failoverRun = { measured: true, file, date: doc.date, profiles: doc.results.map((r) => keepOf(r as unknown as Record<string, unknown>)), rows: doc.results };
  });

  await section('dashboard', 10 * 60000, async () => {
    const r = await withLab('bw', 2, (L) => dashboardBench(L, { requests: args.quick ? 10 : 30, rules: 1000, log }));
    if (!r.measurable) {
      console.log(`\nDashboard: not measurable: ${r.reason}`);
      Object.assign(result, { dashboard: r });
    } else {
      console.log(`\nDashboard (next build ${r.buildId}, built ${r.buildAge} ago; ${r.rules} rules, ${r.counters} counters; logged-in admin session)`);
      console.log(table(['path', 'status', 'TTFB p50 ms', 'TTFB p95 ms', 'total p50 ms', 'bytes', 'gzip bytes'], r.pages.map((p) => [p.path, p.status, p.ttfbP50, p.ttfbP95, p.totalP50, p.bytes, p.gzipBytes])));
      for (const e of r.serverErrors) console.log(`  server log: ${e}`);
      const pg = (x: string) => r.pages.find((p) => p.path === x);
      Object.assign(result, {
        dashboard_ttfb_overview_ms: pg('/')?.ttfbP50 ?? null,
        dashboard_ttfb_rules_ms: pg('/rules')?.ttfbP50 ?? null,
        dashboard_rules_page_bytes: pg('/rules')?.bytes ?? null,
        counters_payload_bytes: pg('/api/counters')?.bytes ?? null,
        counters_payload_gzip_bytes: pg('/api/counters')?.gzipBytes ?? null,
        dashboard: r,
      });
    }
  });
  await section('peer', (args.quick ? 12 : 25) * 60000, async () => {
    const installed = await ensurePeerPackages(log);
    const r = await withLab('bp', 2, (L) => peerBench(L, { quick: args.quick, parts: args.peerParts ?? undefined, log }));
    console.log(`\nSide by side with ${r.shorewallVersion ? `Shorewall ${r.shorewallVersion}` : 'Shorewall'} + LSM (${r.lsmVersion}); ${r.iptables}; same lab, alternated`);
    console.log(table(['figure', 'linkward', 'shorewall(+lsm)', 'ratio sw/lw', 'runs linkward', 'runs shorewall'], r.rows.map((x) => [x.figure, x.linkward, x.shorewall, x.ratio, x.samples.linkward.join(' '), x.samples.shorewall.join(' ')])));
    for (const x of r.rows) for (const f of x.failed) console.log(`  FAILED (${x.figure}): ${f}`);
    for (const s of r.skipped) console.log(`  not equivalent: ${s}`);
    for (const n of r.notes) console.log(`  ${n}`);
    const doc = { bench: 'peer-shorewall', date: result.date, quick: args.quick, machine: result.machine, installedNow: installed, ...r };
    Object.assign(result, { peer: doc });
    if (args.save) {
      const dir = path.join(ROOT, 'bench', 'results');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `peer-shorewall-${new Date().toISOString().slice(0, 10)}.json`), JSON.stringify(doc, null, 2) + '\n');
    }
  });
  if (Object.keys(failed).length) result.failed_sections = failed;

  const fo = failoverRun ?? (args.peer && args.only.length === 1 ? null : failoverSummary());
  if (fo && !failoverRun && Array.isArray(fo.profiles)) {
    console.log(`\nFailover: not measured in this run; the newest saved run (${fo.file}, ${fo.date}):`);
    const rows = (fo.profiles as Record<string, unknown>[]).map((p) => [String(p.profile), p.trials as number, p.failoverMedianMs as number, p.failoverMaxMs as number, p.failbackMedianMs as number, p.failbackMaxMs as number, (p.failover6MedianMs as number | undefined) ?? '-', (p.ratio6to4 as number | undefined) ?? '-', p.falseTransitions as number, String(p.met)]);
    console.log(table(['profile', 'trials', 'failover p50 ms', 'max', 'failback p50 ms', 'max', 'IPv6 failover p50 ms', 'IPv6/IPv4', 'false transitions', 'goal met'], rows));
  }
  if (fo) result.failover = fo;

  result.total_s = Math.round((performance.now() - started) / 1000);
  const goals = goalRows(result);
  result.goals = goals;
  console.log(`\nIssue 16 goals, this run (${args.quick ? 'quick' : 'full'}; ${result.total_s} s)`);
  console.log(table(['goal', 'measured', 'goal is', 'status', 'section'], goals.map((g) => [g.goal, g.measured, g.target, g.status, g.from])));
  if (args.save && !(args.peer && args.only.length === 1)) {
    const dir = path.join(ROOT, 'bench', 'results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${new Date().toISOString().slice(0, 10)}.json`), JSON.stringify(result, null, 2) + '\n');
  }
  console.log(JSON.stringify(result));
  return 0;
}
