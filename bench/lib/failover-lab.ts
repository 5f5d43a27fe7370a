// Shared by test/integration/failover*.test.ts and bench/failover.ts: a lab with the REAL agent
// process running in the router namespace, traffic tools in the LAN/Internet namespaces, and
// readers for what the agent wrote to the database (uplink states, events).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { setupLab, type LabEnv } from '../../test/helpers/lab';
import { cli, BIN, ROOT } from '../../test/helpers/cli';
import { nsName } from '../../lab/lab';
import { realRunner, withNetns, type SpawnedProcess } from '../../agent/system/runner';
import { HEALTH_FAST } from '../../lib/validations/config';

export type { LabEnv };
export const SERVER = '203.0.113.80';
export const ISP_ADDR = (k: number) => `100.64.${k}.2`;
export const HOLD_PORT = 9000;

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const PROBE = path.join(ROOT, 'bench', 'lib', 'failover-probe.ts');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type ConfigDoc = Record<string, unknown> & {
  uplinks: Record<string, unknown>[];
  portForwards: Record<string, unknown>[];
  policies: Record<string, unknown>[];
  services: Record<string, unknown>[];
  firewall?: Record<string, unknown>;
};

export function labDoc(L: LabEnv): ConfigDoc {
  return JSON.parse(fs.readFileSync(L.lab.configPath, 'utf8')) as ConfigDoc;
}

/** Apply the fast health profile (HEALTH_FAST) to every uplink of a config document. */
export function fastProfile(doc: ConfigDoc): ConfigDoc {
  for (const u of doc.uplinks) u.health = { ...(u.health as Record<string, unknown>), ...HEALTH_FAST };
  return doc;
}

export function importDoc(L: LabEnv, doc: unknown): void {
  const r = cli(['import', '-'], L.env, JSON.stringify(doc));
  if (r.code !== 0) throw new Error(`linkward import failed: ${r.stderr}`);
}

export function cliRun(L: LabEnv, args: string[]): { code: number; stdout: string; stderr: string } {
  return cli(args, L.env);
}

/** The real `linkward agent` in the router namespace. */
export class AgentProc {
  readonly child: SpawnedProcess;
  readonly log: { t: number; line: string }[] = [];
  readonly exited: Promise<number | null>;

  constructor(L: LabEnv) {
    let code: number | null = null;
    const onLine = (line: string) => {
      if (line.trim()) this.log.push({ t: Date.now(), line });
    };
    this.child = withNetns(realRunner, L.lab.namespaces.router).spawn([process.execPath, BIN, 'agent'], {
      env: L.env,
      onStdoutLine: onLine,
      onStderrLine: onLine,
      onExit: (c) => (code = c),
    });
    this.exited = this.child.exited.then(() => code);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.done) return;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10000);
    await this.exited;
    clearTimeout(t);
  }

  tail(n = 30): string {
    return this.log.slice(-n).map((l) => l.line).join('\n');
  }
}

export interface UplinkRow {
  name: string;
  state: string;
  reason: string;
  since: number;
}

export function uplinkStates(L: LabEnv): Record<string, UplinkRow> {
  const rows = L.db.prepare('SELECT name, state, reason, since FROM UplinkStatus').all() as UplinkRow[];
  return Object.fromEntries(rows.map((r) => [r.name, r]));
}

export interface EventRow {
  id: number;
  ts: number;
  type: string;
  uplink: string | null;
  message: string;
}

export function events(L: LabEnv, sinceTs = 0): EventRow[] {
  return L.db.prepare('SELECT id, ts, type, uplink, message FROM Event WHERE ts >= ? ORDER BY id').all(sinceTs) as EventRow[];
}

/** Health transitions (`uplink X: a → b (...)`) recorded since a time. */
export function transitions(L: LabEnv, sinceTs = 0): EventRow[] {
  return events(L, sinceTs).filter((e) => e.type === 'uplink' && / → /.test(e.message));
}

/**
 * The agent acted on a health verdict: the uplink's row shows `state` and its transition event
 * (`uplink <label>: a → state`, written after the kernel change and the flow clean-up) is there
 * since `sinceTs`. waitState alone sees the verdict, which the agent shows before it reconciles:
 * a traffic check right after it can race the apply. `label` is the uplink's name, or
 * "isp1 (IPv6)" for the IPv6 side.
 */
