import type { Metadata } from 'next';
import Link from 'next/link';
import { dropSummary, recentDrops } from '@/lib/web/data';
import { fmtCount, fmtTime } from '@/lib/web/format';
import { LiveRefresh } from '@/components/Live';

export const metadata: Metadata = { title: 'Dropped traffic' };
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
  const [s, tail] = await Promise.all([dropSummary(hours * 3600_000), recentDrops({ limit: 100, src: sp.src })]);
  return (
    <>
      <LiveRefresh topics={['drops']} fallbackMs={3000} />
      <header>
        <h1 className="h1">Dropped traffic</h1>
        <p className="mt-1 max-w-3xl text-sm muted">
          Packets the built-in policy dropped (input to the router and forwarded traffic), last {hours} h:{' '}
          <strong data-testid="drops-total">{fmtCount(s.total)}</strong> packets in {fmtCount(s.records)} records. Admin rules that drop are
          counted on the rules page instead. One click turns a drop into a pre-filled allow rule (reviewed before saving).
        </p>
      </header>
      <div className="grid gap-4 lg:grid-cols-3">
        <Bars title="Top sources" testId="top-sources" rows={s.topSources.map((x) => ({ label: x.src, count: x.count, href: `/drops?src=${x.src}` }))} />
        <Bars title="Top destination ports" testId="top-ports" rows={s.topPorts.map((x) => ({ label: `${x.proto}${x.dport !== null ? ` ${x.dport}` : ''}`, count: x.count }))} />
        <Bars title="Per uplink" testId="per-uplink" rows={s.perUplink.map((x) => ({ label: x.uplink, count: x.count }))} />
      </div>
      <Bars title="Per hour" testId="per-hour" rows={s.perHour.map((x) => ({ label: fmtTime(x.hour).slice(0, 16), count: x.count }))} />
      <section className="space-y-2" aria-labelledby="tail-h">
        <h2 id="tail-h" className="h2">Latest{sp.src ? ` from ${sp.src}` : ''} (live)</h2>
        {tail.length === 0 ? <p className="card text-sm muted" data-testid="empty-state">No drops recorded.</p> : (
          <div className="card overflow-x-auto p-0">
            <table className="table" data-testid="drops-table">
              <thead><tr><th scope="col">Time</th><th scope="col">Chain</th><th scope="col">In</th><th scope="col">Source</th><th scope="col">Destination</th><th scope="col">Proto/port</th><th scope="col">Packets</th><th scope="col" aria-label="Actions" /></tr></thead>
              <tbody>
                {tail.map((d) => (
                  <tr key={d.id} data-src={d.src}>
                    <td className="whitespace-nowrap text-xs">{fmtTime(d.ts)}</td>
                    <td className="text-xs">{d.chain}</td>
                    <td className="text-xs">{d.uplink ?? d.inIf ?? ''}</td>
                    <td className="font-mono text-xs">{d.src}</td>
                    <td className="font-mono text-xs">{d.dst}</td>
                    <td className="font-mono text-xs">{d.proto}{d.dport !== null ? ` ${d.dport}` : ''}</td>
                    <td className="tabular-nums">{d.count}</td>
                    <td className="text-right"><Link href={`/rules?add=1&fromDrop=${d.id}`} className="btn btn-sm" aria-label={`Allow ${d.proto} ${d.dport ?? ''} from ${d.src}`}>Allow…</Link></td>
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
