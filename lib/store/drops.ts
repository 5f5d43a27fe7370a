// Read side of the log (issue 8: drops; issue 15: packets of logged admin rules too) and bans for
// the dashboard and tests, plus the unban request. Aggregation in the spirit of fwlogwatch: top
// sources, top destination ports, top rules, per uplink, per hour.
import { prisma } from '../db/prisma';
import { isIPv4, isIPv6, parseBanAddress } from '../validations/net';

export interface DropSummary {
  since: number;
  total: number;
  records: number;
  topSources: { src: string; count: number }[];
  topPorts: { proto: string; dport: number | null; count: number }[];
  perUplink: { uplink: string; count: number }[];
  perChain: { chain: string; count: number }[];
  /** Admin rule name, or "drop:<chain>" for the built-in drops. */
  topRules: { rule: string; count: number }[];
  perHour: { hour: number; count: number }[];
}

type Row = { src: string; proto: string; dport: number | null; uplink: string | null; chain: string; ts: number; count: number; rule?: string | null };

/** How a row is named in "top rules": its admin rule, or the built-in drop of its chain. */
export const ruleLabel = (r: { rule?: string | null; chain: string }): string => r.rule ?? `drop:${r.chain}`;

/** Pure aggregation (exported for tests). */
export function summarize(rows: Row[], since: number, top = 10): DropSummary {
  const add = <K>(m: Map<K, number>, k: K, n: number) => m.set(k, (m.get(k) ?? 0) + n);
  const src = new Map<string, number>();
  const port = new Map<string, number>();
  const up = new Map<string, number>();
  const chain = new Map<string, number>();
  const hour = new Map<number, number>();
  const rule = new Map<string, number>();
  let total = 0;
  for (const r of rows) {
    total += r.count;
    add(src, r.src, r.count);
    add(port, `${r.proto}|${r.dport ?? ''}`, r.count);
    add(up, r.uplink ?? '(lan/other)', r.count);
    add(chain, r.chain, r.count);
    add(rule, ruleLabel(r), r.count);
    add(hour, Math.floor(r.ts / 3600000) * 3600000, r.count);
  }
  const sorted = <K>(m: Map<K, number>) => [...m.entries()].sort((a, b) => b[1] - a[1] || (String(a[0]) < String(b[0]) ? -1 : 1));
  return {
    since,
    total,
    records: rows.length,
    topSources: sorted(src).slice(0, top).map(([s, count]) => ({ src: s, count })),
    topPorts: sorted(port).slice(0, top).map(([k, count]) => {
      const [proto, p] = k.split('|');
      return { proto, dport: p === '' ? null : Number(p), count };
    }),
    perUplink: sorted(up).map(([uplink, count]) => ({ uplink, count })),
    perChain: sorted(chain).map(([c, count]) => ({ chain: c, count })),
    topRules: sorted(rule).slice(0, top).map(([r, count]) => ({ rule: r, count })),
    perHour: [...hour.entries()].sort((a, b) => a[0] - b[0]).map(([h, count]) => ({ hour: h, count })),
  };
}

export async function dropSummary(sinceMs = 24 * 3600 * 1000, now = Date.now()): Promise<DropSummary> {
  const since = now - sinceMs;
  const rows = await prisma().dropLog.findMany({ where: { ts: { gte: since } }, select: { src: true, proto: true, dport: true, uplink: true, chain: true, ts: true, count: true, rule: true } });
  return summarize(rows, since);
}

/** The filter "rule": an admin rule name, or drop:input / drop:forward for the built-in drops. */
function ruleWhere(rule: string | undefined) {
  if (!rule) return {};
  const d = /^drop:(input|forward)$/.exec(rule);
  if (d) return { rule: null, chain: d[1] };
  return /^[a-z][a-z0-9-]{0,23}$/.test(rule) ? { rule } : {};
}

export async function recentDrops(opts: { afterId?: number; limit?: number; src?: string; rule?: string } = {}) {
  return prisma().dropLog.findMany({
    where: { ...(opts.afterId ? { id: { gt: opts.afterId } } : {}), ...(opts.src && (isIPv4(opts.src) || isIPv6(opts.src)) ? { src: opts.src } : {}), ...ruleWhere(opts.rule) },
    orderBy: { id: 'desc' },
    take: Math.min(Math.max(opts.limit ?? 100, 1), 1000),
  });
}

