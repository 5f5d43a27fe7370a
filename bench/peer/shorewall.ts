// The peer of `npm run bench -- --peer shorewall`: a PURE generator from our validated
// configuration (lib/validations/config.ts parseConfig) plus lab facts (resolved gateways, the
// router's uplink addresses, a per-run state directory) to the files of an equivalent Shorewall
// (IPv4) configuration and an LSM (link status monitor) configuration with its event script.
// No I/O here: bench/peer/peer.ts writes the files into a temp dir and runs the tools.
//
// Mapping (docs/performance.md "Side by side with Shorewall + LSM" says what is NOT equivalent):
//   LAN networks        → zone loc, interfaces `loc <if>`
//   uplinks             → zone net, one provider each: the best (lowest) priority tier balance=<weight>,
//                         the other tiers fallback=<weight>; `track` (replies to connections that came
//                         in on an uplink leave by it), `persistent` (the provider's table and its
//                         "from <address>" rule stay while LSM has it disabled, so LSM's pings from
//                         that address still leave by that uplink and can see it come back). Not
//                         `loose`: that would drop exactly those source rules.
//   services            → rules ACCEPT net[:<uplink if>][:<sources>] $FW <proto> <port>
//   admin rules         → rules (forward: all- → all-, input: all → $FW, output: $FW → all), in order;
//                         rules that use an address list → blrules, one rule per entry (Shorewall's
//                         blacklist file; no ipset)
//   port forwards       → rules DNAT net[:<if>] loc:<to>[:<port>]
//   policies (source/destination only) → rtrules
//   masquerade          → snat MASQUERADE <lan nets> <uplink if>
//   health targets      → LSM: one connection per uplink, pinging the FIRST IPv4 target from the
//                         uplink's address out of its interface; its event script runs
//                         `shorewall enable|disable <interface>` (what Debian's
//                         /usr/share/lsm/shorewall_script does through ${VARDIR}/firewall).
import { isIPv4 } from '../../lib/validations/net';
import type { Config } from '../../lib/validations/config';

/** What the generator needs to know about the lab that the configuration does not say. */
export interface PeerFacts {
  uplinks: Record<string, { gateway: string; address: string }>;
  /** Absolute directory for Shorewall's VARDIR, its lock and logs, LSM's event log. */
  stateDir: string;
  /** Absolute path of the Shorewall CLI. */
  shorewallBin?: string;
}

export interface LsmTiming {
  intervalMs: number;
  timeoutMs: number;
  maxPacketLoss: number;
  maxSuccessivePktsLost: number;
  minPacketLoss: number;
  minSuccessivePktsRcvd: number;
}

/** LSM's defaults (/usr/share/doc/lsm/examples/lsm.conf.sample, the `defaults` block). */
export const LSM_DEFAULTS: LsmTiming = { intervalMs: 1000, timeoutMs: 1000, maxPacketLoss: 15, maxSuccessivePktsLost: 7, minPacketLoss: 5, minSuccessivePktsRcvd: 10 };
/** Tuned to linkward's fast profile (HEALTH_FAST: 240 ms interval, 360 ms timeout, down after 2,
 *  up after 3): down after 2 lost in a row (B ≥ 2), up after 3 received in a row (C > 2); the
 *  100-ping loss window is opened as wide as LSM accepts (it wants min < max ≤ 99), or failback
 *  waits for the lost pings to leave the window (~100 s with the defaults). */
export const LSM_TUNED: LsmTiming = { intervalMs: 240, timeoutMs: 360, maxPacketLoss: 99, maxSuccessivePktsLost: 2, minPacketLoss: 98, minSuccessivePktsRcvd: 2 };

export interface PeerFiles {
  /** Shorewall configuration directory: file name → content. */
  shorewall: Record<string, string>;
  /** What could not be expressed (IPv6 parts, unsupported policy fields, ...). */
  skipped: string[];
  /** Count of generated rule lines (rules + blrules), for the record. */
  ruleLines: number;
}

