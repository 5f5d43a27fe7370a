import type { Metadata } from 'next';
import { listAudit, auditFacets, auditFilterFrom } from '@/lib/web/data';
import { fmtTime } from '@/lib/web/format';

export const metadata: Metadata = { title: 'Audit log' };
export const dynamic = 'force-dynamic';

export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await searchParams;
  const filter = auditFilterFrom(sp);
  const [rows, facets] = await Promise.all([listAudit({ ...filter, limit: 500 }), auditFacets()]);
  const qs = new URLSearchParams(Object.entries({ actor: filter.actor, action: filter.action, q: filter.q, hours: sp.hours }).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '')).toString();
  return (
    <>
      <header>
        <h1 className="h1">Audit log</h1>
        <p className="mt-1 max-w-3xl text-sm muted">
          Who did what: configuration changes, restores, confirmations and rollbacks, sign-ins and failed sign-ins, unbans, agent applies and failovers.
        </p>
      </header>
      <form method="get" className="card flex flex-wrap items-end gap-3" aria-label="Filter the audit log">
        <div>
          <label htmlFor="au-actor" className="label">Who</label>
          <select id="au-actor" name="actor" defaultValue={filter.actor ?? ''} className="input">
            <option value="">(anyone)</option>
            {facets.actors.map((a) => <option key={a} value={a}>{a}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor="au-action" className="label">Action</label>
          <select id="au-action" name="action" defaultValue={filter.action ?? ''} className="input">
            <option value="">(any)</option>
            {facets.actions.map((a) => <option key={a} value={a}>{a}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor="au-q" className="label">Detail contains</label>
          <input id="au-q" name="q" defaultValue={filter.q ?? ''} className="input" autoComplete="off" />
        </div>
        <div>
          <label htmlFor="au-hours" className="label">Last hours</label>
          <input id="au-hours" name="hours" defaultValue={sp.hours ?? ''} inputMode="numeric" className="input w-24" />
        </div>
        <button type="submit" className="btn btn-primary">Filter</button>
        <a className="btn" href={`/api/audit?format=csv${qs ? `&${qs}` : ''}`} download>Export CSV</a>
        <a className="btn" href={`/api/audit?format=json${qs ? `&${qs}` : ''}`} download>Export JSON</a>
      </form>
      {rows.length === 0 ? (
        <p className="card text-sm muted" data-testid="empty-state">No matching entries.</p>
      ) : (
        <div className="card overflow-x-auto p-0">
          <table className="table" data-testid="audit-table">
            <caption className="sr-only">Audit entries, newest first (at most 500 shown; export for all)</caption>
            <thead>
              <tr><th scope="col">Time</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Detail</th></tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  <td className="whitespace-nowrap text-xs">{fmtTime(r.ts)}</td>
                  <td className="whitespace-nowrap text-sm">{r.actor}</td>
                  <td className="whitespace-nowrap font-mono text-xs">{r.action}</td>
                  <td className="text-sm">{r.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
