// Write-only secrets of the configuration document (issue 17): notification channel secrets
// (webhook HMAC key, SMTP password, ntfy token) and the /metrics bearer token.
//
// A document may carry a secret as a clear string (a new value), as {"set": true} (keep the one
// stored for the same channel), or as {"ref": "<32 hex>"} (the stored form). Inside the store's
// write transaction, storeSecrets() moves every clear value into the Secret table and leaves only
// a random reference in the revision, so revisions, diffs, history pages and exports never hold
// a secret in clear; redactSecrets() turns references into {"set": true} for everything shown or
// exported; resolveSecret() is for the two readers that need the value (the agent's senders and
// the /metrics token check).
import crypto from 'node:crypto';
import type { DB } from '../db/sqlite';
import type { Config } from '../validations/config';
import { SECRET_FIELDS, type SecretValue } from '../validations/observe';

export interface SecretIssue {
  path: string;
  message: string;
}

type Slot = { path: string; owner: string; get: () => SecretValue | undefined; set: (v: SecretValue) => void };

/** Every secret slot of a config (notification secrets by channel name/type, the metrics token). */
function slots(c: Config): Slot[] {
  const out: Slot[] = [];
  c.notifications.forEach((n, i) => {
    for (const f of SECRET_FIELDS[n.type]) {
      const rec = n as unknown as Record<string, SecretValue | undefined>;
      out.push({ path: `notifications[${i}].${f}`, owner: `${n.type}:${n.name}:${f}`, get: () => rec[f], set: (v) => { rec[f] = v; } });
    }
  });
  if (c.metrics) {
    const m = c.metrics as { token?: SecretValue };
    out.push({ path: 'metrics.token', owner: 'metrics:token', get: () => m.token, set: (v) => { m.token = v; } });
  }
  return out;
}

const refOf = (v: SecretValue | undefined): string | null => (v && typeof v === 'object' && 'ref' in v ? v.ref : null);

/** Replace clear values and {"set": true} by references (inserting Secret rows), inside the
 *  caller's write transaction. Returns the issues (nothing should be stored then). Mutates `next`. */
export function storeSecrets(db: DB, prev: Config | null, next: Config): SecretIssue[] {
  const issues: SecretIssue[] = [];
  const before = new Map<string, string>();
  if (prev) for (const s of slots(prev)) {
    const r = refOf(s.get());
    if (r) before.set(s.owner, r);
  }
  const value = db.prepare('SELECT value FROM Secret WHERE id = ?').pluck();
  const insert = db.prepare('INSERT INTO Secret (id, value, createdAt) VALUES (?, ?, ?)');
  for (const s of slots(next)) {
    const v = s.get();
    if (v === undefined) continue;
    if (typeof v === 'string') {
      const old = before.get(s.owner);
      if (old && value.get(old) === v) {
        s.set({ ref: old }); // same value as stored: no new row, no spurious change
        continue;
      }
      const id = crypto.randomBytes(16).toString('hex');
      insert.run(id, v, Date.now());
      s.set({ ref: id });
    } else if ('set' in v) {
      const old = before.get(s.owner);
      if (!old) issues.push({ path: s.path, message: 'no stored secret to keep here ({"set": true} keeps the one this box has for the same channel); give the value' });
      else s.set({ ref: old });
    } else if (value.get(v.ref) === undefined) {
      issues.push({ path: s.path, message: 'unknown secret reference (a reference only works on the box that stored it); give the value' });
    }
  }
  return issues;
}

/** A copy with every secret shown as {"set": true}: for export, the history and the dashboard. */
export function redactSecrets<T extends Config>(c: T): T {
  const copy = structuredClone(c);
  for (const s of slots(copy)) if (s.get() !== undefined) s.set({ set: true });
  return copy;
}

/** The value of a stored secret (or a clear one), undefined when not set or unknown. */
export function resolveSecret(db: DB, v: SecretValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if ('set' in v) return undefined;
  return (db.prepare('SELECT value FROM Secret WHERE id = ?').pluck().get(v.ref) as string | undefined) ?? undefined;
}
