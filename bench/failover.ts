// Failover benchmark on the lab (root). Never part of npm test.
//
//   node --import tsx bench/failover.ts [--trials N] [--quick] [--loss-seconds S]
//
// For the default and the fast health profile: N trials of "break isp1 (drop in the ISP) → the
// first moment from which every new LAN connection succeeds via isp2" (failover) and "restore →
// first new connection via isp1" (failback), measured with a new TCP connection every 50 ms from
// the LAN host; then S seconds of 20 % loss (lab break --mode loss:20) with one of three probe
// targets filtered, counting health transitions (false transitions). [see runProfile] Prints a table and one JSON
// line, writes bench/results/failover-<date>.json.
import fs from 'node:fs';
import path from 'node:path';
import {
  AgentProc, ISP_ADDR, labDoc, importDoc, fastProfile, waitState, startConnector, settledAfter, firstVia, transitions,
  median, sleep, setupFailoverLab, type LabEnv,
} from './lib/failover-lab';
import { labBreak, labRestore, labTargetFilter, labTargetUnfilter } from '../lab/lab';
import { ROOT } from '../test/helpers/cli';

interface Args { trials: number; lossSeconds: number }

function parseArgs(argv: string[]): Args {
  const a: Args = { trials: 10, lossSeconds: 60 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--quick') { a.trials = 3; a.lossSeconds = 20; continue; }
    const v = Number(argv[++i]);
    if (k === '--trials' && Number.isInteger(v) && v >= 1 && v <= 100) a.trials = v;
    else if (k === '--loss-seconds' && Number.isInteger(v) && v >= 5 && v <= 3600) a.lossSeconds = v;
    else throw new Error(`usage: bench/failover.ts [--trials 1-100] [--quick] [--loss-seconds 5-3600] (bad ${k})`);
  }
  return a;
}

interface ProfileResult {
  profile: 'default' | 'fast';
  trials: number;
  failoverMs: number[];
  failbackMs: number[];
  detectMs: number[];
  lostAttempts: number[];
  falseTransitions: number;
  filteredTransitions: number;
  shownLossPct: number | null;
  lossSeconds: number;
}

const ISP1 = ISP_ADDR(1);
const ISP2 = ISP_ADDR(2);
const log = (m: string) => process.stderr.write(`bench/failover: ${m}\n`);

async function runProfile(L: LabEnv, profile: 'default' | 'fast', a: Args): Promise<ProfileResult> {
  const doc = labDoc(L);
  importDoc(L, profile === 'fast' ? fastProfile(doc) : doc);
  await sleep(1000);
  for (const u of ['isp1', 'isp2']) await waitState(L, u, 'up', 40000);
  const r: ProfileResult = { profile, trials: a.trials, failoverMs: [], failbackMs: [], detectMs: [], lostAttempts: [], falseTransitions: 0, filteredTransitions: 0, shownLossPct: null, lossSeconds: a.lossSeconds };
  const conn = startConnector(L, 'lan', { everyMs: 50, timeoutMs: 1000 });
  try {
    await sleep(1500);
    for (let i = 0; i < a.trials; i++) {
      const tBreak = Date.now();
      await labBreak(L.prefix, 'isp1');
      const down = await waitState(L, 'isp1', 'down', 30000);
      await sleep(2500);
      const fo = settledAfter(conn.lines, tBreak, Date.now() - 1100, new Set([ISP2]));
      const tRestore = Date.now();
      await labRestore(L.prefix, 'isp1');
      await waitState(L, 'isp1', 'up', 30000);
      let fb: number | null = null;
      for (let k = 0; k < 200 && fb === null; k++) {
        await sleep(50);
        fb = firstVia(conn.lines, tRestore, new Set([ISP1]));
      }
      const lost = conn.lines.filter((s) => s.t >= tBreak && fo !== null && s.t < tBreak + fo && !s.ip).length;
      if (fo !== null) r.failoverMs.push(fo);
      if (fb !== null) r.failbackMs.push(fb);
      r.detectMs.push(down.since - tBreak);
      r.lostAttempts.push(lost);
      log(`${profile} trial ${i + 1}/${a.trials}: detect ${down.since - tBreak} ms, failover ${fo ?? 'n/a'} ms, failback ${fb ?? 'n/a'} ms, ${lost} attempts lost`);
      await sleep(1500);
    }
  } finally {
    await conn.stop();
    await labRestore(L.prefix, 'isp1');
  }
  // False transitions: (1) one of three targets filtered for 20 s, (2) loss:20 on isp1 for S s.
  let t = Date.now();
  try {
    await labTargetFilter(L.prefix, '203.0.113.11');
    await sleep(20000);
  } finally {
    await labTargetUnfilter(L.prefix, '203.0.113.11');
  }
  r.filteredTransitions = transitions(L, t).length;
  await sleep(1000);
  t = Date.now();
  try {
    await labBreak(L.prefix, 'isp1', 'loss:20');
    await sleep(a.lossSeconds * 1000);
  } finally {
    await labRestore(L.prefix, 'isp1');
  }
  r.falseTransitions = transitions(L, t).filter((e) => e.ts <= t + a.lossSeconds * 1000).length;
  const loss = L.db.prepare('SELECT lossPct FROM UplinkStatus WHERE name = ?').get('isp1') as { lossPct: number | null } | undefined;
  log(`${profile}: ${r.filteredTransitions} transitions in 20 s with one target filtered; ${r.falseTransitions} in ${a.lossSeconds} s of loss:20 on isp1 (probe loss shown at the end ${loss?.lossPct ?? 'n/a'} %)`);
  r.shownLossPct = loss?.lossPct ?? null;
  return r;
}

