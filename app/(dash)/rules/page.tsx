import type { Metadata } from 'next';
import Link from 'next/link';
import { latestRevision, getCounters, getSamples, getStatus, allowRuleFromDrop } from '@/lib/web/data';
import { SECTIONS } from '@/lib/web/sections';
import { itemValues, baseRevisionValue } from '@/lib/web/forms';
import { rates } from '@/lib/web/format';
import { ItemForm } from '@/components/ItemForm';
import { Notice } from '@/components/Notice';
import { EnableToggle, EditDelete } from '@/components/RowActions';
import { CountersProvider, LiveCounter } from '@/components/LiveCounters';
import { Sparkline } from '@/components/Charts';
import { SubmitButton } from '@/components/SubmitButton';
import type { SectionSearch } from '@/components/SectionPage';
import type { Rule } from '@/lib/validations/config';
import { saveItem, moveRule } from '@/lib/web/actions/items';
import { ActionForm } from '@/components/ActionForm';

export const metadata: Metadata = { title: 'Firewall rules' };
export const dynamic = 'force-dynamic';

const HISTORY_MS = 6 * 3600_000;
/** Rules per page: a 1 000-rule table rendered at once is megabytes of HTML + RSC payload. */
const PAGE_SIZE = 100;

function describe(r: Rule): string {
  const parts: string[] = [r.protocol === 'any' ? 'any protocol' : r.protocol];
  if (r.source) parts.push(`from ${r.source}`);
  if (r.sourceList) parts.push(`from list ${r.sourceList}`);
  if (r.destination) parts.push(`to ${r.destination}`);
  if (r.destinationList) parts.push(`to list ${r.destinationList}`);
  if (r.port !== undefined) parts.push(`port ${r.port}`);
  if (r.uplink) parts.push(`via ${r.uplink}`);
  if (r.log) parts.push('logged');
  return parts.join(' ');
}

/** Packets per interval, downsampled to at most `n` points. */
function sparkValues(samples: { ts: number; packets: number }[], n = 48): number[] {
  const r = rates(samples.map((s) => ({ ts: s.ts, v: s.packets }))).map((x) => x.rate);
  if (r.length <= n) return r;
  const out: number[] = [];
  const step = r.length / n;
  for (let i = 0; i < n; i++) {
    const chunk = r.slice(Math.floor(i * step), Math.floor((i + 1) * step));
    out.push(chunk.reduce((a, b) => a + b, 0) / Math.max(1, chunk.length));
  }
  return out;
}

