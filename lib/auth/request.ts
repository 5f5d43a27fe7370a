// Request-bound auth helpers for server components, server actions and route handlers.
import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';
import type net from 'node:net';
import { SESSION_COOKIE, SESSION_ABSOLUTE_MS, validateSession, userCount, type SessionUser } from './session';
import { addressList, clientFrom, inList, normalizeAddress } from './net';

/** Headers our own HTTP front (`linkward web`, lib/web/server.mjs) sets on every request: the socket
 *  address, and what the client sent as X-Forwarded-For / X-Forwarded-Proto (the originals are
 *  removed). They overwrite whatever the client sent; they are only read when that front is in use. */
export const PEER_HEADER = 'x-linkward-peer';
export const FORWARDED_FOR_HEADER = 'x-linkward-forwarded-for';
export const FORWARDED_PROTO_HEADER = 'x-linkward-forwarded-proto';
/** Set by our front on its own HTTPS listener (the package's LAN listener). */
export const TLS_HEADER = 'x-linkward-tls';

let trustedCache: { spec: string; list: net.BlockList } | null = null;
/** LINKWARD_TRUSTED_PROXIES: addresses/CIDRs of reverse proxies whose X-Forwarded-For is believed
 *  (default: none). A bad value throws (fail closed; `linkward web` checks it at start). */
export function trustedProxies(): net.BlockList {
  const spec = process.env.LINKWARD_TRUSTED_PROXIES ?? '';
  if (trustedCache?.spec !== spec) trustedCache = { spec, list: addressList(spec, 'LINKWARD_TRUSTED_PROXIES') };
  return trustedCache.list;
}

/** The client's address, or '' when unknown (e.g. app run by plain `next start`). Behind a
 *  configured proxy, the address it forwarded (lib/auth/net clientFrom). */
export async function clientAddress(): Promise<string> {
  if (process.env.LINKWARD_WEB_FRONT !== '1') return '';
  const h = await headers();
  // A server action Next forwarded to another worker arrives from this very server: its socket
  // address says nothing about the client. Legitimate dashboard requests are never forwarded.
  if (h.get('x-action-forwarded')) return '';
  return clientFrom(normalizeAddress(h.get(PEER_HEADER)), h.get(FORWARDED_FOR_HEADER), trustedProxies());
}

/** Served over https: by our own TLS listener, or a trusted proxy says so (X-Forwarded-Proto). */
export async function isHttps(): Promise<boolean> {
  if (process.env.LINKWARD_WEB_FRONT !== '1') return false;
  const h = await headers();
  if (h.get(TLS_HEADER) === '1') return true;
  const peer = normalizeAddress(h.get(PEER_HEADER));
  if (!inList(trustedProxies(), peer)) return false;
  const proto = (h.get(FORWARDED_PROTO_HEADER) ?? '').split(',').pop()?.trim().toLowerCase();
  return proto === 'https';
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
    // The server ends the session (12 h idle, 7 days at most); the cookie may live as long.
    maxAge: Math.floor(SESSION_ABSOLUTE_MS / 1000),
  });
}

export async function clearSessionCookie(): Promise<string | undefined> {
  const c = await cookies();
  const v = c.get(SESSION_COOKIE)?.value;
  c.delete(SESSION_COOKIE);
  return v;
}
