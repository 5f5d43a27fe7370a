// Agent footprint with many tracked flows (issue 16): N established flows loaded into the lab
// router's conntrack with `conntrack -R` (half pinned to isp1, half to isp2 by their marks), the
// real agent in the router namespace, idle; CPU (itself + children) and RSS over a window, for
//  - events: the live mirror (agent/connections.ts: one listing at start, then `conntrack -E`
//    NEW/DESTROY events and a count check every 10 s from the kernel's counter file);
//  - events, watched: the same while the Connections page is open (a Watch row refreshed every 2 s:
//    the agent lists the table for bytes and rates, at most ~2.5 % of the time);
//  - poll: a full streamed listing every 5 s (LINKWARD_CONNTRACK=poll; what the agent did before,
//    minus its 20 s backoff when nothing changed).
// Modes alternate in the same run, each with a fresh agent over the same loaded table. Then, with
// the events agent: isp1 is broken and the time from its `down` transition until the kernel holds
// none of isp1's loaded flows is measured (the failover cleanup by mark).
import fs from 'node:fs';
import path from 'node:path';
import { saveConfig, latestRevision } from '../lib/store/revisions';
import { markOf } from '../lib/compile/constants';
import { labBreak, labRestore } from '../lab/lab';
import { footprintConfig, measureProcess, rssKb, type ProcessUse } from './footprint';
import { type BenchLab, startAgent, stopAgent, sleep, MarkerWatch, expectedMarker } from './env';
import { round } from './stats';

export type CtMode = 'events' | 'watched' | 'poll';

export interface CtOptions {
  flows: number[];
  modes: CtMode[];
  seconds: number;
  warmupS: number;
  /** Measure the failover cleanup with this many flows (the largest loaded), null: skip. */
  failover: boolean;
  log: (s: string) => void;
}

export interface CtRow extends ProcessUse {
  flows: number;
  mode: CtMode;
  /** Seconds from the agent's start until the Connection table held every loaded flow. */
  seedS: number | null;
  /** The agent's RSS peak from its start to the end of the warm-up (VmRSS every 100 ms): the
   *  seeding listing's transient, which the measured window starts after. */
  startRssMbMax: number;
  rowsInDb: number;
}

export interface CtResult {
  rows: CtRow[];
  failover: { flows: number; isp1Flows: number; detectToKernelClearMs: number | null; detectToCardZeroMs: number | null; deletedEvent: string | null } | null;
}

/** `conntrack -R` input: n established TCP flows from the LAN to 203.0.113.x:443, alternating marks. */
export function flowFile(n: number, m1: number, m2: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const host = 10 + (i % 200);
    const port = 10000 + Math.floor(i / 200);
    const dst = 10 + Math.floor(i / 200 / 50000);
    lines.push(`-I -s 192.168.1.${host} -d 203.0.113.${dst} -p tcp --sport ${port} --dport 443 --state ESTABLISHED -u ASSURED -t 7200 -m ${i % 2 ? m2 : m1}`);
  }
  return lines.join('\n') + '\n';
}

async function kernelCount(L: BenchLab): Promise<number> {
  const r = await L.rtr.run(['cat', '/proc/sys/net/netfilter/nf_conntrack_count'], { timeoutMs: 5000 });
  return Number(r.stdout.trim());
}

const dbRows = (L: BenchLab) => L.db.prepare('SELECT COUNT(*) FROM Connection').pluck().get() as number;

/** Samples a process's RSS every 100 ms until stopped: the peak in MB. */
function rssPeak(pid: number): { stop: () => number } {
  let max = rssKb(pid);
  const t = setInterval(() => (max = Math.max(max, rssKb(pid))), 100);
  t.unref(); // a failed step must not keep the bench alive
  return { stop: () => (clearInterval(t), round(Math.max(max, rssKb(pid)) / 1024, 1) as number) };
}

async function startAndSeed(L: BenchLab, mode: CtMode, marker: string, want: number, log: (s: string) => void): Promise<{ pid: number; seedS: number | null; peak: { stop: () => number } }> {
  // the previous mode's agent left its rows: without this, "seeded in" would be ~0 s
  L.db.prepare('DELETE FROM Connection').run();
  const watch = new MarkerWatch(L);
  const t0 = performance.now();
  let peak: { stop: () => number } | null = null;
  let seedS: number | null = null;
  try {
    try {
      const a = startAgent(L, [], [], undefined, mode === 'poll' ? { LINKWARD_CONNTRACK: 'poll' } : {});
      if (!a.pid) throw new Error('agent did not start');
      peak = rssPeak(a.pid);
      if ((await watch.wait(marker, t0, 60000)) === null) throw new Error('agent did not apply within 60 s');
    } finally {
      watch.stop();
    }
    for (let i = 0; i < 1200; i++) {
      if (dbRows(L) >= want) {
        seedS = round((performance.now() - t0) / 1000, 1) as number;
        break;
      }
      await sleep(100);
    }
    if (seedS === null) log(`conntrack: ${mode}: the Connection table has ${dbRows(L)} of ${want} rows after 120 s`);
  } catch (e) {
    peak?.stop(); // the caller stops it on success
    throw e;
  }
  return { pid: L.agent?.pid as number, seedS, peak };
}

