'use server';
import { redirect } from 'next/navigation';
import { clientAddress, setSessionCookie, clearSessionCookie } from '@/lib/auth/request';
import { createSession, destroySession, userCount } from '@/lib/auth/session';
import { checkLogin, createFirstUser, checkSetupToken, audit } from '@/lib/auth/users';
import { loginLimiter } from '@/lib/auth/ratelimit';
import { isPrivateAddress } from '@/lib/auth/net';
import type { FormState } from '@/lib/web/forms';

const field = (fd: FormData, k: string) => {
  const v = fd.get(k);
  return typeof v === 'string' ? v : '';
};

export async function login(prev: FormState, fd: FormData): Promise<FormState> {
  const seq = prev.seq + 1;
  const ip = (await clientAddress()) || 'unknown';
  const username = field(fd, 'username').trim().toLowerCase();
  const values = { username };
  const limiter = loginLimiter();
  const wait = limiter.blockedFor(ip);
  if (wait > 0) {
    await audit(username || '?', 'login.blocked', `from ${ip}`);
    return { ok: false, seq, values, message: `Too many failed sign-ins from your address. Try again in ${Math.ceil(wait / 60000)} min.` };
  }
  const user = await checkLogin(username, field(fd, 'password'));
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
}

export async function setup(prev: FormState, fd: FormData): Promise<FormState> {
  const seq = prev.seq + 1;
  const ip = await clientAddress();
  const username = field(fd, 'username').trim().toLowerCase();
  const values = { username };
  if ((await userCount()) > 0) redirect('/login');
  const password = field(fd, 'password');
  if (password !== field(fd, 'confirm')) {
    return { ok: false, seq, values, fieldErrors: { confirm: ['does not match the password'] } };
  }
  if (!isPrivateAddress(ip)) {
    const limiter = loginLimiter();
    if (limiter.blockedFor(ip || 'unknown') > 0) return { ok: false, seq, values, message: 'Too many wrong setup tokens; wait a few minutes.' };
    if (!(await checkSetupToken(field(fd, 'token').trim()))) {
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
  const { token } = await createSession(r.id, ip);
  await setSessionCookie(token);
  await audit(username, 'setup', `first administrator created from ${ip || 'unknown address'}`);
  redirect('/');
}

export async function logout(): Promise<void> {
  const token = await clearSessionCookie();
  await destroySession(token);
  redirect('/login');
}
