// The one write path for desired state: the dashboard's server actions, `linkward import`,
// `linkward uplink ...` and restores all end in commit() below. It validates with the shared
// schema and stores nothing when validation fails.
//
// Lost updates: every write reads the latest revision, compares it with the revision the change
// was based on, and writes the next one inside ONE write transaction (BEGIN IMMEDIATE, see
// writeTransaction). A caller that showed the user a revision (a dashboard form) passes it as
// `baseRevision` and is refused — nothing stored — when another revision was stored since. A
// caller without a base (the CLI) applies its change to whatever is latest inside the transaction.
import { prisma } from '../db/prisma';
import { writeTransaction, type DB } from '../db/sqlite';
import { parseConfig, type Config } from '../validations/config';
import { summarizeChange } from '../config/summary';
import { lanRemovalIssue } from '../validations/lockout';
import { storeSecrets } from './secrets';

export interface StoredRevision {
  id: number;
  createdAt: number;
  author: string;
  source: string;
  summary: string;
  config: Config;
  confirmWithin: number | null;
}

/** The change was based on revision `base` (null: on "nothing stored yet"), but `latest` is newer. */
export interface Conflict {
  base: number | null;
  latest: number | null;
}

export type SaveResult =
  | { ok: true; revision: number; changed: boolean; summary: string }
  | { ok: false; errors: string[]; fieldErrors: Record<string, string[]>; conflict?: Conflict };

export interface SaveOptions {
  author: string;
  source: 'ui' | 'cli' | 'toggle' | 'restore' | 'rollback' | 'import';
  summary?: string;
  /** Commit-confirmed window in seconds (issue: safe changes). */
  confirmWithin?: number;
  /**
   * The revision this change is based on (what the user saw; null = no revision stored yet).
   * The write is refused with a "changed meanwhile" error, nothing stored, unless it is still
   * the latest. Omitted: based on the latest revision, read inside the write transaction.
   */
  baseRevision?: number | null;
}

/** Thrown by an updateConfig() mutation to refuse the change (nothing is stored). */
export class ChangeRefused extends Error {
  constructor(message: string, readonly fieldErrors: Record<string, string[]> = {}) {
    super(message);
    this.name = 'ChangeRefused';
  }
}

/** Canonical JSON for a normalized config (key order fixed by the schema's parse). */
export function configJson(c: Config): string {
  return JSON.stringify(c);
}

/** The document `linkward export` prints (it imports back as-is: the property tests round-trip
 *  every generated document through it). */
export function exportJson(c: Config): string {
  return JSON.stringify(c, null, 2) + '\n';
}

interface RevisionRow {
  id: number;
  createdAt: number;
  author: string;
  source: string;
  summary: string;
  config: string;
  confirmWithin: number | null;
}

/** A stored revision that no longer validates (e.g. the schema was tightened by an upgrade). */
export interface InvalidRevision {
  id: number;
  errors: string[];
}

export class RevisionInvalid extends Error {
  constructor(readonly id: number, readonly errors: string[]) {
    super(`stored revision ${id} no longer validates: ${errors.slice(0, 5).join('; ')}`);
    this.name = 'RevisionInvalid';
  }
}

function tryDecode<R extends { id: number; config: string }>(row: R): { ok: true; rev: Omit<R, 'config'> & { config: Config } } | { ok: false; invalid: InvalidRevision } {
  let doc: unknown;
  try {
    doc = JSON.parse(row.config);
  } catch (e) {
    return { ok: false, invalid: { id: row.id, errors: [`(document): not valid JSON: ${(e as Error).message}`] } };
  }
  const parsed = parseConfig(doc);
  if (!parsed.ok) return { ok: false, invalid: { id: row.id, errors: parsed.errors } };
  return { ok: true, rev: { ...row, config: parsed.value } };
}

function decode<R extends { id: number; config: string }>(row: R): Omit<R, 'config'> & { config: Config } {
  const d = tryDecode(row);
  if (!d.ok) throw new RevisionInvalid(d.invalid.id, d.invalid.errors);
  return d.rev;
}

/** How many of the newest revisions are tried when looking for the newest one that validates. */
export const VALID_SCAN = 20;

