// Declarative description of the editable config sections: which form fields each item has.
// Pure data, shared by the server actions (parsing) and the client forms (rendering).
import { HEALTH_DEFAULTS, ACTIONS, CHAINS, RULE_PROTOCOLS, PROTOCOLS, HELPERS, HEALTH_METHODS } from '../validations/enums';
import type { Config } from '../validations/config';

export type FieldKind = 'text' | 'number' | 'port' | 'checkbox' | 'select' | 'list' | 'uplink' | 'uplinks' | 'textarea';

export interface FieldSpec {
  /** Dotted path inside the item, e.g. "gateway" or "health.targets". */
  name: string;
  label: string;
  kind: FieldKind;
  placeholder?: string;
  help?: string;
  options?: readonly string[];
  /** Select: offer an empty choice that leaves the key out. */
  optional?: boolean;
  /** Text of that empty choice (default "(default)"). */
  emptyLabel?: string;
  /** Checkbox state for a new item. */
  defaultChecked?: boolean;
  /** Initial value for a new item (text/select). */
  defaultValue?: string;
  /** Fieldset heading this field belongs to. */
  group?: string;
}

export const SECTION_KEYS = ['uplinks', 'lan', 'services', 'portForwards', 'policies', 'rules'] as const;
export type SectionKey = (typeof SECTION_KEYS)[number];

export interface SectionSpec {
  key: SectionKey;
  /** URL path of the page that edits it. */
  path: string;
  title: string;
  singular: string;
  fields: FieldSpec[];
  /** Nested objects dropped entirely when all their fields are empty (e.g. uplink health). */
  optionalGroups?: string[];
}

const name: FieldSpec = { name: 'name', label: 'Name', kind: 'text', placeholder: 'e.g. wan1', help: 'lowercase letters, digits, "-"' };
const enabled: FieldSpec = { name: 'enabled', label: 'Enabled', kind: 'checkbox', defaultChecked: true };

