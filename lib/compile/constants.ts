// Kernel-facing constants of linkward. Everything derived from config names or uplink ids
// goes through the helpers below, so a re-apply renders byte-identical names.

/** The only nftables table linkward owns. */
export const NFT_FAMILY = 'inet';
export const NFT_TABLE = 'linkward';
export const NFT_TABLE_REF = `${NFT_FAMILY} ${NFT_TABLE}`;

/** Uplink ids are 1..50 (lib/validations/config.ts enforces it): they derive the mark, the
 *  routing table and the counter/set names below. */
export const UPLINK_ID_MIN = 1;
export const UPLINK_ID_MAX = 50;

/** fwmark / ct mark layout: uplink id in bits 8..15. */
export const MARK_SHIFT = 8;
export const MARK_MASK = 0xff00;
export const markOf = (uplinkId: number): number => (uplinkId << MARK_SHIFT) & MARK_MASK;
/** The uplink id a (ct or fw) mark carries; 0 = no uplink chosen. */
export const uplinkIdOfMark = (mark: number): number => (mark & MARK_MASK) >>> MARK_SHIFT;
export const hex32 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
export const hexMask = (n: number): string => `0x${n.toString(16)}`;

/** Routing tables: 200 = fallback multipath default over the active uplinks; 200 + id per uplink. */
export const TABLE_FALLBACK = 200;
export const tableOf = (uplinkId: number): number => TABLE_FALLBACK + uplinkId;
/** The tables linkward owns (routes in any other table are never touched): 200..250. */
export const TABLE_MIN = TABLE_FALLBACK;
export const TABLE_MAX = TABLE_FALLBACK + UPLINK_ID_MAX;
/** The kernel's own tables; never ours (TABLE_MAX stays below them). */
export const KERNEL_TABLES = { default: 253, main: 254, local: 255 } as const;
export const RESERVED_TABLES: readonly number[] = Object.values(KERNEL_TABLES);
export const isOurTable = (t: number): boolean => Number.isInteger(t) && t >= TABLE_MIN && t <= TABLE_MAX && !RESERVED_TABLES.includes(t);

/** ip rule priorities (all linkward rules live in 10000..10999). */
export const RULE_PRIO_SUPPRESS_MAIN = 10000; // lookup main suppress_prefixlength 0
export const RULE_PRIO_FROM_BASE = 10100; // + id: from <uplink address> lookup 200+id
export const RULE_PRIO_FWMARK_BASE = 10200; // + id: fwmark <mark>/0xff00 lookup 200+id
export const RULE_PRIO_FROM_PREFIX_BASE = 10300; // + id: IPv6 from <uplink prefix> lookup 200+id (native LANs)
export const RULE_PRIO_FALLBACK = 10900; // lookup 200
export const RULE_PRIO_MIN = 10000;
export const RULE_PRIO_MAX = 10999;
export const isOurPriority = (p: number): boolean => Number.isInteger(p) && p >= RULE_PRIO_MIN && p <= RULE_PRIO_MAX;

/** Chain names (constant; declaration order and hooks are in CHAIN_TABLE). */
export const CHAIN = {
  antispoof: 'antispoof',
  preroutingMangle: 'prerouting_mangle',
  select: 'select',
  outputRoute: 'output_route',
  preroutingHelper: 'prerouting_helper',
  input: 'input',
  forward: 'forward',
  output: 'output',
  postroutingMangle: 'postrouting_mangle',
  preroutingNat: 'prerouting_nat',
  postroutingNat: 'postrouting_nat',
} as const;
export type ChainName = (typeof CHAIN)[keyof typeof CHAIN];

/** Unhooked chain holding one inert rule whose comment is "lw:<planHash>" (the plan marker; same
 *  name and script as agent/system/nft.ts markerScript). Not part of the declaration/inventory. */
export const META_CHAIN = 'lw_meta';
/** Prefix of every linkward rule comment and of the plan marker ("lw:<planHash>"). */
export const COMMENT_PREFIX = 'lw:';
export const planMarkerOf = (hash: string): string => `${COMMENT_PREFIX}${hash}`;

/** The hook of a base chain (kube-proxy style: type, hook, priority and policy as data). */
export interface ChainHook {
  type: 'filter' | 'route' | 'nat';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  priority: 'mangle' | 'mangle - 10' | 'filter' | 'dstnat' | 'srcnat';
  policy: 'accept' | 'drop';
}

/** Every chain of the table, in declaration order; `hook` for base chains, none for jump targets.
 *  The compiler (lib/compile/firewall/index.ts) attaches one renderer per entry. */
