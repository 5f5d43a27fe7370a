import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { getRevision } from '@/lib/store/revisions';
import { redactSecrets } from '@/lib/store/secrets';
import { prisma } from '@/lib/db/prisma';
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
  const rev = await getRevision(Number(id));
  if (!rev) notFound();
  const [prev, latest] = await Promise.all([
    prisma().revision.findFirst({ where: { id: { lt: rev.id } }, orderBy: { id: 'desc' }, select: { id: true } }),
    prisma().revision.findFirst({ orderBy: { id: 'desc' }, select: { id: true } }), // the restore's base revision
  ]);
  return (
    <>
      <header className="flex flex-wrap items-start justify-between gap-2">
        <div>
          <h1 className="h1">Revision {rev.id}</h1>
          <p className="mt-1 text-sm muted">{fmtTime(rev.createdAt)} · {rev.author} · {rev.source}{rev.confirmWithin !== null ? ` · confirm within ${rev.confirmWithin}s` : ''}</p>
          <p className="mt-1 text-sm" data-testid="rev-summary">{rev.summary}</p>
        </div>
        <div className="flex gap-2">
          {prev && <Link href={`/history/diff?a=${prev.id}&b=${rev.id}`} className="btn">Compare with r{prev.id}</Link>}
          <ActionForm action={restoreAction}>
            <input type="hidden" name="id" value={rev.id} />
            <input type="hidden" name="baseRevision" value={baseRevisionValue(latest?.id)} />
            <SubmitButton className="btn btn-primary">Restore this revision</SubmitButton>
          </ActionForm>
        </div>
      </header>
      <section className="card" aria-labelledby="json-h">
        <h2 id="json-h" className="h2 mb-2">Configuration</h2>
        <pre className="max-h-[40rem] overflow-auto rounded-md bg-zinc-50 p-2 font-mono text-xs dark:bg-zinc-950" data-testid="rev-json">{JSON.stringify(redactSecrets(rev.config), null, 2)}</pre>
      </section>
    </>
  );
}
