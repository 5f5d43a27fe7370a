// The contract between the pure compiler (lib/compile) and the agent (agent/system applies it).

export type HealthState = 'up' | 'degraded' | 'down' | 'unknown';

export interface IfaceAddr {
  address: string; // "198.51.100.2"
  prefix: number; // 24
}

export interface IfaceAddr6 {
  address: string; // "2001:db8:1::2" (RFC 5952 text)
  prefix: number;
  scope: 'global' | 'link';
  /** Preferred lifetime 0 (RFC 4862 "deprecated"): not used for new connections. */
  deprecated?: boolean;
  tentative?: boolean;
}

export interface IfaceFacts {
  name: string;
  exists: boolean;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Lower layer up (carrier). */
  carrier: boolean;
  addresses: IfaceAddr[]; // IPv4 only, primary first
  /** Default gateway learned on this interface (main-table default route via this dev, e.g. from DHCP). */
  gateway?: string;
  /** IPv6 addresses (global first, then link-local); absent = none / not read. */
  addresses6?: IfaceAddr6[];
  /** IPv6 default gateway on this interface in the main table (router advertisements), often link-local. */
  gateway6?: string;
  /** Prefixes delegated to this interface by DHCPv6-PD (uplinks with `ipv6.prefix: "auto"`; the
   *  agent's dhcpcd), canonical, the first one used. `lost`: the delegation ended (expired, not
   *  renewed) within the last hours — still advertised on native LANs, deprecated, so hosts move off it. */
  delegated6?: { prefix: string; lost?: boolean }[];
}

/** What the agent observed on the machine; everything the compiler cannot know from the config. */
export interface Facts {
  interfaces: Record<string, IfaceFacts>;
  /** Health verdict per uplink name (from the prober). Missing = 'unknown' (treated as usable). */
  health: Record<string, HealthState>;
  /** Metered uplinks whose data cap is reached in the current period (the agent's meter). */
  overCap?: string[];
  /** IPv6 health verdict per uplink name (probes to its IPv6 targets); missing = 'unknown'. */
  health6?: Record<string, HealthState>;
  /** The kernel has IPv6 (false when booted with ipv6.disable=1: no IPv6 sysctls, routes or rules). Default true. */
  ipv6?: boolean;
  /** The agent runs ulogd2 reading NFLOG group NFLOG_GROUP (agent/ulogd.ts): log statements
   *  (admin rules with log, the built-in drop log) go there instead of the kernel log. Default false. */
  nflog?: boolean;
}

/** Range documentation (also in docs/agent.md):
 *  - routing tables: 200 (fallback multipath) and 200 + uplink.id (201..250; uplink ids are 1..50 so the kernel's reserved tables 253-255 are never used)
 *  - ip rule priorities: 10000..10999 (see RULE_PRIO_* in lib/compile/constants.ts)
 *  - fwmark/ct mark: uplink.id << 8 under mask 0xff00 */
export interface RouteSpec {
  /** Address family (absent = 4). */
  family?: 6;
  table: number;
  /** "default" or a network "a.b.c.d/n". */
  dst: string;
  dev: string;
  via?: string;
  src?: string;
  scope?: 'link' | 'global';
  /** Additive (compiler): the gateway is outside the interface's connected network (PPP/LTE /32
   *  addresses): render `onlink` so the kernel accepts the next hop. */
  onlink?: boolean;
  /** For the multipath fallback default route in table 200. */
  nexthops?: { via: string; dev: string; weight: number; onlink?: boolean }[];
}

export interface RuleSpec {
  /** Address family (absent = 4). */
  family?: 6;
  priority: number;
  table: number | 'main';
  from?: string; // "a.b.c.d" or "a.b.c.d/n"
  fwmark?: { value: number; mask: number };
  suppressPrefixlength?: number;
}

export type CounterKind = 'rule' | 'service' | 'portForward' | 'builtin' | 'uplink' | 'policy';

export interface CounterSpec {
  /** nft counter object name in table inet linkward. */
  name: string;
  kind: CounterKind;
  /** Name of the config item (rule/service/...) or built-in description key. */
  ref: string;
  /** Human description for built-ins. */
  description?: string;
}

export interface UplinkPlan {
  name: string;
  id: number;
  interface: string;
  table: number;
  mark: number;
  address?: string;
  prefix?: number;
  gateway?: string;
  priority: number;
  weight: number;
  /** The weight the weighted pick and the multipath route use, when it differs from `weight`
   *  (degraded uplinks with onDegraded half-weight next to healthy ones: the healthy ones count
   *  double, i.e. the degraded one gets half its share). */
  effectiveWeight?: number;
  /** The prober judged the uplink degraded (latency/loss above the warn thresholds). */
  degraded?: true;
  /** Takes new connections in this plan. */
  active: boolean;
  /** Why not active; null when active. Consumers switch on `code`, never parse `detail`. */
  reason: UplinkReason | null;
  /** IPv6 of this uplink (only when the config has an `ipv6` block for it). */
  v6?: UplinkPlan6;
}