export default async function RulesPage({ searchParams }: { searchParams: Promise<SectionSearch & { fromDrop?: string; page?: string }> }) {
  const search = await searchParams;
  const spec = SECTIONS.rules;
  const [rev, counters, status] = await Promise.all([latestRevision(), getCounters(), getStatus()]);
  const config = rev?.config;
  const base = rev?.id ?? null;
  const rules = config?.rules ?? [];
  const uplinkNames = (config?.uplinks ?? []).map((u) => u.name);
  const editing = search.edit ? rules.find((r) => r.name === search.edit) ?? null : null;
  const showForm = !!editing || search.add !== undefined;
  // Issue 8: "Allow…" on the drops page pre-fills a new rule from a drop record.
  const fromDrop = !editing && showForm ? await allowRuleFromDrop(Number(search.fromDrop)) : null;
  const pages = Math.max(1, Math.ceil(rules.length / PAGE_SIZE));
  const pageNo = Math.min(pages, Math.max(1, Number.parseInt(search.page ?? '1', 10) || 1));
  const first = (pageNo - 1) * PAGE_SIZE;
  const shown = rules.slice(first, first + PAGE_SIZE);
  const ruleCounter = new Map(counters.filter((c) => c.kind === 'rule').map((c) => [c.ref, c.name]));
  const builtins = counters.filter((c) => c.kind === 'builtin' || c.kind === 'service' || c.kind === 'portForward');
  const samples = await getSamples([...shown.map((r) => ruleCounter.get(r.name)).filter((n): n is string => !!n), ...builtins.map((b) => b.name)], HISTORY_MS);
  const initial = { t: Date.now(), c: Object.fromEntries(counters.map((c) => [c.name, [c.packets, c.bytes, c.kind, c.ref] as [number, number, string, string]])) };
  const applied = status.applied !== null;

  return (
    <>
      <header className="flex flex-wrap items-center justify-between gap-2">
        <div>
          <h1 className="h1">Firewall rules</h1>
          <p className="mt-1 max-w-3xl text-sm muted">
            Evaluated top to bottom after the built-in rules (established/related traffic, anti-lockout, services, port forwards); the first match
            decides. Counters show what each rule matched since it was applied.
          </p>
        </div>
        {!showForm && <Link href="/rules?add=1" className="btn btn-primary">Add rule</Link>}
      </header>
      <Notice saved={search.saved} error={search.error} />
      {showForm && (
        <ItemForm
          key={editing?.name ?? '(new)'}
          section="rules"
          action={saveItem}
          values={itemValues(spec, editing ?? fromDrop)}
          editing={editing?.name ?? null}
          uplinkNames={uplinkNames}
          baseRevision={base}
        />
      )}
      <CountersProvider initial={initial}>
        {rules.length === 0 ? (
          <div className="card text-sm muted" data-testid="empty-state">
            No rules of your own. The built-in policy already drops unsolicited traffic from the uplinks and allows the LAN out. Add a rule to
            block or allow something specific, e.g. drop forward tcp port 23.
          </div>
        ) : (
          <div className="card p-0 md:overflow-x-auto">
            {/* On narrow screens every row is a card (flex), so the buttons stay on screen. */}
            <table className="table max-md:block" data-testid="rules-table">
              <caption className="sr-only">Firewall rules in evaluation order</caption>
              <thead className="max-md:hidden">
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Match</th>
                  <th scope="col">Hits</th>
                  <th scope="col">Last 6 h</th>
                  <th scope="col">State</th>
                  <th scope="col" aria-label="Actions" />
                </tr>
              </thead>
              <tbody className="max-md:block">
                {shown.map((r, k) => {
                  const i = first + k;
                  const cname = ruleCounter.get(r.name);
                  return (
                    // A disabled rule's data is dimmed; its buttons (enable, edit, delete, move) are not.
                    <tr key={r.name} data-name={r.name} data-enabled={r.enabled ? '1' : '0'} className="max-md:flex max-md:flex-wrap max-md:items-center max-md:gap-x-3 max-md:gap-y-1 max-md:border-b max-md:border-zinc-200 max-md:p-3 dark:max-md:border-zinc-800">
                      <td className="whitespace-nowrap max-md:order-last max-md:border-0 max-md:p-0">
                        <div className="flex items-center gap-1">
                          <span className="w-5 text-right font-mono text-xs muted">{i + 1}</span>
                          <ActionForm action={moveRule}>
                            <input type="hidden" name="name" value={r.name} />
                            <input type="hidden" name="dir" value="up" />
                            <input type="hidden" name="baseRevision" value={baseRevisionValue(base)} />
                            <SubmitButton className="btn btn-sm" disabled={i === 0} title={i === 0 ? `${r.name} is the first rule` : `Move ${r.name} up`} label={`Move ${r.name} up`}><span aria-hidden>↑</span></SubmitButton>
                          </ActionForm>
                          <ActionForm action={moveRule}>
                            <input type="hidden" name="name" value={r.name} />
                            <input type="hidden" name="dir" value="down" />
                            <input type="hidden" name="baseRevision" value={baseRevisionValue(base)} />
                            <SubmitButton className="btn btn-sm" disabled={i === rules.length - 1} title={i === rules.length - 1 ? `${r.name} is the last rule` : `Move ${r.name} down`} label={`Move ${r.name} down`}><span aria-hidden>↓</span></SubmitButton>
                          </ActionForm>
                        </div>
                      </td>
                      <td className={`max-md:basis-full max-md:border-0 max-md:p-0 ${r.enabled ? '' : 'opacity-60'}`}>
                        <div className="whitespace-nowrap font-medium">{r.name}{r.enabled ? '' : <span className="ml-2 text-xs font-normal muted">(disabled)</span>}</div>
                        <div className="text-xs">
                          <span className={`badge ${r.action === 'accept' ? 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/60 dark:text-emerald-100' : 'bg-red-100 text-red-900 dark:bg-red-900/60 dark:text-red-100'}`}>{r.action}</span>{' '}
                          <span className="muted">{r.chain}</span>
                        </div>
                        {r.description && <div className="mt-0.5 max-w-xs text-xs muted">{r.description}</div>}
                      </td>
                      <td className={`font-mono text-xs max-md:basis-full max-md:border-0 max-md:p-0 ${r.enabled ? '' : 'opacity-60'}`}>{describe(r)}</td>
                      <td className={`max-md:border-0 max-md:p-0 ${r.enabled ? '' : 'opacity-60'}`}><LiveCounter kind="rule" refName={r.name} applied={applied} /></td>
                      <td className={`max-md:border-0 max-md:p-0 ${r.enabled ? '' : 'opacity-60'}`}>{cname ? <Sparkline values={sparkValues(samples[cname] ?? [])} label={`packets per second of ${r.name}, last 6 hours`} /> : <span className="text-xs muted">–</span>}</td>
                      <td className="max-md:border-0 max-md:p-0"><EnableToggle section="rules" name={r.name} enabled={r.enabled} baseRevision={base} /></td>
                      <td className="text-right max-md:border-0 max-md:p-0"><EditDelete section="rules" path="/rules" name={r.name} baseRevision={base} /></td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {pages > 1 && (
              <nav aria-label="Rule pages" className="flex flex-wrap items-center gap-1 border-t border-zinc-200 p-2 text-sm dark:border-zinc-800" data-testid="rules-pager">
                <span className="muted mr-2">Rules {first + 1}–{first + shown.length} of {rules.length}</span>
                {Array.from({ length: pages }, (_, p) => p + 1).map((p) => (
                  <Link key={p} href={`/rules?page=${p}`} className={`btn btn-sm ${p === pageNo ? 'btn-primary' : ''}`} aria-current={p === pageNo ? 'page' : undefined}>
                    {p}
                  </Link>
                ))}
              </nav>
            )}
          </div>
        )}

        <section aria-labelledby="builtin-h" className="space-y-2">
          <h2 id="builtin-h" className="h2">Built-in counters (read-only)</h2>
          {builtins.length === 0 ? (
            <p className="card text-sm muted">
              No built-in counters reported yet{status.agentRunning ? '' : ': the agent is not running (start it with `sudo npx linkward agent`)'}.
            </p>
          ) : (
            <div className="card overflow-x-auto p-0">
              <table className="table" data-testid="builtin-table">
                <thead>
                  <tr>
                    <th scope="col">Counter</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Hits</th>
                    <th scope="col">Last 6 h</th>
                  </tr>
                </thead>
                <tbody>
                  {builtins.map((b) => (
                    <tr key={b.name}>
                      <td className="font-mono text-xs">{b.ref || b.name}</td>
                      <td className="text-xs muted">{b.kind}</td>
                      <td><LiveCounter kind={b.kind} refName={b.ref} applied={applied} /></td>
                      <td><Sparkline values={sparkValues(samples[b.name] ?? [])} label={`packets per second of ${b.ref || b.name}, last 6 hours`} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </CountersProvider>
    </>
  );
}
