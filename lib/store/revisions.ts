// The one write path for desired state: the dashboard's server actions, `linkward import`,
// `linkward uplink ...` and restores all call saveConfig(). It validates with the shared schema
// and stores nothing when validation fails.
import { prisma } from '../db/prisma';
import { parseConfig, type Config } from '../validations/config';
import { summarizeChange } from '../config/summary';
import { lanRemovalIssue } from '../validations/lockout';

export interface StoredRevision {
  id: number;
  createdAt: number;
  author: string;
  source: string;
  summary: string;
  config: Config;
  confirmWithin: number | null;
}

export type SaveResult =
  | { ok: true; revision: number; changed: boolean; summary: string }
  | { ok: false; errors: string[]; fieldErrors: Record<string, string[]> };

export interface SaveOptions {
  author: string;
  source: 'ui' | 'cli' | 'toggle' | 'restore' | 'rollback' | 'import';
  summary?: string;
  /** Commit-confirmed window in seconds (issue: safe changes). */
  confirmWithin?: number;
}

/** Canonical JSON for a normalized config (key order fixed by the schema's parse). */
export function configJson(c: Config): string {
  return JSON.stringify(c);
}

export async function latestRevision(): Promise<StoredRevision | null> {
  const row = await prisma().revision.findFirst({ orderBy: { id: 'desc' } });
  if (!row) return null;
  const parsed = parseConfig(JSON.parse(row.config));
  if (!parsed.ok) throw new Error(`stored revision ${row.id} is invalid: ${parsed.errors.join('; ')}`);
  return { ...row, config: parsed.value };
}

export async function getRevision(id: number): Promise<StoredRevision | null> {
  const row = await prisma().revision.findUnique({ where: { id } });
  if (!row) return null;
  const parsed = parseConfig(JSON.parse(row.config));
  if (!parsed.ok) throw new Error(`stored revision ${row.id} is invalid: ${parsed.errors.join('; ')}`);
  return { ...row, config: parsed.value };
}

/** Validate `doc` and store it as the new desired revision. Identical content stores nothing. */
export async function saveConfig(doc: unknown, opts: SaveOptions): Promise<SaveResult> {
  const parsed = parseConfig(doc);
  if (!parsed.ok) return parsed;
  const db = prisma();
  const prev = await latestRevision();
  const lockout = lanRemovalIssue(prev?.config ?? null, parsed.value);
  if (lockout) return { ok: false, errors: [lockout], fieldErrors: { lan: [lockout.slice('lan: '.length)] } };
  const json = configJson(parsed.value);
  if (prev && configJson(prev.config) === json && opts.confirmWithin === undefined) {
    return { ok: true, revision: prev.id, changed: false, summary: 'no change' };
  }
  const summary = opts.summary ?? summarizeChange(prev?.config ?? null, parsed.value);
  const now = Date.now();
  const row = await db.$transaction(async (tx) => {
    const r = await tx.revision.create({
      data: {
        createdAt: now,
        author: opts.author,
        source: opts.source,
        summary,
        config: json,
        confirmWithin: opts.confirmWithin ?? null,
      },
    });
    await tx.auditLog.create({ data: { ts: now, actor: opts.author, action: 'config.save', detail: `revision ${r.id} (${opts.source}): ${summary}` } });
    return r;
  });
  return { ok: true, revision: row.id, changed: true, summary };
}

/** Apply a change function to the current desired config and save the result. */
export async function updateConfig(
  mutate: (c: Config) => Config | unknown,
  opts: SaveOptions,
): Promise<SaveResult> {
  const prev = await latestRevision();
  const base: Config = prev?.config ?? (parseConfig({ version: 1 }) as { ok: true; value: Config }).value;
  const next = mutate(structuredClone(base));
  return saveConfig(next, opts);
}

export async function listRevisions(limit = 50) {
  return prisma().revision.findMany({
    orderBy: { id: 'desc' },
    take: limit,
    select: { id: true, createdAt: true, author: true, source: true, summary: true, confirmWithin: true, confirmedAt: true, rolledBackAt: true },
  });
}
