import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { readRevision, revisionNeighbors, latestRevision, redactSecrets } from '@/lib/web/data';
import { fmtTime } from '@/lib/web/format';
import { SubmitButton } from '@/components/SubmitButton';
import { ActionForm } from '@/components/ActionForm';
import { restoreAction } from '@/lib/web/actions/revisions';
import { baseRevisionValue } from '@/lib/web/forms';

export const metadata: Metadata = { title: 'Revision' };
export const dynamic = 'force-dynamic';

export default async function RevisionPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!/^[0-9]{1,9}$/.test(id)) notFound();
  const r = await readRevision(Number(id));
  if (!r) notFound();
  // The restore's base revision: the newest valid one (what every change is based on).
  const [{ prev }, latest] = await Promise.all([revisionNeighbors(Number(id)), latestRevision()]);
  const meta = r.ok ? r.revision : r;
  return (
    <>
      <header className="flex flex-wrap items-start justify-between gap-2">
        <div>
          <h1 className="h1">Revision {meta.id}</h1>
          <p className="mt-1 text-sm muted">{fmtTime(meta.createdAt)} · {meta.author} · {meta.source}{meta.confirmWithin !== null ? ` · confirm within ${meta.confirmWithin}s` : ''}</p>
          <p className="mt-1 text-sm" data-testid="rev-summary">{meta.summary}</p>
        </div>
        <div className="flex gap-2">
          {prev !== null && <Link href={`/history/diff?a=${prev}&b=${meta.id}`} className="btn">Compare with r{prev}</Link>}
          {r.ok && (
            <ActionForm action={restoreAction}>
              <input type="hidden" name="id" value={meta.id} />
              <input type="hidden" name="baseRevision" value={baseRevisionValue(latest?.id)} />
              <SubmitButton className="btn btn-primary">Restore this revision</SubmitButton>
            </ActionForm>
          )}
        </div>
      </header>
      {!r.ok && (
        <div role="alert" className="card border-red-300 text-sm text-red-800 dark:border-red-900 dark:text-red-200" data-testid="rev-invalid">
          <p className="font-medium">This revision no longer validates with this version of linkward; it cannot be applied or restored.</p>
          <ul className="mt-1 list-disc pl-5 font-mono text-xs">{r.errors.slice(0, 20).map((e, i) => <li key={i}>{e}</li>)}</ul>
          <p className="mt-1">To keep it: copy the document below, correct it and import it (Settings → Import or <code>linkward import</code>).</p>
        </div>
      )}
      <section className="card" aria-labelledby="json-h">
        <h2 id="json-h" className="h2 mb-2">Configuration</h2>
        <pre className="max-h-[40rem] overflow-auto rounded-md bg-zinc-50 p-2 font-mono text-xs dark:bg-zinc-950" data-testid="rev-json">{r.ok ? JSON.stringify(redactSecrets(r.revision.config), null, 2) : prettyOrRaw(r.text)}</pre>
      </section>
    </>
  );
}

function prettyOrRaw(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
