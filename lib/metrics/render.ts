// Prometheus text exposition (format 0.0.4) of what the agent wrote to the database. Pure: rows
// in, text out. GET /metrics (app/metrics/route.ts) and `linkward metrics` both print this.
//
// Why not prom-client: prom-client is an in-process instrumentation library (a registry whose
// counters only go up by inc() and whose histograms only observe()); here the web process renders
// values another process (the agent) accumulated and stored, including histogram buckets, so it
// would need reset()+inc() for every counter and has no way to set bucket counts. The format is
// small; this renderer follows it (HELP/TYPE once per family, escaped label values, histogram
// buckets with le and +Inf, _sum/_count) and `promtool check metrics` checks it in the tests.

export interface MetricsInput {
  now: number;
  agent: { heartbeatAt: number | null; startedAt: number | null; appliedRevision: number | null; applyError: string | null } | null;
  desiredRevision: number | null;
  uplinks: { name: string; state: string; latencyMs: number | null; lossPct: number | null; connections: number; rxBytes: number; txBytes: number }[];
  counters: { name: string; kind: string; ref: string; packets: number; bytes: number }[];
  /** AgentMetric rows: name, label string as written by the agent (`k="v",…`, already escaped), value. */
  agentMetrics: { name: string; labels: string; value: number }[];
  metered: { uplink: string; bytes: number; periodStart: number; capBytes: number | null }[];
  notificationsPending: number;
  bans: number;
}

/** The agent counts as up when its heartbeat is younger than this (it writes one every 2 s). */
export const AGENT_UP_MS = 30_000;

export const UPLINK_STATES = ['up', 'degraded', 'down', 'disabled', 'draining', 'unknown'] as const;

/** Buckets of linkward_apply_duration_seconds (the agent fills them, agent/metrics.ts). */
export const APPLY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Escape a label value: backslash, double quote and line feed (exposition format). */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escape HELP text: backslash and line feed. */
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

