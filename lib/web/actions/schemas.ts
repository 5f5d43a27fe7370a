// The zod schemas of what the dashboard's forms send besides the configuration fields themselves
// (which go through lib/web/forms.ts / settings.ts into the shared config schema): which item,
// which revision the page showed, which operation. Pure; unit-tested (test/unit/web-actions.test.ts).
import { z } from 'zod';
import { nameSchema } from '../../validations/config';
import { SECTION_KEYS } from '../sections';
import { MAX_USERNAME_INPUT, MAX_PASSWORD_LENGTH } from '../../auth/password';

export const MAX_IMPORT_BYTES = 8 * 1024 * 1024;

const revisionNumber = z.string().regex(/^[1-9][0-9]{0,9}$/, 'must be a revision number').transform(Number);

/** Hidden field on every form that changes the configuration: the revision the page rendered
 *  ("0" = none stored yet). The store refuses the write when it is no longer the latest. */
export const baseRevisionField = z
  .string({ error: 'missing (reload the page)' })
  .regex(/^(0|[1-9][0-9]{0,9})$/, 'must be a revision number')
  .transform((s) => (s === '0' ? null : Number(s)));

export const sectionField = z.enum(SECTION_KEYS, { error: 'unknown section' });

/** An item form: which section, which item it edits ("" = a new one), based on which revision. */
export const itemFormSchema = z.object({
  section: sectionField,
  original: z.union([z.literal(''), nameSchema]).optional().transform((v) => v || null),
  baseRevision: baseRevisionField,
});

/** A row action on one item (delete), based on the revision the page showed. */
export const itemRefSchema = z.object({ section: sectionField, name: nameSchema, baseRevision: baseRevisionField });

/** Enable/disable flips one item on the latest revision, without a base revision: it cannot revert
 *  anything else (the flip is applied inside the write transaction), and a replayed request flips
 *  again (pinned by test/e2e/dashboard.test.ts "legit replay toggles"). */
/** Enable/disable sets the state the button showed the opposite of (not a blind flip), on the revision the page showed. */
export const toggleSchema = z.object({ section: sectionField, name: nameSchema, enabled: z.enum(['true', 'false']).transform((v) => v === 'true'), baseRevision: baseRevisionField });

export const moveRuleSchema = z.object({ name: nameSchema, dir: z.enum(['up', 'down']), baseRevision: baseRevisionField });

export const UPLINK_OPS = ['enable', 'disable', 'drain', 'undrain'] as const;
export type UplinkOp = (typeof UPLINK_OPS)[number];
export const uplinkOpSchema = z.object({ name: nameSchema, op: z.enum(UPLINK_OPS), baseRevision: baseRevisionField });

/** The settings form (its fields are parsed by parseSettings and validated by the config schema). */
export const settingsFormSchema = z.object({ baseRevision: baseRevisionField });

/** Import: a pasted document and/or an uploaded file (an empty file = none chosen). */
export const importFormSchema = z.object({
  baseRevision: baseRevisionField,
  json: z.string().max(MAX_IMPORT_BYTES, 'too large (max 8 MiB)').optional(),
  // Any Blob (a File from the multipart body; browsers send an empty one when none was chosen).
  file: z.instanceof(Blob).refine((b) => b.size <= MAX_IMPORT_BYTES, 'file too large (max 8 MiB)').optional(),
});

export const restoreSchema = z.object({ id: revisionNumber, baseRevision: baseRevisionField });
/** Restore a backup file (linkward backup / Download backup) from the dashboard: the database only. */
export const restoreBackupFormSchema = z.object({
  file: z.instanceof(Blob, { message: 'choose a backup file' }).refine((b) => b.size > 0, 'choose a backup file').refine((b) => b.size <= MAX_IMPORT_BYTES, 'file too large (max 8 MiB): use sudo linkward restore FILE on the router'),
  confirm: z.string().refine((s) => s.trim() === 'RESTORE', 'type RESTORE to confirm'),
});
export const confirmSchema = z.object({ revision: revisionNumber, auto: z.literal('1').optional() });

export const labRequestSchema = z.object({ uplink: nameSchema, type: z.enum(['lab.break', 'lab.restore']) });
/** The address itself is checked by requestUnban (IPv4). */
export const unbanSchema = z.object({ address: z.string().min(1).max(64) });

/** Sizes first: nothing else is done with an oversized field (no trim, no lookup, no hash). */
const bounded = (max: number) => z.string().max(max, `at most ${max} characters`).optional().transform((v) => v ?? '');
const username = bounded(MAX_USERNAME_INPUT).transform((v) => v.trim().toLowerCase());
const password = bounded(MAX_PASSWORD_LENGTH);
export const loginSchema = z.object({ username, password });
export const setupSchema = z.object({ username, password, confirm: password, token: bounded(200).transform((v) => v.trim()) });
export const noInput = z.object({});

/** Address-list editor: which list (original, "" = new), its name, the entries as text (pasted)
 *  and/or a file, replace or append. The entries themselves are validated by the config schema. */
export const listFormSchema = z.object({
  baseRevision: baseRevisionField,
  original: z.union([z.literal(''), nameSchema]).optional().transform((v) => v || null),
  name: nameSchema,
  mode: z.enum(['replace', 'append']).default('replace'),
  text: z.string().max(MAX_IMPORT_BYTES, 'too large (max 8 MiB)').optional(),
  file: z.instanceof(Blob).refine((b) => b.size <= MAX_IMPORT_BYTES, 'file too large (max 8 MiB)').optional(),
});
export const listDeleteSchema = z.object({ baseRevision: baseRevisionField, name: nameSchema });
