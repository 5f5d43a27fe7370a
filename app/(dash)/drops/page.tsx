import type { Metadata } from 'next';
import Link from 'next/link';
import { dropSummary, recentDrops, logBackend } from '@/lib/web/data';
import { fmtCount, fmtTime } from '@/lib/web/format';
import { LiveRefresh } from '@/components/Live';

export const metadata: Metadata = { title: 'Log' };
export const dynamic = 'force-dynamic';

function Bars({ title, rows, testId }: { title: string; rows: { label: string; count: number; href?: string }[]; testId: string }) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  return (
    <section className="card space-y-2" aria-label={title} data-testid={testId}>
      <h2 className="h2">{title}</h2>
      {rows.length === 0 ? <p className="text-sm muted">None.</p> : (
        <ol className="space-y-1 text-sm">
          {rows.map((r) => (
            <li key={r.label} className="grid grid-cols-[minmax(7rem,auto)_1fr_auto] items-center gap-2">
              <span className="font-mono text-xs">{r.href ? <Link href={r.href} className="underline">{r.label}</Link> : r.label}</span>
              {/* SVG geometry, not a style attribute: the CSP allows no inline styles. */}
              <svg className="h-2 w-full" aria-hidden><rect width={`${(100 * r.count) / max}%`} height="100%" rx="2" className="fill-red-400/70" /></svg>
              <span className="text-right tabular-nums">{fmtCount(r.count)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export default async function DropsPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await searchParams;
  const hours = sp.hours && /^[0-9]{1,3}$/.test(sp.hours) ? Math.max(1, Number(sp.hours)) : 24;
  const rule = sp.rule && /^(drop:(input|forward)|[a-z][a-z0-9-]{0,23})$/.test(sp.rule) ? sp.rule : undefined;
  const [s, tail, be] = await Promise.all([dropSummary(hours * 3600_000), recentDrops({ limit: 100, src: sp.src, rule }), logBackend()]);
  const nflog = be.backend === 'nflog';
  const ruleName = (r: { rule: string | null; chain: string }) => r.rule ?? `drop:${r.chain}`;
  const port = (p: number | null) => (p !== null ? `:${p}` : '');
  return (
    <>
      <LiveRefresh topics={['drops']} fallbackMs={3000} />
      <header>
        <h1 className="h1">Log</h1>
        <p className="mt-1 max-w-3xl text-sm muted">
          Packets the built-in policy dropped (input to the router and forwarded traffic){nflog ? ' and packets of admin rules with “log”' : ''}, last {hours} h:{' '}
          <strong data-testid="drops-total">{fmtCount(s.total)}</strong> packets in {fmtCount(s.records)} records. One click turns a drop into a
          pre-filled allow rule (reviewed before saving).
        </p>
        <p className={`mt-2 max-w-3xl rounded-md border px-3 py-2 text-sm ${nflog ? 'border-emerald-300 bg-emerald-50 text-emerald-950 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-100' : 'border-amber-300 bg-amber-50 text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100'}`} data-testid="log-backend" data-backend={be.backend}>
          {nflog ? (
            <><strong>Source: NFLOG via ulogd2.</strong> Every packet of a rule with “log”, with its rule, time, interfaces and ports; built-in drops up to the “Log at most (per minute)” rate of the settings.</>
          ) : (
            <><strong>Source: kernel drop counters.</strong> Drops are counted per source and port every few seconds; rules with “log” write to the kernel log, not here. Install <code>ulogd2 ulogd2-json</code> for a per-packet log with rule hits.</>
          )}
          {be.detail && <span className="block text-xs opacity-80" data-testid="log-backend-detail">{be.detail}</span>}
        </p>
      </header>
      <div className="grid gap-4 lg:grid-cols-3">
        <Bars title="Top sources" testId="top-sources" rows={s.topSources.map((x) => ({ label: x.src, count: x.count, href: `/drops?src=${x.src}` }))} />
        <Bars title="Top destination ports" testId="top-ports" rows={s.topPorts.map((x) => ({ label: `${x.proto}${x.dport !== null ? ` ${x.dport}` : ''}`, count: x.count }))} />
        <Bars title="Per uplink" testId="per-uplink" rows={s.perUplink.map((x) => ({ label: x.uplink, count: x.count }))} />
        <Bars title="Top rules" testId="top-rules" rows={s.topRules.map((x) => ({ label: x.rule, count: x.count, href: `/drops?rule=${x.rule}` }))} />
      </div>
      <Bars title="Per hour" testId="per-hour" rows={s.perHour.map((x) => ({ label: fmtTime(x.hour).slice(0, 16), count: x.count }))} />
      <section className="space-y-2" aria-labelledby="tail-h">
        <h2 id="tail-h" className="h2">Latest{rule ? ` of ${rule}` : ''}{sp.src ? ` from ${sp.src}` : ''} (live){(rule || sp.src) && <Link href="/drops" className="ml-2 text-sm font-normal underline">show all</Link>}</h2>
        {tail.length === 0 ? <p className="card text-sm muted" data-testid="empty-state">Nothing logged{rule || sp.src ? ' for this filter' : ''}.</p> : (
          <div className="card p-0 md:overflow-x-auto">
            {/* On narrow screens every record is a card (flex), nothing scrolls sideways. */}
            <table className="table max-md:block" data-testid="drops-table">
              <thead className="max-md:hidden"><tr><th scope="col">Time</th><th scope="col">Rule</th><th scope="col">Uplink / in</th><th scope="col">Source</th><th scope="col">Destination</th><th scope="col">Proto</th><th scope="col">Packets</th><th scope="col" aria-label="Actions" /></tr></thead>
              <tbody className="max-md:block">
                {tail.map((d) => (
                  <tr key={d.id} data-src={d.src} data-rule={ruleName(d)} data-via={d.via} className="max-md:flex max-md:flex-wrap max-md:items-center max-md:gap-x-3 max-md:gap-y-1 max-md:border-b max-md:border-zinc-200 max-md:p-3 dark:max-md:border-zinc-800 [&>td]:max-md:border-0 [&>td]:max-md:p-0">
                    <td className="whitespace-nowrap text-xs" title={d.via === 'nflog' ? 'time of the packet' : 'last hit seen at this poll'}>{fmtTime(d.ts)}</td>
                    <td className="whitespace-nowrap text-xs">
                      <Link href={`/drops?rule=${ruleName(d)}`} className="underline">{d.rule ?? `drop (${d.chain})`}</Link>
                      {d.verdict && d.rule && <span className="ml-1 muted">{d.verdict}</span>}
                    </td>
                    <td className="whitespace-nowrap text-xs">{d.uplink ?? d.inIf ?? ''}{d.outIf ? ` → ${d.outIf}` : ''}</td>
                    <td className="font-mono text-xs">{d.src}{port(d.sport)}</td>
                    <td className="font-mono text-xs">{d.dst}{port(d.dport)}</td>
                    <td className="font-mono text-xs">{d.proto}{d.len !== null ? <span className="muted"> {d.len} B</span> : null}</td>
                    <td className="tabular-nums">{d.count}</td>
                    <td className="text-right">{d.verdict !== 'accept' && <Link href={`/rules?add=1&fromDrop=${d.id}`} className="btn btn-sm" aria-label={`Allow ${d.proto} ${d.dport ?? ''} from ${d.src}`}>Allow…</Link>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
