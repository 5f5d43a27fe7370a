// Audit log queries (issue 8): filter by actor/action/text/time; CSV/JSON export.
import { prisma } from '../db/prisma';

export interface AuditFilter {
  actor?: string;
  action?: string;
  q?: string;
  sinceMs?: number;
  limit?: number;
}

/** Parse a filter from URL search params (unknown/invalid values are ignored). */
export function auditFilterFrom(p: Record<string, string | string[] | undefined>): AuditFilter {
  const s = (k: string) => {
    const v = p[k];
    const x = Array.isArray(v) ? v[0] : v;
    return typeof x === 'string' && x.trim() !== '' ? x.trim().slice(0, 100) : undefined;
  };
  const hours = s('hours');
  return {
    actor: s('actor'),
    action: s('action'),
    q: s('q'),
    sinceMs: hours && /^[0-9]{1,5}$/.test(hours) ? Number(hours) * 3600_000 : undefined,
  };
}

export async function listAudit(f: AuditFilter = {}, now = Date.now()) {
  return prisma().auditLog.findMany({
    where: {
      ...(f.actor ? { actor: f.actor } : {}),
      ...(f.action ? { action: { startsWith: f.action } } : {}),
      ...(f.q ? { detail: { contains: f.q } } : {}),
      ...(f.sinceMs ? { ts: { gte: now - f.sinceMs } } : {}),
    },
    orderBy: { id: 'desc' },
    take: Math.min(Math.max(f.limit ?? 500, 1), 100000),
  });
}

export async function auditFacets(): Promise<{ actors: string[]; actions: string[] }> {
  const db = prisma();
  const [a, b] = await Promise.all([
    db.auditLog.findMany({ distinct: ['actor'], select: { actor: true }, orderBy: { actor: 'asc' }, take: 200 }),
    db.auditLog.findMany({ distinct: ['action'], select: { action: true }, orderBy: { action: 'asc' }, take: 200 }),
  ]);
  return { actors: a.map((x) => x.actor), actions: b.map((x) => x.action) };
}

const csvCell = (v: string) => {
  // Quote always; neutralize spreadsheet formulas (=, +, -, @ at the start).
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return `"${safe.replace(/"/g, '""')}"`;
};

export function auditCsv(rows: { id: number; ts: number; actor: string; action: string; detail: string }[]): string {
  const lines = ['id,time,actor,action,detail'];
  for (const r of rows) lines.push([String(r.id), new Date(r.ts).toISOString(), r.actor, r.action, r.detail].map(csvCell).join(','));
  return lines.join('\r\n') + '\r\n';
}
