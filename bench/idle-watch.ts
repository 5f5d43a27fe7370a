// Diagnostic: what the idle agent runs. The footprint lab (2 uplinks, no rules), the agent idle for
// `seconds`; every 50 ms the agent's child processes are listed from /proc and new ones counted by
// argv; the agent's log is printed at the end. `node --import tsx bench/idle-watch.ts [seconds]`.
import fs from 'node:fs';
import path from 'node:path';
import { benchLab, startAgent, sleep, expectedMarker, MarkerWatch } from './env';
import { saveConfig } from '../lib/store/revisions';
import { footprintConfig } from './footprint';

const seconds = Number(process.argv[2] ?? 40);
const L = await benchLab('bw', Number(process.argv[3] ?? 2));
try {
  const doc = footprintConfig(L.baseConfig, Number(process.argv[4] ?? 0));
  const s = await saveConfig(doc, { author: 'bench', source: 'cli' });
  if (!s.ok) throw new Error(s.errors.join('; '));
  const watch = new MarkerWatch(L);
  const marker = await expectedMarker(L, doc);
  const agent = startAgent(L, []);
  if ((await watch.wait(marker, performance.now(), 60000)) === null) throw new Error('not applied');
  watch.stop?.();
  await sleep(5000);
  const seen = new Set<number>();
  const counts = new Map<string, number>();
  const kids = (pid: number): number[] => {
    try {
      return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const first = new Set<number>();
  const walk = (pid: number, out: number[]) => { for (const k of kids(pid)) { out.push(k); walk(k, out); } };
  const init: number[] = [];
  walk(agent.pid!, init);
  for (const k of init) first.add(k);
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const all: number[] = [];
    walk(agent.pid!, all);
    for (const k of all) {
      if (seen.has(k) || first.has(k)) continue;
      seen.add(k);
      let argv = '?';
      try { argv = fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(0, 6).join(' '); } catch { /* gone */ }
      counts.set(argv, (counts.get(argv) ?? 0) + 1);
    }
    await sleep(50);
  }
  console.log(`${init.length} long-lived children; new processes in ${seconds} s:`);
  for (const [k, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(5)}  ${k}`);
  console.log('--- agent log (tail) ---');
  console.log(fs.readFileSync(path.join(L.dir, 'agent.log'), 'utf8').split('\n').slice(-25).join('\n'));
} finally {
  await L.cleanup();
}