export async function conntrackBench(L: BenchLab, o: CtOptions): Promise<CtResult> {
  const doc = footprintConfig(L.baseConfig, 0);
  const s = await saveConfig(doc, { author: 'bench', source: 'cli' });
  if (!s.ok) throw new Error(`bench config rejected: ${s.errors.join('; ')}`);
  const marker = await expectedMarker(L, doc);
  const ups = (await latestRevision())?.config.uplinks ?? [];
  const m1 = markOf(ups.find((u) => u.name === 'isp1')?.id ?? 1);
  const m2 = markOf(ups.find((u) => u.name === 'isp2')?.id ?? 2);
  const rows: CtRow[] = [];
  let failover: CtResult['failover'] = null;
  for (const n of o.flows) {
    await L.rtr.run(['conntrack', '-F'], { timeoutMs: 30000, allowFail: true });
    const file = path.join(L.dir, `flows-${n}.txt`);
    fs.writeFileSync(file, flowFile(n, m1, m2));
    const t0 = performance.now();
    if (n > 0) await L.rtr.run(['conntrack', '-R', file], { timeoutMs: 300000 });
    const have = await kernelCount(L);
    o.log(`conntrack: loaded ${n} flows in ${Math.round(performance.now() - t0)} ms (kernel count ${have})`);
    const modes = n === 0 ? (['events'] as CtMode[]) : o.modes; // the baseline: no flows
    for (const mode of modes) {
      const { pid, seedS, peak } = await startAndSeed(L, mode, marker, n, o.log);
      let watcher: ReturnType<typeof setInterval> | null = null;
      try {
        if (mode === 'watched') {
          const mark = () => L.db.prepare("INSERT INTO Watch (name, until) VALUES ('connections', ?) ON CONFLICT(name) DO UPDATE SET until = excluded.until").run(Date.now() + 10000);
          mark();
          watcher = setInterval(mark, 2000);
        }
        o.log(`conntrack: ${n} flows, ${mode}: seeded in ${seedS ?? '–'} s; warming up ${o.warmupS} s, measuring ${o.seconds} s`);
        await sleep(o.warmupS * 1000);
        const startRssMbMax = peak.stop();
        const m = await measureProcess(pid, o.seconds);
        rows.push({ ...m, flows: n, mode, seedS, startRssMbMax, rowsInDb: dbRows(L) });
        o.log(`conntrack: ${n} flows, ${mode}: agent ${m.agentCpuPct} % + children ${m.childrenCpuPct} %, RSS max ${m.agentRssMbMax} MB (start-up peak ${startRssMbMax} MB)`);
      } finally {
        peak.stop();
        if (watcher) clearInterval(watcher);
        L.db.prepare("DELETE FROM Watch WHERE name = 'connections'").run();
      }
      const last = mode === modes[modes.length - 1] && n === o.flows[o.flows.length - 1];
      if (!(last && o.failover && mode !== 'poll')) await stopAgent(L);
    }
    if (o.failover && n === o.flows[o.flows.length - 1]) failover = await failoverCleanup(L, n, m1, o.log);
  }
  await stopAgent(L);
  return { rows, failover };
}

/** Break isp1 with the agent running: its down transition → none of its loaded flows left. */
async function failoverCleanup(L: BenchLab, n: number, m1: number, log: (s: string) => void): Promise<CtResult['failover']> {
  if (!L.agent || L.agent.done) (await startAndSeed(L, 'events', await expectedMarker(L, footprintConfig(L.baseConfig, 0)), n, log)).peak.stop();
  const isp1Flows = Math.ceil(n / 2);
  const state = () => L.db.prepare("SELECT state, since, connections FROM UplinkStatus WHERE name = 'isp1'").get() as { state: string; since: number; connections: number } | undefined;
  const loadedOnIsp1 = async () => {
    const r = await L.rtr.run(['conntrack', '-L', '-m', `${m1}/0xff00`, '-p', 'tcp', '--dport', '443'], { timeoutMs: 30000, allowFail: true });
    return r.stdout.split('\n').filter((l) => l.includes('src=')).length;
  };
  const start = Date.now();
  await labBreak(L.prefix, 'isp1');
  try {
    let kernelAt: number | null = null;
    let cardAt: number | null = null;
    let down: { since: number } | null = null;
    const baseline = await kernelCount(L);
    for (let i = 0; i < 1200 && Date.now() - start < 60000 && (kernelAt === null || cardAt === null); i++) {
      const st = state();
      if (!down && st?.state === 'down') down = { since: st.since };
      // the kernel's total drops by the loaded isp1 flows (the probes' few ICMP flows aside)
      if (down && kernelAt === null && baseline - (await kernelCount(L)) >= isp1Flows - 5) kernelAt = Date.now();
      if (down && cardAt === null && st && st.connections === 0) cardAt = Date.now();
      await sleep(20);
    }
    const left = await loadedOnIsp1();
    // the agent writes its event after `conntrack -D` and after forgetting the flows (the
    // Connection table's deletes: ~1 s more with 100 000 of them), so wait for it, bounded
    const evQuery = L.db.prepare("SELECT message FROM Event WHERE message LIKE 'deleted % of uplink isp1%' AND ts >= ? ORDER BY id DESC LIMIT 1").pluck();
    let ev: string | undefined;
    for (let i = 0; i < 200 && (ev = evQuery.get(start) as string | undefined) === undefined; i++) await sleep(50);
    log(`conntrack: failover with ${n} flows: down ${down ? down.since - start : '–'} ms after the break; kernel clear ${kernelAt && down ? kernelAt - down.since : '–'} ms, card 0 ${cardAt && down ? cardAt - down.since : '–'} ms after detection; ${left} loaded isp1 flows left; ${ev ?? 'no delete event'}`);
    return {
      flows: n,
      isp1Flows,
      detectToKernelClearMs: kernelAt && down && left === 0 ? kernelAt - down.since : null,
      detectToCardZeroMs: cardAt && down ? cardAt - down.since : null,
      deletedEvent: ev ?? null,
    };
  } finally {
    await labRestore(L.prefix, 'isp1');
  }
}
