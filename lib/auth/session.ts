// Server-side sessions: the cookie holds a random 32-byte token; the Session row holds only
// sha256(token), so a database leak does not leak live sessions. Expiry is sliding (idle timeout).
import crypto from 'node:crypto';
import { prisma } from '../db/prisma';

export const SESSION_COOKIE = 'lw_session';
export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;
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
}

export async function createSession(userId: number, ip: string, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
  const token = newToken();
  const expiresAt = now + SESSION_IDLE_MS;
  const db = prisma();
  await db.session.create({ data: { id: sha256hex(token), userId, createdAt: now, expiresAt, ip } });
  // Housekeeping: drop expired sessions.
  await db.session.deleteMany({ where: { expiresAt: { lt: now } } });
  return { token, expiresAt };
}

/** Look up a session token; slides the expiry. Returns null when unknown or expired. */
export async function validateSession(token: string | undefined | null, now = Date.now()): Promise<SessionUser | null> {
  if (!token || !TOKEN_RE.test(token)) return null;
  const db = prisma();
  const id = sha256hex(token);
  const row = await db.session.findUnique({ where: { id }, include: { user: { select: { id: true, username: true } } } });
  if (!row) return null;
  if (row.expiresAt <= now) {
    await db.session.deleteMany({ where: { id } });
    return null;
  }
  const next = now + SESSION_IDLE_MS;
  if (next - row.expiresAt > SLIDE_GRANULARITY_MS) {
    await db.session.update({ where: { id }, data: { expiresAt: next } });
  }
  return { id: row.user.id, username: row.user.username, sessionId: id };
}

export async function destroySession(token: string | undefined | null): Promise<void> {
  if (!token || !TOKEN_RE.test(token)) return;
  await prisma().session.deleteMany({ where: { id: sha256hex(token) } });
}

export async function userCount(): Promise<number> {
  return prisma().user.count();
}
