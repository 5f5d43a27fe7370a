// Request-bound auth helpers for server components, server actions and route handlers.
import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { SESSION_COOKIE, SESSION_IDLE_MS, validateSession, userCount, type SessionUser } from './session';
import { normalizeAddress } from './net';

/** Header our own HTTP front (`linkward web`, lib/web/server.ts) sets from the socket address.
 *  It overwrites whatever the client sent; it is only trusted when that front is in use. */
export const PEER_HEADER = 'x-linkward-peer';

/** The client's address, or '' when unknown (e.g. app run by plain `next start`). */
export async function clientAddress(): Promise<string> {
  if (process.env.LINKWARD_WEB_FRONT !== '1') return '';
  const h = await headers();
  return normalizeAddress(h.get(PEER_HEADER));
}

export async function isHttps(): Promise<boolean> {
  const h = await headers();
  return h.get('x-forwarded-proto') === 'https';
}

export async function currentUser(): Promise<SessionUser | null> {
  const c = await cookies();
  return validateSession(c.get(SESSION_COOKIE)?.value);
}

/** For pages: redirects to /setup (no admin yet) or /login (no valid session). */
export async function requireUser(): Promise<SessionUser> {
  const u = await currentUser();
  if (u) return u;
  if ((await userCount()) === 0) redirect('/setup');
  redirect('/login');
}

export async function setSessionCookie(token: string): Promise<void> {
  const c = await cookies();
  c.set(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure: await isHttps(),
    path: '/',
    maxAge: Math.floor(SESSION_IDLE_MS / 1000),
  });
}

export async function clearSessionCookie(): Promise<string | undefined> {
  const c = await cookies();
  const v = c.get(SESSION_COOKIE)?.value;
  c.delete(SESSION_COOKIE);
  return v;
}
