// Helpers for browser end-to-end tests of the dashboard (playwright-core + Debian's chromium).
// The lab+agent E2E (added by the integrator) reuses these: startServer(), launchBrowser(),
// setupAdmin()/login(), shot(), desiredRevision().
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHOT_DIR = path.join(ROOT, 'test-results', 'screenshots');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

export interface WebServer {
  url: string;
  port: number;
  db: string;
  dir: string;
  proc: ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

/** Start the built dashboard (`npx next build` must have run) on a free loopback port with a temp database. */
export async function startServer(opts: { db?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<WebServer> {
  if (!fs.existsSync(path.join(ROOT, '.next', 'BUILD_ID'))) throw new Error('no .next build: run `npx next build` first');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-e2e-'));
  const db = opts.db ?? path.join(dir, 'linkward.db');
  const port = await freePort();
  let out = '';
  const proc = spawn(process.execPath, [path.join(ROOT, 'lib', 'web', 'server.mjs'), '--port', String(port), '--host', '127.0.0.1', '--dir', ROOT], {
    env: { ...process.env, LINKWARD_DB: db, NEXT_TELEMETRY_DISABLED: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (let i = 0; i < 300 && Date.now() < deadline; i++) {
    if (proc.exitCode !== null) throw new Error(`web server exited (${proc.exitCode}):\n${out}`);
    try {
      const r = await fetch(`${url}/login`, { redirect: 'manual' });
      if (r.status > 0) break;
    } catch {
      /* not yet listening */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    if (!opts.db) fs.rmSync(dir, { recursive: true, force: true });
  };
  return { url, port, db, dir, proc, log: () => out, stop };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.LINKWARD_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export async function setupAdmin(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(`${url}/setup`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Confirm password').fill(password);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await page.waitForURL(`${url}/`);
}

export async function login(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(`${url}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${url}/`);
}

export async function logout(page: Page, url: string): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).filter({ visible: true }).first().click();
  await page.waitForURL(`${url}/login`);
}

/** Full-page screenshot into test-results/screenshots/<name>.png. */
export async function shot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SHOT_DIR, { recursive: true });
  const file = path.join(SHOT_DIR, `${name}.png`);
  // Sticky bars are drawn where the viewport is: take full-page shots from the top.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The desired revision shown in the status bar (null when none). */
export async function desiredRevision(page: Page): Promise<number | null> {
  const t = (await page.getByTestId('desired-rev').first().textContent())?.trim();
  return t && /^\d+$/.test(t) ? Number(t) : null;
}

/** Poll `fn` until it returns a truthy value (bounded). */
export async function waitFor<T>(fn: () => Promise<T> | T, what: string, timeoutMs = 10_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < Math.ceil(timeoutMs / everyMs) + 1; i++) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Stop a child process (an agent started by a test): SIGTERM, up to 5 s, then SIGKILL — a
 *  child that ignores SIGTERM must never keep the test file alive. */
export async function stopChild(child: import('node:child_process').ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
