'use server';
// Server actions of the settings page: firewall/sysctl settings, import of a whole document, and
// the review (preview) of both. Writes go through the store's one write path with the page's base
// revision: a stale save is refused ("changed meanwhile") and the form keeps what was typed.
import { validatedAction, revalidateAll } from './validated';
import { settingsFormSchema, importFormSchema, restoreBackupFormSchema } from './schemas';
import { restoreBackupUpload } from '../queries';
import { parseSettings, settingsFieldErrors, settingsFormValues, parseImportText } from '../settings';
import type { FormState, FormValues } from '../forms';
import { confirmWithinFrom, reviewChange, reviewState, staleReview, type ReviewState } from '../review';
import { updateConfig, saveConfig, latestRevision, emptyConfig } from '../../store/revisions';
import { rememberAutoConfirm } from '../autoconfirm';

/** Pasted text is echoed back after a refused import (up to this size; an uploaded file cannot be). */
const ECHO_MAX = 256 * 1024;

export const saveSettings = validatedAction(settingsFormSchema, async ({ baseRevision }, { user, fd, seq }): Promise<FormState> => {
  const values = settingsFormValues(fd);
  const res = await updateConfig((c) => ({ ...c, ...parseSettings(fd, c) }), {
    author: user.username,
    source: 'ui',
    confirmWithin: confirmWithinFrom(fd),
    baseRevision,
  });
  if (!res.ok) {
    if (res.conflict) {
      revalidateAll(); // the page (and the form's base revision) now shows the latest revision
      return { ok: false, seq, values, message: `Not saved: ${res.errors[0]}.` };
    }
    const { fieldErrors, formErrors } = settingsFieldErrors(res.fieldErrors);
    return { ok: false, seq, values, fieldErrors, formErrors, message: 'Not saved: fix the highlighted fields.' };
  }
  await rememberAutoConfirm(fd, res);
  revalidateAll();
  return { ok: true, seq, message: res.changed ? `Saved as revision ${res.revision}.` : 'No change.' };
});

/** The document of an import form: the uploaded file if one was chosen, else the pasted text. */
async function importText(data: { json?: string; file?: Blob }): Promise<string> {
  return data.file && data.file.size > 0 ? data.file.text() : (data.json ?? '');
}

export const importConfig = validatedAction(importFormSchema, async (data, { user, fd, seq }): Promise<FormState> => {
  const values: FormValues | undefined = data.json && data.json.length <= ECHO_MAX ? { json: data.json } : undefined;
  const parsed = parseImportText(await importText(data));
  if (!parsed.ok) return { ok: false, seq, values, message: 'Nothing imported.', formErrors: [parsed.error] };
  const res = await saveConfig(parsed.doc, { author: user.username, source: 'import', confirmWithin: confirmWithinFrom(fd), baseRevision: data.baseRevision });
  if (!res.ok) {
    if (res.conflict) {
      revalidateAll();
      return { ok: false, seq, values, message: `Nothing imported: ${res.errors[0]}.` };
    }
    return { ok: false, seq, values, message: `Nothing imported: ${res.errors.length} problem(s).`, formErrors: res.errors.slice(0, 200) };
  }
  await rememberAutoConfirm(fd, res);
  revalidateAll();
  return { ok: true, seq, message: res.changed ? `Imported as revision ${res.revision}: ${res.summary}` : 'Identical to the current configuration; nothing stored.' };
});

export const reviewSettings = validatedAction(settingsFormSchema, async ({ baseRevision }, { fd, seq }): Promise<ReviewState> => {
  const cur = await latestRevision();
  if ((cur?.id ?? null) !== baseRevision) {
    revalidateAll();
    return staleReview(cur?.id ?? null, baseRevision, seq);
  }
  const c = cur?.config ?? emptyConfig();
  return reviewState(await reviewChange({ ...c, ...parseSettings(fd, c) }, cur?.config ?? null), seq);
});

export const reviewImport = validatedAction(importFormSchema, async (data, { seq }): Promise<ReviewState> => {
  const cur = await latestRevision();
  if ((cur?.id ?? null) !== data.baseRevision) {
    revalidateAll();
    return staleReview(cur?.id ?? null, data.baseRevision, seq);
  }
  const parsed = parseImportText(await importText(data));
  if (!parsed.ok) return reviewState({ ok: false, errors: [parsed.error] }, seq);
  return reviewState(await reviewChange(parsed.doc, cur?.config ?? null), seq);
});

/** Restore a backup file: the database (revisions, history, accounts, audit) is replaced online;
 *  the agent applies the restored desired revision. The configuration files are left alone (the
 *  dashboard runs unprivileged): the message says which were in the backup. Sessions are those of
 *  the backup, so this browser usually has to sign in again. */
export const restoreBackupAction = validatedAction(restoreBackupFormSchema, async ({ file }, { user, seq }): Promise<FormState> => {
  let r: Awaited<ReturnType<typeof restoreBackupUpload>>;
  try {
    r = await restoreBackupUpload(user.username, Buffer.from(await file.arrayBuffer()));
  } catch (e) {
    return { ok: false, seq, message: 'Nothing restored.', fieldErrors: { file: [(e as Error).message] } };
  }
  revalidateAll();
  const files = r.skippedFiles.length ? ` The backup also holds ${r.skippedFiles.join(', ')}: restore those on the router with sudo linkward restore FILE.` : '';
  return { ok: true, seq, message: `Restored: revision ${r.latestRevision ?? 'none'} is the desired configuration${r.migrationsApplied.length ? ` (migrated ${r.migrationsApplied.join(', ')})` : ''}. Accounts and sessions are those of the backup: sign in again if asked.${files}` };
});
