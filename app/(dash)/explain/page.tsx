import type { Metadata } from 'next';
import { latestRevision } from '@/lib/web/data';
import { ExplainForm } from '@/components/ObserveForms';
import { explainAction } from '@/lib/web/actions/observe';

export const metadata: Metadata = { title: 'Packet tracer' };
export const dynamic = 'force-dynamic';

export default async function ExplainPage() {
  const rev = await latestRevision();
  return (
    <>
      <header>
        <h1 className="h1">Packet tracer</h1>
        <p className="mt-1 text-sm muted">
          Why does a packet go where it goes? The first packet of a connection, through the applied ruleset: which chain and rule decide (with its counter), which uplink it
          leaves by and why, and NAT. Computed from the compiled plan and the agent&apos;s facts; tick &quot;confirm in the kernel&quot; and send the packet within 10 s to see the kernel&apos;s own trace.
          The same as <code className="font-mono">linkward explain</code>.
        </p>
      </header>
      <ExplainForm action={explainAction} uplinks={(rev?.config.uplinks ?? []).map((u) => u.name)} />
    </>
  );
}