/**
 * The desired state as the dashboard and every write see it: the newest revision that still
 * validates (`revision`), and the newer ones that do not (`invalid`, newest first; e.g. stored by
 * an older version whose schema was looser). Changes are based on `revision`; an import or a
 * restore replaces the whole document. `revision` is null when nothing is stored, or when none of
 * the newest VALID_SCAN revisions validates (then only an import or a restore can store a change).
 */
export interface DesiredState {
  revision: StoredRevision | null;
  invalid: InvalidRevision[];
  /** Id of the newest stored revision (valid or not). */
  newest: number | null;
}

function desiredFrom(rows: RevisionRow[]): DesiredState {
  const invalid: InvalidRevision[] = [];
  for (const row of rows) {
    const d = tryDecode(row);
    if (d.ok) return { revision: d.rev, invalid, newest: rows[0].id };
    invalid.push(d.invalid);
  }
  return { revision: null, invalid, newest: rows[0]?.id ?? null };
}

const NEWEST_SQL = `SELECT id, createdAt, author, source, summary, config, confirmWithin FROM Revision ORDER BY id DESC LIMIT ${VALID_SCAN}`;

export async function desiredState(): Promise<DesiredState> {
  const rows = await prisma().revision.findMany({
    orderBy: { id: 'desc' },
    take: VALID_SCAN,
    select: { id: true, createdAt: true, author: true, source: true, summary: true, config: true, confirmWithin: true },
  });
  return desiredFrom(rows);
}

/** The newest revision that validates (see desiredState). */
export async function latestRevision(): Promise<StoredRevision | null> {
  return (await desiredState()).revision;
}

/** Revision `id`; throws RevisionInvalid when it no longer validates. */
export async function getRevision(id: number): Promise<StoredRevision | null> {
  const row = await prisma().revision.findUnique({ where: { id } });
  return row ? decode(row) : null;
}

export type ReadRevision =
  | { ok: true; revision: StoredRevision }
  | { ok: false; id: number; errors: string[]; text: string; createdAt: number; author: string; source: string; summary: string; confirmWithin: number | null };

/** Revision `id`, or why it no longer validates (with its stored text); null when it does not exist. */
export async function readRevision(id: number): Promise<ReadRevision | null> {
  const row = await prisma().revision.findUnique({ where: { id } });
  if (!row) return null;
  const d = tryDecode(row);
  if (d.ok) return { ok: true, revision: d.rev };
  const { config: text, createdAt, author, source, summary, confirmWithin } = row;
  return { ok: false, id, errors: d.invalid.errors, text, createdAt, author, source, summary, confirmWithin };
}

/** The empty configuration (defaults only) that a first change starts from. */
export function emptyConfig(): Config {
  const p = parseConfig({ version: 1 });
  if (!p.ok) throw new Error(`the empty configuration is invalid: ${p.errors.join('; ')}`);
  return p.value;
}

export function staleMessage(c: Conflict, latest?: { author: string; source: string; summary: string }): string {
  const who = latest ? ` (${latest.source}, ${latest.author}: ${latest.summary})` : '';
  const base = c.base === null ? 'the empty configuration' : `revision ${c.base}`;
  if (c.latest === null) return `changed meanwhile: this change is based on ${base}, but no revision is stored; nothing stored, review again`;
  return `changed meanwhile: revision ${c.latest}${who} was stored after ${base} that this change is based on; nothing stored, review again`;
}

type Build = (prev: StoredRevision | null) => unknown;

/** Read latest → compare with the base → build, validate, check → insert revision + audit row,
 *  all in one write transaction (synchronous inside, so nothing can interleave). */
interface CommitHow {
  /** Summary from the previous and the next config (default summarizeChange). */
  summarize?: (prev: Config | null, next: Config) => string;
  /** `build` returns an already validated, normalized Config (skip the second parse). */
  validated?: boolean;
  /** The change replaces the whole document (import, restore): it needs no valid base. */
  replaces?: boolean;
}

/** What the dashboard and the CLI say about revisions that no longer validate ('' if none). */
export function invalidMessage(state: DesiredState): string {
  const first = state.invalid[0];
  if (!first) return '';
  const errs = first.errors.slice(0, 3).join('; ');
  const ids = state.invalid.map((r) => r.id).join(', ');
  const which = state.invalid.length === 1 ? `revision ${ids} no longer validates` : `revisions ${ids} no longer validate`;
  if (state.revision) {
    return `${which} with this version (${errs}): the dashboard shows and changes revision ${state.revision.id}, the newest valid one; to keep the newer changes, fix and import them`;
  }
  return `${which} with this version (${errs}): nothing stored; import a corrected configuration or restore a valid revision`;
}

