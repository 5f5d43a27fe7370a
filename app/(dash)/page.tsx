import type { Metadata } from 'next';
import Link from 'next/link';
import { getStatus, getUplinksAt, recentEvents, getSamples, uplinkCounterNames, isDemo, pendingLabRequests, pendingRevisions, type UplinkView } from '@/lib/web/data';
import { rates, fmtAgo, fmtTime } from '@/lib/web/format';
import { TrafficChart } from '@/components/Charts';
import { LiveRefresh } from '@/components/Live';
import { UplinkFacts, UplinkStateBadge, LabButtons, type UplinkLiveInitial } from '@/components/UplinkLive';
import { SubmitButton } from '@/components/SubmitButton';
import { ActionForm } from '@/components/ActionForm';
import { uplinkOp } from '@/lib/web/actions/items';
import { labRequest } from '@/lib/web/actions/requests';
import { baseRevisionValue } from '@/lib/web/forms';
import type { UplinkOp } from '@/lib/web/actions/schemas';

export const metadata: Metadata = { title: 'Overview' };
export const dynamic = 'force-dynamic';


/** One uplink button: the operation, on the revision the card was rendered from. */
function OpButton({ u, op, base, title, label, children }: { u: UplinkView; op: UplinkOp; base: number | null; title: string; label: string; children: React.ReactNode }) {
  return (
    <ActionForm action={uplinkOp}>
      <input type="hidden" name="name" value={u.name} />
      <input type="hidden" name="op" value={op} />
      <input type="hidden" name="baseRevision" value={baseRevisionValue(base)} />
      <SubmitButton className="btn btn-sm" title={title} label={label}>{children}</SubmitButton>
    </ActionForm>
  );
}

