// conntrack: delete flows by mark (failover), list flows (which uplink carries what).
import fs from 'node:fs';
import { CommandError, type Runner } from './runner';

export class ConntrackError extends Error {
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(`${message}${stderr ? `: ${stderr.trim()}` : ''}`);
    this.name = 'ConntrackError';
    this.stderr = stderr;
  }
}

function u32(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`invalid ${what} ${n}`);
  return n;
}

/** `conntrack -D [-f ipv6] -m MARK/MASK`; returns the number of flows deleted (0 is not an error).
 *  conntrack(8) works on IPv4 unless `-f ipv6` is given: one call per family. */
export async function deleteByMark(runner: Runner, mark: number, mask = 0xffffffff, family: 4 | 6 = 4): Promise<number> {
    const argv = ['conntrack', '-D', ...(family === 6 ? ['-f', 'ipv6'] : []), '-m', `0x${u32(mark, 'mark').toString(16)}/0x${u32(mask, 'mask').toString(16)}`];
  let r;
  try {
    // it prints every deleted flow: not read (a failover on a big table deletes 100 000)
    r = await runner.run(argv, { allowFail: true, discardStdout: true, timeoutMs: 60000 });
  } catch (e) {
    throw new ConntrackError('conntrack -D could not run', e instanceof CommandError ? e.stderr : String(e));
  }
  const m = /(\d+) flow entries have been deleted/.exec(r.stderr);
  if (r.exitCode === 0) return m ? Number(m[1]) : 0;
  if (r.exitCode === 1 && m && m[1] === '0') return 0;
  throw new ConntrackError(`conntrack -D exited ${r.exitCode}`, r.stderr);
}

export interface ConnEntry {
  proto: string; // tcp, udp, icmp, ...
  /** 4 or 6 (from the "ipv4 2" / "ipv6 10" prefix of -o extended; 4 when absent). */
  family: 4 | 6;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** TCP state (ESTABLISHED, TIME_WAIT, ...) or undefined for stateless protocols. */
  state?: string;
  mark: number;
  /** Reply direction (shows SNAT: replyDst is the uplink address the flow leaves with; DNAT:
   *  replySrc is the LAN host a port forward goes to). */
  replySrc?: string;
  replyDst?: string;
  /** Both directions summed; present when nf_conntrack_acct is on. */
  packets?: number;
  bytes?: number;
  timeout?: number;
  flags: string[]; // ASSURED, UNREPLIED, OFFLOAD ...
  /** The kernel's conntrack id (`-o id`), unsigned 32-bit. */
  id?: number;
}

export type ConnEventType = 'NEW' | 'UPDATE' | 'DESTROY';

/** Pure: one line of `conntrack -L -o extended[,id]` or `conntrack -E -o extended,id`
 *  ("[NEW] ipv4 2 tcp 6 ..."); null when it is not a flow. */
export function parseConntrackLine(line: string): (ConnEntry & { event?: ConnEventType }) | null {
  const toks = line.trim().split(/\s+/);
  let i = 0;
  let event: ConnEventType | undefined;
  const ev = /^\[(NEW|UPDATE|DESTROY)\]$/.exec(toks[0] ?? '');
  if (ev) {
    event = ev[1] as ConnEventType;
    i = 1;
  }
  if (toks.length - i < 4) return null;
  let family: 4 | 6 = 4;
  if (toks[i] === 'ipv4' || toks[i] === 'ipv6') {
    family = toks[i] === 'ipv6' ? 6 : 4;
    i += 2; // "ipv4 2 tcp 6 ..."
  }
  const proto = toks[i];
  if (!/^[a-z0-9-]+$/.test(proto ?? '') || !/^[0-9]+$/.test(toks[i + 1] ?? '')) return null;
  const e: ConnEntry & { event?: ConnEventType } = { proto, family, src: '', dst: '', mark: 0, flags: [] };
  if (event) e.event = event;
  let j = i + 2;
  if (/^[0-9]+$/.test(toks[j] ?? '')) e.timeout = Number(toks[j++]);
  if (/^[A-Z_]+$/.test(toks[j] ?? '')) e.state = toks[j++];
  let dir = 0; // 0 = original, 1 = reply
  let pk = 0;
  let by = 0;
  let acct = false;
  let tail = false; // after mark=/use=: the id= there is the conntrack id, not an ICMP tuple id
  for (; j < toks.length; j++) {
    const t = toks[j];
    const fl = /^\[([A-Z_]+)\]$/.exec(t);
    if (fl) {
      e.flags.push(fl[1]);
      continue;
    }
    const eq = t.indexOf('=');
    if (eq < 0) continue;
    const k = t.slice(0, eq);
    const v = t.slice(eq + 1);
    if (k === 'src') {
      if (e.src === '') e.src = v;
      else {
        dir = 1;
        e.replySrc = v;
      }
    } else if (k === 'dst') {
      if (dir === 0) e.dst = v;
      else e.replyDst = v;
    } else if (k === 'sport' && dir === 0) e.sport = Number(v);
    else if (k === 'dport' && dir === 0) e.dport = Number(v);
    else if (k === 'packets') {
      pk += Number(v);
      acct = true;
    } else if (k === 'bytes') by += Number(v);
    else if (k === 'mark') {
      e.mark = Number(v) >>> 0;
      tail = true;
    } else if (k === 'use') tail = true;
    else if (k === 'id' && tail && /^[0-9]+$/.test(v)) e.id = Number(v) >>> 0;
  }
  if (acct) {
    e.packets = pk;
    e.bytes = by;
  }
  return e.src === '' ? null : e;
}

