// Issue 8 read/write helpers shared by the CLI and the dashboard: commit-confirmed state and
// confirmation, history, restore. Writes of desired state still go through saveConfig only.
import { prisma } from '../db/prisma';
import { readRevision, storeAgain, type SaveResult } from './revisions';
import { summarizeChange } from '../config/summary';

export interface PendingView {
  revision: number;
  /** Epoch ms; null while the agent has not applied the revision yet. */
  deadline: number | null;
  confirmWithin: number;
  applied: boolean;
}

/** The revision that awaits confirmation: the one the agent is counting down for, or the newest
 *  revision if it was stored with confirmWithin and the agent has not applied it yet. */
export async function pendingConfirmation(): Promise<PendingView | null> {
  const db = prisma();
  const st = await db.agentState.findUnique({ where: { id: 1 } });
  if (st?.pendingConfirm != null && st.confirmDeadline != null) {
    const r = await db.revision.findUnique({ where: { id: st.pendingConfirm } });
    if (r && r.confirmedAt === null && r.rolledBackAt === null) {
      return { revision: r.id, deadline: st.confirmDeadline, confirmWithin: r.confirmWithin ?? 0, applied: true };
    }
  }
  const latest = await db.revision.findFirst({ orderBy: { id: 'desc' } });
  if (latest && latest.confirmWithin !== null && latest.confirmedAt === null && latest.rolledBackAt === null) {
    return { revision: latest.id, deadline: null, confirmWithin: latest.confirmWithin, applied: st?.appliedRevision === latest.id };
  }
  return null;
}

export type ConfirmResult = { ok: true; revision: number; remainingMs: number | null } | { ok: false; reason: string };

/** Confirm the pending commit-confirmed revision (sets Revision.confirmedAt). Never confirms a
 *  revision the agent already rolled back. */
export async function confirmPending(actor: string, revision?: number): Promise<ConfirmResult> {
  const p = await pendingConfirmation();
  if (!p) return { ok: false, reason: 'nothing awaits confirmation' };
  if (revision !== undefined && revision !== p.revision) return { ok: false, reason: `revision ${revision} does not await confirmation (revision ${p.revision} does)` };
  const now = Date.now();
  const db = prisma();
  const n = await db.revision.updateMany({ where: { id: p.revision, confirmedAt: null, rolledBackAt: null }, data: { confirmedAt: now } });
  if (n.count === 0) return { ok: false, reason: `revision ${p.revision} was rolled back or confirmed meanwhile` };
  await db.auditLog.create({ data: { ts: now, actor, action: 'config.confirm', detail: `confirmed revision ${p.revision}` } });
  return { ok: true, revision: p.revision, remainingMs: p.deadline === null ? null : p.deadline - now };
}

export interface HistoryRow {
  id: number;
  createdAt: number;
  author: string;
  source: string;
  summary: string;
  confirmWithin: number | null;
  confirmedAt: number | null;
  rolledBackAt: number | null;
  applied: boolean;
}

export async function history(limit = 200): Promise<HistoryRow[]> {
  const db = prisma();
  const [rows, st] = await Promise.all([
    db.revision.findMany({
      orderBy: { id: 'desc' },
      take: limit,
      select: { id: true, createdAt: true, author: true, source: true, summary: true, confirmWithin: true, confirmedAt: true, rolledBackAt: true },
    }),
    db.agentState.findUnique({ where: { id: 1 } }),
  ]);
  return rows.map((r) => ({ ...r, applied: st?.appliedRevision === r.id }));
}

/** Store an old revision's configuration as a new revision (source 'restore'), through the one
 *  write path (validation, anti-lockout, audit, and the stale-base check when `baseRevision` is
 *  given; without it the summary is made against the latest revision inside the transaction). */
export async function restoreRevision(id: number, author: string, opts: { confirmWithin?: number; baseRevision?: number | null } = {}): Promise<SaveResult> {
  const r = await readRevision(id); // revisions are immutable: no need to read it in the transaction
  if (!r) return { ok: false, errors: [`revision ${id} does not exist`], fieldErrors: {} };
  if (!r.ok) return { ok: false, errors: [`revision ${id} no longer validates with this version: ${r.errors.slice(0, 3).join('; ')}`], fieldErrors: {} };
  const old = r.revision;
  return storeAgain(
    old.config,
    { author, source: 'restore', confirmWithin: opts.confirmWithin, baseRevision: opts.baseRevision },
    (prev, next) => `restores revision ${id}: ${summarizeChange(prev, next)}`.slice(0, 500),
  );
}

/** The revision the agent reports applied (null: none yet). */
export async function appliedRevision(): Promise<number | null> {
  const st = await prisma().agentState.findUnique({ where: { id: 1 }, select: { appliedRevision: true } });
  return st?.appliedRevision ?? null;
}

/** The agent's last observed facts (for compiling two revisions the same way). */
export async function lastFacts(): Promise<unknown> {
  const st = await prisma().agentState.findUnique({ where: { id: 1 } });
  try {
    return JSON.parse(st?.facts ?? '{}');
  } catch {
    return {};
  }
}
