// Diagnostic: where the idle agent's CPU goes, per thread of the agent process and per live child
// (the footprint lab: 4 uplinks, 1 000 rules, probes every 250 ms), from /proc over the window.
// `node --import tsx bench/idle-threads.ts [seconds] [agent args,comma-separated] [env JSON]`.
import fs from 'node:fs';
import { benchLab, sleep } from './env';
import { footprintBench, descendants } from './footprint';
import { cpuTicksFromStat } from './stats';

const CLK_TCK = 100; // as bench/footprint.ts
const secs = Number(process.argv[2] ?? 40);
const read = (file: string): string | null => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null; // gone
  }
};
/** CPU ticks (user, system) and name of every thread of `pid`. */
function threads(pid: number): Map<string, { u: number; s: number; name: string }> {
  const m = new Map<string, { u: number; s: number; name: string }>();
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    const st = read(`/proc/${pid}/task/${t}/stat`);
    if (!st) continue;
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    m.set(t, { u: Number(f[11]), s: Number(f[12]), name: st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')) });
  }
  return m;
}
const ticksOf = (pid: number): number | null => {
  const st = read(`/proc/${pid}/stat`);
  return st === null ? null : cpuTicksFromStat(st);
};
const pct = (ticks: number, wallS: number) => ((100 * ticks) / CLK_TCK / wallS).toFixed(2);

const L = await benchLab('bt', 4);
try {
  const p = footprintBench(L, { seconds: secs, warmupS: 10, rules: 1000, log: (s) => process.stderr.write(`${s}\n`), agentArgs: (process.argv[3] ?? '').split(',').filter(Boolean), env: JSON.parse(process.argv[4] ?? '{}') });
  // the agent starts and applies (a few s), then its warm-up: the window starts 20 s after its start
  for (let i = 0; i < 600 && !L.agent?.pid; i++) await sleep(100);
  await sleep(20000);
  const pid = L.agent!.pid as number;
  const a = threads(pid);
  const kids = new Map(descendants(pid).map((k) => [k, ticksOf(k)]));
  const t0 = Date.now();
  await sleep((secs - 15) * 1000);
  const wall = (Date.now() - t0) / 1000;
  const b = threads(pid);
  for (const [k, t0k] of kids) {
    const t1k = ticksOf(k);
    if (t0k !== null && t1k !== null) console.log(`child ${pct(t1k - t0k, wall).padStart(6)} %  ${(read(`/proc/${k}/cmdline`) ?? '').split('\0').join(' ').slice(0, 90)}`);
  }
  let tu = 0;
  let ts = 0;
  for (const [t, v] of b) {
    const o = a.get(t) ?? { u: 0, s: 0 };
    tu += v.u - o.u;
    ts += v.s - o.s;
    if (v.u - o.u + v.s - o.s > 0) console.log(`${t} ${v.name.padEnd(16)} user ${pct(v.u - o.u, wall)} %  sys ${pct(v.s - o.s, wall)} %`);
  }
  console.log(`total user ${pct(tu, wall)} % sys ${pct(ts, wall)} %  (${b.size} threads)`);
  console.log(JSON.stringify(await p));
} finally {
  await L.cleanup();
}
