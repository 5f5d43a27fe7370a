// Who may read GET /metrics: a request with the bearer token set in Settings (metrics.token, a
// write-only secret), or from an address inside metrics.allow, or a signed-in dashboard session.
// Nothing configured: only the session (and `linkward metrics` on the box itself).
import crypto from 'node:crypto';
import type { DB } from '../db/sqlite';
import { parseCidr, parseIPv4, cidrContains, type Cidr } from '../validations/net';
import { isSecretValue, type SecretValue } from '../validations/observe';
import { resolveSecret } from '../store/secrets';

export interface MetricsAccess {
  token?: SecretValue;
  allow: Cidr[];
}

const cache = new WeakMap<DB, { id: number | null; access: MetricsAccess }>();

/** The metrics section of the latest revision (stored documents are validated on write; the
 *  section is re-checked here field by field), cached per revision. */
export function metricsAccessSettings(db: DB): MetricsAccess {
  const id = (db.prepare('SELECT MAX(id) FROM Revision').pluck().get() as number | null) ?? null;
  const c = cache.get(db);
  if (c && c.id === id) return c.access;
  let access: MetricsAccess = { allow: [] };
  if (id !== null) {
    const text = db.prepare('SELECT config FROM Revision WHERE id = ?').pluck().get(id) as string;
    const m = (JSON.parse(text) as { metrics?: { token?: unknown; allow?: unknown } }).metrics;
    if (m) {
      access = {
        ...(isSecretValue(m.token) ? { token: m.token } : {}),
        allow: Array.isArray(m.allow) ? m.allow.map((s) => (typeof s === 'string' ? parseCidr(s) : null)).filter((x): x is Cidr => x !== null) : [],
      };
    }
  }
  cache.set(db, { id, access });
  return access;
}

const digest = (s: string) => crypto.createHash('sha256').update(s).digest();

/** 'ok', or why not (the route answers 401 then). */
export function checkMetricsAccess(db: DB, a: MetricsAccess, req: { authorization: string | null; peer: string }): 'ok' | string {
  if (a.token !== undefined && req.authorization) {
    const m = /^Bearer ([\x21-\x7e]{1,1024})$/.exec(req.authorization);
    const want = resolveSecret(db, a.token);
    if (m && want !== undefined && crypto.timingSafeEqual(digest(m[1]), digest(want))) return 'ok';
    return 'wrong bearer token';
  }
  const ip = parseIPv4(req.peer);
  if (ip !== null && a.allow.some((c) => cidrContains(c, ip))) return 'ok';
  if (a.token === undefined && a.allow.length === 0) return 'metrics access is not configured: set a bearer token or allowed networks in Settings (or sign in)';
  return 'needs the bearer token (Authorization: Bearer …) or an allowed source address';
}