export async function waitActed(L: LabEnv, uplink: string, state: string, sinceTs: number, timeoutMs = 30000, label = uplink): Promise<UplinkRow> {
  const row = await waitState(L, uplink, state, timeoutMs);
  const esc = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^uplink ${esc}: \\S+ → ${state} `);
  await waitFor(`the agent acting on ${label} ${state}`, () => transitions(L, sinceTs).some((e) => re.test(e.message)), timeoutMs);
  return row;
}

/** Poll fn until it returns a truthy value; throws after timeoutMs (bounded in time and count). */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30000, stepMs = 100): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; i < 100000 && Date.now() < end; i++) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    await sleep(stepMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function waitState(L: LabEnv, uplink: string, state: string, timeoutMs = 30000): Promise<UplinkRow> {
  return waitFor(`${uplink} ${state}`, () => {
    const r = uplinkStates(L)[uplink];
    return r && r.state === state ? r : null;
  }, timeoutMs);
}

/** A traffic tool (bench/lib/failover-probe.ts) in a lab namespace; collects its JSON lines. */
export class ProbeProc<T = Record<string, unknown>> {
  readonly child: SpawnedProcess;
  readonly lines: T[] = [];
  readonly exited: Promise<number | null>;

  constructor(ns: string, args: string[]) {
    let code: number | null = null;
    this.child = withNetns(realRunner, ns).spawn([process.execPath, '--import', TSX, PROBE, ...args], {
      onStdoutLine: (l) => {
        try {
          this.lines.push(JSON.parse(l) as T);
        } catch {
          /* not ours */
        }
      },
      onExit: (c) => (code = c),
    });
    this.exited = this.child.exited.then(() => code);
  }

  async stop(): Promise<void> {
    if (this.child.done) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

export interface ConnSample {
  t: number;
  ms: number;
  ip?: string;
  err?: string;
}

export interface HoldEvent {
  t: number;
  ev: 'open' | 'ok' | 'stall' | 'error' | 'close';
  rtt?: number;
  err?: string;
  local?: string;
}

/** New TCP connections every `everyMs` from `role` to the lab echo server. */
export function startConnector(L: LabEnv, role: string, opts: { everyMs?: number; timeoutMs?: number; source?: string; dst?: string; port?: number } = {}): ProbeProc<ConnSample> {
  const args = ['connect', opts.dst ?? SERVER, String(opts.port ?? 80), '--every', String(opts.everyMs ?? 50), '--timeout', String(opts.timeoutMs ?? 1000), '--max-seconds', '900'];
  if (opts.source) args.push('--source', opts.source);
  return new ProbeProc<ConnSample>(nsName(L.prefix, role), args);
}

/** A line echo server in `role` bound to addr:port; resolves once it listens. */
export async function startServer(L: LabEnv, role: string, addr: string, port = HOLD_PORT): Promise<ProbeProc> {
  const p = new ProbeProc(nsName(L.prefix, role), ['serve', addr, String(port), '--max-seconds', '1800']);
  await waitFor(`echo server ${addr}:${port}`, () => p.lines.length > 0 || p.child.done, 20000, 50);
  if (p.child.done) throw new Error(`server ${addr}:${port} exited`);
  return p;
}

/** One long-lived TCP flow from `role` to dst:port exchanging a line every everyMs. */
export async function startHold(L: LabEnv, role: string, dst: string, opts: { port?: number; everyMs?: number; source?: string } = {}): Promise<ProbeProc<HoldEvent>> {
  const args = ['hold', dst, String(opts.port ?? HOLD_PORT), '--every', String(opts.everyMs ?? 100), '--max-seconds', '1800'];
  if (opts.source) args.push('--source', opts.source);
  const p = new ProbeProc<HoldEvent>(nsName(L.prefix, role), args);
  await waitFor(`long-lived flow to ${dst}`, () => p.lines.some((l) => l.ev === 'ok') || p.child.done, 20000, 50);
  if (!p.lines.some((l) => l.ev === 'ok')) throw new Error(`long-lived flow to ${dst} did not start: ${JSON.stringify(p.lines)}`);
  return p;
}

/**
 * The conntrack mark of a hold flow (startHold from the LAN), read in the router namespace by the
 * flow's whole original tuple. Only its source port is not enough: a LAN host reuses an ephemeral
 * port for another destination port while its earlier flow (e.g. a whoami to :80) still sits in
 * TIME_WAIT, and conntrack then lists both. Throws unless exactly one flow matches.
 */
export async function holdMark(L: LabEnv, p: ProbeProc<HoldEvent>, dst: string, port = HOLD_PORT): Promise<number> {
  const local = p.lines.find((l) => l.ev === 'open')?.local;
  const m = local ? /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(local) : null;
  if (!m) throw new Error(`hold flow has no IPv4 local address: ${local}`);
  const argv = ['conntrack', '-L', '-p', 'tcp', '-s', m[1], '-d', dst, '--orig-port-src', m[2], '--orig-port-dst', String(port), '-o', 'extended'];
  const r = await withNetns(realRunner, L.lab.namespaces.router).run(argv, { allowFail: true });
  const lines = r.stdout.split('\n').filter((l) => /\btcp\b/.test(l));
  if (lines.length !== 1) throw new Error(`${lines.length} conntrack flows for ${local} -> ${dst}:${port}: ${r.stdout}${r.stderr}`);
  const mk = /mark=(\d+)/.exec(lines[0]);
  return mk ? Number(mk[1]) : 0;
}

/**
 * Recovery time from a connection timeline: the first attempt start t ≥ from such that every
 * attempt started at or after t (until `until`) succeeded via an address in `good`. Returns
 * t - from in ms, or null when the timeline never settled.
 */
export type AddrMatch = Set<string> | ((ip: string) => boolean);
const matches = (good: AddrMatch, ip: string | undefined): boolean => ip !== undefined && (good instanceof Set ? good.has(ip) : good(ip));

export function settledAfter(samples: ConnSample[], from: number, until: number, good: AddrMatch): number | null {
  const win = samples.filter((s) => s.t >= from && s.t <= until).sort((a, b) => a.t - b.t);
  if (win.length === 0) return null;
  let lastBad = -1;
  win.forEach((s, i) => {
    if (!matches(good, s.ip)) lastBad = i;
  });
  if (lastBad === win.length - 1) return null;
  return win[lastBad + 1].t - from;
}

/** First attempt started at or after `from` that used an address in `want`; ms after from. */
export function firstVia(samples: ConnSample[], from: number, want: AddrMatch): number | null {
  const s = samples.filter((x) => x.t >= from && matches(want, x.ip)).sort((a, b) => a.t - b.t)[0];
  return s ? s.t - from : null;
}

export async function setupFailoverLab(tag: string, uplinks = 2, opts: Parameters<typeof setupLab>[2] = {}): Promise<LabEnv> {
  return setupLab(tag, uplinks, opts);
}

export const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
