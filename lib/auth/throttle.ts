// Sign-in attempts, counted in SQLite BEFORE any password hash is computed (table AuthThrottle,
// migration 0003). One attempt asks admission for several keys at once — its source (an IPv4
// address, or an IPv6 /64), the username, and all sources together — inside ONE write
// transaction (BEGIN IMMEDIATE): fifty parallel POSTs are serialized there and at most `limit`
// of them are admitted, in this process or any other. An attempt that any key refuses counts
// against none of them (a blocked source cannot burn a username's budget), and is aggregated: one
// audit row per refusing key and window, whose detail carries the count, not one row per attempt.
//
// Windows are fixed (start at the first attempt of a key, last WINDOW_MS); rows of past windows
// are deleted as new attempts come, so the table holds at most the keys of the current window.
import { writeTransaction, type DB } from '../db/sqlite';

export const WINDOW_MS = 5 * 60_000;

export type ThrottleKind = 'src' | 'user' | 'all' | 'setup';

/** Attempts admitted per key and window. */
export const LIMITS: Record<ThrottleKind, number> = {
  /** per client address (IPv6: per /64) */
  src: 5,
  /** per username, from all sources together (a distributed guesser) */
  user: 10,
  /** all sign-ins together: bounds the password hashing an attacker with many addresses can cause */
  all: 100,
  /** wrong setup tokens per client address */
  setup: 5,
};

export interface ThrottleKey {
  kind: ThrottleKind;
  /** source key (lib/auth/net sourceKey), username, or '' for 'all' */
  id: string;
}

export type Admission =
  | { ok: true }
  | { ok: false; retryMs: number; by: ThrottleKind; blocked: number };

const keyOf = (k: ThrottleKey) => (k.kind === 'all' ? 'all' : `${k.kind}:${k.id}`);

interface Row {
  key: string;
  windowStart: number;
  attempts: number;
  blocked: number;
  auditId: number | null;
}

function describe(k: ThrottleKey): string {
  switch (k.kind) {
    case 'src':
      return `from ${k.id}`;
    case 'user':
      return `for user ${k.id} (all sources)`;
    case 'all':
      return 'from all sources together';
    case 'setup':
      return `setup tokens from ${k.id}`;
  }
}

/**
 * Count one attempt for `keys`, or refuse it. `action` names the audit row of refused attempts
 * ('login.blocked'); `actor` is who it is shown as (the username tried).
 */
export function admit(keys: ThrottleKey[], opts: { action: string; actor: string; now?: number; file?: string }): Promise<Admission> {
  const now = opts.now ?? Date.now();
  return writeTransaction((db: DB): Admission => {
    db.prepare('DELETE FROM AuthThrottle WHERE windowStart <= ?').run(now - WINDOW_MS);
    const get = db.prepare('SELECT key, windowStart, attempts, blocked, auditId FROM AuthThrottle WHERE key = ?');
    const rows = keys.map((k) => ({ k, row: get.get(keyOf(k)) as Row | undefined }));
    const full = rows.find(({ k, row }) => row && row.attempts >= LIMITS[k.kind]);
    if (full) {
      const row = full.row!;
      const blocked = row.blocked + 1;
      const retryMs = Math.max(1, row.windowStart + WINDOW_MS - now);
      const detail = `${blocked} attempt${blocked === 1 ? '' : 's'} refused ${describe(full.k)}: limit ${LIMITS[full.k.kind]} per ${WINDOW_MS / 60_000} min, window since ${new Date(row.windowStart).toISOString()}`;
      let auditId = row.auditId;
      const updated = auditId !== null && db.prepare('UPDATE AuditLog SET detail = ?, ts = ? WHERE id = ?').run(detail, now, auditId).changes === 1;
      if (!updated) {
        auditId = Number(db.prepare('INSERT INTO AuditLog (ts, actor, action, detail) VALUES (?, ?, ?, ?)').run(now, opts.actor.slice(0, 64) || '?', opts.action, detail).lastInsertRowid);
      }
      db.prepare('UPDATE AuthThrottle SET blocked = ?, auditId = ? WHERE key = ?').run(blocked, auditId, row.key);
      return { ok: false, retryMs, by: full.k.kind, blocked };
    }
    const upsert = db.prepare(
      `INSERT INTO AuthThrottle (key, windowStart, attempts, blocked) VALUES (?, ?, 1, 0)
       ON CONFLICT(key) DO UPDATE SET attempts = attempts + 1`,
    );
    for (const { k } of rows) upsert.run(keyOf(k), now);
    return { ok: true };
  }, { file: opts.file });
}

/** A successful sign-in clears its source's and its username's counts (not the global one). */
export function clearKeys(keys: ThrottleKey[], file?: string): Promise<void> {
  return writeTransaction((db: DB) => {
    const del = db.prepare('DELETE FROM AuthThrottle WHERE key = ?');
    for (const k of keys) if (k.kind !== 'all') del.run(keyOf(k));
  }, { file });
}
