// Preload for bench/rss-startup.ts: process.memoryUsage(), V8's space sizes (kB) and
// /proc/self/status' RssAnon/RssFile/RssShmem every 50 ms, one JSON line each, to LW_MEMLOG.
// Samples only when the main thread is free: the peak itself is sampled from outside.
import fs from 'node:fs';
import v8 from 'node:v8';
const out = process.env.LW_MEMLOG ?? `/tmp/lw-mem-${process.pid}.jsonl`;
const fd = fs.openSync(out, 'w');
const t0 = Date.now();
const tick = () => {
  const m = process.memoryUsage();
  const sp = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name.replace('_space', ''), Math.round(s.space_size / 1024)]));
  let st = '';
  try { st = fs.readFileSync('/proc/self/status', 'utf8'); } catch {}
  const g = (k) => Number((st.match(new RegExp(k + ':\\s+(\\d+)')) ?? [])[1] ?? 0);
  fs.writeSync(fd, JSON.stringify({ t: Date.now() - t0, rss: Math.round(m.rss / 1024), anon: g('RssAnon'), file: g('RssFile'), shmem: g('RssShmem'), heapTotal: Math.round(m.heapTotal / 1024), heapUsed: Math.round(m.heapUsed / 1024), ext: Math.round(m.external / 1024), ab: Math.round(m.arrayBuffers / 1024), sp }) + '\n');
};
setInterval(tick, 50).unref();
tick();
