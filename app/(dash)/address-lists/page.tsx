import type { Metadata } from 'next';
import Link from 'next/link';
import { latestRevision, getCounters, getStatus } from '@/lib/web/data';
import { listStats, searchEntries } from '@/lib/web/lists';
import { baseRevisionValue } from '@/lib/web/forms';
import { saveList, removeList } from '@/lib/web/actions/lists';
import { ListForm } from '@/components/ListForm';
import { ActionForm } from '@/components/ActionForm';
import { SubmitButton } from '@/components/SubmitButton';
import { CountersProvider, LiveCounter } from '@/components/LiveCounters';
import { fmtCount } from '@/lib/web/format';

export const metadata: Metadata = { title: 'Address lists' };
export const dynamic = 'force-dynamic';

/** Lists up to this many entries are put in the text field for editing. */
const EDIT_MAX = 20000;

export default async function AddressListsPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await searchParams;
  const [rev, counters, status] = await Promise.all([latestRevision(), getCounters(), getStatus()]);
  const config = rev?.config;
  const base = rev?.id ?? null;
  const stats = listStats(config);
  const selected = sp.list ? config?.addressLists.find((l) => l.name === sp.list) ?? null : null;
  const q = (sp.q ?? '').slice(0, 100);
  const found = selected ? searchEntries(selected.entries, q) : null;
  const initial = { t: Date.now(), c: Object.fromEntries(counters.map((c) => [c.name, [c.packets, c.bytes, c.kind, c.ref] as [number, number, string, string]])) };
  const applied = status.applied !== null;
  return (
    <>
      <header className="flex flex-wrap items-center justify-between gap-2">
        <div>
          <h1 className="h1">Address lists</h1>
          <p className="mt-1 max-w-3xl text-sm muted">
            Named sets of IPv4/IPv6 addresses and networks (blocklists, trusted hosts) that rules match as source or destination. Each list
            becomes one kernel set per family; entries are validated like every other field, and nothing is stored if one is wrong.
          </p>
        </div>
        {(selected || sp.add === undefined) && <Link href="/address-lists?add=1" className="btn btn-primary">New list</Link>}
      </header>
      {sp.saved && <p role="status" className="rounded-md bg-emerald-50 p-2 text-sm text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100" data-testid="list-saved">Saved as revision {sp.saved}.</p>}
      <CountersProvider initial={initial}>
        {stats.length === 0 ? (
          <p className="card text-sm muted" data-testid="empty-state">No address lists yet. Create one, then use it in a rule (source list or destination list).</p>
        ) : (
          <div className="card overflow-x-auto p-0">
            <table className="table" data-testid="lists-table">
              <thead><tr><th scope="col">List</th><th scope="col">Entries</th><th scope="col">Used by (hits)</th><th scope="col" aria-label="Actions" /></tr></thead>
              <tbody>
                {stats.map((s) => (
                  <tr key={s.name} data-list={s.name}>
                    <td className="font-medium"><Link href={`/address-lists?list=${s.name}`} className="underline">{s.name}</Link></td>
                    <td className="whitespace-nowrap text-sm" data-testid="list-count" data-count={s.entries}>
                      {fmtCount(s.entries)} <span className="text-xs muted">({s.v4} IPv4, {s.v6} IPv6)</span>
                    </td>
                    <td className="text-sm">
                      {s.rules.length === 0 ? <span className="text-xs muted">no rule uses it</span> : (
                        <ul className="space-y-0.5">
                          {s.rules.map((r) => (
                            <li key={`${r.name}-${r.as}`} className="flex flex-wrap items-center gap-x-2" data-rule={r.name}>
                              <Link href={`/rules?edit=${r.name}`} className="underline">{r.name}</Link>
                              <span className="text-xs muted">{r.action} {r.chain}, {r.as}{r.enabled ? '' : ', disabled'}</span>
                              <LiveCounter kind="rule" refName={r.name} applied={applied} />
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                    <td className="text-right"><Link href={`/address-lists?list=${s.name}`} className="btn btn-sm" aria-label={`Edit list ${s.name}`}>Edit</Link></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </CountersProvider>
      {selected && found && (
        <section className="card space-y-2" aria-labelledby="search-h" data-testid="list-search">
          <h2 id="search-h" className="h2">Entries of {selected.name}</h2>
          <form method="get" className="flex flex-wrap items-end gap-2">
            <input type="hidden" name="list" value={selected.name} />
            <div>
              <label htmlFor="q" className="label">Search</label>
              <input id="q" name="q" defaultValue={q} className="input w-64" placeholder="203.0.113." />
            </div>
            <button type="submit" className="btn">Search</button>
          </form>
          <p className="text-sm" data-testid="search-total" data-total={found.total} data-of={selected.entries.length}>{q ? `${fmtCount(found.total)} of ${fmtCount(selected.entries.length)} entries contain “${q}”` : `${fmtCount(selected.entries.length)} entries`}{found.total > found.matches.length ? ` (first ${found.matches.length} shown)` : ''}</p>
          <ul className="max-h-64 columns-2 overflow-auto font-mono text-xs sm:columns-3" data-testid="search-matches">
            {found.matches.map((e) => <li key={e}>{e}</li>)}
          </ul>
          <details className="relative">
            <summary className="btn btn-sm cursor-pointer list-none" aria-label={`Delete list ${selected.name}`}>Delete list</summary>
            <div className="absolute z-20 mt-1 w-64 rounded-md border border-zinc-200 bg-white p-2 text-sm shadow-lg dark:border-zinc-700 dark:bg-zinc-900">
              <p className="mb-2">Delete <strong>{selected.name}</strong> ({selected.entries.length} entries)? Refused while a rule uses it.</p>
              <ActionForm action={removeList}>
                <input type="hidden" name="name" value={selected.name} />
                <input type="hidden" name="baseRevision" value={baseRevisionValue(base)} />
                <SubmitButton className="btn btn-sm btn-danger">Delete {selected.name}</SubmitButton>
              </ActionForm>
            </div>
          </details>
        </section>
      )}
      {(selected || sp.add !== undefined || stats.length === 0) && (
        <ListForm
          key={selected?.name ?? '(new)'}
          action={saveList}
          baseRevision={base}
          original={selected?.name ?? null}
          name={selected?.name ?? ''}
          text={selected ? (selected.entries.length <= EDIT_MAX ? selected.entries.join('\n') : null) : ''}
          count={selected?.entries.length ?? 0}
        />
      )}
    </>
  );
}
