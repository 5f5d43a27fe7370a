// Browser auto-confirmation of a commit-confirmed revision (docs/safety.md), for the revision
// THIS browser submitted only: the save action remembers that revision in an httpOnly cookie of
// this browser (set in the same response that stored it); /api/confirm tells the banner when the
// pending revision is that one and applied, and confirmAction checks the cookie again before it
// confirms "automatically". A revision stored by someone else (another browser, the CLI, an agent
// rollback's successor) is never auto-confirmed by this browser. Off unless ticked on the form.
import { cookies } from 'next/headers';
import type { FormLike } from './forms';
import { isHttps } from '../auth/request';

export const AUTO_CONFIRM_COOKIE = 'lw_autoconfirm';
/** How long a browser keeps the right to auto-confirm what it submitted (the longest window). */
const MAX_AGE_S = 3600 + 600;

/** After a save: remember `revision` if the form asked for confirmation with auto-confirm ticked. */
export async function rememberAutoConfirm(fd: FormLike, res: { ok: true; revision: number; changed: boolean } | { ok: false }): Promise<void> {
  if (!res.ok || !res.changed || fd.get('confirm') !== 'on' || fd.get('autoConfirm') !== 'on') return;
  (await cookies()).set(AUTO_CONFIRM_COOKIE, String(res.revision), { httpOnly: true, sameSite: 'strict', path: '/', maxAge: MAX_AGE_S, secure: await isHttps() });
}

/** The revision this browser may auto-confirm (null: none). */
export async function autoConfirmRevision(): Promise<number | null> {
  const v = (await cookies()).get(AUTO_CONFIRM_COOKIE)?.value;
  return v && /^[1-9][0-9]{0,9}$/.test(v) ? Number(v) : null;
}

export async function forgetAutoConfirm(): Promise<void> {
  (await cookies()).delete(AUTO_CONFIRM_COOKIE);
}
