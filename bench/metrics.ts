// Scrape cost of GET /metrics (issue 17: < 20 ms p50 with 1 000 rules). The real dashboard
// (production build, lib/web/server.mjs, started through the runner) on loopback, its database
// filled the way the agent fills it (AgentStore, AgentMetrics); sequential scrapes with the
// bearer token, measured side by side with 0 rules, plus the in-process render alone.
// usage: node --import tsx bench/metrics.ts [--scrapes N]   (needs `npx next build`; under the lab lock)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { realRunner } from '../agent/system/runner';
import { openDb } from '../lib/db/sqlite';
import { AgentStore } from '../agent/store';
import { AgentMetrics } from '../agent/metrics';
import { metricsText } from '../lib/metrics/read';
import { percentile, median, round, table, fillerRules } from './stats';
import type { CounterSpec } from '../lib/compile/types';
import { ROOT } from './env';

const TOKEN = 'bench-token-0123456789';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function seed(file: string, rules: number): Promise<void> {
  process.env.LINKWARD_DB = file;
  const { saveConfig } = await import('../lib/store/revisions');
  const r = await saveConfig({
    version: 1,
    lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
    uplinks: [{ name: 'isp1', interface: 'wan1' }, { name: 'isp2', interface: 'wan2' }],
    rules: fillerRules(rules),
    metrics: { token: TOKEN },
  }, { author: 'bench', source: 'import' });
  if (!r.ok) throw new Error(r.errors.join('; '));
  const { closeWriteDb } = await import('../lib/db/sqlite');
  closeWriteDb();
  const { disconnect } = await import('../lib/db/prisma');
  await disconnect();
  const db = openDb(file);
  const store = new AgentStore(db);
  const m = new AgentMetrics(db);
  store.markStarted(1);
  store.recordApplied(1, 100, {});
  const specs: CounterSpec[] = [];
  const values: { name: string; packets: number; bytes: number }[] = [];
  for (let i = 0; i < rules; i++) {
    specs.push({ name: `lw_r_bench_${i}`, kind: "rule", ref: `bench-${i}` });
    values.push({ name: `lw_r_bench_${i}`, packets: i * 7, bytes: i * 9000 });
  }
  store.writeCounters(values, specs, false);
  const now = Date.now();
  store.writeUplinks(['isp1', 'isp2'].map((name) => ({ name, state: 'up', since: now, reason: '', address: null, gateway: null, latencyMs: 5, lossPct: 0, connections: 10, rxBytes: 1n << 33n, txBytes: 1n << 30n })));
  for (let i = 0; i < 20; i++) m.observeApply(0.01 * i);
  m.inc('failovers_total', { uplink: 'isp1' }, 3);
  db.close();
}

async function serve(file: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const p = realRunner.spawn([process.execPath, path.join(ROOT, 'lib', 'web', 'server.mjs'), '--port', String(port), '--host', '127.0.0.1', '--dir', ROOT], { env: { LINKWARD_DB: file, NEXT_TELEMETRY_DISABLED: '1' } });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`${url}/login`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  return { url, stop: async () => { p.kill(); await Promise.race([p.exited, new Promise((r) => setTimeout(r, 5000))]); } };
}

async function scrapeTimes(url: string, n: number): Promise<{ ms: number[]; bytes: number; lines: number }> {
  const ms: number[] = [];
  let text = '';
  for (let i = 0; i < n + 20; i++) {
    const t0 = performance.now();
    const r = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    text = await r.text();
    if (r.status !== 200) throw new Error(`scrape: HTTP ${r.status}: ${text}`);
    if (i >= 20) ms.push(performance.now() - t0); // the first 20 warm the server up
  }
  return { ms, bytes: text.length, lines: text.split('\n').length };
}

function renderTimes(file: string, n: number): number[] {
  const db = openDb(file);
  db.defaultSafeIntegers(false);
  const out: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const t0 = performance.now();
    metricsText(db);
    if (i >= 20) out.push(performance.now() - t0);
  }
  db.close();
  return out;
}

const n = Number(process.argv[process.argv.indexOf('--scrapes') + 1]) || 300;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-bench-metrics-'));
const rows: (string | number | null)[][] = [];
const result: Record<string, unknown> = { date: new Date().toISOString(), scrapes: n };
try {
  for (const rules of [0, 1000]) {
    const file = path.join(dir, `m${rules}.db`);
    await seed(file, rules);
    const s = await serve(file);
    try {
      const http = await scrapeTimes(s.url, n);
      const render = renderTimes(file, n);
      result[`rules${rules}`] = { httpP50Ms: round(median(http.ms), 2), httpP95Ms: round(percentile(http.ms, 95), 2), renderP50Ms: round(median(render), 2), bytes: http.bytes, lines: http.lines };
      rows.push([rules, round(median(http.ms), 2), round(percentile(http.ms, 95), 2), round(median(render), 2), http.lines, http.bytes]);
    } finally {
      await s.stop();
    }
  }
  const a = result.rules0 as { httpP50Ms: number };
  const b = result.rules1000 as { httpP50Ms: number };
  result.ratio1000to0 = round(b.httpP50Ms / a.httpP50Ms, 2);
  result.met = b.httpP50Ms < 20;
  process.stdout.write(`${table(['rules', 'scrape p50 ms', 'scrape p95 ms', 'render p50 ms', 'lines', 'bytes'], rows)}\n`);
  process.stdout.write(`scrape p50 with 1000 rules / with 0 rules: ${result.ratio1000to0}; target < 20 ms p50: ${result.met ? 'met' : 'NOT met'}\n`);
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
