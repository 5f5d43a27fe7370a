// The packet log (issue 15): admin rules with `log: true` and the built-in drop log reach the
// dashboard through the kernel's NFLOG and Debian's ulogd2, supervised by the agent.
//  - The compiler renders `log prefix "lw:<rule> " group NFLOG_GROUP snaplen 128` when the facts
//    say the agent runs ulogd2 (facts.nflog), the kernel log otherwise.
//  - The agent listens on a unix socket in its run directory (mode 0600: root only), writes
//    ulogd.conf (lib/compile/ulogd.ts: NFLOG → BASE → IFINDEX → IP2STR → JSON in "unix" mode,
//    one JSON object per line to that socket) and runs `ulogd -c <conf>` in the foreground through
//    the runner (in the agent's network namespace: NFLOG is per namespace), restarted with backoff.
//  - Each line is parsed (zod) into a DropLog row (via 'nflog': rule, chain, verdict, in/out
//    interface and uplink, 5-tuple, length, time of the packet), written in batches every 100 ms;
//    the table stays within LOG_KEEP_ROWS rows and LOG_KEEP_BYTES bytes (pruneLog).
//  - Where ulogd2 or its JSON plugin is missing, nothing runs: the log statements go to the kernel
//    log and the drop-record sets stay the drop log (agent/droplog.ts). Which one is active is in
//    the facts the agent reports (AgentState.facts.nflog) and in an event of type "log".
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import type { DB } from '../lib/db/sqlite';
import type { Config } from '../lib/validations/config';
import { renderUlogdConf, ULOGD_PLUGINS } from '../lib/compile/ulogd';
import { COMMENT_PREFIX, NFLOG_GROUP } from '../lib/compile/constants';
import { isIPv4, isIPv6 } from '../lib/validations/net';
import type { Runner, SpawnedProcess } from './system/runner';
import { isDbFault } from './store';

/** Retention of the log table (both paths): at most this many rows and about this many bytes. */
export const LOG_KEEP_ROWS = 10000;
export const LOG_KEEP_BYTES = 2 * 1024 * 1024;
/** At most this many packet records are stored per second; the rest are counted as suppressed. */
export const LOG_MAX_PER_S = 500;
const FLUSH_MS = 100;
const MAX_LINE = 16 * 1024;

/** Plugin directories to look in (Debian multiarch first). LINKWARD_ULOGD_PLUGINS overrides. */
export function pluginDirCandidates(env = process.env): string[] {
  if (env.LINKWARD_ULOGD_PLUGINS) return [env.LINKWARD_ULOGD_PLUGINS];
  const out: string[] = [];
  try {
    for (const d of fs.readdirSync('/usr/lib', { withFileTypes: true })) if (d.isDirectory() && /-linux-gnu(eabihf)?$/.test(d.name)) out.push(`/usr/lib/${d.name}/ulogd`);
  } catch {
    /* no /usr/lib */
  }
  out.push('/usr/lib/ulogd', '/usr/lib64/ulogd');
  return out;
}

/** The first directory holding every plugin of our stack, or what is missing. */
export function findPluginDir(candidates = pluginDirCandidates()): { dir: string } | { missing: string } {
  let best: { dir: string; lacking: string[] } | null = null;
  for (const dir of candidates) {
    const lacking = ULOGD_PLUGINS.filter((p) => !fs.existsSync(path.join(dir, p)));
    if (lacking.length === 0) return { dir };
    if (lacking.length < ULOGD_PLUGINS.length && (!best || lacking.length < best.lacking.length)) best = { dir, lacking };
  }
  if (best) return { missing: `${best.lacking.join(', ')} missing in ${best.dir}${best.lacking.includes('ulogd_output_JSON.so') ? ' (apt install ulogd2-json)' : ''}` };
  return { missing: 'ulogd2 is not installed (apt install ulogd2 ulogd2-json)' };
}

