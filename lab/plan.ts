// The lab's fixed topology and address plan, and the linkward config that matches it.
// Pure: no I/O. lab/lab.ts turns this into namespaces, links and servers.
import type { ConfigInput } from '../lib/validations/config';

export const PREFIX_RE = /^[a-z][a-z0-9]{0,7}$/;
export const DEFAULT_PREFIX = 'lw';
export const DEFAULT_UPLINKS = 2;
export const MAX_UPLINKS = 4;

export const LAN_ROUTER_ADDR = '192.168.1.1';
export const LAN_HOST_ADDR = '192.168.1.10';
export const LAN_HOST_ADDR2 = '192.168.1.50';
export const PROBE_TARGETS = ['203.0.113.10', '203.0.113.11', '203.0.113.12'] as const;
export const SERVER_ADDR = '203.0.113.80';
export const ECHO_TCP_PORTS = [80, 8080] as const;
export const ECHO_UDP_PORTS = [80, 123] as const;
export const LAN_SERVER_PORT = 80;
/** The lab's Internet: documentation prefixes (RFC 5737) and the ISPs' transit links (100.127.k.0/30
 *  in shared address space, as some real ISPs number their infrastructure). */
export const LAB_INTERNET = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '100.127.0.0/16'] as const;

export type LabRole = 'lan' | 'router' | 'net' | `isp${number}`;

export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !PREFIX_RE.test(prefix)) {
    throw new Error(`invalid lab prefix ${JSON.stringify(prefix)}: must match ${PREFIX_RE.source}`);
  }
  return prefix;
}

export function validateUplinkCount(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_UPLINKS) throw new Error(`uplinks must be an integer 1-${MAX_UPLINKS}, got ${n}`);
  return n;
}

/** Parse "lan" | "router" | "rtr" | "net" | "ispK" (K 1..MAX_UPLINKS). Throws on anything else. */
export function parseRole(s: string): LabRole {
  if (s === 'lan' || s === 'router' || s === 'net') return s;
  if (s === 'rtr') return 'router';
  const m = /^isp([1-9])$/.exec(s);
  if (m && Number(m[1]) <= MAX_UPLINKS) return `isp${Number(m[1])}`;
  throw new Error(`unknown lab role ${JSON.stringify(s)}: use lan, router, net or isp1..isp${MAX_UPLINKS}`);
}

/** Namespace name of a role: `${P}-lan`, `${P}-rtr`, `${P}-ispK`, `${P}-net`. */
export function nsName(prefix: string, role: LabRole | string): string {
  validatePrefix(prefix);
  const r = parseRole(role);
  return `${prefix}-${r === 'router' ? 'rtr' : r}`;
}

/** Uplink index of "ispK" or "K", else null. */
export function ispIndex(s: string): number | null {
  const m = /^(?:isp)?([1-9])$/.exec(s);
  if (!m) return null;
  const k = Number(m[1]);
  return k <= MAX_UPLINKS ? k : null;
}

export interface IspPlan {
  index: number;
  /** Uplink name in the generated config. */
  uplink: string;
  ns: string;
  /** Router side of the access link (in the router namespace). */
  routerIf: string;
  routerAddr: string; // 100.64.k.2
  /** ISP side of the access link (gateway). */
  ispIf: string;
  gateway: string; // 100.64.k.1
  /** ISP side of the ISP→Internet link. */
  ispUpIf: string;
  ispUpAddr: string; // 100.127.k.2
  /** Internet side of the ISP→Internet link. */
  netIf: string;
  netAddr: string; // 100.127.k.1
  accessNet: string; // 100.64.k.0/24
  metric: number; // 100 + k
}

export interface LabPlan {
  prefix: string;
  uplinks: number;
  ns: { lan: string; router: string; net: string; isps: string[] };
  lan: { routerIf: string; routerAddr: string; hostIf: string; hostAddrs: string[]; network: string };
  isps: IspPlan[];
  net: { targetsIf: string; targets: string[]; server: string };
}

