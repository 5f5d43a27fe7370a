// Bench environment: a lab with a unique prefix, a temp database, the real agent process inside the
// router namespace, and kernel observation helpers. Every command goes through agent/system/runner.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withNetns, realRunner, type SpawnedProcess, type Runner } from '../agent/system/runner';
import { labUp, labDown, labNamespaces, type LabInfo } from '../lab/lab';
import { gatherFacts } from '../agent/system/facts';
import { readTableComment } from '../agent/system/nft';
import { openDb, type DB } from '../lib/db/sqlite';
import { parseConfig, type Config, type ConfigInput } from '../lib/validations/config';
import { compile, planHash } from '../lib/compile/compile';
import type { IfaceFacts } from '../lib/compile/types';
import { findPluginDir } from '../agent/ulogd';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const BIN = path.join(ROOT, 'bin', 'linkward.js');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** ^[a-z][a-z0-9]{0,7}$ — tag + pid digits in base 36, unique per run. */
export function benchPrefix(tag: string): string {
  return `${tag}${(process.pid % 1679616).toString(36)}`.slice(0, 8);
}

/** `base` with every `run` timed: `line(startedAt, ms, text)` gets the start (performance.now()),
 *  the duration and the command as text (its first 7 words, and the size of its stdin). */
export function timedRunner(base: Runner, line: (startedAt: number, ms: number, text: string) => void): Runner {
  return {
    ...base,
    run: async (argv, opts) => {
      const t = performance.now();
      try {
        return await base.run(argv, opts);
      } finally {
        line(t, performance.now() - t, `${argv.slice(0, 7).join(' ')}${opts?.input ? ` (stdin ${opts.input.length} B)` : ''}`);
      }
    },
  };
}

export function nsRunner(ns: string): Runner {
  return withNetns(realRunner, ns);
}

export interface BenchLab {
  prefix: string;
  lab: LabInfo;
  dir: string;
  dbFile: string;
  db: DB;
  rtr: Runner;
  baseConfig: ConfigInput;
  ifaces: Record<string, IfaceFacts> | null;
  /** The agent runs ulogd2 here (installed with its plugins): its plan logs to NFLOG. */
  nflog?: boolean;
  agent: SpawnedProcess | null;
  cleanup(): Promise<void>;
}

/** Labs that are up (removed by their cleanup): what a SIGINT/SIGTERM must tear down. */
const liveLabs = new Set<BenchLab>();
/** Extra teardown steps registered by a section (a peer's daemons, ...), run on a signal too. */
const extraCleanups = new Set<() => Promise<void>>();

export function onCleanup(fn: () => Promise<void>): () => void {
  extraCleanups.add(fn);
  return () => extraCleanups.delete(fn);
}

/** Bound a promise: rejects with `what timed out after ms` (the work itself is torn down by the
 *  lab cleanup that follows: its namespaces and processes go). */
export function bounded<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Tear down every live lab and registered peer (bounded), for a signal or a crash. */
export async function cleanupAll(): Promise<void> {
  const steps = [...[...extraCleanups].map((f) => f()), ...[...liveLabs].map((L) => L.cleanup())];
  await bounded('cleanup', 30000, Promise.allSettled(steps)).catch(() => undefined);
}

let signalsInstalled = false;
/** SIGINT/SIGTERM: remove the labs (namespaces, their processes, the iperf3/echo servers), then exit
 *  130/143. A second signal exits at once. */