const lineZ = z.object({
  'oob.prefix': z.string().max(128),
  'oob.time.sec': z.number().int().nonnegative(),
  'oob.time.usec': z.number().int().nonnegative().optional(),
  'oob.in': z.string().max(32).optional(),
  'oob.out': z.string().max(32).optional(),
  'oob.hook': z.number().int().optional(),
  'oob.family': z.number().int().optional(),
  src_ip: z.string().max(64).optional(),
  dest_ip: z.string().max(64).optional(),
  src_port: z.number().int().min(0).max(65535).optional(),
  dest_port: z.number().int().min(0).max(65535).optional(),
  'ip.protocol': z.number().int().min(0).max(255).optional(),
  'ip6.nexthdr': z.number().int().min(0).max(255).optional(),
  'ip.totlen': z.number().int().nonnegative().optional(),
  'ip6.payloadlen': z.number().int().nonnegative().optional(),
  'raw.pktlen': z.number().int().nonnegative().optional(),
});

export interface PacketRecord {
  ts: number;
  /** Admin rule name, or null for the built-in drop log. */
  rule: string | null;
  /** Chain of a built-in drop (from the prefix) or of the hook the packet was logged in. */
  chain: 'input' | 'forward' | 'output';
  inIf: string | null;
  outIf: string | null;
  src: string;
  dst: string;
  proto: string;
  sport: number | null;
  dport: number | null;
  len: number | null;
}

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp', 132: 'sctp', 136: 'udplite' };
const HOOK: Record<number, PacketRecord['chain']> = { 1: 'input', 2: 'forward', 3: 'output' };
const RULE_RE = /^[a-z][a-z0-9-]{0,23}$/;

/** Pure: one JSON line of ulogd's JSON output → a record, or null (not ours, or malformed). */
export function parseUlogdLine(line: string): PacketRecord | null {
  if (line.length > MAX_LINE) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  const p = lineZ.safeParse(raw);
  if (!p.success) return null;
  const o = p.data;
  const prefix = o['oob.prefix'].trimEnd();
  if (!prefix.startsWith(COMMENT_PREFIX)) return null;
  const tag = prefix.slice(COMMENT_PREFIX.length);
  let rule: string | null = null;
  let chain: PacketRecord['chain'] | undefined = HOOK[o['oob.hook'] ?? -1];
  const drop = /^drop:(input|forward)$/.exec(tag);
  if (drop) chain = drop[1] as 'input' | 'forward';
  else if (RULE_RE.test(tag)) rule = tag;
  else return null;
  if (!chain) return null;
  const src = o.src_ip ?? '';
  const dst = o.dest_ip ?? '';
  if (!(isIPv4(src) || isIPv6(src)) || !(isIPv4(dst) || isIPv6(dst))) return null;
  const pn = o['ip.protocol'] ?? o['ip6.nexthdr'];
  const proto = pn === undefined ? 'unknown' : (PROTO[pn] ?? String(pn));
  const ported = proto === 'tcp' || proto === 'udp' || proto === 'sctp' || proto === 'udplite';
  const len = o['ip.totlen'] ?? (o['ip6.payloadlen'] !== undefined ? o['ip6.payloadlen'] + 40 : o['raw.pktlen'] ?? null);
  return {
    ts: o['oob.time.sec'] * 1000 + Math.floor((o['oob.time.usec'] ?? 0) / 1000),
    rule,
    chain,
    inIf: o['oob.in'] || null,
    outIf: o['oob.out'] || null,
    src,
    dst,
    proto,
    sport: ported ? (o.src_port ?? null) : null,
    dport: ported ? (o.dest_port ?? null) : null,
    len,
  };
}

/** SQL of a row's size in bytes (text lengths plus a fixed overhead for the numbers). */
const ROW_BYTES = "(48 + length(CAST(chain AS BLOB)) + COALESCE(length(CAST(inIf AS BLOB)), 0) + COALESCE(length(CAST(outIf AS BLOB)), 0) + COALESCE(length(CAST(uplink AS BLOB)), 0) + length(CAST(src AS BLOB)) + length(CAST(dst AS BLOB)) + length(CAST(proto AS BLOB)) + COALESCE(length(CAST(rule AS BLOB)), 0) + COALESCE(length(CAST(verdict AS BLOB)), 0))";

/** Keep the log table within `maxRows` rows and `maxBytes` bytes: when either is exceeded, the
 *  oldest rows go until 90 % of both remain. Returns the rows deleted. */
