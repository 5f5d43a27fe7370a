// Read-side view of what the agent reported (used by `linkward status` and the dashboard).
import { prisma } from '../db/prisma';
import { latestRevision } from './revisions';

export interface StatusView {
  desiredRevision: number | null;
  appliedRevision: number | null;
  applyError: string | null;
  appliedAt: number | null;
  applyMs: number | null;
  agentHeartbeat: number | null;
  uplinks: { name: string; state: string; address: string | null; gateway: string | null; since: string | null; reason: string; latencyMs: number | null; lossPct: number | null; connections: number }[];
  rules: { name: string; kind: string; counter: string; packets: number; bytes: number }[];
}

const KIND_ORDER: Record<string, number> = { rule: 0, service: 1, portForward: 2, policy: 3, builtin: 4, uplink: 5 };

export async function readStatus(): Promise<StatusView> {
  const db = prisma();
  const [desired, agent, uplinks, counters] = await Promise.all([
    latestRevision().catch(() => null),
    db.agentState.findUnique({ where: { id: 1 } }),
    db.uplinkStatus.findMany(),
    db.counter.findMany(),
  ]);
  const config = desired?.config;
  // Uplinks in config order; unknown until the agent reports.
  const reported = new Map(uplinks.map((u) => [u.name, u]));
  const uplinkView = (config?.uplinks ?? []).map((u) => {
    const r = reported.get(u.name);
    return {
      name: u.name,
      state: r?.state ?? (u.enabled ? 'unknown' : 'disabled'),
      address: r?.address ?? null,
      gateway: r?.gateway ?? (u.gateway === 'auto' ? null : u.gateway),
      since: r ? new Date(r.since).toISOString() : null,
      reason: r?.reason ?? '',
      latencyMs: r?.latencyMs ?? null,
      lossPct: r?.lossPct ?? null,
      connections: r?.connections ?? 0,
    };
  });
  // Counters in config order for rules/services/forwards, then built-ins.
  const order = new Map<string, number>();
  config?.rules.forEach((r, i) => order.set(`rule:${r.name}`, i));
  config?.services.forEach((r, i) => order.set(`service:${r.name}`, i));
  config?.portForwards.forEach((r, i) => order.set(`portForward:${r.name}`, i));
  const rules = counters
    .filter((c) => c.kind !== 'uplink')
    .map((c) => ({ name: c.ref, kind: c.kind, counter: c.name, packets: Number(c.packets), bytes: Number(c.bytes) }))
    .sort((a, b) => (KIND_ORDER[a.kind] ?? 9) - (KIND_ORDER[b.kind] ?? 9) || (order.get(`${a.kind}:${a.name}`) ?? 0) - (order.get(`${b.kind}:${b.name}`) ?? 0) || a.name.localeCompare(b.name));
  return {
    desiredRevision: desired?.id ?? null,
    appliedRevision: agent?.appliedRevision ?? null,
    applyError: agent?.applyError ?? null,
    appliedAt: agent?.appliedAt ?? null,
    applyMs: agent?.applyMs ?? null,
    agentHeartbeat: agent?.heartbeatAt ?? null,
    uplinks: uplinkView,
    rules,
  };
}
