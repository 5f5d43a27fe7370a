// Preload for bench/profile-idle.ts: a CPU profile of the steady state only (not start-up).
// LW_PROF_DELAY_MS after start, profile LW_PROF_MS, write LW_PROF_OUT (a .cpuprofile).
import inspector from 'node:inspector';
import fs from 'node:fs';

const delay = Number(process.env.LW_PROF_DELAY_MS ?? 20000);
const span = Number(process.env.LW_PROF_MS ?? 40000);
const out = process.env.LW_PROF_OUT ?? `/tmp/lw-steady-${process.pid}.cpuprofile`;
const s = new inspector.Session();
s.connect();
setTimeout(() => {
  s.post('Profiler.enable', () => s.post('Profiler.start', () => {
    setTimeout(() => s.post('Profiler.stop', (err, r) => {
      if (!err) fs.writeFileSync(out, JSON.stringify(r.profile));
    }), span).unref();
  }));
}, delay).unref();