/** Pure: parse `conntrack -L -o extended` output, at most `limit` entries. */
export function parseConntrack(text: string, limit = 2000): ConnEntry[] {
  const out: ConnEntry[] = [];
  for (const line of text.split('\n')) {
    if (out.length >= limit) break;
    const e = parseConntrackLine(line);
    if (e) out.push(e);
  }
  return out;
}

/** `conntrack -L -o extended,id` (both families with conntrack-tools >= 1.4.6), parsed, bounded
 *  to `limit` entries (default 2000). The whole listing is buffered: for big tables use dumpConnections. */
export async function listConnections(runner: Runner, limit = 2000): Promise<ConnEntry[]> {
  const r = await runner.run(['conntrack', '-L', '-o', 'extended,id'], { allowFail: true, timeoutMs: 20000 });
  if (r.exitCode !== 0) throw new ConntrackError(`conntrack -L exited ${r.exitCode}`, r.stderr);
  return parseConntrack(r.stdout, limit);
}

/** Streaming `conntrack -L -o extended,id`: every flow to `onEntry` as it is read (no buffered
 *  listing: 200 000 flows are ~50 MB of text). Resolves with the count when conntrack exits;
 *  rejects on a failure or after timeoutMs (the process is killed). */
export function dumpConnections(runner: Runner, onEntry: (e: ConnEntry) => void, timeoutMs = 60000): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    let err = '';
    let settled = false;
    const p = runner.spawn(['conntrack', '-L', '-o', 'extended,id'], {
      onStdoutLine: (l) => {
        const e = parseConntrackLine(l);
        if (e) {
          n++;
          onEntry(e);
        }
      },
      onStderrLine: (l) => {
        if (err.length < 2000) err += `${l}\n`;
      },
      onExit: (code, signal, error) => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        if (code === 0) resolve(n);
        else reject(new ConntrackError(`conntrack -L ${error ? `could not run (${error.message})` : `exited ${code ?? signal}`}`, err));
      },
    });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      p.kill('SIGKILL');
      reject(new ConntrackError(`conntrack -L timed out after ${timeoutMs} ms`, err));
    }, timeoutMs);
  });
}

/** The kernel's own count of tracked flows of this network namespace (both families). */
export const CONNTRACK_COUNT_FILE = '/proc/sys/net/netfilter/nf_conntrack_count';

/** The number of tracked flows (both families), cheap (no listing): the kernel's counter file
 *  (no process at all), else `conntrack -C`. */
export async function countConnections(runner: Runner, file: string | null = CONNTRACK_COUNT_FILE): Promise<number> {
  if (file) {
    try {
      const n = Number((await fs.promises.readFile(file, 'utf8')).trim());
      if (Number.isInteger(n) && n >= 0) return n;
    } catch {
      // no such file (module not loaded, another kernel): ask conntrack
    }
  }
  const r = await runner.run(['conntrack', '-C'], { allowFail: true, timeoutMs: 5000 });
  const n = Number(r.stdout.trim());
  if (r.exitCode !== 0 || !Number.isInteger(n) || n < 0) throw new ConntrackError(`conntrack -C exited ${r.exitCode}`, r.stderr || r.stdout);
  return n;
}

/** Kernel-side event buffer of the event stream: a failover deleting 25 000 flows sends 25 000
 *  DESTROY events (~7 MB) within half a second. */
export const EVENT_BUFFER_BYTES = 16 * 1024 * 1024;

export interface ConntrackWatch {
  stop(): void;
  readonly done: boolean;
}

/** `conntrack -E -e NEW,DESTROY -o extended,id`: flows as they are confirmed and as they go
 *  (both families). `onLost` when the kernel dropped events (ENOBUFS: the caller re-reads the
 *  table); `onExit` when the process ended (it is not restarted here). */
export function watchConnections(runner: Runner, h: { onEvent: (e: ConnEntry & { event?: ConnEventType }) => void; onLost: (why: string) => void; onExit: (why: string) => void; knownId?: (id: number) => boolean }): ConntrackWatch {
  let done = false;
  const p = runner.spawn(['conntrack', '-E', '-e', 'NEW,DESTROY', '-o', 'extended,id', '-b', String(EVENT_BUFFER_BYTES)], {
    onStdoutLine: (l) => {
      // the DESTROY of a flow the caller does not know (e.g. one it just deleted itself): not parsed
      if (h.knownId && l.startsWith('[DESTROY]')) {
        const m = / id=(\d+)/.exec(l.slice(l.lastIndexOf(' id=')));
        if (m && !h.knownId(Number(m[1]) >>> 0)) return;
      }
      const e = parseConntrackLine(l);
      if (e && e.event) h.onEvent(e);
    },
    onStderrLine: (l) => {
      if (/ENOBUFS|losing events/i.test(l)) h.onLost(l.trim());
    },
    onExit: (code, signal, error) => {
      done = true;
      h.onExit(error ? error.message : `exited ${code ?? signal}`);
    },
    unref: true,
  });
  return {
    stop: () => {
      done = true;
      p.kill();
    },
    get done() {
      return done;
    },
  };
}
