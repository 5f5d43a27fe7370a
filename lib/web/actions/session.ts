'use server';
// Sign-out (on every dashboard page). Apart from lib/web/actions/auth.ts so that the sign-in and
// setup actions are offered on the sign-in pages only (see there).
import { redirect } from 'next/navigation';
import { publicAction } from './validated';
import { noInput } from './schemas';
import { clearSessionCookie } from '../../auth/request';
import { destroySession } from '../../auth/session';

export const logout = publicAction(noInput, async () => {
  const token = await clearSessionCookie();
  await destroySession(token);
  redirect('/login');
});