export function pruneLog(db: DB, maxRows = LOG_KEEP_ROWS, maxBytes = LOG_KEEP_BYTES): number {
  const t = db.prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(${ROW_BYTES}), 0) AS b FROM DropLog`).get() as { n: number; b: number };
  if (t.n <= maxRows && t.b <= maxBytes) return 0;
  const keepRows = Math.floor(maxRows * 0.9);
  const keepBytes = Math.floor(maxBytes * 0.9);
  let n = t.n;
  let b = t.b;
  let cut: number | null = null;
  let removed = 0;
  for (const r of db.prepare(`SELECT id, ${ROW_BYTES} AS b FROM DropLog ORDER BY id ASC`).iterate() as Iterable<{ id: number; b: number }>) {
    if (n <= keepRows && b <= keepBytes) break;
    n--;
    b -= r.b;
    cut = r.id;
    removed++;
  }
  if (cut !== null) db.prepare('DELETE FROM DropLog WHERE id <= ?').run(cut);
  return removed;
}

export type PacketLogState = 'off' | 'missing' | 'running' | 'restarting' | 'failed';

/** ulogd2 supervised by the agent, and the socket its JSON lines arrive on. */
export class PacketLog {
  private server: net.Server | null = null;
  private proc: SpawnedProcess | null = null;
  private stopped = false;
  private restarts = 0;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  /** Armed by the first buffered record, so an idle log costs no timer wake-ups. */
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private pending: PacketRecord[] = [];
  private second = 0;
  private inSecond = 0;
  private config: Config | null = null;
  private readonly clients = new Set<net.Socket>();
  private runningDetail = '';
  private st: { insert: { run: (...args: unknown[]) => unknown } };
  state: PacketLogState = 'off';
  /** Why it is not running (missing/failed), for the event and the dashboard. */
  detail = '';
  /** Records stored and suppressed (rate cap) since start (tests, metrics). */
  stored = 0;
  suppressed = 0;

  constructor(private db: DB, private readonly runner: Runner, private readonly dir: string, private readonly log: (m: string) => void, private readonly onState: (s: PacketLogState, detail: string) => void = () => undefined) {
    this.st = PacketLog.statements(db);
  }

  private static statements(db: DB) {
    return { insert: db.prepare("INSERT INTO DropLog (ts, chain, inIf, outIf, uplink, src, dst, proto, sport, dport, count, rule, verdict, via, len) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 'nflog', ?)") };
  }

  /** The database file was replaced and reopened: write there from now on (ulogd keeps running). */
  reattach(db: DB): this {
    this.db = db;
    this.st = PacketLog.statements(db);
    return this;
  }

  get socketPath(): string {
    return path.join(this.dir, 'ulogd.sock');
  }

  get confPath(): string {
    return path.join(this.dir, 'ulogd.conf');
  }

  /** NFLOG is being read (the compiler renders `log group`): started and not given up. */
  get active(): boolean {
    return this.state === 'running' || this.state === 'restarting';
  }

  /** The configuration rows are matched against (rule → chain/verdict, interface → uplink). */
  setConfig(config: Config | null): void {
    this.config = config;
  }

  /** Find ulogd2, listen, write the config and start it. Never throws. */
  async start(): Promise<PacketLogState> {
    if (this.stopped || this.state !== 'off') return this.state;
    const plugins = findPluginDir();
    if ('missing' in plugins) return this.setState('missing', plugins.missing);
    try {
      const v = await this.runner.run(['ulogd', '-V'], { allowFail: true, timeoutMs: 5000 });
      if (v.exitCode !== 0) return this.setState('missing', 'ulogd2 is not installed (apt install ulogd2 ulogd2-json)');
    } catch {
      return this.setState('missing', 'ulogd2 is not installed (apt install ulogd2 ulogd2-json)');
    }
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
      await this.listen();
      const tmp = `${this.confPath}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, renderUlogdConf({ pluginDir: plugins.dir, socket: this.socketPath }), { mode: 0o600 });
      fs.renameSync(tmp, this.confPath);
    } catch (e) {
      return this.setState('failed', `packet log: ${(e as Error).message}`);
    }
    this.runningDetail = `ulogd2 reads NFLOG group ${NFLOG_GROUP} (plugins in ${plugins.dir})`;
    this.spawn();
    return this.setState('running', this.runningDetail);
  }

  private setState(s: PacketLogState, detail: string): PacketLogState {
    const changed = s !== this.state || detail !== this.detail;
    this.state = s;
    this.detail = detail;
    if (changed) this.onState(s, detail);
    return s;
  }

  private listen(): Promise<void> {
    fs.rmSync(this.socketPath, { force: true });
    return new Promise((resolve, reject) => {
      const srv = net.createServer((c) => this.accept(c));
      srv.once('error', reject);
      srv.listen(this.socketPath, () => {
        srv.off('error', reject);
        srv.on('error', (e) => this.log(`packet log socket: ${e.message}`));
        try {
          fs.chmodSync(this.socketPath, 0o600);
        } catch {
          /* best effort: the directory is the agent's */
        }
        srv.unref();
        this.server = srv;
        resolve();
      });
    });
  }

  private accept(c: net.Socket): void {
    this.clients.add(c);
    c.unref();
    let buf = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.line(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      if (buf.length > MAX_LINE) buf = '';
    });
    c.on('error', () => undefined);
    c.on('close', () => this.clients.delete(c));
  }

  /** One line from ulogd (public for tests). */
  line(text: string, now = Date.now()): void {
    const r = parseUlogdLine(text.trim());
    if (!r) return;
    const s = Math.floor(now / 1000);
    if (s !== this.second) {
      this.second = s;
      this.inSecond = 0;
    }
    if (++this.inSecond > LOG_MAX_PER_S) {
      this.suppressed++;
      return;
    }
    this.pending.push(r);
    if (!this.flushTimer && !this.stopped) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.flush();
      }, FLUSH_MS);
      this.flushTimer.unref();
    }
  }

  /** Write buffered records (public for tests). */
  flush(): number {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.pending.length === 0) return 0;
    const rows = this.pending;
    this.pending = [];
    const c = this.config;
    const ifUplink = new Map((c?.uplinks ?? []).map((u) => [u.interface, u.name]));
    const rules = new Map((c?.rules ?? []).map((r) => [r.name, r]));
    try {
      this.db.transaction(() => {
        for (const r of rows) {
          const rule = r.rule ? rules.get(r.rule) : undefined;
          const chain = rule?.chain ?? r.chain;
          const verdict = r.rule ? (rule?.action ?? null) : 'drop';
          const uplink = (r.inIf ? ifUplink.get(r.inIf) : undefined) ?? (r.outIf ? ifUplink.get(r.outIf) : undefined) ?? null;
          this.st.insert.run(r.ts, chain, r.inIf, r.outIf, uplink, r.src, r.dst, r.proto, r.sport, r.dport, r.rule, verdict, r.len);
        }
        pruneLog(this.db);
      })();
      this.stored += rows.length;
      return rows.length;
    } catch (e) {
      if (!isDbFault(e)) throw e;
      return 0; // database unavailable: these records are lost (the counters are not)
    }
  }

  private spawn(): void {
    if (this.stopped) return;
    const p = this.runner.spawn(['ulogd', '-c', this.confPath], {
      unref: true,
      onStdoutLine: (l) => {
        if (/error|fail|<[1-3]>/i.test(l) && !/initialization finished/.test(l)) this.log(`ulogd: ${l}`);
      },
      onStderrLine: (l) => this.log(`ulogd: ${l}`),
      onExit: (code, signal) => {
        if (this.proc === p) this.proc = null;
        if (this.stopped) return;
        const delay = Math.min(30000, 1000 * 2 ** Math.min(this.restarts++, 5));
        this.log(`ulogd exited (${signal ?? code}); restart in ${delay} ms`);
        this.setState('restarting', `ulogd2 exited (${signal ?? code}); restarting`);
        this.restartTimer = setTimeout(() => {
          this.spawn();
          if (!this.stopped) this.setState('running', this.runningDetail);
        }, delay);
        this.restartTimer.unref();
      },
    });
    this.proc = p;
  }

  get running(): boolean {
    return this.proc !== null && !this.proc.done;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const p = this.proc;
    this.proc = null;
    p?.kill('SIGTERM');
    if (p) await Promise.race([p.exited, new Promise((r) => setTimeout(r, 3000))]);
    try {
      this.flush();
    } catch {
      /* closing */
    }
    for (const c of this.clients) c.destroy();
    this.server?.close();
    this.server = null;
    fs.rmSync(this.socketPath, { force: true });
  }
}