// Strict grammars: everything below ends up in Shorewall's files (parsed by its compiler, and
// partly by the shell in its generated script) or in LSM's event script.
const SAFE_NAME = /^[A-Za-z0-9_-]{1,32}$/;
const SAFE_IF = /^[A-Za-z0-9_-]{1,15}$/;
const SAFE_PATH = /^\/[A-Za-z0-9_./-]{1,200}$/;
const CIDR4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(\/\d{1,2})?$/;

function name(s: string): string {
  if (!SAFE_NAME.test(s)) throw new Error(`peer: unexpected name ${JSON.stringify(s)}`);
  return s;
}
function iface(s: string): string {
  if (!SAFE_IF.test(s)) throw new Error(`peer: unexpected interface ${JSON.stringify(s)}`);
  return s;
}
function absPath(s: string): string {
  if (!SAFE_PATH.test(s) || s.includes('..')) throw new Error(`peer: unexpected path ${JSON.stringify(s)}`);
  return s;
}
function addr4(s: string): string {
  const bare = s.split('/')[0];
  if (!CIDR4.test(s) || !isIPv4(bare)) throw new Error(`peer: not an IPv4 address/network ${JSON.stringify(s)}`);
  return s;
}
const is4 = (s: string) => isIPv4(s.split('/')[0]);
function port(p: number | string): string {
  const s = String(p);
  // our port specs: "80", "8000-8100", "80,443" (validated by parsePortSpec); Shorewall ranges use ':'
  if (!/^\d{1,5}([-,]\d{1,5})*$/.test(s)) throw new Error(`peer: unexpected port ${JSON.stringify(s)}`);
  return s.replace(/-/g, ':');
}
/** Network of an interface address (192.168.1.1/24 → 192.168.1.0/24). */
function networkOfIface(a: string): string {
  const [ip, len] = addr4(a).split('/');
  const n = Number(len);
  const v = ip.split('.').reduce((x, o) => (x << 8) + Number(o), 0) >>> 0;
  const m = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  const net = (v & m) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${n}`;
}

const row = (...cols: (string | number)[]) => cols.map(String).join('\t');

/** The Shorewall configuration equivalent to `config` (IPv4; see the header for the mapping). */
export function shorewallFiles(config: Config, facts: PeerFacts): PeerFiles {
  const state = absPath(facts.stateDir);
  const skipped: string[] = [];
  const lans = config.lan.map((l) => ({ if: iface(l.interface), net: networkOfIface(l.address) }));
  const ups = config.uplinks.filter((u) => u.enabled);
  for (const u of config.uplinks) if (!u.enabled) skipped.push(`uplink ${u.name}: disabled, not a provider`);
  const upIf = new Map(ups.map((u) => [u.name, iface(u.interface)]));
  const tier = Math.min(...ups.map((u) => u.priority));

  const conf = [
    '# generated by bench/peer/shorewall.ts (linkward bench peer); every other option: Shorewall\'s default',
    'STARTUP_ENABLED=Yes',
    'VERBOSITY=0',
    `STARTUP_LOG=${state}/shorewall-init.log`,
    'LOG_VERBOSITY=-1',
    `LOGFILE=${state}/messages`,
    `LOCKFILE=${state}/lock`,
    'SUBSYSLOCK=',
    'IP_FORWARDING=On',
    'ROUTE_FILTER=No',
    'LOG_MARTIANS=No',
    // Multi-ISP (shorewall.org MultiISP): balance routes in table 250, main left alone
    'USE_DEFAULT_RT=Yes',
    // No: Shorewall's 'persistent' providers (needed by LSM) do not mix with restoring the default route
    'RESTORE_DEFAULT_ROUTE=No',
    'TRACK_PROVIDERS=Yes',
    'BALANCE_PROVIDERS=No',
    // never touch the host's /etc/iproute2/rt_tables (Shorewall runs in a namespace, /etc is shared)
    'KEEP_RT_TABLES=Yes',
    'USE_RT_NAMES=No',
    'DYNAMIC_BLACKLIST=No',
    'BLACKLIST="NEW,INVALID,UNTRACKED"',
    'SAVE_IPSETS=No',
    'TC_ENABLED=No',
    'CLEAR_TC=No',
    'MANGLE_ENABLED=Yes',
    'DISABLE_IPV6=No',
    'ADMINISABSENTMINDED=Yes',
    'AUTOHELPERS=No',
    'OPTIMIZE=All',
    'MUTEX_TIMEOUT=60',
    '',
  ].join('\n');

  const zones = ['#ZONE\tTYPE', row('fw', 'firewall'), row('net', 'ipv4'), row('loc', 'ipv4'), ''].join('\n');
  const interfaces = [
    '?FORMAT 2',
    '#ZONE\tINTERFACE\tOPTIONS',
    ...lans.map((l) => row('loc', l.if, 'tcpflags,nosmurfs,routefilter=0')),
    ...ups.map((u) => row('net', upIf.get(u.name)!, 'tcpflags,nosmurfs,routefilter=0,optional')),
    '',
  ].join('\n');
  // linkward: LAN → router and LAN → Internet accepted, Internet → anything dropped unless allowed
  const policy = ['#SOURCE\tDEST\tPOLICY', row('$FW', 'all', 'ACCEPT'), row('loc', '$FW', 'ACCEPT'), row('loc', 'net', 'ACCEPT'), row('net', 'all', 'DROP'), row('all', 'all', 'REJECT'), ''].join('\n');

  const providers = ['#NAME\tNUMBER\tMARK\tDUPLICATE\tINTERFACE\tGATEWAY\tOPTIONS\tCOPY (empty: USE_DEFAULT_RT=Yes)'];
  ups.forEach((u, i) => {
    const f = facts.uplinks[u.name];
    if (!f) throw new Error(`peer: no lab facts for uplink ${u.name}`);
    const gw = u.gateway === 'auto' ? f.gateway : u.gateway;
    const share = u.priority === tier ? `balance=${u.weight}` : `fallback=${u.weight}`;
    if (u.priority !== tier) skipped.push(`uplink ${u.name}: priority ${u.priority} → Shorewall fallback (one backup tier, not ordered tiers)`);
    providers.push(row(name(u.name), i + 1, i + 1, '-', upIf.get(u.name)!, addr4(gw), `track,${share},persistent`, '-'));
  });
  providers.push('');

  const rtrules = ['#SOURCE\tDEST\tPROVIDER\tPRIORITY'];
  config.policies.forEach((p, i) => {
    if (!p.enabled) return;
    if (p.protocol || p.port !== undefined || p.sticky) {
      skipped.push(`policy ${p.name}: protocol/port/sticky need mangle marks; not generated`);
      return;
    }
    if ((p.source && !is4(p.source)) || (p.destination && !is4(p.destination))) {
      skipped.push(`policy ${p.name}: IPv6`);
      return;
    }
    if (!upIf.has(p.uplink)) return;
    rtrules.push(row(p.source ? addr4(p.source) : '-', p.destination ? addr4(p.destination) : '-', name(p.uplink), 1000 + i));
  });
  rtrules.push('');

  const rules = ['#ACTION\tSOURCE\tDEST\tPROTO\tDPORT', '?SECTION NEW'];
  const blrules = ['#ACTION\tSOURCE\tDEST\tPROTO\tDPORT'];
  const zoneIf = (u: string | undefined) => (u === undefined ? 'net' : upIf.has(u) ? `net:${upIf.get(u)}` : null);

  for (const s of config.services) {
    if (!s.enabled) continue;
    const srcs = (s.sources ?? []).filter(is4);
    if (s.sources && srcs.length === 0) {
      skipped.push(`service ${s.name}: IPv6 sources only`);
      continue;
    }
    for (const u of s.uplinks ?? [undefined]) {
      const z = zoneIf(u);
      if (z === null) continue;
      const src = srcs.length ? `${z === 'net' ? 'net:' : `${z}:`}${srcs.map(addr4).join(',')}` : z;
      rules.push(row('ACCEPT', src, '$FW', s.protocol, port(s.port)));
    }
    if (!s.lan) skipped.push(`service ${s.name}: lan=false (Shorewall's loc → $FW policy accepts everything)`);
  }

  const lists = new Map(config.addressLists.map((l) => [l.name, l.entries.filter(is4)]));
  let ruleLines = 0;
  for (const r of config.rules) {
    if (!r.enabled) continue;
    if ((r.source && !is4(r.source)) || (r.destination && !is4(r.destination)) || r.protocol === 'icmpv6') {
      skipped.push(`rule ${r.name}: IPv6`);
      continue;
    }
    const action = `${r.action.toUpperCase()}${r.log ? ':info' : ''}`;
    const proto = r.protocol === 'any' ? '-' : r.protocol;
    const dport = r.port !== undefined ? port(r.port) : '-';
    const at = (zone: string, a: string | undefined) => (a ? `${zone}:${addr4(a)}` : zone);
    // (source zone, dest zone) pairs for the chain and uplink
    let pairs: [string, string][];
    const u = r.uplink !== undefined ? upIf.get(r.uplink) : undefined;
    if (r.uplink !== undefined && u === undefined) continue;
    if (r.chain === 'forward') pairs = u ? [[`net:${u}`, 'loc'], ['loc', `net:${u}`]] : [['all-', 'all-']];
    else if (r.chain === 'input') pairs = [[u ? `net:${u}` : 'all', '$FW']];
    else pairs = [['$FW', u ? `net:${u}` : 'all']];
    const srcList = r.sourceList ? lists.get(r.sourceList) ?? [] : null;
    const dstList = r.destinationList ? lists.get(r.destinationList) ?? [] : null;
    if (srcList || dstList) {
      for (const [sz, dz] of pairs) {
        for (const sa of srcList ?? [r.source]) {
          for (const da of dstList ?? [r.destination]) {
            blrules.push(row(action, at(sz, sa), at(dz, da), proto, dport));
            ruleLines++;
          }
        }
      }
      continue;
    }
    for (const [sz, dz] of pairs) {
      rules.push(row(action, at(sz, r.source), at(dz, r.destination), proto, dport));
      ruleLines++;
    }
  }

  for (const p of config.portForwards) {
    if (!p.enabled) continue;
    if (!is4(p.to)) {
      skipped.push(`port forward ${p.name}: IPv6 pinhole`);
      continue;
    }
    const srcs = (p.sources ?? []).filter(is4).map(addr4);
    for (const u of p.uplinks ?? [undefined]) {
      const z = zoneIf(u);
      if (z === null) continue;
      const src = srcs.length ? `${z}:${srcs.join(',')}` : z;
      rules.push(row('DNAT', src, `loc:${addr4(p.to)}${p.toPort !== undefined ? `:${p.toPort}` : ''}`, p.protocol, port(p.port)));
    }
  }
  rules.push('');
  blrules.push('');

  const snat = ['#ACTION\tSOURCE\tDEST'];
  for (const u of ups) snat.push(row('MASQUERADE', lans.map((l) => l.net).join(',') || '-', upIf.get(u.name)!));
  snat.push('');

  if (config.lan.some((l) => l.ipv6) || config.uplinks.some((u) => u.ipv6)) skipped.push('IPv6 (would need a Shorewall6 configuration)');

  return {
    shorewall: {
      'shorewall.conf': conf,
      // sourced by the CLI and by the compiled script: Shorewall's state stays in this run's dir
      vardir: `VARDIR=${state}/var\n`,
      zones,
      interfaces,
      policy,
      providers: providers.join('\n'),
      rtrules: rtrules.join('\n'),
      rules: rules.join('\n'),
      blrules: blrules.join('\n'),
      snat: snat.join('\n'),
    },
    skipped,
    ruleLines,
  };
}