export const SECTIONS: Record<SectionKey, SectionSpec> = {
  uplinks: {
    key: 'uplinks',
    path: '/uplinks',
    title: 'Uplinks',
    singular: 'uplink',
    optionalGroups: ['health', 'quality', 'metered', 'ipv6'],
    fields: [
      name,
      { name: 'interface', label: 'Interface', kind: 'text', placeholder: 'e.g. eth1' },
      { name: 'gateway', label: 'Gateway', kind: 'text', placeholder: 'auto', help: 'IPv4 address, or "auto" (DHCP / learned)' },
      { name: 'weight', label: 'Weight', kind: 'number', placeholder: '1', help: 'share of new connections (1-100)' },
      { name: 'priority', label: 'Priority tier', kind: 'number', placeholder: '1', help: '1 = primary; higher tiers are used only when all lower are down' },
      enabled,
      { name: 'drain', label: 'Drain (no new connections)', kind: 'checkbox' },
      { name: 'failback', label: 'Failback', kind: 'select', options: ['keep', 'reset'], defaultValue: 'keep', help: 'reset: move flows back when it recovers' },
      { name: 'ipv6.gateway', label: 'IPv6 gateway', kind: 'text', placeholder: 'auto', group: 'IPv6', help: 'the ISP router: "auto" (router advertisements) or an address; link-local like fe80::1 is fine. All IPv6 fields empty = no IPv6 on this uplink' },
      { name: 'ipv6.prefix', label: 'IPv6 prefix from the ISP', kind: 'text', placeholder: 'e.g. 2001:db8:100::/56 or auto', group: 'IPv6', help: 'the prefix routed (delegated) to this uplink; "auto" = learned by DHCPv6-PD; needed for native LANs and NPTv6' },
      { name: 'health.targets', label: 'Probe targets', kind: 'list', placeholder: 'e.g. 1.1.1.1, 9.9.9.9, 2606:4700:4700::1111', group: 'Health check', help: 'IPv4 and/or IPv6 addresses (each family probed on its own), comma or space separated; empty = no health check' },
      { name: 'health.method', label: 'Method', kind: 'select', options: HEALTH_METHODS, optional: true, emptyLabel: '(default: icmp)', group: 'Health check' },
      { name: 'health.port', label: 'Port (tcp/dns)', kind: 'number', placeholder: '80 / 53', group: 'Health check' },
      { name: 'health.intervalMs', label: 'Interval (ms)', kind: 'number', placeholder: String(HEALTH_DEFAULTS.intervalMs), group: 'Health check' },
      { name: 'health.timeoutMs', label: 'Timeout (ms)', kind: 'number', placeholder: String(HEALTH_DEFAULTS.timeoutMs), group: 'Health check' },
      { name: 'health.downAfter', label: 'Down after (failed probes)', kind: 'number', placeholder: String(HEALTH_DEFAULTS.downAfter), group: 'Health check' },
      { name: 'health.upAfter', label: 'Up after (good probes)', kind: 'number', placeholder: String(HEALTH_DEFAULTS.upAfter), group: 'Health check' },
      { name: 'health.quorum', label: 'Quorum (targets that must answer)', kind: 'number', placeholder: 'majority', group: 'Health check' },
      { name: 'quality.latencyWarnMs', label: 'Degraded above latency (ms)', kind: 'number', placeholder: 'e.g. 200', group: 'Quality (degraded state)', help: 'mean probe round trip over the window' },
      { name: 'quality.latencyDownMs', label: 'Down above latency (ms)', kind: 'number', placeholder: 'e.g. 500', group: 'Quality (degraded state)' },
      { name: 'quality.lossWarnPct', label: 'Degraded above loss (%)', kind: 'number', placeholder: 'e.g. 10', group: 'Quality (degraded state)' },
      { name: 'quality.lossDownPct', label: 'Down above loss (%)', kind: 'number', placeholder: 'e.g. 20', group: 'Quality (degraded state)' },
      { name: 'quality.windowMs', label: 'Window (ms)', kind: 'number', placeholder: '30000', group: 'Quality (degraded state)' },
      { name: 'quality.onDegraded', label: 'When degraded', kind: 'select', options: ['half-weight', 'last-resort'], optional: true, emptyLabel: '(default: half-weight)', group: 'Quality (degraded state)' },
      { name: 'metered.capBytes', label: 'Data cap (bytes per period)', kind: 'number', placeholder: 'e.g. 20000000000', group: 'Metered', help: 'empty = not metered; probes slow down to one per target every 10 s' },
      { name: 'metered.periodDay', label: 'Period starts on day', kind: 'number', placeholder: '1', group: 'Metered' },
      { name: 'metered.onCap', label: 'At the cap', kind: 'select', options: ['notify', 'backup-only', 'disable'], optional: true, emptyLabel: '(default: notify)', group: 'Metered' },
    ],
  },
  lan: {
    key: 'lan',
    path: '/lan',
    title: 'LAN networks',
    singular: 'LAN network',
    fields: [
      { ...name, placeholder: 'e.g. lan' },
      { name: 'interface', label: 'Interface', kind: 'text', placeholder: 'e.g. eth0' },
      { name: 'address', label: 'Router address', kind: 'text', placeholder: '192.168.1.1/24' },
      { name: 'ipv6.mode', label: 'IPv6 mode', kind: 'select', options: ['nptv6', 'native'], optional: true, emptyLabel: '(no IPv6 managed)', group: 'IPv6', help: 'nptv6: one stable LAN prefix translated to each uplink\'s; native: each uplink\'s own prefix, deprecated when it dies (docs/ipv6.md)' },
      { name: 'ipv6.address', label: 'Router IPv6 address', kind: 'text', placeholder: 'e.g. fd00:1::1/64', group: 'IPv6', help: 'nptv6: required (a ULA or the primary uplink\'s /64); native: optional' },
      { name: 'ipv6.subnet', label: 'Subnet of each uplink prefix', kind: 'number', placeholder: '0', group: 'IPv6', help: 'native: which /64 of every uplink prefix this LAN uses (0-255)' },
    ],
    optionalGroups: ['ipv6'],
  },
  services: {
    key: 'services',
    path: '/services',
    title: 'Services on the router',
    singular: 'service',
    fields: [
      { ...name, placeholder: 'e.g. ssh' },
      enabled,
      { name: 'protocol', label: 'Protocol', kind: 'select', options: PROTOCOLS },
      { name: 'port', label: 'Port or range', kind: 'port', placeholder: 'e.g. 22 or 6000-6010' },
      { name: 'uplinks', label: 'Reachable on uplinks', kind: 'uplinks', help: 'none checked = all uplinks' },
      { name: 'sources', label: 'Allowed sources', kind: 'list', placeholder: 'any', help: 'networks, comma or space separated' },
      { name: 'lan', label: 'Also reachable from the LAN', kind: 'checkbox', defaultChecked: true },
      { name: 'helper', label: 'Conntrack helper', kind: 'select', options: HELPERS, optional: true, emptyLabel: '(none)' },
      { name: 'lowDelay', label: 'Low-delay (prioritize)', kind: 'checkbox' },
    ],
  },
  portForwards: {
    key: 'portForwards',
    path: '/port-forwards',
    title: 'Port forwards',
    singular: 'port forward',
    fields: [
      { ...name, placeholder: 'e.g. web' },
      enabled,
      { name: 'protocol', label: 'Protocol', kind: 'select', options: PROTOCOLS },
      { name: 'port', label: 'External port or range', kind: 'port', placeholder: 'e.g. 8080' },
      { name: 'to', label: 'LAN host', kind: 'text', placeholder: 'e.g. 192.168.1.10 or 2001:db8:100::10', help: 'IPv4: forwarded (DNAT) to this host; IPv6: a pinhole (no translation), the port is opened to the host\'s own address' },
      { name: 'toPort', label: 'LAN port', kind: 'number', placeholder: 'same as external', help: 'IPv4 only (an IPv6 pinhole keeps the port)' },
      { name: 'uplinks', label: 'On uplinks', kind: 'uplinks', help: 'none checked = all uplinks' },
      { name: 'sources', label: 'Allowed sources', kind: 'list', placeholder: 'any', help: 'networks of the host\'s family, comma or space separated' },
    ],
  },
  policies: {
    key: 'policies',
    path: '/policies',
    title: 'Routing policies',
    singular: 'policy',
    fields: [
      { ...name, placeholder: 'e.g. voip-via-fiber' },
      enabled,
      { name: 'source', label: 'Source network', kind: 'text', placeholder: 'any' },
      { name: 'destination', label: 'Destination network', kind: 'text', placeholder: 'any' },
      { name: 'protocol', label: 'Protocol', kind: 'select', options: PROTOCOLS, optional: true, emptyLabel: '(any)' },
      { name: 'port', label: 'Destination port', kind: 'port', placeholder: 'any' },
      { name: 'uplink', label: 'Use uplink', kind: 'uplink' },
      { name: 'sticky', label: 'Stickiness', kind: 'select', options: ['connection', 'source'], optional: true, emptyLabel: '(global setting)' },
    ],
  },
  rules: {
    key: 'rules',
    path: '/rules',
    title: 'Firewall rules',
    singular: 'rule',
    fields: [
      { ...name, placeholder: 'e.g. no-telnet' },
      enabled,
      { name: 'chain', label: 'Chain', kind: 'select', options: CHAINS, help: 'input: to the router; forward: through it; output: from it' },
      { name: 'action', label: 'Action', kind: 'select', options: ACTIONS },
      { name: 'protocol', label: 'Protocol', kind: 'select', options: RULE_PROTOCOLS, defaultValue: 'any' },
      { name: 'source', label: 'Source network', kind: 'text', placeholder: 'any' },
      { name: 'destination', label: 'Destination network', kind: 'text', placeholder: 'any' },
      { name: 'port', label: 'Destination port', kind: 'port', placeholder: 'any (tcp/udp only)' },
      { name: 'uplink', label: 'Only on uplink', kind: 'uplink', optional: true, emptyLabel: '(any uplink)' },
      { name: 'sourceList', label: 'Source address list', kind: 'text', placeholder: 'none' },
      { name: 'destinationList', label: 'Destination address list', kind: 'text', placeholder: 'none' },
      { name: 'log', label: 'Log matches', kind: 'checkbox' },
      { name: 'description', label: 'Description', kind: 'textarea', placeholder: 'why this rule exists' },
    ],
  },
};

export function isSectionKey(s: unknown): s is SectionKey {
  return typeof s === 'string' && (SECTION_KEYS as readonly string[]).includes(s);
}

/** One item of an editable section, seen as data (the config schema re-validates what is built). */
export type Item = Record<string, unknown> & { name: string };

export function isItem(x: unknown): x is Item {
  return typeof x === 'object' && x !== null && 'name' in x && typeof x.name === 'string';
}

/** The items of one section of a config (the same objects: mutating one changes `config`). */
export function sectionItems(config: Config | null | undefined, section: SectionKey): Item[] {
  const list: unknown = config?.[section];
  return Array.isArray(list) ? list.filter(isItem) : [];
}
