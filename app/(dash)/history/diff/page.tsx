import type { Metadata } from 'next';
import Link from 'next/link';
import { readRevision, lastFacts } from '@/lib/web/data';
import { normalizeFacts } from '@/lib/config/diff';
import { reviewPair } from '@/lib/web/review';
import { DiffView } from '@/components/DiffView';

export const metadata: Metadata = { title: 'Compare revisions' };
export const dynamic = 'force-dynamic';

export default async function DiffPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await searchParams;
  const num = (s: string | undefined) => (s && /^[0-9]{1,9}$/.test(s) ? Number(s) : null);
  const [ia, ib] = [num(sp.a), num(sp.b)];
  const [ra, rb] = await Promise.all([ia ? readRevision(ia) : null, ib ? readRevision(ib) : null]);
  const bad = [ra, rb].filter((x) => x && !x.ok).map((x) => x && !x.ok ? `revision ${x.id} no longer validates with this version (${x.errors.slice(0, 3).join('; ')})` : '');
  if (bad.length) {
    return (
      <>
        <h1 className="h1">Compare revisions</h1>
        <p className="card text-sm" role="alert">{bad.join('; ')}: it cannot be compiled. <Link href="/history" className="underline">History</Link></p>
      </>
    );
  }
  const a = ra?.ok ? ra.revision : null;
  const b = rb?.ok ? rb.revision : null;
  if (!a || !b) {
    return (
      <>
        <h1 className="h1">Compare revisions</h1>
        <p className="card text-sm" role="alert">Choose two existing revisions on the <Link href="/history" className="underline">history page</Link>.</p>
      </>
    );
  }
  const r = reviewPair(a.config, b.config, normalizeFacts(await lastFacts()));
  if (!r.ok) throw new Error('unreachable');
  return (
    <>
      <header>
        <h1 className="h1">Revision {a.id} → {b.id}</h1>
        <p className="mt-1 text-sm"><span className="font-semibold">In plain words:</span> <span data-testid="diff-summary">{r.summary}</span></p>
        <p className="mt-1 text-xs muted">The plan diff compiles both revisions with the same facts (interfaces, addresses, gateways and uplink health the agent last observed).</p>
      </header>
      <section className="card space-y-2" aria-labelledby="plan-h">
        <h2 id="plan-h" className="h2">Kernel plan (nftables, routes, ip rules, sysctls): +{r.planAdded} −{r.planRemoved}</h2>
        {r.planError ? <p className="text-sm text-red-700">Could not compile: {r.planError}</p> : <DiffView text={r.plan} label="Compiled plan diff" testId="plan-diff" />}
      </section>
      <section className="card space-y-2" aria-labelledby="cfg-h">
        <h2 id="cfg-h" className="h2">Configuration: +{r.added} −{r.removed}</h2>
        <DiffView text={r.config} label="Configuration diff" testId="config-diff" />
      </section>
    </>
  );
}
