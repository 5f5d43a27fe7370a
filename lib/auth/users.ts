// Admin accounts and the one-time setup token. Used by the web (setup/login) and `linkward admin`.
import crypto from 'node:crypto';
import { prisma } from '../db/prisma';
import { hashPassword, verifyPassword, needsRehash, passwordProblem, SCRYPT_PARAMS, USERNAME_RE, USERNAME_HINT } from './password';
import { sha256hex } from './session';

const SETUP_TOKEN_KEY = 'auth.setupTokenSha256';
const SETUP_TOKEN_TTL_MS = 60 * 60 * 1000;

export type UserResult = { ok: true; id: number } | { ok: false; fieldErrors: Record<string, string[]> };

export async function createUser(username: string, password: string): Promise<UserResult> {
  const fieldErrors: Record<string, string[]> = {};
  if (!USERNAME_RE.test(username)) fieldErrors.username = [USERNAME_HINT];
  const pp = passwordProblem(password);
  if (pp) fieldErrors.password = [pp];
  if (Object.keys(fieldErrors).length) return { ok: false, fieldErrors };
  const db = prisma();
  if (await db.user.findUnique({ where: { username } })) return { ok: false, fieldErrors: { username: ['already exists'] } };
  const u = await db.user.create({ data: { username, passwordHash: await hashPassword(password), createdAt: Date.now() } });
  await db.auditLog.create({ data: { ts: Date.now(), actor: username, action: 'user.create', detail: `user ${username}` } });
  return { ok: true, id: u.id };
}

/** First admin: succeeds only while no user exists (checked again inside a transaction). */
export async function createFirstUser(username: string, password: string): Promise<UserResult> {
  const db = prisma();
  if ((await db.user.count()) > 0) return { ok: false, fieldErrors: { username: ['an administrator already exists; sign in instead'] } };
  const r = await createUser(username, password);
  if (r.ok && (await db.user.count()) > 1) {
    // Lost a race with another setup request: undo ours.
    await db.user.delete({ where: { id: r.id } });
    return { ok: false, fieldErrors: { username: ['an administrator already exists; sign in instead'] } };
  }
  if (r.ok) await db.setting.deleteMany({ where: { key: SETUP_TOKEN_KEY } });
  return r;
}

/** Checks credentials. Always spends one scrypt computation (at the current cost), even for
 *  unknown users. A good password whose hash has older parameters is re-hashed at the current ones. */
export async function checkLogin(username: string, password: string): Promise<{ id: number; username: string } | null> {
  const db = prisma();
  const u = USERNAME_RE.test(username) ? await db.user.findUnique({ where: { username } }) : null;
  const ok = await verifyPassword(password, u?.passwordHash ?? DUMMY_HASH);
  if (!u || !ok) return null;
  if (needsRehash(u.passwordHash)) {
    const passwordHash = await hashPassword(password);
    // Only if nobody changed it meanwhile (e.g. `linkward admin reset-password`).
    await db.user.updateMany({ where: { id: u.id, passwordHash: u.passwordHash }, data: { passwordHash } });
  }
  return { id: u.id, username: u.username };
}
// scrypt of a random password at the current parameters, so timing does not reveal whether a user exists.
const DUMMY_HASH = ['scrypt', SCRYPT_PARAMS.N, SCRYPT_PARAMS.r, SCRYPT_PARAMS.p, crypto.randomBytes(16).toString('base64'), crypto.randomBytes(SCRYPT_PARAMS.keyLen).toString('base64')].join('$');

export async function resetPassword(username: string, password: string): Promise<UserResult> {
  const pp = passwordProblem(password);
  if (pp) return { ok: false, fieldErrors: { password: [pp] } };
  const db = prisma();
  const u = await db.user.findUnique({ where: { username } });
  if (!u) return { ok: false, fieldErrors: { username: [`no user "${username}"`] } };
  await db.user.update({ where: { id: u.id }, data: { passwordHash: await hashPassword(password) } });
  await db.session.deleteMany({ where: { userId: u.id } });
  await db.auditLog.create({ data: { ts: Date.now(), actor: 'cli', action: 'user.reset-password', detail: `user ${username}; sessions revoked` } });
  return { ok: true, id: u.id };
}

/** Create a one-time setup token (valid 1 h); only its sha256 is stored. */
export async function issueSetupToken(now = Date.now()): Promise<string> {
  const token = crypto.randomBytes(18).toString('base64url');
  const value = JSON.stringify({ sha256: sha256hex(token), expiresAt: now + SETUP_TOKEN_TTL_MS });
  await prisma().setting.upsert({ where: { key: SETUP_TOKEN_KEY }, create: { key: SETUP_TOKEN_KEY, value }, update: { value } });
  return token;
}

export async function checkSetupToken(token: string, now = Date.now()): Promise<boolean> {
  if (!token || token.length > 100) return false;
  const row = await prisma().setting.findUnique({ where: { key: SETUP_TOKEN_KEY } });
  if (!row) return false;
  try {
    const v = JSON.parse(row.value) as { sha256?: string; expiresAt?: number };
    if (typeof v.sha256 !== 'string' || typeof v.expiresAt !== 'number' || v.expiresAt < now) return false;
    const a = Buffer.from(sha256hex(token), 'hex');
    const b = Buffer.from(v.sha256, 'hex');
    return a.length === b.length && crypto.timingSafeEqual(a, b);
  } catch {
    return false;
  }
}

export async function audit(actor: string, action: string, detail = ''): Promise<void> {
  await prisma().auditLog.create({ data: { ts: Date.now(), actor, action, detail: detail.slice(0, 500) } });
}
