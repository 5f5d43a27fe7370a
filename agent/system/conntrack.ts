// conntrack: delete flows by mark (failover), list flows (which uplink carries what).
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
    r = await runner.run(argv, { allowFail: true });
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
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** TCP state (ESTABLISHED, TIME_WAIT, ...) or undefined for stateless protocols. */
  state?: string;
  mark: number;
  /** Reply direction (shows SNAT: replyDst is the uplink address the flow leaves with). */
  replySrc?: string;
  replyDst?: string;
  /** Both directions summed; present when nf_conntrack_acct is on. */
  packets?: number;
  bytes?: number;
  timeout?: number;
  flags: string[]; // ASSURED, UNREPLIED, OFFLOAD ...
}

/** Pure: parse `conntrack -L -o extended` output, at most `limit` entries. */
export function parseConntrack(text: string, limit = 2000): ConnEntry[] {
  const out: ConnEntry[] = [];
  for (const line of text.split('\n')) {
    if (out.length >= limit) break;
    const toks = line.trim().split(/\s+/);
    if (toks.length < 5) continue;
    let i = 0;
    if (toks[0] === 'ipv4' || toks[0] === 'ipv6') i = 2; // "ipv4 2 tcp 6 ..."
    const proto = toks[i];
    if (!/^[a-z0-9]+$/.test(proto) || !/^[0-9]+$/.test(toks[i + 1] ?? '')) continue;
    const e: ConnEntry = { proto, src: '', dst: '', mark: 0, flags: [] };
    let j = i + 2;
    if (/^[0-9]+$/.test(toks[j] ?? '')) e.timeout = Number(toks[j++]);
    if (/^[A-Z_]+$/.test(toks[j] ?? '')) e.state = toks[j++];
    let dir = 0; // 0 = original, 1 = reply
    let pk = 0;
    let by = 0;
    let acct = false;
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
      else if (k === 'mark') e.mark = Number(v) >>> 0;
    }
    if (acct) {
      e.packets = pk;
      e.bytes = by;
    }
    if (e.src !== '') out.push(e);
  }
  return out;
}

/** `conntrack -L -o extended`, parsed, bounded to `limit` entries (default 2000). */
export async function listConnections(runner: Runner, limit = 2000): Promise<ConnEntry[]> {
  const r = await runner.run(['conntrack', '-L', '-o', 'extended'], { allowFail: true, timeoutMs: 20000 });
  if (r.exitCode !== 0) throw new ConntrackError(`conntrack -L exited ${r.exitCode}`, r.stderr);
  return parseConntrack(r.stdout, limit);
}
