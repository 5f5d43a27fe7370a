'use client';
// The live parts of an overview uplink card: state, since, address, latency/loss, connections,
// the IPv6 side, and the demo's simulate/restore buttons — from the live feed's `uplinks` topic
// (pushed as soon as the agent writes a new state), the server-rendered values until then.
import { useLive } from './Live';
import type { LiveUplink } from '@/lib/web/data';
import { parseIpv6Side, type Ipv6Side } from '@/lib/web/uplink6';

export const STATE_STYLE: Record<string, string> = {
  up: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/60 dark:text-emerald-100',
  down: 'bg-red-100 text-red-900 dark:bg-red-900/60 dark:text-red-100',
  disabled: 'bg-zinc-200 text-zinc-800 dark:bg-zinc-800 dark:text-zinc-200',
  draining: 'bg-amber-100 text-amber-900 dark:bg-amber-900/60 dark:text-amber-100',
  degraded: 'bg-orange-100 text-orange-900 dark:bg-orange-900/60 dark:text-orange-100',
  unknown: 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300',
};

export interface UplinkLiveInitial {
  name: string;
  state: string;
  since: number | null;
  reason: string;
  address: string | null;
  gateway: string;
  latencyMs: number | null;
  lossPct: number | null;
  connections: number;
  /** Parsed IPv6 side; null when the uplink has no ipv6 block. */
  ipv6: Ipv6Side | null;
}

function fmtAgo(ts: number | null): string {
  if (!ts) return 'never';
  const s = Math.max(0, Math.round((Date.now() - ts) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** "12.3 ms / 0 %", or "—" for what is not measured (down, no probe yet in this state). */
export function fmtQuality(state: string, latencyMs: number | null, lossPct: number | null): string {
  if (state === 'down' || state === 'disabled') return '—';
  const l = latencyMs != null ? `${latencyMs.toFixed(1)} ms` : '—';
  const p = lossPct != null ? `${Math.round(lossPct)} %` : '—';
  return l === '—' && p === '—' ? '—' : `${l} / ${p}`;
}

function useUplink(init: UplinkLiveInitial): { u: UplinkLiveInitial; total: number | null } {
  const all = useLive('uplinks');
  const live = all?.find((x: LiveUplink) => x.name === init.name);
  const total = all ? all.reduce((n, x) => n + x.connections, 0) : null;
  if (!live) return { u: init, total };
  return {
    u: {
      ...init,
      state: live.state, since: live.since, reason: live.reason, address: live.address, gateway: live.gateway ?? init.gateway,
      latencyMs: live.latencyMs, lossPct: live.lossPct, connections: live.connections,
      ipv6: init.ipv6 ? (parseIpv6Side(live.ipv6) ?? init.ipv6) : null,
    },
    total,
  };
}

export function UplinkStateBadge({ init }: { init: UplinkLiveInitial }) {
  const { u } = useUplink(init);
  return (
    <span className={`badge ${STATE_STYLE[u.state] ?? STATE_STYLE.unknown}`} data-testid="uplink-state" data-state={u.state}>
      {u.state}
    </span>
  );
}

export function UplinkFacts({ init, totalInitial, agentRunning }: { init: UplinkLiveInitial; totalInitial: number; agentRunning: boolean }) {
  const { u, total: liveTotal } = useUplink(init);
  const total = liveTotal ?? totalInitial;
  const share = total > 0 ? Math.round((u.connections / total) * 100) : null;
  const v6 = u.ipv6;
  return (
    <>
      <dl className="grid grid-cols-2 gap-x-3 gap-y-1 text-sm">
        <dt className="muted">Since</dt>
        <dd>{u.since ? fmtAgo(u.since) : agentRunning ? 'not reported' : '–'}</dd>
        <dt className="muted">Address</dt>
        <dd className="break-all font-mono text-xs">{u.address ?? '–'}</dd>
        <dt className="muted">Gateway</dt>
        <dd className="break-all font-mono text-xs">{u.gateway}</dd>
        <dt className="muted">Latency / loss</dt>
        <dd data-testid="uplink-quality-now" title="Over the probes since the uplink entered its current state">{fmtQuality(u.state, u.latencyMs, u.lossPct)}</dd>
        <dt className="muted">Connections</dt>
        <dd data-testid="uplink-connections">{u.connections}{share !== null ? ` (${share} %)` : ''}</dd>
      </dl>
      {u.reason && <p className="text-xs muted" data-testid="uplink-reason">{u.reason}</p>}
      {v6 && (
        <div className="rounded-md border border-zinc-200 p-2 text-xs dark:border-zinc-800" data-testid="uplink-ipv6">
          <p className="flex items-center gap-2">
            <span className="font-semibold">IPv6</span>
            <span className={`badge ${STATE_STYLE[v6.state] ?? STATE_STYLE.unknown}`} data-testid="uplink-ipv6-state">{v6.state}</span>
            <span className="muted">{fmtQuality(v6.state, v6.latencyMs, v6.lossPct)}</span>
          </p>
          <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-3">
            <dt className="muted">Address</dt>
            <dd className="break-all font-mono">{v6.address ?? '–'}</dd>
            <dt className="muted">Prefix</dt>
            <dd className="break-all font-mono">{v6.prefix ?? '–'}</dd>
            <dt className="muted">Gateway</dt>
            <dd className="break-all font-mono">{v6.gateway ?? '–'}</dd>
          </dl>
          {v6.reason && <p className="mt-1 muted">{v6.reason}</p>}
        </div>
      )}
    </>
  );
}

/** Demo mode: "Simulate failure" while the uplink carries traffic, "Restore" once it is down. */
export function LabButtons({ init, breakButton, restoreButton }: { init: UplinkLiveInitial; breakButton: React.ReactNode; restoreButton: React.ReactNode }) {
  const { u } = useUplink(init);
  if (u.state === 'down') return <>{restoreButton}</>;
  if (u.state === 'up' || u.state === 'degraded' || u.state === 'unknown') return <>{breakButton}</>;
  return null; // disabled or draining: the admin's own doing, nothing to simulate
}
