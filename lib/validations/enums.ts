// The enumerations and defaults of the configuration schema, without zod: the dashboard's client
// components (lib/web/sections.ts) import them from here, so the browser bundle carries no zod
// (whose JIT probes `Function("")`, which the Content-Security-Policy forbids). config.ts
// re-exports them; the schema there is the one source of truth for what is valid.

export const PROTOCOLS = ['tcp', 'udp'] as const;
export const RULE_PROTOCOLS = ['tcp', 'udp', 'icmp', 'icmpv6', 'any'] as const;
export const ACTIONS = ['accept', 'drop', 'reject'] as const;
export const CHAINS = ['input', 'forward', 'output'] as const;
export const HELPERS = ['ftp', 'tftp', 'sip', 'irc'] as const;
export const HEALTH_METHODS = ['icmp', 'tcp', 'dns'] as const;
/** ICMP types nft knows by name (subset that makes sense for IPv4 filtering). */
export const ICMP_TYPES = [
  'echo-reply', 'destination-unreachable', 'source-quench', 'redirect', 'echo-request',
  'router-advertisement', 'router-solicitation', 'time-exceeded', 'parameter-problem',
  'timestamp-request', 'timestamp-reply', 'info-request', 'info-reply',
  'address-mask-request', 'address-mask-reply',
] as const;
/** ICMPv6 types an admin can allow or not (nft names). Neighbor discovery (133-137) and MLD
 *  (130-132, 143) are not in this list: they are always allowed (RFC 4890: IPv6 breaks without). */
export const ICMPV6_TYPES = [
  'destination-unreachable', 'packet-too-big', 'time-exceeded', 'parameter-problem', 'echo-request', 'echo-reply',
] as const;

// Defaults: probes every 125 ms per target, down span 1.06 s, up after 1.25 s (docs/failover.md).
export const HEALTH_DEFAULTS = { method: 'icmp', intervalMs: 250, timeoutMs: 1000, downAfter: 4, upAfter: 5 } as const;
// Fast: probes every 40 ms per target, down span 0.26 s (for clean, low-latency links: a reply
// slower than 240 ms counts as lost; not meant for a lossy link with a dead target).
export const HEALTH_FAST = { intervalMs: 80, timeoutMs: 240, downAfter: 3, upAfter: 3 } as const;