export interface UplinkPlan6 {
  /** A global, non-deprecated address on the interface (source of router-originated IPv6). */
  address?: string;
  /** The on-link network of that address ("2001:db8:1::/64"). */
  net?: string;
  /** The IPv6 next hop (configured, or the main table's default route on the interface). */
  gateway?: string;
  /** The prefix the ISP routes to this uplink (canonical text): from the config, or delegated
   *  by DHCPv6-PD (`prefix: "auto"`). */
  prefix?: string;
  /** The delegated prefix was lost (DHCPv6-PD): advertised deprecated, not translated to. */
  prefixLost?: true;
  /** Takes new IPv6 connections (the weighted pick of NPTv6 LANs, the fallback table). */
  active: boolean;
  reason: UplinkReason | null;
}

/** An IPv6 address the agent keeps on a LAN interface (native prefixes, the NPTv6 LAN address). */
export interface AddrSpec {
  dev: string;
  /** "2001:db8:100::1/64" */
  address: string;
}

/** Router advertisements for one LAN interface (radvd, supervised by the agent). */
export interface RaSpec {
  dev: string;
  prefixes: {
    prefix: string;
    /** RFC 8475: the prefix of a dead uplink is advertised with preferred lifetime 0, so hosts
     *  stop using it for new connections at once (and keep it for the ones they have). */
    deprecated: boolean;
    /** Which uplink the prefix belongs to (native), or null (the NPTv6 LAN prefix). */
    uplink: string | null;
  }[];
}

/** Why an uplink takes no new connections, in the order planUplinks checks them:
 *  disabled / draining (config), no-interface / interface-down / no-address / no-gateway (facts:
 *  the uplink cannot be routed), health-down (the prober's verdict), cap-reached (metered, data
 *  cap reached, onCap disable), last-resort (degraded with onDegraded last-resort, or over its cap
 *  with onCap backup-only, while another uplink can take the traffic), backup (healthy, but a
 *  better priority tier is usable). */
export type UplinkReasonCode =
  | 'disabled'
  | 'draining'
  | 'no-interface'
  | 'interface-down'
  | 'no-address'
  | 'no-gateway'
  | 'health-down'
  | 'cap-reached'
  | 'last-resort'
  | 'backup';

export interface UplinkReason {
  code: UplinkReasonCode;
  /** The human sentence ("interface wwan0 does not exist", "backup (priority 2)"). */
  detail: string;
}

/** Names of every object the nft transaction declares, so the agent can delete stale ones. */
export interface NftInventory {
  chains: string[];
  sets: string[];
  maps: string[];
  counters: string[];
  ctHelpers: string[];
}

export interface Plan {
  /** The table declaration only (`table inet linkward { ... }`), deterministic. */
  nftDeclaration: string;
  /** The same table with objects only — counters, ct helpers, sets without elements, chains with
   *  only their hook line. renderTransaction uses it to ensure every object exists before flushing. */
  nftObjects: string;
  inventory: NftInventory;
  /** Every static (non-dynamic) set with its property lines and rendered
   *  elements, exactly as in nftDeclaration. Lets the agent send element deltas for a set whose
   *  content the kernel already holds instead of flushing and refilling it (renderTransaction's keepSets). */
  staticSets: Record<string, { props: string[]; elements: string[] }>;
  /** Sets whose elements are owned by the kernel at runtime (port-scan bans, sticky pins):
   *  never flushed by an apply. */
  dynamicSets: string[];
  routes: RouteSpec[];
  rules: RuleSpec[];
  /** IPv6 addresses the agent keeps on LAN interfaces. */
  addresses: AddrSpec[];
  /** Prefixes inside which the agent owns LAN addresses: others there are removed, addresses
   *  outside them are never touched. */
  addressScopes: string[];
  /** Router advertisements per LAN (empty: radvd is not run). */
  ra: RaSpec[];
  /** sysctl key (dotted, e.g. "net.ipv4.ip_forward") → value. */
  sysctls: Record<string, string>;
  counters: CounterSpec[];
  uplinks: UplinkPlan[];
  /** Facts the compiler needed but did not have ("uplink dsl: interface eth1 has no IPv4 address"). */
  unresolved: string[];
  warnings: string[];
}
