// Diagnostic: what probing 4 uplinks × 3 targets every 250 ms costs with each ICMP prober Debian
// has, side by side in one run — the floor of the idle goal (issue 16: ≤ 0.5 % CPU for the whole
// agent). Targets are on the loopback of a private namespace; each prober's processes run for the
// window with output to a file (replies counted afterwards, so a prober that does not work shows);
// CPU is the scheduler's own runtime of every thread (/proc/<pid>/task/*/schedstat, ns), not the
// 10 ms ticks of /proc/<pid>/stat. Modes alternate, `rounds` times each; medians printed.
//   a. 12 iputils `ping` (what the agent runs: one per target, -m mark -I ifname each)
//   b. 4 `oping` × 3 targets (one per uplink: -D ifname -m mark are per process)
//   c. 4 `fping -l` × 3 targets (same, fping's loop mode)
//   d. 1 `oping` × 12 targets (one process, but one mark and one interface for all: it cannot
//      probe through 4 uplinks; the floor of "one prober")
//   e. 1 `scamper` daemon given 12 `ping -c 1` tasks a round through its control socket
//      (attach format json): scamper serializes tasks to one destination and each lasts its
//      1 s wait, so it completes ~1 task per target per second, not 4 — shown as results/s.
// `npm run bench -- --only probers` (section "probers" of the bench), or alone:
// `node --import tsx bench/prober-floor.ts [seconds=30] [rounds=2]` (root; installs oping, fping,
// scamper when missing; not part of npm test).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { realRunner, withNetns, type SpawnedProcess } from '../agent/system/runner';
import { ensurePackages } from './peer/install';
import { median, table } from './stats';
import { onCleanup, sleep } from './env';

const targets = Array.from({ length: 12 }, (_, i) => `127.0.0.${i + 2}`);
const uplink = (u: number) => targets.slice(3 * u, 3 * u + 3);

/** ns on CPU of all threads of the processes (threads gone meanwhile are not counted). */
function runtimeNs(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    let tasks: string[] = [];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        sum += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        /* thread gone */
      }
    }
  }
  return sum;
}

export interface Mode {
  name: string;
  argvs: string[][];
  /** a reply line in the output */
  reply: RegExp;
  /** scamper: driven through its control socket instead */
  scamper?: boolean;
}
export const MODES: Mode[] = [
  { name: '12 ping', argvs: targets.map((t) => ['ping', '-n', '-O', '-D', '-i', '0.250', '-W', '1.000', '-m', '256', '-I', 'lo', t]), reply: / bytes from / },
  { name: '4 oping x3', argvs: [0, 1, 2, 3].map((u) => ['oping', '-i', '0.25', '-w', '1', '-D', 'lo', '-m', '256', ...uplink(u)]), reply: / bytes from / },
  { name: '4 fping -l x3', argvs: [0, 1, 2, 3].map((u) => ['fping', '-l', '-p', '250', '-t', '1000', '-D', '-e', '-I', 'lo', ...uplink(u)]), reply: / bytes, / },
  { name: '1 oping x12', argvs: [['oping', '-i', '0.25', '-w', '1', '-D', 'lo', '-m', '256', ...targets]], reply: / bytes from / },
  { name: '1 scamper', argvs: [], reply: /"type":"ping"/, scamper: true },
];

/** Feed scamper 12 one-probe ping tasks every 250 ms until `stop`; counts results in `out`. */
async function driveScamper(sock: string, out: string, stop: { done: boolean }): Promise<number> {
  const c = net.createConnection(sock);
  await new Promise<void>((res, rej) => c.once('connect', res).once('error', rej));
  let buf = '';
  c.on('data', (d) => {
    buf += d.toString('utf8');
    // DATA <n>\n<json>: only count, the results themselves go to the file
    for (let i; (i = buf.indexOf('\n')) >= 0; ) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.includes('"type":"ping"')) fs.appendFileSync(out, line + '\n');
    }
  });
  c.write('attach format json\n');
  let sent = 0;
  for (let next = performance.now(); !stop.done; ) {
    c.write(targets.map((t) => `ping -c 1 -W 1 -S 127.0.0.1 ${t}\n`).join(''));
    sent += targets.length;
    next += 250;
    await sleep(Math.max(0, next - performance.now()));
  }
  await sleep(1500);
  c.destroy();
  return sent;
}

export interface ProberRow {
  prober: string;
  processes: number;
  /** CPU % of one core, median over the rounds */
  cpuPct: number;
  cpuPctRuns: number[];
  ratioToPing: number;
  repliesPerS: number;
}

