// Commit-confirmed (issue 8), agent side. A revision stored with `confirmWithin` seconds must be
// confirmed (Revision.confirmedAt, set by `linkward confirm` or the dashboard) within that many
// seconds *after the agent applied it*; otherwise the agent itself stores the previous good
// revision again (source 'rollback') and applies it. Everything lives in the database
// (AgentState.pendingConfirm / confirmDeadline), so neither the web process nor an agent restart
// is needed for, or can prevent, the rollback.
import type { DB } from '../lib/db/sqlite';
import { parseConfig } from '../lib/validations/config';
import { summarizeChange } from '../lib/config/summary';

export interface PendingConfirm {
  revision: number;
  deadline: number;
}

export type ConfirmTick =
  | { kind: 'idle' }
  | { kind: 'waiting'; revision: number; remainingMs: number }
  | { kind: 'confirmed'; revision: number }
  | { kind: 'superseded'; revision: number; by: number }
  | { kind: 'rolledBack'; revision: number; restored: number; newRevision: number }
  | { kind: 'noTarget'; revision: number; reason: string };

interface Row {
  id: number;
  config: string;
  confirmWithin: number | null;
  confirmedAt: number | null;
  rolledBackAt: number | null;
}

export class ConfirmWatcher {
  private readonly db: DB;
  private readonly st;

  constructor(db: DB, private readonly note: (type: string, action: string, msg: string) => void) {
    this.db = db;
    this.st = {
      pending: db.prepare('SELECT pendingConfirm AS revision, confirmDeadline AS deadline FROM AgentState WHERE id = 1'),
      setPending: db.prepare('UPDATE AgentState SET pendingConfirm = ?, confirmDeadline = ? WHERE id = 1'),
      row: db.prepare('SELECT id, config, confirmWithin, confirmedAt, rolledBackAt FROM Revision WHERE id = ?'),
      latestId: db.prepare('SELECT MAX(id) FROM Revision').pluck(),
      // Candidates for "the previous good revision": older, never rolled back, and either not
      // commit-confirmed or confirmed.
      candidates: db.prepare(`SELECT id, config, confirmWithin, confirmedAt, rolledBackAt FROM Revision
        WHERE id < ? AND rolledBackAt IS NULL AND (confirmWithin IS NULL OR confirmedAt IS NOT NULL)
        ORDER BY id DESC LIMIT 50`),
      markRolledBack: db.prepare('UPDATE Revision SET rolledBackAt = ? WHERE id = ? AND confirmedAt IS NULL'),
      insert: db.prepare(`INSERT INTO Revision (createdAt, author, source, summary, config, confirmWithin)
        VALUES (?, 'agent', 'rollback', ?, ?, NULL)`),
      audit: db.prepare('INSERT INTO AuditLog (ts, actor, action, detail) VALUES (?, ?, ?, ?)'),
    };
  }

  pending(): PendingConfirm | null {
    const r = this.st.pending.get() as { revision: number | null; deadline: number | null } | undefined;
    return r && r.revision !== null && r.deadline !== null ? { revision: r.revision, deadline: r.deadline } : null;
  }

  /** Called after the agent applied `revision` for the first time. Starts the confirmation window
   *  for commit-confirmed revisions; a later revision ends the window of an earlier one (a new
   *  commit-confirmed revision restarts it; the rollback target stays the last *good* revision). */
  onApplied(revision: number, now = Date.now()): void {
    const row = this.st.row.get(revision) as Row | undefined;
    const cur = this.pending();
    if (cur && cur.revision === revision) return; // already counting (e.g. after an agent restart)
    if (row && row.confirmWithin !== null && row.confirmedAt === null && row.rolledBackAt === null) {
      const deadline = now + row.confirmWithin * 1000;
      this.st.setPending.run(revision, deadline);
      this.note('confirm', 'config.confirm-pending', `revision ${revision} applied; it must be confirmed within ${row.confirmWithin}s (by ${new Date(deadline).toISOString()}) or the agent rolls back`);
      return;
    }
    if (cur) {
      this.st.setPending.run(null, null);
      const prev = this.st.row.get(cur.revision) as Row | undefined;
      if (prev && prev.confirmedAt === null) this.note('confirm', 'config.confirm-superseded', `revision ${revision} was applied while revision ${cur.revision} awaited confirmation; the confirmation window ended`);
    }
  }

  /** Check the pending confirmation; roll back when the deadline passed. */
  tick(now = Date.now()): ConfirmTick {
    const p = this.pending();
    if (!p) return { kind: 'idle' };
    const row = this.st.row.get(p.revision) as Row | undefined;
    if (!row || row.confirmedAt !== null) {
      this.st.setPending.run(null, null);
      if (row) this.note('confirm', 'config.confirmed', `revision ${p.revision} confirmed ${((row.confirmedAt! - (p.deadline - (row.confirmWithin ?? 0) * 1000)) / 1000).toFixed(1)}s after apply`);
      return { kind: 'confirmed', revision: p.revision };
    }
    if (now < p.deadline) return { kind: 'waiting', revision: p.revision, remainingMs: p.deadline - now };
    const latest = this.st.latestId.get() as number;
    return this.rollback(row, latest, now);
  }

  private rollback(row: Row, latest: number, now: number): ConfirmTick {
    const target = (this.st.candidates.all(row.id) as Row[]).find((c) => {
      try {
        return parseConfig(JSON.parse(c.config)).ok;
      } catch {
        return false;
      }
    });
    if (!target) {
      this.st.setPending.run(null, null);
      const reason = `revision ${row.id} was not confirmed in time but there is no earlier good revision to restore; keeping it`;
      this.note('rollback', 'config.rollback-failed', reason);
      return { kind: 'noTarget', revision: row.id, reason };
    }
    const parsed = parseConfig(JSON.parse(target.config));
    if (!parsed.ok) throw new Error('unreachable: target validated above');
    const failed = parseConfig(JSON.parse(row.config));
    const change = failed.ok ? summarizeChange(failed.value, parsed.value) : 'restores the previous configuration';
    const summary = `rollback: revision ${row.id} was not confirmed within ${row.confirmWithin}s; restores revision ${target.id} (${change})`.slice(0, 500);
    const id = this.db.transaction(() => {
      // A confirmation that raced with the deadline wins (the UPDATE only marks unconfirmed rows).
      const marked = this.st.markRolledBack.run(now, row.id).changes;
      if (marked === 0) return null;
      const r = this.st.insert.run(now, summary, JSON.stringify(parsed.value));
      this.st.setPending.run(null, null);
      this.st.audit.run(now, 'agent', 'config.rollback', summary);
      return Number(r.lastInsertRowid);
    }).immediate();
    if (id === null) return this.tick(now);
    this.note('rollback', '', `${summary}; stored as revision ${id}${latest !== row.id ? ` (newer revision ${latest} existed; the restore supersedes it)` : ''}`);
    return { kind: 'rolledBack', revision: row.id, restored: target.id, newRevision: id };
  }
}
