'use client';
import { useState, useMemo } from 'react';
import { usePoll } from './usePoll';
import type { ConnectionView } from '@/lib/web/data';
import { fmtBytes } from '@/lib/web/format';

type Payload = { t: number; rows: ConnectionView[] };

export function ConnectionsTable({ initial, uplinks }: { initial: Payload; uplinks: string[] }) {
  const { data, error } = usePoll<Payload>('/api/connections', 2000, initial);
  const [q, setQ] = useState('');
  const [uplink, setUplink] = useState('');
  const rows = useMemo(() => {
    const terms = q.toLowerCase().split(/\s+/).filter(Boolean);
    return data.rows.filter((r) => {
      if (uplink && (r.uplink ?? '') !== uplink) return false;
      const hay = `${r.proto} ${r.src}:${r.sport ?? ''} ${r.dst}:${r.dport ?? ''} ${r.state ?? ''} ${r.uplink ?? ''}`.toLowerCase();
      return terms.every((t) => hay.includes(t));
    });
  }, [data, q, uplink]);
  const perUplink = useMemo(() => {
    const m = new Map<string, number>();
    for (const r of data.rows) m.set(r.uplink ?? '(none)', (m.get(r.uplink ?? '(none)') ?? 0) + 1);
    return [...m.entries()].sort();
  }, [data]);
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-end gap-3">
        <div className="min-w-60 flex-1">
          <label htmlFor="conn-filter" className="label">Filter</label>
          <input id="conn-filter" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="address, port, protocol, state…" className="input" />
        </div>
        <div>
          <label htmlFor="conn-uplink" className="label">Uplink</label>
          <select id="conn-uplink" value={uplink} onChange={(e) => setUplink(e.target.value)} className="input">
            <option value="">all</option>
            {uplinks.map((u) => <option key={u} value={u}>{u}</option>)}
          </select>
        </div>
        <p className="text-sm muted" aria-live="polite" data-testid="conn-count">
          {rows.length} of {data.rows.length} connections{perUplink.length ? ` (${perUplink.map(([u, n]) => `${u}: ${n}`).join(', ')})` : ''}
          {error ? ` · not updating: ${error}` : ''}
        </p>
      </div>
      {data.rows.length === 0 ? (
        <p className="card text-sm muted" data-testid="empty-state">
          No tracked connections reported. The agent snapshots the kernel&apos;s connection table every few seconds; if it is not running, start it
          with <code>sudo npx linkward agent</code>.
        </p>
      ) : (
        <div className="card max-h-[70vh] overflow-auto p-0">
          <table className="table">
            <caption className="sr-only">Tracked connections</caption>
            <thead className="sticky top-0 bg-white dark:bg-zinc-900">
              <tr>
                <th scope="col">Proto</th>
                <th scope="col">Source</th>
                <th scope="col">Destination</th>
                <th scope="col">State</th>
                <th scope="col">Uplink</th>
                <th scope="col" className="text-right">Packets</th>
                <th scope="col" className="text-right">Bytes</th>
              </tr>
            </thead>
            <tbody className="font-mono text-xs">
              {rows.slice(0, 1000).map((r) => (
                <tr key={r.id}>
                  <td>{r.proto}</td>
                  <td>{r.src}{r.sport != null ? `:${r.sport}` : ''}</td>
                  <td>{r.dst}{r.dport != null ? `:${r.dport}` : ''}</td>
                  <td>{r.state ?? ''}</td>
                  <td>{r.uplink ?? <span className="muted">–</span>}</td>
                  <td className="text-right tabular-nums">{r.packets}</td>
                  <td className="text-right tabular-nums">{fmtBytes(r.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length > 1000 && <p className="p-2 text-xs muted">Showing the first 1000; narrow the filter.</p>}
        </div>
      )}
    </div>
  );
}
