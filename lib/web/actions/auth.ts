'use server';
// Sign-in and first-administrator setup (no session needed: publicAction). Only the sign-in
// pages import this module, so Next offers these actions on /login and /setup alone, whose
// request bodies proxy.ts bounds to 8 KiB (logout lives in ./session.ts, used by every page).
//
// Order of work in login: the form's sizes are checked by the schema (username ≤ 64, password
// ≤ 512 characters) before anything else; then the attempt is counted in the database
// (lib/auth/throttle: per source address or IPv6 /64, per username, all together) BEFORE the
// password hash is computed, so a burst of parallel requests gets no more guesses than the limit.
import { redirect } from 'next/navigation';
import { publicAction } from './validated';
import { loginSchema, setupSchema } from './schemas';
import type { FormState } from '../forms';
import { clientAddress, setSessionCookie } from '../../auth/request';
import { createSession, userCount } from '../../auth/session';
import { checkLogin, createFirstUser, checkSetupToken, audit } from '../../auth/users';
import { admit, clearKeys, type ThrottleKey } from '../../auth/throttle';
import { isLoopbackAddress, sourceKey } from '../../auth/net';
import { USERNAME_RE } from '../../auth/password';

const minutes = (ms: number) => Math.max(1, Math.ceil(ms / 60_000));

export const login = publicAction(loginSchema, async ({ username, password }, { seq }): Promise<FormState> => {
  const ip = (await clientAddress()) || 'unknown';
  const values = { username };
  const keys: ThrottleKey[] = [{ kind: 'src', id: sourceKey(ip) }, { kind: 'all', id: '' }];
  if (USERNAME_RE.test(username)) keys.push({ kind: 'user', id: username });
  const a = await admit(keys, { action: 'login.blocked', actor: username || '?' });
  if (!a.ok) {
    const why = a.by === 'src' ? 'from your address' : a.by === 'user' ? 'for this account' : 'right now';
    return { ok: false, seq, values, message: `Too many sign-in attempts ${why}. Try again in ${minutes(a.retryMs)} min.` };
  }
  const user = await checkLogin(username, password);
  if (!user) {
    await audit(username || '?', 'login.fail', `from ${ip}`);
    return { ok: false, seq, values, message: 'Wrong username or password.' };
  }
  await clearKeys(keys);
  const { token } = await createSession(user.id, ip);
  await setSessionCookie(token);
  await audit(user.username, 'login', `from ${ip}`);
  redirect('/');
});

export const setup = publicAction(setupSchema, async ({ username, password, confirm, token }, { seq }): Promise<FormState> => {
  const ip = await clientAddress();
  const values = { username };
  if ((await userCount()) > 0) redirect('/login');
  if (password !== confirm) {
    return { ok: false, seq, values, fieldErrors: { confirm: ['does not match the password'] } };
  }
  // Without a token only on the router itself: the LAN (and whatever a DNS-rebinding page makes a
  // LAN browser send) is not proof enough to create the administrator.
  if (!isLoopbackAddress(ip)) {
    const a = await admit([{ kind: 'setup', id: sourceKey(ip || 'unknown') }], { action: 'setup.blocked', actor: username || '?' });
    if (!a.ok) return { ok: false, seq, values, message: `Too many setup attempts from your address; try again in ${minutes(a.retryMs)} min.` };
    if (!(await checkSetupToken(token))) {
      return {
        ok: false,
        seq,
        values,
        fieldErrors: { token: ['invalid or expired: run `linkward admin setup-token` on the router and paste the token'] },
      };
    }
  }
  const r = await createFirstUser(username, password);
  if (!r.ok) return { ok: false, seq, values, fieldErrors: r.fieldErrors };
  const { token: session } = await createSession(r.id, ip);
  await setSessionCookie(session);
  await audit(username, 'setup', `first administrator created from ${ip || 'unknown address'}`);
  redirect('/');
});
