// IPv6 addresses the agent keeps on LAN interfaces (native prefixes, the NPTv6 LAN address):
// read with `ip -j -6 addr show`, diff, apply only the delta. An address is ours when it lies in
// one of the plan's address scopes (the configured uplink prefixes and NPTv6 LAN prefixes) on an
// interface the plan names; addresses anywhere else are never touched.
import type { AddrSpec } from '../../lib/compile/types';
import { formatIPv6, isIfname, parseCidr6, parseIPv6, cidr6Contains } from '../../lib/validations/net';
import { CommandError, type Runner } from './runner';
import { OpsError } from './routes';

export interface CurrentAddr {
  dev: string;
  /** canonical "addr/len" */
  address: string;
}

export type AddrOp = { op: 'add' | 'delete'; addr: AddrSpec | CurrentAddr; argv: string[] };

const canon = (cidr: string): string | null => {
  const c = parseCidr6(cidr, false);
  return c ? `${formatIPv6(c.address)}/${c.prefix}` : null;
};

/** Pure: global IPv6 addresses per interface from `ip -j -6 addr show`. */
export function parseAddrs6(text: string): CurrentAddr[] {
  const raw: unknown = text.trim() === '' ? [] : JSON.parse(text);
  if (!Array.isArray(raw)) throw new Error('ip -j -6 addr show: unexpected JSON shape');
  const out: CurrentAddr[] = [];
  for (const l of raw as { ifname?: unknown; addr_info?: unknown }[]) {
    if (typeof l?.ifname !== 'string' || !Array.isArray(l.addr_info)) continue;
    for (const a of l.addr_info as { family?: unknown; local?: unknown; prefixlen?: unknown; scope?: unknown }[]) {
      if (a.family !== 'inet6' || typeof a.local !== 'string' || typeof a.prefixlen !== 'number' || a.scope === 'link' || a.scope === 'host') continue;
      const c = canon(`${a.local}/${a.prefixlen}`);
      if (c) out.push({ dev: l.ifname, address: c });
    }
  }
  return out;
}

/** Pure: the operations that bring our addresses to `desired`. */
export function diffAddrs(current: CurrentAddr[], desired: AddrSpec[], scopes: string[]): AddrOp[] {
  const devs = new Set(desired.map((d) => d.dev));
  const sc = scopes.map((s) => parseCidr6(s)!).filter(Boolean);
  const ours = (a: CurrentAddr) => devs.has(a.dev) && sc.some((s) => cidr6Contains(s, parseIPv6(a.address.split('/')[0])!));
  const key = (a: { dev: string; address: string }) => `${a.dev} ${canon(a.address)}`;
  const have = new Set(current.map(key));
  const want = new Set(desired.map(key));
  const ops: AddrOp[] = [];
  for (const d of desired) {
    if (have.has(key(d))) continue;
    if (!isIfname(d.dev) || canon(d.address) === null) throw new Error(`invalid LAN address ${JSON.stringify(d)}`);
    ops.push({ op: 'add', addr: d, argv: ['ip', '-6', 'addr', 'replace', canon(d.address)!, 'dev', d.dev, 'nodad'] });
  }
  for (const c of current) {
    if (!ours(c) || want.has(key(c))) continue;
    ops.push({ op: 'delete', addr: c, argv: ['ip', '-6', 'addr', 'del', c.address, 'dev', c.dev] });
  }
  return ops;
}

/** Read, diff and apply the LAN IPv6 addresses (no IPv6 in the kernel and nothing wanted: no-op). */
export async function syncAddresses(runner: Runner, desired: AddrSpec[], scopes: string[]): Promise<AddrOp[]> {
  const r = await runner.run(['ip', '-j', '-6', 'addr', 'show'], { allowFail: true });
  if (r.exitCode !== 0) {
    if (desired.length === 0) return [];
    throw new CommandError(['ip', '-j', '-6', 'addr', 'show'], r.exitCode, r.stdout, r.stderr, false);
  }
  const ops = diffAddrs(parseAddrs6(r.stdout), desired, scopes);
  const failures: { argv: string[]; stderr: string }[] = [];
  for (const op of ops) {
    try {
      await runner.run(op.argv);
    } catch (e) {
      failures.push({ argv: op.argv, stderr: e instanceof CommandError ? e.stderr : String(e) });
    }
  }
  if (failures.length) throw new OpsError('addresses', failures);
  return ops;
}
