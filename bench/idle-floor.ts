// Diagnostic: the floor of the idle goal with one `ping` per target. A bare node process that does
// nothing but run 12 `ping -i 0.25` (the agent's runner.spawn and line splitter, targets on the
// loopback of a private namespace) and count their lines: its CPU and the pings' CPU over the
// window, side by side with the same 12 pings read by nobody (stdout to /dev/null) and with no
// pings at all (this process under tsx idles at a few tenths of a percent itself: subtract that).
// `node --import tsx bench/idle-floor.ts [seconds]` (root; not part of npm test).
import fs from 'node:fs';
import { realRunner, withNetns, type SpawnedProcess } from '../agent/system/runner';
import { cpuTicksFromStat } from './stats';
import { sleep } from './env';

const seconds = Number(process.argv[2] ?? 30);
const NS = `lwbf${process.pid}`;
const ticks = (pid: number | string) => cpuTicksFromStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
const HZ = 100;
await realRunner.run(['ip', 'netns', 'add', NS]);
try {
  const r = withNetns(realRunner, NS);
  await r.run(['ip', 'link', 'set', 'lo', 'up']);
  for (const mode of ['no pings', 'read by node', 'to /dev/null', 'no pings'] as const) {
    let lines = 0;
    const kids: SpawnedProcess[] = [];
    for (let i = 0; i < (mode === 'no pings' ? 0 : 12); i++) {
      const argv = ['ping', '-n', '-O', '-D', '-i', '0.250', '-W', '1.000', `127.0.0.${i + 1}`];
      kids.push(mode === 'read by node' ? r.spawn(argv, { onStdoutLine: () => void lines++ }) : r.spawn(argv, { logFile: '/dev/null' }));
    }
    await sleep(3000);
    const a = ticks('self');
    const ka = kids.map((k) => ticks(k.pid!));
    const t0 = performance.now();
    const l0 = lines;
    await sleep(seconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    const self = (100 * (ticks('self') - a)) / HZ / wall;
    const pings = (100 * kids.reduce((s, k, i) => s + ticks(k.pid!) - ka[i], 0)) / HZ / wall;
    console.log(`${mode.padEnd(13)} node ${self.toFixed(2)} %  12 pings ${pings.toFixed(2)} %  together ${(self + pings).toFixed(2)} %  (${lines - l0} lines in ${wall.toFixed(0)} s)`);
    for (const k of kids) k.kill();
    await Promise.all(kids.map((k) => k.exited));
  }
} finally {
  await realRunner.run(['ip', 'netns', 'del', NS], { allowFail: true });
}