export function labPlan(prefix: string, uplinks: number = DEFAULT_UPLINKS): LabPlan {
  validatePrefix(prefix);
  validateUplinkCount(uplinks);
  const isps: IspPlan[] = [];
  for (let k = 1; k <= uplinks; k++) {
    isps.push({
      index: k,
      uplink: `isp${k}`,
      ns: nsName(prefix, `isp${k}`),
      routerIf: `wan${k}`,
      routerAddr: `100.64.${k}.2`,
      ispIf: 'down0',
      gateway: `100.64.${k}.1`,
      ispUpIf: 'up0',
      ispUpAddr: `100.127.${k}.2`,
      netIf: `isp${k}`,
      netAddr: `100.127.${k}.1`,
      accessNet: `100.64.${k}.0/24`,
      metric: 100 + k,
    });
  }
  return {
    prefix,
    uplinks,
    ns: { lan: nsName(prefix, 'lan'), router: nsName(prefix, 'router'), net: nsName(prefix, 'net'), isps: isps.map((i) => i.ns) },
    lan: { routerIf: 'lan0', routerAddr: LAN_ROUTER_ADDR, hostIf: 'eth0', hostAddrs: [LAN_HOST_ADDR, LAN_HOST_ADDR2], network: '192.168.1.0/24' },
    isps,
    net: { targetsIf: 'targets0', targets: [...PROBE_TARGETS], server: SERVER_ADDR },
  };
}

/** The linkward configuration matching the lab (validates with parseConfig). */
export function labConfig(uplinks: number = DEFAULT_UPLINKS): ConfigInput {
  validateUplinkCount(uplinks);
  const health = { targets: [...PROBE_TARGETS], method: 'icmp' as const };
  const ups: NonNullable<ConfigInput['uplinks']> = [];
  for (let k = 1; k <= uplinks; k++) {
    ups.push({
      name: `isp${k}`,
      interface: `wan${k}`,
      gateway: k === 1 ? '100.64.1.1' : 'auto',
      weight: k === 1 ? 3 : 1,
      priority: k <= 2 ? 1 : 2,
      health,
    });
  }
  const fwdUplinks = uplinks >= 2 ? ['isp1', 'isp2'] : ['isp1'];
  return {
    version: 1,
    lan: [{ name: 'lan', interface: 'lan0', address: `${LAN_ROUTER_ADDR}/24` }],
    uplinks: ups,
    services: [
      { name: 'ssh', protocol: 'tcp', port: 2222, uplinks: ['isp1'] },
      { name: 'ntp', protocol: 'udp', port: 123, sources: [`${SERVER_ADDR}/32`] },
    ],
    portForwards: [{ name: 'web', uplinks: fwdUplinks, protocol: 'tcp', port: 8080, to: LAN_HOST_ADDR, toPort: LAN_SERVER_PORT }],
    policies: uplinks >= 2 ? [{ name: 'voip', source: `${LAN_HOST_ADDR2}/32`, uplink: 'isp2' }] : [],
    rules: [{ name: 'no-telnet', chain: 'forward', action: 'drop', protocol: 'tcp', port: 23, log: true }],
    // The lab's "Internet" lives in documentation prefixes (RFC 5737) and shared address space,
    // which are bogons on the real Internet: take them out of the anti-spoofing bogon list (every
    // other bogon still applies).
    firewall: { antiSpoof: { exceptions: [...LAB_INTERNET] } },
  };
}

export type BreakMode = { kind: 'drop' } | { kind: 'blackhole' } | { kind: 'loss'; percent: number };

/** Parse "drop" | "blackhole" | "loss:N" (N 1-100). */
export function parseBreakMode(s: string | undefined): BreakMode {
  if (s === undefined || s === 'drop') return { kind: 'drop' };
  if (s === 'blackhole') return { kind: 'blackhole' };
  const m = /^loss:([1-9][0-9]?|100)%?$/.exec(s);
  if (m) return { kind: 'loss', percent: Number(m[1]) };
  throw new Error(`invalid break mode ${JSON.stringify(s)}: use drop, blackhole or loss:N (N 1-100)`);
}

export function formatBreakMode(m: BreakMode): string {
  return m.kind === 'loss' ? `loss:${m.percent}` : m.kind;
}

/** nft table (in the ISP namespace) that breaks the ISP; never the agent's table. */
export const BREAK_TABLE = 'lwlab_break';
/** nft table (in the Internet namespace) that filters single probe targets. */
export const TARGETS_TABLE = 'lwlab_targets';

export function breakScript(mode: BreakMode): string {
  const verdict = mode.kind === 'loss' ? `numgen random mod 100 < ${mode.percent} drop` : 'drop';
  const chain = (hook: string) => `  chain ${hook} {\n    type filter hook ${hook} priority -300; policy accept;\n    ${verdict}\n  }\n`;
  return `table inet ${BREAK_TABLE} {\n${chain('prerouting')}${chain('output')}}\n`;
}

export function targetsTableScript(): string {
  return [
    `table inet ${TARGETS_TABLE} {`,
    '  set filtered { type ipv4_addr; }',
    '  chain prerouting { type filter hook prerouting priority -300; policy accept; ip daddr @filtered drop; }',
    '  chain output { type filter hook output priority -300; policy accept; ip saddr @filtered drop; }',
    '}',
    '',
  ].join('\n');
}
