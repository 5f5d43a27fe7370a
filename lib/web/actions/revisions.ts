'use server';
// Server actions on revisions: restore an old one (as a new revision, based on the revision the
// history page showed), confirm a commit-confirmed one.
import { redirect } from 'next/navigation';
import { validatedAction, revalidateAll } from './validated';
import { restoreSchema, confirmSchema } from './schemas';
import type { FormState } from '../forms';
import { confirmWithinFrom } from '../review';
import { restoreRevision, confirmPending } from '../../store/safety';
import { rememberAutoConfirm, autoConfirmRevision, forgetAutoConfirm } from '../autoconfirm';

export const restoreAction = validatedAction(restoreSchema, async ({ id, baseRevision }, { user, fd }) => {
  const r = await restoreRevision(id, user.username, { confirmWithin: confirmWithinFrom(fd), baseRevision });
  await rememberAutoConfirm(fd, r);
  revalidateAll();
  redirect(r.ok ? `/history?restored=${r.revision}` : `/history?error=${encodeURIComponent(r.errors.slice(0, 3).join('; '))}`);
});

/** Confirm the pending revision. `auto=1` (the banner confirming by itself): only the revision
 *  this browser submitted with auto-confirm ticked (lib/web/autoconfirm.ts). */
export const confirmAction = validatedAction(confirmSchema, async ({ revision, auto }, { user, seq }): Promise<FormState> => {
  if (auto && (await autoConfirmRevision()) !== revision) {
    return { ok: false, seq, message: `Revision ${revision} was not submitted by this browser with automatic confirmation; confirm it yourself if it is right.` };
  }
  const r = await confirmPending(user.username, revision);
  if (auto) await forgetAutoConfirm();
  revalidateAll();
  return r.ok ? { ok: true, seq, message: `Revision ${r.revision} confirmed.` } : { ok: false, seq, message: r.reason };
});