/** LSM's configuration and its event script. `scriptPath` is where the script will be written. */
export function lsmFiles(config: Config, facts: PeerFacts, timing: LsmTiming, scriptPath: string): { conf: string; script: string; skipped: string[] } {
  const state = absPath(facts.stateDir);
  const script = absPath(scriptPath);
  const bin = absPath(facts.shorewallBin ?? '/sbin/shorewall');
  const skipped: string[] = [];
  const ms = (n: number) => {
    if (!Number.isInteger(n) || n < 1 || n > 600000) throw new Error(`peer: bad LSM timing ${n}`);
    return n;
  };
  // LSM refuses (exit 2) a loss window outside min < max ≤ 99
  if (!(timing.minPacketLoss < timing.maxPacketLoss && timing.maxPacketLoss <= 99)) throw new Error('peer: LSM needs min_packet_loss < max_packet_loss ≤ 99');
  const lines = [
    '# generated by bench/peer/shorewall.ts (linkward bench peer)',
    // normal logging (to syslog); the bench runs it in the foreground with -f (--no-fork)
    'debug=8',
    'defaults {',
    '  name=defaults',
    '  checkip=127.0.0.1',
    `  eventscript=${script}`,
    `  max_packet_loss=${ms(timing.maxPacketLoss)}`,
    `  max_successive_pkts_lost=${ms(timing.maxSuccessivePktsLost)}`,
    `  min_packet_loss=${ms(timing.minPacketLoss)}`,
    `  min_successive_pkts_rcvd=${ms(timing.minSuccessivePktsRcvd)}`,
    `  interval_ms=${ms(timing.intervalMs)}`,
    `  timeout_ms=${ms(timing.timeoutMs)}`,
    '  warn_email=',
    '  check_arp=0',
    '  sourceip=',
    '  ttl=0',
    '  status=1',
    '}',
  ];
  const cases: string[] = [];
  for (const u of config.uplinks.filter((x) => x.enabled)) {
    const f = facts.uplinks[u.name];
    if (!f) throw new Error(`peer: no lab facts for uplink ${u.name}`);
    const targets = (u.health?.targets ?? []).filter(is4);
    if (targets.length === 0) {
      skipped.push(`uplink ${u.name}: no IPv4 health target, not monitored`);
      continue;
    }
    if (targets.length > 1) skipped.push(`uplink ${u.name}: LSM pings ${targets[0]} only (linkward: ${targets.length} targets, quorum)`);
    lines.push('connection {', `  name=${name(u.name)}`, `  checkip=${addr4(targets[0])}`, `  device=${iface(u.interface)}`, `  sourceip=${addr4(f.address)}`, '}');
    cases.push(`  ${name(u.name)}) dev=${iface(u.interface)} ;;`);
  }
  lines.push('');
  const sh = [
    '#!/bin/sh',
    '# generated by bench/peer/shorewall.ts: LSM event (STATE NAME ...) → shorewall enable|disable <interface>',
    '# (the documented LSM + Shorewall Multi-ISP pairing). Arguments are matched against fixed words only.',
    'case "$1" in',
    '  up) action=enable ;;',
    '  down) action=disable ;;',
    '  *) exit 0 ;;',
    'esac',
    'case "$2" in',
    ...cases,
    '  *) exit 0 ;;',
    'esac',
    `echo "$(date +%s%3N) event $2 $1" >> ${state}/lsm-events.log`,
    `${bin} -q $action $dev >> ${state}/lsm-events.log 2>&1`,
    `echo "$(date +%s%3N) done $2 $action rc=$?" >> ${state}/lsm-events.log`,
    'exit 0',
    '',
  ].join('\n');
  return { conf: lines.join('\n'), script: sh, skipped };
}

/** Parse the event log the script writes: `<ms> event <name> <up|down>` / `<ms> done <name> <action> rc=N`. */
export function parseLsmEvents(text: string): { t: number; kind: 'event' | 'done'; name: string; what: string }[] {
  const out: { t: number; kind: 'event' | 'done'; name: string; what: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d{13}) (event|done) ([A-Za-z0-9_-]{1,32}) (up|down|enable|disable)\b/.exec(line);
    if (m) out.push({ t: Number(m[1]), kind: m[2] as 'event' | 'done', name: m[3], what: m[4] });
  }
  return out;
}
