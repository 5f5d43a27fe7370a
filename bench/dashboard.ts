// Dashboard: TTFB of the overview (/) and rules (/rules) pages with ~1 000 rules, and the size of
// the counter refresh payload (/api/counters), against the built app (`next build`) served by
// `linkward web` on a temporary database with an admin user and a session made with lib/auth.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { saveConfig } from '../lib/store/revisions';
import { createUser } from '../lib/auth/users';
import { createSession, SESSION_COOKIE } from '../lib/auth/session';
import { withNetns, realRunner } from '../agent/system/runner';
import { benchConfig, percentile, round } from './stats';
import { type BenchLab, BIN, ROOT, sleep } from './env';

export interface PageResult {
  path: string;
  status: number;
  ttfbP50: number | null;
  ttfbP95: number | null;
  totalP50: number | null;
  bytes: number;
  gzipBytes: number;
}

export type DashboardResult =
  | { measurable: false; reason: string }
  | { measurable: true; buildId: string; buildAge: string; rules: number; counters: number; pages: PageResult[]; serverErrors: string[] };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function get(port: number, p: string, cookie: string): Promise<{ status: number; ttfb: number; total: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ttfb = 0;
    const req = http.get({ host: '127.0.0.1', port, path: p, headers: { cookie, 'accept-encoding': 'identity' }, timeout: 30000 }, (res) => {
      const chunks: Buffer[] = [];
      res.once('data', () => (ttfb = performance.now() - t0));
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ttfb: ttfb || performance.now() - t0, total: performance.now() - t0, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export async function dashboardBench(L: BenchLab, o: { requests: number; rules: number; log: (s: string) => void }): Promise<DashboardResult> {
  const buildIdFile = path.join(ROOT, '.next', 'BUILD_ID');
  if (!fs.existsSync(buildIdFile)) {
    o.log('dashboard: no .next build; running `npx next build` (about a minute)');
    const b = await realRunner.run(['npx', 'next', 'build'], { timeoutMs: 600000, allowFail: true });
    if (b.exitCode !== 0 || !fs.existsSync(buildIdFile)) return { measurable: false, reason: `next build failed: ${b.stderr.trim().split('\n').slice(-3).join(' ')}` };
  }
  const buildId = fs.readFileSync(buildIdFile, 'utf8').trim();
  const buildAge = `${Math.round((Date.now() - fs.statSync(buildIdFile).mtimeMs) / 60000)} min`;
  const doc = benchConfig(L.baseConfig, { rules: o.rules });
  const s = await saveConfig(doc, { author: 'bench', source: 'cli' });
  if (!s.ok) throw new Error(`bench config rejected: ${s.errors.join('; ')}`);
  // counters in the database, as the agent leaves them
  const once = await withNetns(realRunner, L.lab.namespaces.router).run([process.execPath, BIN, 'agent', '--once', '--quiet'], { timeoutMs: 120000, allowFail: true });
  if (once.exitCode !== 0) throw new Error(`agent --once failed: ${once.stderr}`);
  const u = await createUser('bench', 'bench-password-123');
  if (!u.ok) return { measurable: false, reason: `createUser failed: ${JSON.stringify(u.fieldErrors)}` };
  const { token } = await createSession(u.id, '127.0.0.1');
  const cookie = `${SESSION_COOKIE}=${token}`;
  const counters = (L.db.prepare('SELECT COUNT(*) AS n FROM Counter').get() as { n: number }).n;

  const port = await freePort();
  const web = realRunner.spawn([process.execPath, BIN, 'web', '--port', String(port), '--host', '127.0.0.1'], { env: { LINKWARD_DB: L.dbFile }, logFile: path.join(L.dir, 'web.log'), cwd: ROOT });
  try {
    let up = false;
    for (let i = 0; i < 300 && !up; i++) {
      await sleep(200);
      up = await get(port, '/login', '').then(() => true, () => false);
      if (web.done) break;
    }
    if (!up) return { measurable: false, reason: `linkward web did not answer on port ${port} (see log)` };
    const pages: PageResult[] = [];
    for (const p of ['/', '/rules', '/api/counters']) {
      const first = await get(port, p, cookie); // warm-up (first render compiles/caches)
      if (first.status !== 200) {
        pages.push({ path: p, status: first.status, ttfbP50: null, ttfbP95: null, totalP50: null, bytes: first.body.length, gzipBytes: 0 });
        continue;
      }
      const ttfb: number[] = [];
      const total: number[] = [];
      let body = first.body;
      for (let i = 0; i < o.requests; i++) {
        const r = await get(port, p, cookie);
        ttfb.push(r.ttfb);
        total.push(r.total);
        body = r.body;
      }
      pages.push({ path: p, status: 200, ttfbP50: round(percentile(ttfb, 50)), ttfbP95: round(percentile(ttfb, 95)), totalP50: round(percentile(total, 50)), bytes: body.length, gzipBytes: zlib.gzipSync(body).length });
      o.log(`dashboard: ${p} ttfb p50 ${round(percentile(ttfb, 50))} ms, ${body.length} B`);
    }
    // error lines the server logged (e.g. a page answering 500)
    const logLines = fs.readFileSync(path.join(L.dir, 'web.log'), 'utf8').split('\n');
    const firstErr = logLines.findIndex((l) => /error/i.test(l));
    const serverErrors = firstErr < 0 ? [] : logLines.slice(firstErr, firstErr + 12).filter((l) => l.trim()).map((l) => l.slice(0, 300));
    return { measurable: true, buildId, buildAge, rules: doc.rules?.length ?? 0, counters, pages, serverErrors };
  } finally {
    web.kill('SIGTERM');
    await web.exited;
  }
}
