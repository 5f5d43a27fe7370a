'use server';
// Server actions on revisions: restore an old one (as a new revision, based on the revision the
// history page showed), confirm a commit-confirmed one.
import { redirect } from 'next/navigation';
import { validatedAction, revalidateAll } from './validated';
import { restoreSchema, confirmSchema } from './schemas';
import type { FormState } from '../forms';
import { confirmWithinFrom } from '../review';
import { restoreRevision, confirmPending } from '../../store/safety';

export const restoreAction = validatedAction(restoreSchema, async ({ id, baseRevision }, { user, fd }) => {
  const r = await restoreRevision(id, user.username, { confirmWithin: confirmWithinFrom(fd), baseRevision });
  revalidateAll();
  redirect(r.ok ? `/history?restored=${r.revision}` : `/history?error=${encodeURIComponent(r.errors.slice(0, 3).join('; '))}`);
});

export const confirmAction = validatedAction(confirmSchema, async ({ revision }, { user, seq }): Promise<FormState> => {
  const r = await confirmPending(user.username, revision);
  revalidateAll();
  return r.ok ? { ok: true, seq, message: `Revision ${r.revision} confirmed.` } : { ok: false, seq, message: r.reason };
});
