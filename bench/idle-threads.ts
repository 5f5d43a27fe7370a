// Diagnostic: where the idle agent's CPU goes, per thread of the agent process and per live child
// (the footprint lab: 4 uplinks, 1 000 rules, probes every 250 ms), from /proc over the window.
// `node --import tsx bench/idle-threads.ts [seconds] [agent args,comma-separated] [env JSON]`.
import fs from 'node:fs';
import { benchLab, sleep } from './env';
import { footprintBench } from './footprint';
const secs = Number(process.argv[2] ?? 40);
const L = await benchLab('bt', 4);
const snap = (pid: number) => {
  const m = new Map<string, { u: number; s: number; name: string }>();
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      m.set(t, { u: Number(f[11]), s: Number(f[12]), name });
    } catch { /* gone */ }
  }
  return m;
};
try {
  let a: ReturnType<typeof snap> | null = null;
  const p = footprintBench(L, { seconds: secs, warmupS: 10, rules: 1000, log: (s) => process.stderr.write(`${s}\n`), agentArgs: (process.argv[3] ?? '').split(',').filter(Boolean), env: JSON.parse(process.argv[4] ?? '{}') });
  // wait until the agent exists and applied (footprintBench logs); then 15 s later take a snapshot
  for (let i = 0; i < 600 && !L.agent?.pid; i++) await sleep(100);
  await sleep(20000);
  const pid = L.agent!.pid as number;
  a = snap(pid);
  const desc = (root: number): number[] => { const out: number[] = []; const q = [root]; while (q.length) { const x = q.pop()!; for (const t of fs.readdirSync(`/proc/${x}/task`)) { try { for (const c of fs.readFileSync(`/proc/${x}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)) { out.push(c); q.push(c); } } catch { /* gone */ } } } return out; };
  const kstat = (k: number) => { try { const st = fs.readFileSync(`/proc/${k}/stat`, 'utf8'); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); return { t: Number(f[11]) + Number(f[12]), cmd: fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 90) }; } catch { return null; } };
  const k0 = new Map(desc(pid).map((k) => [k, kstat(k)]));
  const t0 = Date.now();
  await sleep((secs - 15) * 1000);
  const b = snap(pid);
  for (const [k, v0] of k0) { const v1 = kstat(k); if (v0 && v1) console.log(`child ${((v1.t - v0.t) / ((Date.now() - t0) / 1000)).toFixed(2).padStart(6)} %  ${v1.cmd}`); }
  const wall = (Date.now() - t0) / 1000;
  let tu = 0, ts = 0;
  for (const [t, v] of b) {
    const o = a.get(t) ?? { u: 0, s: 0 };
    const du = v.u - o.u, ds = v.s - o.s;
    tu += du; ts += ds;
    if (du + ds > 0) console.log(`${t} ${v.name.padEnd(16)} user ${(du / wall).toFixed(2)} %  sys ${(ds / wall).toFixed(2)} %`);
  }
  console.log(`total user ${(tu / wall).toFixed(2)} % sys ${(ts / wall).toFixed(2)} %  (${b.size} threads)`);
  const r = await p;
  console.log(JSON.stringify(r));
} finally { await L.cleanup(); }
