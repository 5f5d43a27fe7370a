import type { Metadata } from 'next';
import { listBans, listBanEvents, latestRevision } from '@/lib/web/data';
import { fmtAgo } from '@/lib/web/format';
import { LiveRefresh } from '@/components/Live';
import { SubmitButton } from '@/components/SubmitButton';
import { ActionForm } from '@/components/ActionForm';
import { unbanAction } from '@/lib/web/actions/requests';

export const metadata: Metadata = { title: 'Port-scan bans' };
export const dynamic = 'force-dynamic';

export default async function BansPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await searchParams;
  const [bans, rev, events] = await Promise.all([listBans(), latestRevision(), listBanEvents(20)]);
  const ps = rev?.config.firewall.portScan;
  return (
    <>
      <LiveRefresh topics={['bans', 'requests']} fallbackMs={3000} />
      <header>
        <h1 className="h1">Port-scan bans</h1>
        <p className="mt-1 max-w-3xl text-sm muted">
          {ps?.enabled
            ? `A source that probes more than ${ps.ports} different closed ports within ${ps.seconds} s on an uplink gets no new connection for ${ps.banSeconds} s (connections the router or the LAN opened keep working; IPv6 sources are banned per /64). LAN networks, the router, gateways, health targets, service sources and the never-ban list are never banned.`
            : 'Port-scan detection is off (Settings → Logging and port scans).'}{' '}
          The kernel keeps the bans (IPv4 addresses, IPv6 /64 prefixes); the agent lists them as they change, and this page follows at once.
        </p>
      </header>
      {sp.requested && <p role="status" className="rounded-md border border-emerald-200 bg-emerald-50 p-2 text-sm text-emerald-900 dark:border-emerald-900 dark:bg-emerald-950 dark:text-emerald-100">Unban of {sp.requested} requested; the agent removes it within a second and it disappears from this list.</p>}
      {sp.error && <p role="alert" className="rounded-md border border-red-200 bg-red-50 p-2 text-sm text-red-800">{sp.error}</p>}
      {bans.length === 0 ? (
        <p className="card text-sm muted" data-testid="empty-state">Nobody is banned right now.</p>
      ) : (
        <div className="card overflow-x-auto p-0">
          <table className="table" data-testid="bans-table">
            <caption className="sr-only">Banned sources</caption>
            <thead><tr><th scope="col">Source</th><th scope="col">Uplink</th><th scope="col">Ports probed</th><th scope="col">Remaining</th><th scope="col">Ban length</th><th scope="col">First seen</th><th scope="col" aria-label="Actions" /></tr></thead>
            <tbody>
              {bans.map((b) => (
                <tr key={b.address} data-address={b.address} data-family={b.address.includes(':') ? '6' : '4'} className={sp.requested === b.address ? 'opacity-50' : ''}>
                  <td className="font-mono text-sm">{b.address}</td>
                  <td className="text-sm">{b.uplink ?? '–'}</td>
                  <td className="max-w-xs text-xs" title={b.ports.join(', ')}>{b.ports.length ? `${b.ports.length}: ${b.ports.slice(0, 8).join(', ')}${b.ports.length > 8 ? ', …' : ''}` : '–'}</td>
                  <td className="text-sm">{b.remainingS} s</td>
                  <td className="text-xs muted">{b.timeoutS ?? '–'} s</td>
                  <td className="text-xs muted">{fmtAgo(b.firstSeen)}</td>
                  <td className="text-right">
                    {sp.requested === b.address ? (
                      <span className="text-xs muted" data-testid="unban-pending">unbanning…</span>
                    ) : (
                      <ActionForm action={unbanAction}>
                        <input type="hidden" name="address" value={b.address} />
                        <SubmitButton className="btn btn-sm" label={`Unban ${b.address}`}>Unban</SubmitButton>
                      </ActionForm>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <section className="card" aria-labelledby="ban-events">
        <h2 id="ban-events" className="h2">Ban events</h2>
        {events.length === 0 ? (
          <p className="text-sm muted">No ban so far.</p>
        ) : (
          <ul className="mt-2 space-y-1 text-sm" data-testid="ban-events">
            {events.map((e) => (
              <li key={e.id}><span className="text-xs muted">{fmtAgo(e.ts)}</span> {e.message}</li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