export const CHAIN_TABLE: readonly { name: ChainName; hook?: ChainHook }[] = [
  // after conntrack (-200, so ICMP errors can be told `related`), before prerouting_mangle (-150)
  { name: CHAIN.antispoof, hook: { type: 'filter', hook: 'prerouting', priority: 'mangle - 10', policy: 'accept' } },
  { name: CHAIN.preroutingMangle, hook: { type: 'filter', hook: 'prerouting', priority: 'mangle', policy: 'accept' } },
  { name: CHAIN.select },
  { name: CHAIN.outputRoute, hook: { type: 'route', hook: 'output', priority: 'mangle', policy: 'accept' } },
  { name: CHAIN.preroutingHelper, hook: { type: 'filter', hook: 'prerouting', priority: 'filter', policy: 'accept' } },
  { name: CHAIN.input, hook: { type: 'filter', hook: 'input', priority: 'filter', policy: 'drop' } },
  { name: CHAIN.forward, hook: { type: 'filter', hook: 'forward', priority: 'filter', policy: 'drop' } },
  { name: CHAIN.output, hook: { type: 'filter', hook: 'output', priority: 'filter', policy: 'accept' } },
  { name: CHAIN.postroutingMangle, hook: { type: 'filter', hook: 'postrouting', priority: 'mangle', policy: 'accept' } },
  { name: CHAIN.preroutingNat, hook: { type: 'nat', hook: 'prerouting', priority: 'dstnat', policy: 'accept' } },
  { name: CHAIN.postroutingNat, hook: { type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' } },
];

/** "type filter hook input priority filter; policy drop;" */
export const hookLine = (h: ChainHook): string => `type ${h.type} hook ${h.hook} priority ${h.priority}; policy ${h.policy};`;

/** Hook lines per base chain; chains not listed are regular (jump targets). */
export const CHAIN_HOOKS: Readonly<Record<string, string>> = Object.fromEntries(
  CHAIN_TABLE.flatMap((c) => (c.hook ? [[c.name, hookLine(c.hook)]] : [])),
);

/** Config names are ^[a-z][a-z0-9-]*$; nft identifiers get '-' → '_' (injective: names have no '_'). */
export const ident = (name: string): string => name.replace(/-/g, '_');

export const counterRule = (name: string) => `lw_r_${ident(name)}`;
export const counterService = (name: string) => `lw_s_${ident(name)}`;
export const counterPortForward = (name: string) => `lw_p_${ident(name)}`;
export const counterPolicy = (name: string) => `lw_pol_${ident(name)}`;
export const counterUplinkIn = (id: number) => `lw_u_${id}_in`;
export const counterUplinkOut = (id: number) => `lw_u_${id}_out`;
export const counterBuiltin = (key: string) => `lw_b_${ident(key)}`;

export const setAddressList = (name: string) => `lw_l_${ident(name)}`;
/** The IPv6 entries of an address list (config names have no '_': the suffix cannot collide). */
export const setAddressList6 = (name: string) => `lw_l_${ident(name)}_6`;
export const setPin = (id: number) => `lw_pin_${id}`;
/** The IPv6 pins of an uplink (per source address). */
export const setPin6 = (id: number) => `lw_pin6_${id}`;
export const SET_BANNED = 'lw_banned';
export const SET_SCAN = 'lw_scan';
/** Port-scan detection: one element per (source, uplink interface, closed port) seen within
 *  portScan.seconds — only a NEW element feeds the per-source meter lw_scan, so the meter counts
 *  distinct ports, not attempts. The agent reads it to tell which ports a banned source probed. */
export const SET_SCAN_PORTS = 'lw_scan_ports';
/** Sources port-scan detection never bans (static interval set). */
export const SET_NEVER_BAN = 'lw_never_ban';
/** Source networks not routed on the Internet, dropped on uplinks (firewall.antiSpoof.bogons). */
export const SET_BOGONS = 'lw_bogons';
/** IPv6 twins of the sets above: bans and scan tracking per /64 (an IPv6 host has many addresses). */
export const SET_BANNED6 = 'lw_banned6';
export const SET_SCAN6 = 'lw_scan6';
export const SET_SCAN_PORTS6 = 'lw_scan_ports6';
export const SET_NEVER_BAN6 = 'lw_never_ban6';
export const SET_BOGONS6 = 'lw_bogons6';
export const SET_DROP_INPUT6 = 'lw_drop_input6';
export const SET_DROP_FORWARD6 = 'lw_drop_forward6';
/** The /64 of an IPv6 source, as an nft expression: bans and scan counting are per /64. */
export const SADDR64 = 'ip6 saddr & ffff:ffff:ffff:ffff::';
/** Drop records (issue 8): dynamic sets keyed by iifname . saddr . daddr . l4proto . dport, with
 *  per-element counters; the agent reads them (nft -j list set) into the DropLog table. */
export const SET_DROP_INPUT = 'lw_drop_input';
export const SET_DROP_FORWARD = 'lw_drop_forward';
export const DROP_SET_SIZE = 4096;
export const DROP_SET_TIMEOUT_S = 3600;
export const helperName = (type: string, protocol: string) =>
  HELPER_DEFAULT_PROTO[type] === protocol ? `lw_h_${type}` : `lw_h_${type}_${protocol}`;
export const HELPER_DEFAULT_PROTO: Record<string, string> = { ftp: 'tcp', tftp: 'udp', sip: 'udp', irc: 'tcp' };

/** Built-in counters: key → human description. */
export const BUILTIN_COUNTERS: Record<string, string> = {
  'established-in': 'established/related packets to the router',
  'established-fwd': 'established/related forwarded packets',
  invalid: 'packets dropped as conntrack-invalid (input and forward)',
  'lan-in': 'other LAN traffic to the router',
  'lan-out': 'new connections from the LAN to the uplinks',
  dnat: 'forwarded packets of port-forwarded (DNAT) connections',
  'icmp-in': 'ICMP accepted by the router (firewall.icmpIn)',
  'icmp-out-drop': 'ICMP the router tried to send but firewall.icmpOut does not allow',
  'drop-input': 'packets to the router dropped by the default policy',
  'drop-forward': 'forwarded packets dropped by the default policy',
  banned: 'packets from sources banned by port-scan detection',
  portscan: 'packets that triggered a port-scan ban',
  antilockout: 'LAN packets to the dashboard/SSH accepted by the anti-lockout rule',
  spoofed: 'packets dropped on an uplink with a LAN, loopback or router source address (forged)',
  'icmpv6-in': 'ICMPv6 accepted by the router (neighbor discovery, MLD, errors, DHCPv6 replies, firewall.icmpv6In)',
  'icmpv6-fwd': 'ICMPv6 errors forwarded (packet too big, time exceeded, …: IPv6 path MTU discovery needs them)',
  'icmpv6-out-drop': 'ICMPv6 the router tried to send but firewall.icmpv6Out does not allow',
  bogon: 'packets dropped on an uplink with a source not routed on the Internet (bogon)',
};

/** IPv4 networks that are never a genuine source on the Internet (IANA special-purpose registry,
 *  RFC 6890: not globally reachable): this-network, private, shared/CGNAT, loopback, link-local,
 *  IETF protocol assignments, documentation, benchmarking, multicast, reserved and broadcast. */
/** IPv6 sources that are never genuine from the Internet for a new connection (RFC 6890
 *  registry): ::/8 (unspecified, loopback, IPv4-mapped/compatible), discard-only, documentation,
 *  ORCHID, the old 6bone, unique-local, site-local, multicast. Link-local (fe80::/10) is not here:
 *  neighbours on the uplink's own link use it (neighbor discovery, DHCPv6 replies). */
export const BOGONS_V6: readonly string[] = [
  '::/8', '100::/64', '2001:10::/28', '2001:db8::/32', '3ffe::/16', 'fc00::/7', 'fec0::/10', 'ff00::/8',
];

export const BOGONS_V4: readonly string[] = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12',
  '192.0.0.0/24', '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24',
  '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4',
];

/** Rule comments: "lw:<kind>:<name>". */
export const comment = (kind: string, name: string) => `comment "${COMMENT_PREFIX}${kind}:${name}"`;
/** NFLOG group of the log statements when the agent runs ulogd2 (facts.nflog; agent/ulogd.ts):
 *  an unusual number, so a user's own NFLOG listener (often group 0 or 1) never gets ours. */
export const NFLOG_GROUP = 7373;
/** Bytes of each logged packet copied to ulogd: the IP and transport headers are enough. */
export const NFLOG_SNAPLEN = 128;
/** Log prefixes (kernel log / NFLOG): "lw:<rule> " for admin rules with log, "lw:drop:<chain> " for default drops. */
export const logPrefixRule = (name: string) => `${COMMENT_PREFIX}${name} `;
export const logPrefixDrop = (chain: string) => `${COMMENT_PREFIX}drop:${chain} `;

/** DSCP used for lowDelay services. The classic TOS "Minimize-Delay" (0x10) is DSCP 4, which is not
 *  a defined PHB: modern schedulers (cake diffserv, Wi-Fi WMM) treat it as best effort. CS4
 *  (RFC 4594 "real-time interactive") lands in a priority class in cake diffserv4 (Video tin) and WMM
 *  (AC_VI) while staying below EF used by VoIP. */
export const LOW_DELAY_DSCP = 'cs4';