function commit(build: Build, opts: SaveOptions, how: CommitHow = {}): Promise<SaveResult> {
  return writeTransaction((db: DB): SaveResult => {
    // Based on the newest revision that validates: one that no longer does (schema tightened by
    // an upgrade) must not block every later save.
    const state = desiredFrom(db.prepare(NEWEST_SQL).all() as RevisionRow[]);
    const prev = state.revision;
    if (!prev && state.invalid.length && !how.replaces) {
      return { ok: false, errors: [invalidMessage(state)], fieldErrors: {} };
    }
    if (opts.baseRevision !== undefined && (prev?.id ?? null) !== opts.baseRevision) {
      const conflict: Conflict = { base: opts.baseRevision, latest: prev?.id ?? null };
      return { ok: false, errors: [staleMessage(conflict, prev ?? undefined)], fieldErrors: {}, conflict };
    }
    let doc: unknown;
    try {
      doc = build(prev);
    } catch (e) {
      if (e instanceof ChangeRefused) return { ok: false, errors: [e.message], fieldErrors: e.fieldErrors };
      throw e;
    }
    const parsed = how.validated ? { ok: true as const, value: structuredClone(doc as Config) } : parseConfig(doc);
    if (!parsed.ok) return parsed;
    // Write-only secrets: clear values go to the Secret table, the revision keeps references.
    const secretIssues = storeSecrets(db, prev?.config ?? null, parsed.value);
    if (secretIssues.length) {
      return { ok: false, errors: secretIssues.map((i) => `${i.path}: ${i.message}`), fieldErrors: Object.fromEntries(secretIssues.map((i) => [i.path, [i.message]])) };
    }
    const lockout = lanRemovalIssue(prev?.config ?? null, parsed.value);
    if (lockout) return { ok: false, errors: [lockout], fieldErrors: { lan: [lockout.slice('lan: '.length)] } };
    const json = configJson(parsed.value);
    if (prev && configJson(prev.config) === json && opts.confirmWithin === undefined) {
      return { ok: true, revision: prev.id, changed: false, summary: 'no change' };
    }
    const summary = opts.summary ?? (how.summarize ?? summarizeChange)(prev?.config ?? null, parsed.value);
    const now = Date.now();
    const id = Number(
      db
        .prepare('INSERT INTO Revision (createdAt, author, source, summary, config, confirmWithin) VALUES (?, ?, ?, ?, ?, ?)')
        .run(now, opts.author, opts.source, summary, json, opts.confirmWithin ?? null).lastInsertRowid,
    );
    db.prepare("INSERT INTO AuditLog (ts, actor, action, detail) VALUES (?, ?, 'config.save', ?)").run(now, opts.author, `revision ${id} (${opts.source}): ${summary}`);
    return { ok: true, revision: id, changed: true, summary };
  });
}

/** Validate `doc` and store it as the new desired revision. Identical content stores nothing. */
export async function saveConfig(doc: unknown, opts: SaveOptions): Promise<SaveResult> {
  // Validation errors need no transaction (and must not wait for another writer).
  const parsed = parseConfig(doc);
  if (!parsed.ok) return parsed;
  return commit(() => parsed.value, opts, { validated: true, replaces: true });
}

/** Apply a change function to the desired config (the base revision's, which must still be the
 *  latest; or the latest one) and save the result. `mutate` runs inside the write transaction:
 *  it must be synchronous; it may throw ChangeRefused. */
export async function updateConfig(mutate: (c: Config) => unknown, opts: SaveOptions): Promise<SaveResult> {
  return commit((prev) => mutate(structuredClone(prev?.config ?? emptyConfig())), opts);
}

/** Store `config` (an old revision's) again as a new revision, summarized against what it replaces. */
export async function storeAgain(config: Config, opts: SaveOptions, summarize: (prev: Config | null, next: Config) => string): Promise<SaveResult> {
  return commit(() => config, opts, { summarize, validated: true, replaces: true });
}

export async function listRevisions(limit = 50) {
  return prisma().revision.findMany({
    orderBy: { id: 'desc' },
    take: limit,
    select: { id: true, createdAt: true, author: true, source: true, summary: true, confirmWithin: true, confirmedAt: true, rolledBackAt: true },
  });
}
