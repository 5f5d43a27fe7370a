// Password hashing with Node's built-in scrypt (no native deps).
// Stored format: scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>: the parameters travel with the hash, so
// raising them keeps old hashes verifying; a sign-in with an older hash re-hashes it (needsRehash).
import crypto from 'node:crypto';

/** OWASP's scrypt minimum: N=2^17 (128 MiB), r=8, p=1. Was N=2^15 before issue 12. */
export const SCRYPT_PARAMS = { N: 2 ** 17, r: 8, p: 1, keyLen: 64 } as const;
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 512;

/** At most this many scrypt computations at once (each takes 128·N·r bytes: 128 MiB now); the
 *  others wait their turn, so a burst of sign-ins cannot make the dashboard take gigabytes. */
export const HASH_CONCURRENCY = 2;
let running = 0;
const waiting: (() => void)[] = [];
let computed = 0;

/** How many scrypt computations this process has done (for tests and diagnostics). */
export function hashComputations(): number {
  return computed;
}

async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= HASH_CONCURRENCY) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function scrypt(password: string, salt: Buffer, N: number, r: number, p: number, keyLen: number): Promise<Buffer> {
  return slot(
    () =>
      new Promise((resolve, reject) => {
        computed++;
        // maxmem must exceed 128*N*r bytes (128 MiB for the defaults).
        crypto.scrypt(password.normalize('NFKC'), salt, keyLen, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
          err ? reject(err) : resolve(key),
        );
      }),
  );
}

export async function hashPassword(password: string, params: { N: number; r: number; p: number; keyLen: number } = SCRYPT_PARAMS): Promise<string> {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password, salt, params.N, params.r, params.p, params.keyLen);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

function parse(stored: string): { N: number; r: number; p: number; salt: Buffer; expected: Buffer } | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || N > 2 ** 20 || r > 32 || p > 16) return null;
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  if (expected.length < 16 || expected.length > 128) return null;
  return { N, r, p, salt, expected };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  const h = parse(stored);
  if (!h) return false;
  const key = await scrypt(password, h.salt, h.N, h.r, h.p, h.expected.length);
  return crypto.timingSafeEqual(key, h.expected);
}

/** The stored hash uses weaker parameters than SCRYPT_PARAMS (re-hash it after a good sign-in). */
export function needsRehash(stored: string): boolean {
  const h = parse(stored);
  return !h || h.N < SCRYPT_PARAMS.N || h.r < SCRYPT_PARAMS.r || h.p < SCRYPT_PARAMS.p || h.expected.length < SCRYPT_PARAMS.keyLen;
}

/** Returns an error message, or null when the password is acceptable. */
export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters`;
  return null;
}

export const USERNAME_RE = /^[a-z][a-z0-9_.-]{0,31}$/;
export const USERNAME_HINT = '1-32 characters: a lowercase letter, then lowercase letters, digits, "_", "." or "-"';
/** What the sign-in form accepts at all (checked before anything else is done with it). */
export const MAX_USERNAME_INPUT = 64;