export function labelString(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

type Kind = 'gauge' | 'counter' | 'histogram';

class Out {
  private parts: string[] = [];
  family(name: string, type: Kind, help: string): void {
    this.parts.push(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`);
  }
  sample(name: string, labels: string, value: number): void {
    this.parts.push(labels ? `${name}{${labels}} ${num(value)}\n` : `${name} ${num(value)}\n`);
  }
  text(): string {
    return this.parts.join('');
  }
}

const L = (k: string, v: string) => `${k}="${escapeLabel(v)}"`;

export function renderMetrics(m: MetricsInput): string {
  const o = new Out();
  const a = m.agent;
  const agentUp = a?.heartbeatAt != null && m.now - a.heartbeatAt < AGENT_UP_MS;
  o.family('linkward_agent_up', 'gauge', 'Whether the agent reported within the last 30 s (1) or not (0).');
  o.sample('linkward_agent_up', '', agentUp ? 1 : 0);
  if (a?.startedAt != null) {
    o.family('linkward_agent_start_time_seconds', 'gauge', 'When the running agent started (Unix time).');
    o.sample('linkward_agent_start_time_seconds', '', a.startedAt / 1000);
  }
  if (a?.heartbeatAt != null) {
    o.family('linkward_agent_heartbeat_timestamp_seconds', 'gauge', 'The agent\'s last report (Unix time).');
    o.sample('linkward_agent_heartbeat_timestamp_seconds', '', a.heartbeatAt / 1000);
  }
  o.family('linkward_desired_revision', 'gauge', 'The newest stored configuration revision (0 when none).');
  o.sample('linkward_desired_revision', '', m.desiredRevision ?? 0);
  o.family('linkward_applied_revision', 'gauge', 'The revision the agent applied last (0 when none).');
  o.sample('linkward_applied_revision', '', a?.appliedRevision ?? 0);
  o.family('linkward_apply_error', 'gauge', 'Whether the last apply failed (1) and the kernel keeps an older state.');
  o.sample('linkward_apply_error', '', a?.applyError ? 1 : 0);

  const am = new Map<string, { labels: string; value: number }[]>();
  for (const r of m.agentMetrics) {
    let l = am.get(r.name);
    if (!l) am.set(r.name, (l = []));
    l.push({ labels: r.labels, value: r.value });
  }
  // Histogram: buckets are cumulative as the agent stores them; +Inf equals _count.
  o.family('linkward_apply_duration_seconds', 'histogram', 'Time the agent took to apply a plan (compile, nft, routes, sysctls).');
  const buckets = new Map((am.get('apply_duration_seconds_bucket') ?? []).map((b) => [b.labels, b.value]));
  const count = am.get('apply_duration_seconds_count')?.[0]?.value ?? 0;
  for (const le of APPLY_BUCKETS) o.sample('linkward_apply_duration_seconds_bucket', L('le', String(le)), buckets.get(L('le', String(le))) ?? 0);
  o.sample('linkward_apply_duration_seconds_bucket', L('le', '+Inf'), count);
  o.sample('linkward_apply_duration_seconds_sum', '', am.get('apply_duration_seconds_sum')?.[0]?.value ?? 0);
  o.sample('linkward_apply_duration_seconds_count', '', count);

  const ups = m.uplinks;
  o.family('linkward_uplink_up', 'gauge', 'Whether the uplink carries traffic (state up or degraded).');
  for (const u of ups) o.sample('linkward_uplink_up', L('uplink', u.name), u.state === 'up' || u.state === 'degraded' ? 1 : 0);
  o.family('linkward_uplink_state', 'gauge', 'The uplink\'s state, one series per possible state (1 = current).');
  for (const u of ups) for (const s of UPLINK_STATES) o.sample('linkward_uplink_state', `${L('uplink', u.name)},${L('state', s)}`, u.state === s ? 1 : 0);
  o.family('linkward_uplink_rtt_seconds', 'gauge', 'Mean round-trip time of the health probes (last 10 s).');
  for (const u of ups) if (u.latencyMs !== null) o.sample('linkward_uplink_rtt_seconds', L('uplink', u.name), u.latencyMs / 1000);
  o.family('linkward_uplink_loss_ratio', 'gauge', 'Lost share of the health probes (last 10 s), 0-1.');
  for (const u of ups) if (u.lossPct !== null) o.sample('linkward_uplink_loss_ratio', L('uplink', u.name), u.lossPct / 100);
  o.family('linkward_uplink_connections', 'gauge', 'Tracked connections carried by the uplink.');
  for (const u of ups) o.sample('linkward_uplink_connections', L('uplink', u.name), u.connections);
  o.family('linkward_uplink_receive_bytes_total', 'counter', 'Bytes received on the uplink interface (nft counter lw_u_<id>_in).');
  for (const u of ups) o.sample('linkward_uplink_receive_bytes_total', L('uplink', u.name), u.rxBytes);
  o.family('linkward_uplink_transmit_bytes_total', 'counter', 'Bytes sent on the uplink interface (nft counter lw_u_<id>_out).');
  for (const u of ups) o.sample('linkward_uplink_transmit_bytes_total', L('uplink', u.name), u.txBytes);

  const counterFamily = (name: string, key: string, help: string) => {
    o.family(`linkward_${name}`, 'counter', help);
    for (const r of am.get(key) ?? []) o.sample(`linkward_${name}`, r.labels, r.value);
  };
  counterFamily('uplink_transitions_total', 'uplink_transitions_total', 'Health state changes of the uplink, by the state entered.');
  counterFamily('failovers_total', 'failovers_total', 'Failovers: the uplink stopped taking new connections because it went down, by uplink.');
  counterFamily('failbacks_total', 'failbacks_total', 'Failbacks: the uplink took new connections again after a failover, by uplink.');

  o.family('linkward_rule_packets_total', 'counter', 'Packets matched by a rule, service, port forward, policy or built-in rule (its nft counter).');
  const rules = m.counters.filter((c) => c.kind !== 'uplink');
  const ruleLabels = rules.map((c) => `${L('rule', c.ref)},${L('kind', c.kind)},${L('counter', c.name)}`);
  rules.forEach((c, i) => o.sample('linkward_rule_packets_total', ruleLabels[i], c.packets));
  o.family('linkward_rule_bytes_total', 'counter', 'Bytes matched by a rule, service, port forward, policy or built-in rule (its nft counter).');
  rules.forEach((c, i) => o.sample('linkward_rule_bytes_total', ruleLabels[i], c.bytes));

  if (m.metered.length) {
    o.family('linkward_metered_usage_bytes', 'gauge', 'Bytes used on a metered uplink in the current period (received + sent).');
    for (const x of m.metered) o.sample('linkward_metered_usage_bytes', L('uplink', x.uplink), x.bytes);
    o.family('linkward_metered_cap_bytes', 'gauge', 'The data cap of a metered uplink per period.');
    for (const x of m.metered) if (x.capBytes !== null) o.sample('linkward_metered_cap_bytes', L('uplink', x.uplink), x.capBytes);
    o.family('linkward_metered_period_start_seconds', 'gauge', 'Start of the current period of a metered uplink (Unix time).');
    for (const x of m.metered) o.sample('linkward_metered_period_start_seconds', L('uplink', x.uplink), x.periodStart / 1000);
  }

  o.family('linkward_notifications_pending', 'gauge', 'Notifications queued and not delivered yet (all channels).');
  o.sample('linkward_notifications_pending', '', m.notificationsPending);
  counterFamily('notifications_sent_total', 'notifications_sent_total', 'Notifications delivered, by channel.');
  counterFamily('notifications_failed_total', 'notifications_failed_total', 'Notifications given up after retries, by channel.');
  counterFamily('notifications_suppressed_total', 'notifications_suppressed_total', 'Notifications not sent because they repeated or an uplink was flapping, by event.');
  o.family('linkward_bans', 'gauge', 'Sources currently banned by port-scan detection.');
  o.sample('linkward_bans', '', m.bans);
  return o.text();
}
