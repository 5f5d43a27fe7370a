'use server';
// Sign-in, first-administrator setup and sign-out (no session needed: publicAction).
import { redirect } from 'next/navigation';
import { publicAction } from './validated';
import { loginSchema, setupSchema, noInput } from './schemas';
import type { FormState } from '../forms';
import { clientAddress, setSessionCookie, clearSessionCookie } from '../../auth/request';
import { createSession, destroySession, userCount } from '../../auth/session';
import { checkLogin, createFirstUser, checkSetupToken, audit } from '../../auth/users';
import { loginLimiter } from '../../auth/ratelimit';
import { isPrivateAddress } from '../../auth/net';

export const login = publicAction(loginSchema, async ({ username, password }, { seq }): Promise<FormState> => {
  const ip = (await clientAddress()) || 'unknown';
  const values = { username };
  const limiter = loginLimiter();
  const wait = limiter.blockedFor(ip);
  if (wait > 0) {
    await audit(username || '?', 'login.blocked', `from ${ip}`);
    return { ok: false, seq, values, message: `Too many failed sign-ins from your address. Try again in ${Math.ceil(wait / 60000)} min.` };
  }
  const user = await checkLogin(username, password);
  if (!user) {
    limiter.fail(ip);
    await audit(username || '?', 'login.fail', `from ${ip}`);
    return { ok: false, seq, values, message: 'Wrong username or password.' };
  }
  limiter.reset(ip);
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
  if (!isPrivateAddress(ip)) {
    const limiter = loginLimiter();
    if (limiter.blockedFor(ip || 'unknown') > 0) return { ok: false, seq, values, message: 'Too many wrong setup tokens; wait a few minutes.' };
    if (!(await checkSetupToken(token))) {
      limiter.fail(ip || 'unknown');
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

export const logout = publicAction(noInput, async () => {
  const token = await clearSessionCookie();
  await destroySession(token);
  redirect('/login');
});