export function installSignalCleanup(log: (s: string) => void): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  let stopping = false;
  const handler = (sig: NodeJS.Signals) => {
    const code = sig === 'SIGINT' ? 130 : 143;
    if (stopping) process.exit(code);
    stopping = true;
    log(`${sig}: removing ${liveLabs.size} lab(s) and exiting`);
    void cleanupAll().finally(() => process.exit(code));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** Kill what still runs in our own namespaces (iperf3 clients, conn clients, a stuck agent), so
 *  deleting them really removes them. Only namespaces of this prefix. */
async function killNsProcesses(prefix: string): Promise<void> {
  for (const ns of await labNamespaces(prefix).catch(() => [] as string[])) {
    const r = await realRunner.run(['ip', 'netns', 'pids', ns], { allowFail: true, timeoutMs: 5000 }).catch(() => null);
    for (const pid of (r?.stdout ?? '').split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

export async function benchLab(tag: string, uplinks: number): Promise<BenchLab> {
  const prefix = benchPrefix(tag);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lw-bench-${prefix}-`));
  await labDown(prefix).catch(() => undefined); // only our own prefix
  // until the lab object exists, a signal (or a failed labUp) still removes what labUp made
  const early = onCleanup(async () => {
    await killNsProcesses(prefix);
    await labDown(prefix).catch(() => undefined);
  });
  let lab: LabInfo;
  try {
    lab = await bounded('lab up', 120000, labUp({ prefix, uplinks, configOut: path.join(dir, 'lab-config.json') }));
  } catch (e) {
    await killNsProcesses(prefix);
    await labDown(prefix).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  } finally {
    early();
  }
  const dbFile = path.join(dir, 'linkward.db');
  process.env.LINKWARD_DB = dbFile; // saveConfig (prisma) in this process writes here
  const db = openDb(dbFile);
  const L: BenchLab = {
    prefix,
    lab,
    dir,
    dbFile,
    db,
    rtr: nsRunner(lab.namespaces.router),
    baseConfig: JSON.parse(fs.readFileSync(lab.configPath, 'utf8')) as ConfigInput,
    ifaces: null,
    agent: null,
    async cleanup() {
      if (!liveLabs.delete(L)) return; // once
      await bounded('stopping the agent', 15000, stopAgent(L)).catch(() => undefined);
      try {
        const { disconnect } = await import('../lib/db/prisma');
        await disconnect();
      } catch {
        /* not connected */
      }
      db.close();
      await killNsProcesses(prefix);
      await bounded('lab down', 20000, labDown(prefix)).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  liveLabs.add(L);
  return L;
}

/** Start the real agent (`linkward agent --quiet`) inside the router namespace. */
export function startAgent(L: BenchLab, extraArgs: string[] = [], nodeArgs: string[] = [], bundle?: string, env: Record<string, string> = {}): SpawnedProcess {
  const entry = bundle ? [bundle] : [BIN, 'agent'];
  const child = withNetns(realRunner, L.lab.namespaces.router).spawn([process.execPath, ...nodeArgs, ...entry, '--quiet', ...extraArgs], {
    env: { LINKWARD_DB: L.dbFile, LINKWARD_ROOT: ROOT, ...env },
    logFile: path.join(L.dir, 'agent.log'),
    cwd: ROOT,
  });
  L.agent = child;
  return child;
}

export async function stopAgent(L: BenchLab): Promise<void> {
  const a = L.agent;
  if (!a || a.done) return;
  a.kill('SIGTERM');
  const t = setTimeout(() => a.kill('SIGKILL'), 10000);
  await a.exited;
  clearTimeout(t);
  L.agent = null;
}

/** The marker ("lw:<planHash>") the kernel must carry once `doc` is applied in this lab. */
export async function expectedMarker(L: BenchLab, doc: ConfigInput): Promise<string> {
  const parsed = parseConfig(doc);
  if (!parsed.ok) throw new Error(`bench config invalid: ${parsed.errors.slice(0, 3).join('; ')}`);
  const config: Config = parsed.value;
  if (!L.ifaces) {
    const names = [...config.lan.map((l) => l.interface), ...config.uplinks.map((u) => u.interface)];
    L.ifaces = await gatherFacts(L.rtr, names);
  }
  // The agent logs to NFLOG when it runs ulogd2 (agent/ulogd.ts: ulogd and its plugins present).
  L.nflog ??= 'dir' in findPluginDir() && (await L.rtr.run(['ulogd', '-V'], { allowFail: true, timeoutMs: 5000 }).catch(() => null))?.exitCode === 0;
  // Health only changes the plan when an uplink is 'down'; the lab's uplinks are all healthy.
  return `lw:${planHash(compile(config, { interfaces: L.ifaces, health: {}, ...(L.nflog ? { nflog: true } : {}) }))}`;
}

/**
 * Watches the router's nftables through `nft monitor rules` (events arrive when a transaction
 * commits), so waiting costs no CPU. A marker counts as seen when the monitor reports the lw_meta
 * rule carrying it AND a direct kernel read confirms it (never the agent's own report).
 */
/** Backstop poll period of MarkerWatch (ms). */
export const BACKSTOP_MS = 30;
/** The backstop poll while the monitor reported no loss. */
export const QUIET_BACKSTOP_MS = 250;

export class MarkerWatch {
  private proc: SpawnedProcess | null = null;
  private seen = new Map<string, number>();
  private waiters = new Map<string, (t: number) => void>();
  private stopped = false;
  /** Since the last reset(): the monitor lost events (stderr, e.g. ENOBUFS, or it exited), or it
   *  is printing a transaction whose marker line has not come yet. */
  private fastPoll = false;
  /** How the markers were detected (monitor event vs. fallback poll) and monitor restarts. */
  readonly stats = { monitor: 0, poll: 0, restarts: 0, errors: [] as string[] };
  constructor(private readonly L: BenchLab) {
    this.start();
  }
  private start(): void {
    this.proc = withNetns(realRunner, this.L.lab.namespaces.router).spawn(['nft', 'monitor', 'rules'], {
      onStdoutLine: (line) => {
        const m = /^add rule inet linkward lw_meta .*comment "(lw:[0-9a-f]+)"/.exec(line);
        if (!m) {
          this.fastPoll = true; // a transaction is being printed (10 000 lines take nft a while): poll fast
          return;
        }
        const t = performance.now();
        this.seen.set(m[1], t);
        this.waiters.get(m[1])?.(t);
      },
      onStderrLine: (line) => {
        this.fastPoll = true;
        if (this.stats.errors.length < 5) this.stats.errors.push(line);
      },
      onExit: () => {
        this.fastPoll = true;
        // netlink buffer overruns (ENOBUFS) on big transactions can end `nft monitor`: restart it
        if (!this.stopped && this.stats.restarts < 1000) {
          this.stats.restarts++;
          setTimeout(() => !this.stopped && this.start(), 50);
        }
      },
    });
  }
  /** Forget earlier sightings (call before writing a revision). */
  reset(): void {
    this.seen.clear();
    this.fastPoll = false;
  }
  /** ms from t0 until the kernel carries `marker` (null on timeout). Monitor events, with a
   *  kernel poll as a backstop (nft monitor loses events when a big transaction overruns its
   *  netlink socket buffer, and prints a 10 000-rule transaction for a while before its marker
   *  line): every BACKSTOP_MS once the monitor reported a loss (stderr, exit) or printed any other
   *  line, else (nothing applied yet) every QUIET_BACKSTOP_MS. Each poll is an `nft list` that
   *  fetches every rule (~50 ms of CPU at 10 000 rules): polling every 30 ms throughout competed
   *  with the agent it measures. Every hit is confirmed by reading the kernel. */
  async wait(marker: string, t0: number, timeoutMs: number): Promise<number | null> {
    const deadline = t0 + timeoutMs;
    for (let i = 0; i < 100000 && performance.now() < deadline; i++) {
      const ev = this.seen.get(marker) ?? (await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => { this.waiters.delete(marker); resolve(null); }, this.fastPoll ? BACKSTOP_MS : QUIET_BACKSTOP_MS);
        this.waiters.set(marker, (t) => { clearTimeout(timer); this.waiters.delete(marker); resolve(t); });
      }));
      const now = performance.now();
      const confirmed = await readTableComment(this.L.rtr).catch(() => null);
      if (confirmed === marker) {
        if (ev !== null) this.stats.monitor++;
        else this.stats.poll++;
        return (ev ?? now) - t0;
      }
      // an event the kernel does not confirm was not this apply's (a late line of an earlier one):
      // forget it, or the loop would read the kernel without pause and report that old time
      if (ev !== null) this.seen.delete(marker);
    }
    return null;
  }
  stop(): void {
    this.stopped = true;
    this.proc?.kill();
  }
}

/** Poll the kernel (lw_meta marker) until it equals `marker`; ms from `t0` (performance.now()), or null on timeout. */
export async function waitForMarker(L: BenchLab, marker: string, t0: number, timeoutMs: number, pollMs = 20): Promise<number | null> {
  const deadline = t0 + timeoutMs;
  for (let i = 0; i < 100000 && performance.now() < deadline; i++) {
    const m = await readTableComment(L.rtr).catch(() => null);
    if (m === marker) return performance.now() - t0;
    await sleep(pollMs);
  }
  return null;
}

/** The agent's own report (AgentState.applyMs) for the latest apply, for comparison only. */
export function agentReport(L: BenchLab): { appliedRevision: number | null; applyMs: number | null } {
  const row = L.db.prepare('SELECT appliedRevision, applyMs FROM AgentState WHERE id = 1').get() as { appliedRevision: number | null; applyMs: number | null } | undefined;
  return { appliedRevision: row?.appliedRevision ?? null, applyMs: row?.applyMs ?? null };
}

/** Run a command in a lab role's namespace. */
export function inNs(L: BenchLab, role: 'lan' | 'router' | 'net', argv: string[], opts: { timeoutMs?: number; input?: string; allowFail?: boolean } = {}) {
  return withNetns(realRunner, L.lab.namespaces[role]).run(argv, { ...opts });
}
