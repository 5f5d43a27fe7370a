import type { Metadata } from 'next';
import Link from 'next/link';
import { history } from '@/lib/web/data';
import { fmtAgo, fmtTime } from '@/lib/web/format';
import { Notice } from '@/components/Notice';
import { SubmitButton } from '@/components/SubmitButton';
import { ActionForm } from '@/components/ActionForm';
import { restoreAction } from '@/lib/web/actions/revisions';
import { baseRevisionValue } from '@/lib/web/forms';

export const metadata: Metadata = { title: 'History' };
export const dynamic = 'force-dynamic';

function state(r: Awaited<ReturnType<typeof history>>[number]): { text: string; cls: string } | null {
  if (r.rolledBackAt) return { text: 'rolled back', cls: 'bg-red-100 text-red-900 dark:bg-red-900/60 dark:text-red-100' };
  if (r.confirmWithin !== null && r.confirmedAt) return { text: 'confirmed', cls: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/60 dark:text-emerald-100' };
  if (r.confirmWithin !== null) return { text: `confirm within ${r.confirmWithin}s`, cls: 'bg-amber-100 text-amber-900 dark:bg-amber-900/60 dark:text-amber-100' };
  return null;
}

export default async function HistoryPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await searchParams;
  const rows = await history(500);
  const newest = rows[0]?.id;
  return (
    <>
      <header>
        <h1 className="h1">History</h1>
        <p className="mt-1 max-w-3xl text-sm muted">
          Every change is a revision: who, when, what. View any revision, compare any two (configuration and the compiled
          nftables/routing plan), or restore an old one as a new revision.
        </p>
      </header>
      <Notice saved={sp.restored} error={sp.error} />
      {rows.length >= 2 && (
        <form action="/history/diff" method="get" className="card flex flex-wrap items-end gap-3" aria-label="Compare two revisions">
          <div>
            <label htmlFor="diff-a" className="label">From revision</label>
            <select id="diff-a" name="a" defaultValue={String(rows[1].id)} className="input">
              {rows.map((r) => <option key={r.id} value={r.id}>r{r.id} — {r.summary.slice(0, 60)}</option>)}
            </select>
          </div>
          <div>
            <label htmlFor="diff-b" className="label">To revision</label>
            <select id="diff-b" name="b" defaultValue={String(rows[0].id)} className="input">
              {rows.map((r) => <option key={r.id} value={r.id}>r{r.id} — {r.summary.slice(0, 60)}</option>)}
            </select>
          </div>
          <button type="submit" className="btn btn-primary">Compare</button>
        </form>
      )}
      {rows.length === 0 ? (
        <p className="card text-sm muted" data-testid="empty-state">No revisions yet.</p>
      ) : (
        <div className="card overflow-x-auto p-0">
          <table className="table" data-testid="history-table">
            <caption className="sr-only">Revisions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Rev</th>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Source</th>
                <th scope="col">Change</th>
                <th scope="col" aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const s = state(r);
                return (
                  <tr key={r.id} data-rev={r.id}>
                    <td className="whitespace-nowrap font-mono text-xs">
                      r{r.id}
                      {r.applied && <span className="badge ml-1 bg-sky-100 text-sky-900 dark:bg-sky-900/60 dark:text-sky-100">applied</span>}
                    </td>
                    <td className="whitespace-nowrap text-xs" title={fmtTime(r.createdAt)}>{fmtAgo(r.createdAt)}</td>
                    <td className="whitespace-nowrap text-sm">{r.author}</td>
                    <td className="text-xs muted">{r.source}</td>
                    <td className="text-sm">
                      {r.summary}
                      {s && <span className={`badge ml-1 ${s.cls}`}>{s.text}</span>}
                    </td>
                    <td className="whitespace-nowrap text-right">
                      <div className="flex justify-end gap-1">
                        <Link href={`/history/${r.id}`} className="btn btn-sm" aria-label={`View revision ${r.id}`}>View</Link>
                        {r.id !== newest && (
                          // Like Delete: a restore replaces the whole configuration, so it asks first.
                          <details className="relative" data-testid={`restore-${r.id}`}>
                            <summary className="btn btn-sm cursor-pointer list-none" aria-label={`Restore revision ${r.id}`}>Restore</summary>
                            <div className="absolute right-0 z-20 mt-1 w-64 whitespace-normal rounded-md border border-zinc-200 bg-white p-2 text-left text-sm shadow-lg dark:border-zinc-700 dark:bg-zinc-900">
                              <p className="mb-2">Restore revision <strong>r{r.id}</strong>? Its whole configuration is stored again as a new revision (r{newest} stays in the history).</p>
                              <ActionForm action={restoreAction}>
                                <input type="hidden" name="id" value={r.id} />
                                <input type="hidden" name="baseRevision" value={baseRevisionValue(newest)} />
                                <SubmitButton className="btn btn-sm btn-primary">Restore r{r.id}</SubmitButton>
                              </ActionForm>
                            </div>
                          </details>
                        )}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
