// Runs before every request except static files (Next 16 "proxy", formerly middleware). Cheap,
// early checks; the authoritative session check is in the data layer (lib/web/data.ts), every
// server action and every route handler.
//  1. Host allow-list (DNS rebinding): only localhost, loopback addresses, the bind address and
//     LINKWARD_HOSTNAMES are served (lib/auth/net hostAllowed); anything else gets 421.
//  2. Request bodies: any non-GET/HEAD request must declare its Content-Length, at most 8 KiB on
//     the sign-in pages (/login, /setup), 8 MiB + 64 KiB on /settings (configuration import) and
//     1 MiB elsewhere; else 411/413 before Next reads a byte of it. (Next's own
//     serverActions.bodySizeLimit is one global number: 8 MiB for the import.)
//  3. Cross-origin writes: a non-GET/HEAD request must carry an Origin whose host equals the
//     Host header (or is listed in LINKWARD_ALLOWED_ORIGINS). Next itself rejects mismatched
//     server-action origins but lets requests *without* Origin through; we do not.
//  4. No session cookie: pages redirect to /login, API routes and POSTs answer 401.
//  5. Content-Security-Policy with a fresh nonce per request (the way the Next.js docs describe):
//     scripts only from our origin or carrying the nonce ('strict-dynamic' for what they load),
//     no 'unsafe-inline', no 'unsafe-eval'. Next reads the nonce from the request's CSP header
//     and puts it on its own inline scripts.
import os from 'node:os';
import { NextResponse, type NextRequest } from 'next/server';
import { hostAllowed, hostName, parseHostNames } from '@/lib/auth/net';
import { contentSecurityPolicy, bodyLimit, PUBLIC_PAGES } from '@/lib/web/policy';

/** Routes that check access themselves (GET /metrics: bearer token, allowed networks or session). */
const SELF_CHECKED = ['/metrics'];
const COOKIE = 'lw_session';

let localCache: { at: number; list: string[] } | null = null;
function localAddresses(): string[] {
  const now = Date.now();
  if (!localCache || now - localCache.at > 10_000) {
    const list = Object.values(os.networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address));
    localCache = { at: now, list };
  }
  return localCache.list;
}

let namesCache: { spec: string; names: string[] | Error } | null = null;
function configuredNames(): string[] | Error {
  const spec = process.env.LINKWARD_HOSTNAMES ?? '';
  if (namesCache?.spec !== spec) {
    let names: string[] | Error;
    try {
      names = parseHostNames(spec);
    } catch (e) {
      names = e as Error;
    }
    namesCache = { spec, names };
  }
  return namesCache.names;
}

function originAllowed(req: NextRequest): boolean {
  const origin = req.headers.get('origin');
  if (!origin) return false;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  if (host === req.headers.get('host')) return true;
  const extra = (process.env.LINKWARD_ALLOWED_ORIGINS ?? '').split(/[\s,]+/).filter(Boolean);
  return extra.includes(host);
}

export function proxy(req: NextRequest) {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64');
  const csp = contentSecurityPolicy(nonce);
  const reply = (body: string, status: number, headers: Record<string, string> = {}) => {
    const r = new NextResponse(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers } });
    r.headers.set('Content-Security-Policy', csp);
    return r;
  };
  const json = (body: unknown, status: number) => reply(JSON.stringify(body), status, { 'content-type': 'application/json' });

  const names = configuredNames();
  if (names instanceof Error) return reply(`linkward: ${names.message}`, 500);
  const host = req.headers.get('host');
  if (!hostAllowed(host, { bind: process.env.LINKWARD_BIND ?? '', names, localAddresses })) {
    return reply(`linkward: this dashboard does not answer to the host name ${JSON.stringify(hostName(host))}. If it is yours, add it to LINKWARD_HOSTNAMES.\n`, 421);
  }

  const { pathname } = req.nextUrl;
  const write = req.method !== 'GET' && req.method !== 'HEAD';
  if (write) {
    if (!originAllowed(req)) return json({ error: 'cross-origin request refused' }, 403);
    const len = req.headers.get('content-length');
    if (len === null || !/^\d{1,12}$/.test(len)) return json({ error: 'Content-Length required' }, 411);
    const limit = bodyLimit(pathname);
    if (Number(len) > limit) return json({ error: `request body too large (at most ${limit} bytes here)` }, 413);
  }
  const isPublic = PUBLIC_PAGES.some((p) => pathname === p || pathname.startsWith(p + '/')) || SELF_CHECKED.includes(pathname);
  if (!isPublic && !req.cookies.get(COOKIE)?.value) {
    if (pathname.startsWith('/api/')) return json({ error: 'not signed in' }, 401);
    // Server actions posted to pages without a cookie: refuse outright.
    if (write) return json({ error: 'not signed in' }, 401);
    const url = req.nextUrl.clone();
    url.pathname = '/login';
    url.search = '';
    const r = NextResponse.redirect(url);
    r.headers.set('Content-Security-Policy', csp);
    return r;
  }

  const requestHeaders = new Headers(req.headers);
  requestHeaders.set('x-nonce', nonce);
  requestHeaders.set('Content-Security-Policy', csp);
  const res = NextResponse.next({ request: { headers: requestHeaders } });
  res.headers.set('Content-Security-Policy', csp);
  return res;
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico|icon.svg).*)'],
};
