// Runs before every request (Next 16 "proxy", formerly middleware). Two cheap, early checks;
// the authoritative session check is in every page, server action and route handler.
//  1. Cross-origin writes: any non-GET/HEAD request must carry an Origin whose host equals the
//     Host header (or is listed in LINKWARD_ALLOWED_ORIGINS). Next itself rejects mismatched
//     server-action origins but lets requests *without* Origin through; we do not.
//  2. No session cookie: pages redirect to /login, API routes answer 401.
import { NextResponse, type NextRequest } from 'next/server';

const PUBLIC_PAGES = ['/login', '/setup'];
/** Routes that check access themselves (GET /metrics: bearer token, allowed networks or session). */
const SELF_CHECKED = ['/metrics'];
const COOKIE = 'lw_session';

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
  const { pathname } = req.nextUrl;
  if (req.method !== 'GET' && req.method !== 'HEAD' && !originAllowed(req)) {
    return NextResponse.json({ error: 'cross-origin request refused' }, { status: 403 });
  }
  const isPublic = PUBLIC_PAGES.some((p) => pathname === p || pathname.startsWith(p + '/')) || SELF_CHECKED.includes(pathname);
  if (!isPublic && !req.cookies.get(COOKIE)?.value) {
    if (pathname.startsWith('/api/')) {
      return NextResponse.json({ error: 'not signed in' }, { status: 401, headers: { 'cache-control': 'no-store' } });
    }
    // Server actions posted to pages without a cookie: refuse outright.
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return NextResponse.json({ error: 'not signed in' }, { status: 401 });
    }
    const url = req.nextUrl.clone();
    url.pathname = '/login';
    url.search = '';
    return NextResponse.redirect(url);
  }
  return NextResponse.next();
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico|icon.svg).*)'],
};
