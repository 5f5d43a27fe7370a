'use server';
// Server actions of the address-list editor (/address-lists): save one list (new, replaced,
// appended to, renamed) and delete one. The text is split into entries (lib/web/lists.ts); the
// whole configuration is then validated by the store's one write path with the shared schema, so
// a bad entry is refused here exactly as in an import or the CLI, and reported by line.
import { redirect } from 'next/navigation';
import { validatedAction, revalidateAll } from './validated';
import { listFormSchema, listDeleteSchema } from './schemas';
import type { FormState } from '../forms';
import { updateConfig, ChangeRefused } from '../../store/revisions';
import { applyListEdit, deleteList as dropList, listErrors, parseEntriesText, ListRefused } from '../lists';

/** Echo the pasted text back after a refusal up to this size (an upload cannot be echoed). */
const ECHO_MAX = 512 * 1024;

export const saveList = validatedAction(listFormSchema, async (data, { user, seq }): Promise<FormState> => {
  const fromFile = data.file && data.file.size > 0 ? await data.file.text() : '';
  const text = [data.text ?? '', fromFile].filter(Boolean).join('\n');
  const entries = parseEntriesText(text);
  const values = { name: data.name, mode: data.mode, ...(data.text && data.text.length <= ECHO_MAX ? { text: data.text } : {}) };
  let index = -1;
  const res = await updateConfig((c) => {
    try {
      const next = applyListEdit(c, { original: data.original, name: data.name, entries, mode: data.mode });
      index = next.addressLists.findIndex((l) => l.name === data.name);
      return next;
    } catch (e) {
      if (e instanceof ListRefused) throw new ChangeRefused(e.message);
      throw e;
    }
  }, { author: user.username, source: 'ui', baseRevision: data.baseRevision });
  if (!res.ok) {
    if (res.conflict) revalidateAll();
    const errs = listErrors(res.errors, index, entries);
    return { ok: false, seq, values, message: `Not saved: ${res.conflict ? res.errors[0] : `${res.errors.length} problem(s)`}.`, formErrors: res.conflict ? [] : errs };
  }
  revalidateAll();
  redirect(`/address-lists?list=${encodeURIComponent(data.name)}&saved=${res.revision}`);
});

export const removeList = validatedAction(listDeleteSchema, async ({ name, baseRevision }, { user, seq }): Promise<FormState> => {
  const res = await updateConfig((c) => {
    try {
      return dropList(c, name);
    } catch (e) {
      if (e instanceof ListRefused) throw new ChangeRefused(e.message);
      throw e;
    }
  }, { author: user.username, source: 'ui', baseRevision });
  if (!res.ok) return { ok: false, seq, message: `Not deleted: ${res.errors[0]}.` };
  revalidateAll();
  redirect(`/address-lists?saved=${res.revision}`);
});
