'use client';
import { useEffect, useRef, useState } from 'react';
import type { ConnectionsPage, ConnRowView } from '@/lib/web/connections-query';
import { fmtBytes, fmtBits } from '@/lib/web/format';

type Filters = { q: string; uplink: string; family: string; sort: string; page: number };

const rate = (r: number | null) => (r === null ? '–' : fmtBits(r * 8));

function queryString(f: Filters, pageSize: number): string {
  const p = new URLSearchParams();
  if (f.q.trim()) p.set('q', f.q.trim());
  if (f.uplink) p.set('uplink', f.uplink);
  if (f.family) p.set('family', f.family);
  if (f.sort !== 'bytes') p.set('sort', f.sort);
  if (f.page > 1) p.set('page', String(f.page));
  if (pageSize !== 50) p.set('pageSize', String(pageSize));
  return p.toString();
}

/** Server-side paged and filtered: every change of the filters, and every 2 s while visible, asks
 *  /api/connections for one page and the aggregates. */
export function ConnectionsTable({ initial, uplinks }: { initial: ConnectionsPage; uplinks: string[] }) {
  const [data, setData] = useState<ConnectionsPage>(initial);
  const [error, setError] = useState<string | null>(null);
  const [f, setF] = useState<Filters>({ q: initial.query.q ?? '', uplink: initial.query.uplink ?? '', family: initial.query.family ? String(initial.query.family) : '', sort: initial.query.sort, page: initial.query.page });
  const pageSize = initial.query.pageSize;
  const qs = queryString(f, pageSize);
  const seq = useRef(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      if (stopped) return;
      if (document.visibilityState === 'visible') {
        const my = ++seq.current;
        try {
          const r = await fetch(`/api/connections${qs ? `?${qs}` : ''}`, { cache: 'no-store', credentials: 'same-origin' });
          if (r.status === 401) {
            setError('signed out: reload to sign in again');
            stopped = true;
            return;
          }
          if (!r.ok) throw new Error(`HTTP ${r.status}`);
          const j = (await r.json()) as ConnectionsPage;
          if (!stopped && my === seq.current) {
            setData(j);
            setError(null);
          }
        } catch (e) {
          if (!stopped) setError(e instanceof Error ? e.message : String(e));
        }
      }
      if (!stopped) timer = setTimeout(tick, 2000);
    };
    // a filter change asks at once (after typing settles); then every 2 s
    timer = setTimeout(tick, qs === queryString({ q: initial.query.q ?? '', uplink: initial.query.uplink ?? '', family: initial.query.family ? String(initial.query.family) : '', sort: initial.query.sort, page: initial.query.page }, pageSize) ? 2000 : 250);
    if (typeof window !== 'undefined') window.history.replaceState(null, '', `/connections${qs ? `?${qs}` : ''}`);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [qs, initial.query, pageSize]);
  const set = (p: Partial<Filters>) => setF((o) => ({ ...o, page: 1, ...p }));
  const pages = Math.max(1, Math.ceil(data.total / data.query.pageSize));
  const page = data.query.page;
  const first = data.total === 0 ? 0 : (page - 1) * data.query.pageSize + 1;
  return (
    <div className="space-y-3">
      {data.all > 0 && (
        <div className="grid gap-3 md:grid-cols-2">
          <section className="card p-3" aria-labelledby="conn-per-uplink">
            <h2 id="conn-per-uplink" className="text-sm font-semibold">Per uplink</h2>
            <table className="table text-sm" data-testid="conn-per-uplink">
              <thead><tr><th scope="col">Uplink</th><th scope="col" className="text-right">Flows</th><th scope="col" className="text-right">Bytes</th><th scope="col" className="text-right">Rate</th></tr></thead>
              <tbody>
                {data.perUplink.map((u) => (
                  <tr key={u.uplink}>
                    <td>{u.uplink || <span className="muted">none (router, unmarked)</span>}</td>
                    <td className="text-right tabular-nums">
                      {u.count}
                      {u.own > 0 && <span className="muted block text-xs" title="health probes and the router's own queries; the uplink cards count only the others">{u.own === u.count ? 'all' : u.own} the router&apos;s own</span>}
                    </td>
                    <td className="text-right tabular-nums">{fmtBytes(u.bytes)}</td>
                    <td className="text-right tabular-nums">{rate(u.rate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section className="card p-3" aria-labelledby="conn-top-hosts">
            <h2 id="conn-top-hosts" className="text-sm font-semibold">Top LAN hosts</h2>
            <table className="table text-sm" data-testid="conn-top-hosts">
              <thead><tr><th scope="col">Host</th><th scope="col" className="text-right">Flows</th><th scope="col" className="text-right">Bytes</th><th scope="col" className="text-right">Rate</th></tr></thead>
              <tbody>
                {data.topHosts.map((h) => (
                  <tr key={h.host}>
                    <td className="font-mono text-xs">{h.host}</td>
                    <td className="text-right tabular-nums">{h.count}</td>
                    <td className="text-right tabular-nums">{fmtBytes(h.bytes)}</td>
                    <td className="text-right tabular-nums">{rate(h.rate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </div>
      )}
      <div className="flex flex-wrap items-end gap-3">
        <div className="min-w-60 flex-1">
          <label htmlFor="conn-filter" className="label">Filter</label>
          <input id="conn-filter" type="search" value={f.q} onChange={(e) => set({ q: e.target.value })} placeholder="address, port, protocol, state…" className="input" />
        </div>
        <div>
          <label htmlFor="conn-uplink" className="label">Uplink</label>
          <select id="conn-uplink" value={f.uplink} onChange={(e) => set({ uplink: e.target.value })} className="input">
            <option value="">all</option>
            {uplinks.map((u) => <option key={u} value={u}>{u}</option>)}
            <option value="-">none</option>
          </select>
        </div>
        <div>
          <label htmlFor="conn-family" className="label">Family</label>
          <select id="conn-family" value={f.family} onChange={(e) => set({ family: e.target.value })} className="input">
            <option value="">both</option>
            <option value="4">IPv4</option>
            <option value="6">IPv6</option>
          </select>
        </div>
        <div>
          <label htmlFor="conn-sort" className="label">Sort</label>
          <select id="conn-sort" value={f.sort} onChange={(e) => set({ sort: e.target.value })} className="input">
            <option value="bytes">bytes</option>
            <option value="rate">rate</option>
            <option value="newest">newest</option>
            <option value="oldest">oldest</option>
            <option value="src">source</option>
            <option value="dst">destination</option>
          </select>
        </div>
        <p className="text-sm muted" aria-live="polite" data-testid="conn-count">
          {data.total} of {data.all} connections
          {data.perUplink.length ? ` (${data.perUplink.map((u) => `${u.uplink || 'none'}: ${u.count}`).join(', ')})` : ''}
          {error ? ` · not updating: ${error}` : ''}
        </p>
      </div>
      {data.all === 0 ? (
        <p className="card text-sm muted" data-testid="empty-state">
          No tracked connections reported. The agent follows the kernel&apos;s connection table as it changes; if it is not running, start it
          with <code>sudo npx linkward agent</code>.
        </p>
      ) : (
        <div className="card overflow-auto p-0">
          <table className="table">
            <caption className="sr-only">Tracked connections, page {page} of {pages}</caption>
            <thead className="sticky top-0 bg-white dark:bg-zinc-900">
              <tr>
                <th scope="col">Proto</th>
                <th scope="col">Source</th>
                <th scope="col">Destination</th>
                <th scope="col">State</th>
                <th scope="col">Uplink</th>
                <th scope="col">LAN host</th>
                <th scope="col" className="text-right">Packets</th>
                <th scope="col" className="text-right">Bytes</th>
                <th scope="col" className="text-right">Rate</th>
              </tr>
            </thead>
            <tbody className="font-mono text-xs">
              {data.rows.map((r: ConnRowView) => (
                <tr key={r.id}>
                  <td>{r.proto}{r.family === 6 ? '6' : ''}</td>
                  <td>{r.family === 6 && r.sport != null ? `[${r.src}]:${r.sport}` : `${r.src}${r.sport != null ? `:${r.sport}` : ''}`}</td>
                  <td>{r.family === 6 && r.dport != null ? `[${r.dst}]:${r.dport}` : `${r.dst}${r.dport != null ? `:${r.dport}` : ''}`}</td>
                  <td>{r.state ?? ''}</td>
                  <td>{r.uplink ?? <span className="muted">{r.local ? 'router' : '–'}</span>}</td>
                  <td>{r.host ?? (r.local ? <span className="muted">router</span> : '')}</td>
                  <td className="text-right tabular-nums">{r.ts ? r.packets : '–'}</td>
                  <td className="text-right tabular-nums">{r.ts ? fmtBytes(r.bytes) : '–'}</td>
                  <td className="text-right tabular-nums">{rate(r.rate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav className="flex items-center gap-3 p-2 text-sm" aria-label="Pages">
            <button type="button" className="btn" disabled={page <= 1} onClick={() => setF((o) => ({ ...o, page: page - 1 }))}>Previous</button>
            <span className="muted" data-testid="conn-page">{first}–{first === 0 ? 0 : first + data.rows.length - 1} of {data.total} · page {page} of {pages}</span>
            <button type="button" className="btn" disabled={page >= pages} onClick={() => setF((o) => ({ ...o, page: page + 1 }))}>Next</button>
          </nav>
        </div>
      )}
    </div>
  );
}