function fmtData(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(0)} kB`;
}

/** Data cap gauge: usage this period against the cap, with the warning marks. */
function MeterGauge({ m, name }: { m: NonNullable<UplinkView['metered']>; name: string }) {
  const share = m.usedBytes === null ? 0 : Math.min(1, m.usedBytes / m.capBytes);
  const over = m.usedBytes !== null && m.usedBytes >= m.capBytes;
  const warn = m.warnAt.some((w) => share >= w);
  return (
    <div className="space-y-1" data-testid="meter-gauge">
      <div className="flex justify-between text-xs">
        <span className="muted">Data this period</span>
        <span>{m.usedBytes === null ? 'not measured yet' : `${fmtData(m.usedBytes)} of ${fmtData(m.capBytes)} (${Math.round((m.usedBytes / m.capBytes) * 100)} %)`}</span>
      </div>
      <div className="relative h-2.5 rounded-full bg-zinc-200 dark:bg-zinc-800" role="meter" aria-label={`Data used on ${name}`} aria-valuemin={0} aria-valuemax={m.capBytes} aria-valuenow={m.usedBytes ?? 0}>
        <div className={`h-2.5 rounded-full ${over ? 'bg-red-600' : warn ? 'bg-amber-500' : 'bg-sky-600'}`} style={{ width: `${share * 100}%` }} />
        {m.warnAt.map((w) => <span key={w} className="absolute top-0 h-2.5 w-px bg-zinc-600 dark:bg-zinc-300" style={{ left: `${w * 100}%` }} title={`warning at ${Math.round(w * 100)} %`} />)}
      </div>
      <p className="text-xs muted">At the cap: {m.onCap === 'disable' ? 'taken out until the next period' : m.onCap === 'backup-only' ? 'used only when no other uplink is up' : 'notify only'} · {m.probeBytesPerMonth > 0 ? `health probes ≈ ${fmtData(m.probeBytesPerMonth)}/month` : 'no health probes'}</p>
    </div>
  );
}

function LabButton({ u, type, className, label, children }: { u: UplinkView; type: 'lab.break' | 'lab.restore'; className: string; label: string; children: React.ReactNode }) {
  return (
    <ActionForm action={labRequest}>
      <input type="hidden" name="uplink" value={u.name} />
      <input type="hidden" name="type" value={type} />
      <SubmitButton className={className} label={label}>{children}</SubmitButton>
    </ActionForm>
  );
}

function UplinkCard({ u, base, totalConns, samples, from, to, demo, agentRunning }: {
  u: UplinkView;
  base: number | null;
  totalConns: number;
  samples: Record<string, { ts: number; bytes: number }[]>;
  from: number;
  to: number;
  demo: boolean;
  agentRunning: boolean;
}) {
  const names = uplinkCounterNames(u.id);
  const toRates = (n: string) => rates((samples[n] ?? []).map((s) => ({ ts: s.ts, v: s.bytes })));
  const init: UplinkLiveInitial = {
    name: u.name, state: u.state, since: u.since, reason: u.reason, address: u.address, gateway: u.observedGateway ?? u.gateway,
    latencyMs: u.latencyMs, lossPct: u.lossPct, connections: u.connections, ipv6: u.ipv6,
  };
  const nSamples = Math.max((samples[names.rx] ?? []).length, (samples[names.tx] ?? []).length);
  return (
    <article className="card space-y-3" aria-labelledby={`up-${u.name}`} data-testid={`uplink-card-${u.name}`}>
      <header className="flex items-start justify-between gap-2">
        <div>
          <h3 id={`up-${u.name}`} className="h2">{u.name}</h3>
          <p className="text-xs muted">{u.interface} · weight {u.weight} · tier {u.priority}</p>
        </div>
        <UplinkStateBadge init={init} />
      </header>
      <UplinkFacts init={init} totalInitial={totalConns} agentRunning={agentRunning} />
      {u.quality && (
        <p className="text-xs muted" data-testid="uplink-quality">
          Degraded above {[u.quality.latencyWarnMs !== undefined ? `${u.quality.latencyWarnMs} ms` : null, u.quality.lossWarnPct !== undefined ? `${u.quality.lossWarnPct} % loss` : null].filter(Boolean).join(' or ')}; then {u.quality.onDegraded === 'last-resort' ? 'used only when no other uplink is up' : 'half its weight'}.
        </p>
      )}
      {u.metered && <MeterGauge m={u.metered} name={u.name} />}
      <TrafficChart
        title={`Traffic on ${u.name}, last hour`}
        from={from}
        to={to}
        empty={agentRunning && nSamples < 2 ? 'collecting… the agent stores a point every 10 s; the graph starts with the second' : 'no traffic samples in the last hour (recorded while the agent runs)'}
        series={[
          { label: 'in', className: 'text-sky-600 dark:text-sky-400', points: toRates(names.rx) },
          { label: 'out', className: 'text-violet-600 dark:text-violet-400', points: toRates(names.tx) },
        ]}
      />
      <div className="flex flex-wrap gap-2">
        {u.enabled ? (
          <OpButton u={u} op="disable" base={base} title={`Disable ${u.name}`} label={`Disable ${u.name}`}>Disable</OpButton>
        ) : (
          <OpButton u={u} op="enable" base={base} title={`Enable ${u.name}`} label={`Enable ${u.name}`}>Enable</OpButton>
        )}
        {u.drain ? (
          <OpButton u={u} op="undrain" base={base} title={`Stop draining ${u.name}`} label={`Undrain ${u.name}`}>Undrain</OpButton>
        ) : (
          <OpButton u={u} op="drain" base={base} title={`Drain ${u.name}: no new connections`} label={`Drain ${u.name}`}>Drain</OpButton>
        )}
        <Link className="btn btn-sm" href={`/uplinks?edit=${u.name}`}>Edit</Link>
        {demo && (
          <LabButtons
            init={init}
            breakButton={<LabButton u={u} type="lab.break" className="btn btn-sm btn-danger" label={`Simulate failure of ${u.name}`}>Simulate failure</LabButton>}
            restoreButton={<LabButton u={u} type="lab.restore" className="btn btn-sm" label={`Restore ${u.name}`}>Restore</LabButton>}
          />
        )}
      </div>
    </article>
  );
}

export default async function Overview() {
  // `base`: the revision the uplink cards show (the same read), sent with every uplink button.
  const [status, { revision: base, uplinks }, events, demo] = await Promise.all([getStatus(), getUplinksAt(), recentEvents(15), Promise.resolve(isDemo())]);
  const to = Date.now();
  const from = to - 3600_000;
  const samples = await getSamples(uplinks.flatMap((u) => Object.values(uplinkCounterNames(u.id))), 3600_000);
  const totalConns = uplinks.reduce((n, u) => n + u.connections, 0);
  const pending = status.desired ? await pendingRevisions(status.applied, 10) : [];
  const labPending = demo ? await pendingLabRequests() : [];
  return (
    <>
      <LiveRefresh topics={['apply', 'events', 'requests']} fallbackMs={3000} />
      <header>
        <h1 className="h1">Overview</h1>
        {!status.agentRunning && (
          <p className="mt-2 rounded-md border border-amber-200 bg-amber-50 p-2 text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-100" data-testid="agent-warning">
            {status.heartbeatAt ? `Agent silent since ${fmtAgo(status.heartbeatAt)}` : 'Agent not running'}: nothing is applied to the kernel and no health or traffic is
            reported. Start it with <code className="font-mono">sudo npx linkward agent</code>.
          </p>
        )}
        {!status.desired && (
          <p className="mt-2 rounded-md border border-sky-200 bg-sky-50 p-3 text-sm text-sky-900 dark:border-sky-900 dark:bg-sky-950 dark:text-sky-100" data-testid="first-run">
            No configuration yet. <Link className="link font-semibold" href="/first-run">Set up from this router&apos;s interfaces</Link>: linkward reads them and proposes which is the LAN and which are the uplinks; you review it before anything is applied.
          </p>
        )}
      </header>

      <section aria-labelledby="uplinks-h" className="space-y-3">
        <h2 id="uplinks-h" className="h2">Uplinks</h2>
        {uplinks.length === 0 ? (
          <div className="card text-sm muted" data-testid="empty-state">
            No uplinks configured. <Link className="link" href="/uplinks?add=1">Add your first uplink</Link> (one per Internet connection), then a{' '}
            <Link className="link" href="/lan?add=1">LAN network</Link>.
          </div>
        ) : (
          <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3">
            {uplinks.map((u) => (
              <UplinkCard key={u.name} u={u} base={base} totalConns={totalConns} samples={samples} from={from} to={to} demo={demo} agentRunning={status.agentRunning} />
            ))}
          </div>
        )}
        {labPending.length > 0 && (
          <p className="text-xs muted">Waiting for the agent: {labPending.map((r) => `${r.type} ${r.args}`).join(', ')}</p>
        )}
      </section>

      <div className="grid gap-4 lg:grid-cols-2">
        <section aria-labelledby="rev-h" className="card space-y-2">
          <h2 id="rev-h" className="h2">Configuration</h2>
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
            <dt className="muted">Desired</dt>
            <dd data-testid="overview-desired">{status.desired ? `revision ${status.desired.id} (${fmtAgo(status.desired.createdAt)} by ${status.desired.author})` : 'none yet'}</dd>
            <dt className="muted">Applied</dt>
            <dd>{status.applied ? `revision ${status.applied}${status.appliedAt ? `, ${fmtAgo(status.appliedAt)}` : ''}` : 'nothing applied yet'}</dd>
            {status.applyError && (
              <>
                <dt className="muted">Last error</dt>
                <dd className="text-red-700 dark:text-red-400">revision {status.errorRevision}: {status.applyError}</dd>
              </>
            )}
          </dl>
          <h3 className="pt-2 text-sm font-semibold">What changed (not applied yet)</h3>
          {pending.length === 0 ? (
            <p className="text-sm muted">{status.desired ? 'Everything desired is applied.' : 'No configuration stored yet.'}</p>
          ) : (
            <ol className="space-y-1 text-sm" data-testid="pending-changes">
              {pending.map((r) => (
                <li key={r.id}>
                  <span className="font-mono text-xs muted">r{r.id}</span> {r.summary}{' '}
                  <span className="text-xs muted">({r.source}, {r.author})</span>
                </li>
              ))}
            </ol>
          )}
        </section>

        <section aria-labelledby="ev-h" className="card space-y-2">
          <h2 id="ev-h" className="h2">Recent events</h2>
          {events.length === 0 ? (
            <p className="text-sm muted">No events yet. The agent records applies, errors and uplink state changes here.</p>
          ) : (
            <ul className="space-y-1 text-sm">
              {events.map((e) => (
                <li key={e.id} className="flex gap-2">
                  <time className="shrink-0 font-mono text-xs muted" dateTime={new Date(e.ts).toISOString()} title={fmtTime(e.ts)}>{fmtAgo(e.ts)}</time>
                  <span className={e.type.includes('error') ? 'text-red-700 dark:text-red-400' : ''}>
                    {e.uplink ? <strong>{e.uplink}: </strong> : null}
                    {e.message}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </>
  );
}
