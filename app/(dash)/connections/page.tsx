import type { Metadata } from 'next';
import { getConnections, latestRevision } from '@/lib/web/data';
import { ConnectionsTable } from '@/components/ConnectionsTable';

export const metadata: Metadata = { title: 'Connections' };
export const dynamic = 'force-dynamic';

export default async function ConnectionsPage() {
  const [rows, rev] = await Promise.all([getConnections(), latestRevision()]);
  return (
    <>
      <header>
        <h1 className="h1">Connections</h1>
        <p className="mt-1 text-sm muted">Flows the kernel tracks through the router, and the uplink each one is pinned to. Updates every 2 s.</p>
      </header>
      <ConnectionsTable initial={{ t: Date.now(), rows }} uplinks={(rev?.config.uplinks ?? []).map((u) => u.name)} />
    </>
  );
}
