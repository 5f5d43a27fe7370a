// Server-side sessions: the cookie holds a random 32-byte token; the Session row holds only
// sha256(token), so a database leak does not leak live sessions. Expiry is sliding (12 h idle
// timeout) and absolute (7 days after sign-in, however active the session is: a stolen cookie
// does not live forever). The absolute end is createdAt + SESSION_ABSOLUTE_MS (no extra column).
import crypto from 'node:crypto';
import { prisma } from '../db/prisma';

export const SESSION_COOKIE = 'lw_session';
export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;
export const SESSION_ABSOLUTE_MS = 7 * 24 * 60 * 60 * 1000;
/** Extend the expiry at most this often (avoid a write per request). */
const SLIDE_GRANULARITY_MS = 60 * 1000;

export function sha256hex(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

export function newToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

export const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export interface SessionUser {
  id: number;
  username: string;
  sessionId: string;
  /** Epoch ms when the session ends if unused (min of the idle and the absolute end). */
  expiresAt: number;
}

/** The next expiry of a session created at `createdAt`, used at `now`. */
export function nextExpiry(createdAt: number, now: number): number {
  return Math.min(now + SESSION_IDLE_MS, createdAt + SESSION_ABSOLUTE_MS);
}

export async function createSession(userId: number, ip: string, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
  const token = newToken();
  const expiresAt = nextExpiry(now, now);
  const db = prisma();
  await db.session.create({ data: { id: sha256hex(token), userId, createdAt: now, expiresAt, ip } });
  // Housekeeping: drop expired sessions.
  await db.session.deleteMany({ where: { OR: [{ expiresAt: { lt: now } }, { createdAt: { lt: now - SESSION_ABSOLUTE_MS } }] } });
  return { token, expiresAt };
}

/** Look up a session token; slides the expiry. Returns null when unknown or expired. */
export async function validateSession(token: string | undefined | null, now = Date.now()): Promise<SessionUser | null> {
  if (!token || !TOKEN_RE.test(token)) return null;
  const db = prisma();
  const id = sha256hex(token);
  const row = await db.session.findUnique({ where: { id }, include: { user: { select: { id: true, username: true } } } });
  if (!row) return null;
  if (row.expiresAt <= now || now - row.createdAt >= SESSION_ABSOLUTE_MS) {
    await db.session.deleteMany({ where: { id } });
    return null;
  }
  const next = nextExpiry(row.createdAt, now);
  let expiresAt = row.expiresAt;
  if (next - row.expiresAt > SLIDE_GRANULARITY_MS) {
    await db.session.update({ where: { id }, data: { expiresAt: next } });
    expiresAt = next;
  }
  return { id: row.user.id, username: row.user.username, sessionId: id, expiresAt: Math.min(expiresAt, row.createdAt + SESSION_ABSOLUTE_MS) };
}

export async function destroySession(token: string | undefined | null): Promise<void> {
  if (!token || !TOKEN_RE.test(token)) return;
  await prisma().session.deleteMany({ where: { id: sha256hex(token) } });
}

export async function userCount(): Promise<number> {
  return prisma().user.count();
}