export interface LogBackend {
  /** 'nflog': ulogd2 reads NFLOG (every logged packet, rule hits and drops); 'sets': the kernel
   *  drop-record sets (drops only, counted per poll; logged rules go to the kernel log). */
  backend: 'nflog' | 'sets';
  /** The agent's last word on it (event "log"), e.g. why ulogd2 is not running. */
  detail: string | null;
  at: number | null;
}

/** Which path feeds the log, from the facts of the agent's last apply. */
export async function logBackend(): Promise<LogBackend> {
  const db = prisma();
  const [st, ev] = await Promise.all([
    db.agentState.findUnique({ where: { id: 1 }, select: { facts: true } }),
    db.event.findFirst({ where: { type: 'log' }, orderBy: { id: 'desc' }, select: { message: true, ts: true } }),
  ]);
  let nflog = false;
  try {
    nflog = (JSON.parse(st?.facts ?? '{}') as { nflog?: unknown }).nflog === true;
  } catch {
    /* no facts yet */
  }
  return { backend: nflog ? 'nflog' : 'sets', detail: ev?.message ?? null, at: ev?.ts ?? null };
}

export async function listBans(now = Date.now()) {
  const rows = await prisma().ban.findMany({ orderBy: { expiresAt: 'asc' } });
  return rows.map((b) => ({ ...b, ports: parsePorts(b.ports), remainingS: Math.max(0, Math.round((b.expiresAt - now) / 1000)) }));
}

function parsePorts(json: string): number[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((p): p is number => Number.isInteger(p) && p >= 0 && p <= 65535) : [];
  } catch {
    return [];
  }
}

/** The latest ban events (one per ban the agent saw: source, ports probed, uplink, expiry). */
export async function listBanEvents(limit = 50) {
  return prisma().event.findMany({ where: { type: 'ban' }, orderBy: { id: 'desc' }, take: Math.min(Math.max(limit, 1), 500) });
}

/** Ask the agent to remove `address` from the ban set (validated here and again by the agent). */
export async function requestUnban(input: string, actor: string): Promise<{ ok: true; request: number; address: string } | { ok: false; error: string }> {
  const b = parseBanAddress(input);
  if ('error' in b) return { ok: false, error: `address: ${b.error}` };
  const address = b.ban;
  const db = prisma();
  const now = Date.now();
  const r = await db.agentRequest.create({ data: { createdAt: now, type: 'unban', args: JSON.stringify({ address }) } });
  await db.auditLog.create({ data: { ts: now, actor, action: 'ban.unban', detail: `unban ${address} (request ${r.id})` } });
  return { ok: true, request: r.id, address };
}

/** A pre-filled allow rule for one drop record ("one click turns a drop into an allow rule"). The
 *  admin still reviews and saves it through the normal form (shared validation). */
export async function allowRuleFromDrop(id: number): Promise<Record<string, unknown> | null> {
  if (!Number.isInteger(id) || id < 1) return null;
  const d = await prisma().dropLog.findUnique({ where: { id } });
  if (!d || !(isIPv4(d.src) || isIPv6(d.src))) return null;
  const host = (a: string) => `${a}/${isIPv4(a) ? 32 : 128}`;
  const proto = d.proto === 'tcp' || d.proto === 'udp' || d.proto === 'icmp' ? d.proto : d.proto === 'ipv6-icmp' || d.proto === 'icmpv6' ? 'icmpv6' : 'any';
  const rule: Record<string, unknown> = {
    name: `allow-${proto}${d.dport !== null && (proto === 'tcp' || proto === 'udp') ? `-${d.dport}` : ''}`,
    enabled: true,
    chain: d.chain === 'forward' ? 'forward' : 'input',
    action: 'accept',
    protocol: proto,
    source: host(d.src),
    log: false,
    description: `from the drop log: ${d.src} → ${d.dst} ${d.proto}${d.dport !== null ? ` ${d.dport}` : ''}`,
  };
  if (d.chain === 'forward' && (isIPv4(d.dst) || isIPv6(d.dst))) rule.destination = host(d.dst);
  if (d.dport !== null && (proto === 'tcp' || proto === 'udp')) rule.port = d.dport;
  if (d.uplink) rule.uplink = d.uplink;
  return rule;
}
