import type { Metadata } from 'next';
import Link from 'next/link';
import { firstRun } from '@/lib/web/firstrun';
import { latestRevision } from '@/lib/web/data';
import { detectInterfaces } from '@/lib/web/actions/requests';
import { ActionForm } from '@/components/ActionForm';
import { SubmitButton } from '@/components/SubmitButton';
import { AutoRefresh } from '@/components/AutoRefresh';
import { FirstRunForm } from '@/components/FirstRunForm';
import { fmtAgo } from '@/lib/web/format';

export const metadata: Metadata = { title: 'First run' };
export const dynamic = 'force-dynamic';

export default async function FirstRunPage() {
  const [fr, latest] = await Promise.all([firstRun(), latestRevision()]);
  return (
    <>
      <header>
        <h1 className="h1">Set up from this router&apos;s interfaces</h1>
        <p className="mt-1 text-sm muted">
          linkward reads the interfaces, addresses and routes of this machine and proposes a configuration: the LAN (a private address and no
          default route) and the uplinks (a default route, a DHCP lease, or a public address). Nothing is applied before you review it, and the
          first apply is commit-confirmed: if the dashboard becomes unreachable, the agent puts everything back by itself.
        </p>
        {latest && (
          <p className="mt-2 rounded-md border border-amber-200 bg-amber-50 p-2 text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-100">
            A configuration exists already (revision {latest.id}): applying a proposal replaces it. Review the diff first.
          </p>
        )}
      </header>
      {fr.state !== 'ready' && (
        <section className="card space-y-2" data-testid="first-run-detect">
          {fr.state === 'pending' ? (
            <>
              <AutoRefresh ms={1000} />
              <p className="text-sm">Reading the interfaces… (asked the agent {fmtAgo(fr.since)}; it answers within a second or two when it runs)</p>
            </>
          ) : (
            <>
              {fr.state === 'error' && <p role="alert" className="text-sm text-red-700">The agent could not read the interfaces: {fr.message}</p>}
              <ActionForm action={detectInterfaces}>
                <SubmitButton>Read this router&apos;s interfaces</SubmitButton>
              </ActionForm>
            </>
          )}
        </section>
      )}
      {fr.state === 'ready' && (
        <>
          <section className="card space-y-2" aria-labelledby="fr-sum" data-testid="first-run-summary">
            <h2 id="fr-sum" className="h2">What linkward proposes</h2>
            <ul className="list-disc space-y-1 pl-5 text-sm">
              {fr.proposal.summary.map((l, i) => <li key={i}>{l}</li>)}
            </ul>
            {fr.proposal.warnings.length > 0 && (
              <ul role="alert" className="list-disc pl-5 text-sm text-amber-800 dark:text-amber-200">{fr.proposal.warnings.map((w, i) => <li key={i}>{w}</li>)}</ul>
            )}
            <table className="mt-2 w-full text-left text-sm">
              <thead><tr><th className="py-1">Interface</th><th>Role</th><th>Address</th><th>Why</th></tr></thead>
              <tbody>
                {fr.proposal.lan.map((l) => <tr key={l.interface}><td className="font-mono">{l.interface}</td><td>LAN</td><td className="font-mono">{l.address}</td><td className="muted">{l.why}</td></tr>)}
                {fr.proposal.uplinks.map((u) => <tr key={u.interface}><td className="font-mono">{u.interface}</td><td>uplink (gateway {u.gateway})</td><td className="font-mono">{u.address}</td><td className="muted">{u.why}</td></tr>)}
                {fr.proposal.ignored.map((x) => <tr key={x.interface}><td className="font-mono">{x.interface}</td><td>left alone</td><td /><td className="muted">{x.why}</td></tr>)}
              </tbody>
            </table>
            <p className="text-xs muted">Read {fmtAgo(fr.at)} from {fr.machine.hostname}. <ActionForm action={detectInterfaces} className="inline"><SubmitButton className="btn btn-sm">Read again</SubmitButton></ActionForm></p>
          </section>
          <section className="card space-y-2" aria-labelledby="fr-apply">
            <h2 id="fr-apply" className="h2">Review and apply</h2>
            <FirstRunForm json={JSON.stringify(fr.proposal.config, null, 2)} baseRevision={latest?.id ?? null} />
            <p className="text-xs muted">Or skip this and configure by hand: <Link className="link" href="/uplinks">Uplinks</Link>, <Link className="link" href="/lan">LAN</Link>.</p>
          </section>
        </>
      )}
    </>
  );
}