const f = (xs: number[], fn: (x: number[]) => number) => (xs.length ? (fn(xs) / 1000).toFixed(2) : 'n/a');
const max = (xs: number[]) => Math.max(...xs);

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  if (process.getuid && process.getuid() !== 0) {
    log('must run as root (network namespaces)');
    return 1;
  }
  const L = await setupFailoverLab('fb', 2);
  const agent = new AgentProc(L);
  const results: ProfileResult[] = [];
  try {
    for (const p of ['default', 'fast'] as const) results.push(await runProfile(L, p, a));
  } finally {
    await agent.stop();
    await L.cleanup();
  }
  const targets = { default: { failover: 3000, failback: 5000 }, fast: { failover: 1000, failback: 1500 } };
  const rows = results.map((r) => ({
    profile: r.profile,
    trials: r.trials,
    detectMedianMs: median(r.detectMs),
    failoverMedianMs: median(r.failoverMs),
    failoverMaxMs: r.failoverMs.length ? max(r.failoverMs) : null,
    failbackMedianMs: median(r.failbackMs),
    failbackMaxMs: r.failbackMs.length ? max(r.failbackMs) : null,
    lostAttemptsMedian: median(r.lostAttempts),
    falseTransitions: r.falseTransitions,
    filteredTargetTransitions: r.filteredTransitions,
    probeLossPctShown: r.shownLossPct,
    lossSeconds: r.lossSeconds,
    targetFailoverMs: targets[r.profile].failover,
    targetFailbackMs: targets[r.profile].failback,
    met: median(r.failoverMs) <= targets[r.profile].failover && median(r.failbackMs) <= targets[r.profile].failback && r.falseTransitions === 0 && r.filteredTransitions === 0,
    raw: { failoverMs: r.failoverMs, failbackMs: r.failbackMs, detectMs: r.detectMs },
  }));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(8) : c.padStart(11))).join(' ');
  process.stdout.write(line(['profile', 'detect med', 'fo median', 'fo max', 'fb median', 'fb max', 'filtered', 'loss:20', 'target met']) + '\n');
  for (const [i, r] of results.entries()) {
    process.stdout.write(line([r.profile, f(r.detectMs, median), f(r.failoverMs, median), f(r.failoverMs, max), f(r.failbackMs, median), f(r.failbackMs, max), `${r.filteredTransitions}/20s`, `${r.falseTransitions}/${r.lossSeconds}s`, rows[i].met ? 'yes' : 'NO']) + '\n');
  }
  const doc = { bench: 'failover', date: new Date().toISOString(), host: { node: process.version }, trialsPerProfile: a.trials, results: rows };
  process.stdout.write(JSON.stringify(doc) + '\n');
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `failover-${doc.date.slice(0, 10)}.json`);
  fs.writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  log(`wrote ${file}`);
  return rows.every((r) => r.met) ? 0 : 3;
}

main().then((c) => { process.exitCode = c; }, (e) => { log(e instanceof Error ? e.stack ?? e.message : String(e)); process.exitCode = 1; });