/** Each prober for `seconds`, alternating, `rounds` times; root. */
export async function proberBench(o: { seconds: number; rounds: number; log: (s: string) => void }): Promise<ProberRow[]> {
  const log = o.log;
  if (!(o.seconds >= 5 && o.seconds <= 600) || !(Number.isInteger(o.rounds) && o.rounds >= 1 && o.rounds <= 10)) throw new Error('probers: seconds 5-600, rounds 1-10');
  const NS = `lwpf${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-prober-'));
  const rows = new Map<string, { pct: number[]; repliesPerS: number[]; procs: number }>();
  const all: SpawnedProcess[] = [];
  const removeNs = () => realRunner.run(['ip', 'netns', 'del', NS], { allowFail: true }).then(() => undefined);
  const unregister = onCleanup(async () => {
    for (const k of all) if (!k.done) k.kill('SIGKILL');
    await removeNs();
  });
  await ensurePackages(['oping', 'fping', 'scamper'], 'probers', log);
  await realRunner.run(['ip', 'netns', 'add', NS]);
  try {
    const r = withNetns(realRunner, NS);
    await r.run(['ip', 'link', 'set', 'lo', 'up']);
    for (let round = 0; round < o.rounds; round++) {
      for (const m of MODES) {
        const out = path.join(dir, `${m.name.replace(/\W+/g, '_')}-${round}.log`);
        const kids: SpawnedProcess[] = [];
        const stop = { done: false };
        let driven: Promise<number> | null = null;
        if (m.scamper) {
          const sock = path.join(dir, `scamper-${round}.sock`);
          kids.push(r.spawn(['scamper', '-U', sock, '-p', '5000'], { logFile: path.join(dir, 'scamper.err') }));
          for (let i = 0; i < 50 && !fs.existsSync(sock); i++) await sleep(100);
          driven = driveScamper(sock, out, stop).catch((e: unknown) => {
            log(`probers: scamper driver: ${(e as Error).message}`);
            return 0;
          });
        } else {
          for (const argv of m.argvs) kids.push(r.spawn(argv, { logFile: out }));
        }
        all.push(...kids);
        await sleep(3000);
        // scamper runs privilege-separated: its unprivileged child does the probing
        const pids = kids.map((k) => k.pid!).filter(Boolean);
        if (m.scamper) {
          const kidsOf = await realRunner.run(['pgrep', '-P', String(pids[0])], { allowFail: true });
          pids.push(...kidsOf.stdout.split('\n').filter(Boolean).map(Number));
        }
        const before = countReplies(out, m.reply);
        const a = runtimeNs(pids);
        const t0 = performance.now();
        await sleep(o.seconds * 1000);
        const wall = (performance.now() - t0) / 1000;
        const b = runtimeNs(pids);
        const after = countReplies(out, m.reply);
        stop.done = true;
        if (driven) await driven;
        for (const k of kids) k.kill();
        await Promise.all(kids.map((k) => k.exited));
        const pct = (100 * (b - a)) / 1e9 / wall;
        const row = rows.get(m.name) ?? { pct: [], repliesPerS: [], procs: pids.length };
        row.pct.push(pct);
        row.repliesPerS.push((after - before) / wall);
        rows.set(m.name, row);
        log(`round ${round + 1} ${m.name.padEnd(14)} ${pct.toFixed(3)} %  ${((after - before) / wall).toFixed(1)} replies/s`);
      }
    }
  } finally {
    for (const k of all) if (!k.done) k.kill('SIGKILL');
    await Promise.all(all.map((k) => k.exited));
    await removeNs();
    unregister();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const base = median(rows.get('12 ping')!.pct);
  return [...rows].map(([prober, row]) => ({
    prober,
    processes: row.procs,
    cpuPct: Math.round(median(row.pct) * 1000) / 1000,
    cpuPctRuns: row.pct.map((v) => Math.round(v * 1000) / 1000),
    ratioToPing: Math.round((median(row.pct) / base) * 100) / 100,
    repliesPerS: Math.round(median(row.repliesPerS) * 10) / 10,
  }));
}

/** Lines of a prober's output file that report a reply (0 before the file exists). */
function countReplies(file: string, reply: RegExp): number {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => reply.test(l)).length : 0;
}

export function proberTable(rows: ProberRow[]): string {
  return table(['prober (4 uplinks x 3 targets every 250 ms)', 'processes', 'CPU %', 'vs 12 ping', 'replies/s (48 wanted)'], rows.map((r) => [r.prober, r.processes, r.cpuPct, r.ratioToPing, r.repliesPerS]));
}
