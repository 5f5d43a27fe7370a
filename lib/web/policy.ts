// What proxy.ts enforces, as pure functions (unit-tested): the Content-Security-Policy of a
// request and the request-body limits per path.

/** Pages reachable without a session. */
export const PUBLIC_PAGES = ['/login', '/setup'];

export const AUTH_BODY_LIMIT = 8 * 1024;
export const IMPORT_BODY_LIMIT = 8 * 1024 * 1024 + 64 * 1024;
export const BODY_LIMIT = 1024 * 1024;

/** The CSP of one response; `nonce` is fresh per request. */
export function contentSecurityPolicy(nonce: string): string {
  const dev = process.env.NODE_ENV === 'development';
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ''}`,
    // Our CSS is one stylesheet from our origin (Tailwind); inline <style> only with the nonce.
    // Style *attributes* cannot carry a nonce; the dashboard renders none (the drop bars are SVG).
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The largest request body (Content-Length) accepted for a non-GET request to `pathname`. */
export function bodyLimit(pathname: string): number {
  if (PUBLIC_PAGES.some((p) => pathname === p || pathname.startsWith(p + '/'))) return AUTH_BODY_LIMIT;
  // Whole documents (import) and address lists (pasted or uploaded blocklists) may be large.
  if (pathname === '/settings' || pathname === '/address-lists') return IMPORT_BODY_LIMIT;
  return BODY_LIMIT;
}

