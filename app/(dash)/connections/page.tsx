import type { Metadata } from 'next';
import { connectionsPage, latestRevision } from '@/lib/web/data';
import { parseConnQuery } from '@/lib/web/connections-query';
import { ConnectionsTable } from '@/components/ConnectionsTable';

export const metadata: Metadata = { title: 'Connections' };
export const dynamic = 'force-dynamic';

export default async function ConnectionsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { query } = parseConnQuery(await searchParams);
  const [initial, rev] = await Promise.all([connectionsPage(query), latestRevision()]);
  return (
    <>
      <header>
        <h1 className="h1">Connections</h1>
        <p className="mt-1 text-sm muted">
          Flows the kernel tracks through the router, the uplink each one is pinned to, and its traffic (bytes both ways; the rate is measured between
          the agent&apos;s readings, every few seconds while this page is open). Updates every 2 s.
        </p>
      </header>
      <ConnectionsTable initial={initial} uplinks={(rev?.config.uplinks ?? []).map((u) => u.name)} />
    </>
  );
}
