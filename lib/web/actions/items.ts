'use server';
// Server actions on the items of the editable sections (uplinks, LAN, services, port forwards,
// policies, rules): save (add/edit), delete, enable/disable, reorder rules, uplink operations, and
// the review (preview) of an item form. Each one: validatedAction (session + schema) → the next
// config built on the latest revision inside the store's write transaction, refused when the
// page's base revision is stale → field errors back to the form, or revalidate (+ redirect).
import { redirect } from 'next/navigation';
import { validatedAction, revalidateAll } from './validated';
import { itemFormSchema, itemRefSchema, toggleSchema, moveRuleSchema, uplinkOpSchema } from './schemas';
import { SECTIONS, sectionItems, type SectionKey } from '../sections';
import { parseItem, formValues, mapFieldErrors, type FormState, type FormLike } from '../forms';
import { confirmWithinFrom, reviewChange, reviewState, staleReview, type ReviewState } from '../review';
import { rememberAutoConfirm } from '../autoconfirm';
import { updateConfig, latestRevision, emptyConfig, ChangeRefused, type SaveResult } from '../../store/revisions';
import type { Config } from '../../validations/config';

/** `config` with `section`'s item `original` (or a new one) replaced by the form's values, and the
 *  item's index (for mapping schema errors to fields); null when `original` no longer exists. */
function withItem(config: Config, section: SectionKey, original: string | null, fd: FormLike): { next: unknown; index: number } | null {
  const items = sectionItems(config, section);
  const index = original ? items.findIndex((x) => x.name === original) : -1;
  if (original && index < 0) return null;
  const item = parseItem(SECTIONS[section], fd, index >= 0 ? items[index] : undefined);
  const list: unknown[] = index >= 0 ? items.map((x, i) => (i === index ? item : x)) : [...items, item];
  return { next: { ...config, [section]: list }, index: index >= 0 ? index : items.length };
}

const gone = (section: SectionKey, original: string | null) => `${SECTIONS[section].singular} "${original}" no longer exists (changed elsewhere?)`;

const errorQuery = (res: Extract<SaveResult, { ok: false }>) => `error=${encodeURIComponent(res.errors.slice(0, 3).join('; '))}`;

export const saveItem = validatedAction(itemFormSchema, async ({ section, original, baseRevision }, { user, fd, seq }): Promise<FormState> => {
  const spec = SECTIONS[section];
  const values = formValues(spec, fd);
  let index = -1;
  const res = await updateConfig(
    (c) => {
      const r = withItem(c, section, original, fd);
      if (!r) throw new ChangeRefused(gone(section, original));
      index = r.index;
      return r.next;
    },
    { author: user.username, source: 'ui', confirmWithin: confirmWithinFrom(fd), baseRevision },
  );
  if (!res.ok) {
    if (res.conflict) {
      revalidateAll(); // the page (and the form's base revision) now shows the latest revision
      return { ok: false, seq, values, message: `Not saved: ${res.errors[0]}.` };
    }
    if (index < 0) return { ok: false, seq, values, message: res.errors[0] };
    const { fieldErrors, formErrors } = mapFieldErrors(res.fieldErrors, `${section}[${index}]`, spec.fields);
    return { ok: false, seq, values, fieldErrors, formErrors, message: 'Not saved: fix the highlighted fields.' };
  }
  await rememberAutoConfirm(fd, res);
  revalidateAll();
  redirect(`${spec.path}?saved=${res.revision}`);
});

/** What saving this item form would change (nothing is stored). */
export const reviewItem = validatedAction(itemFormSchema, async ({ section, original, baseRevision }, { fd, seq }): Promise<ReviewState> => {
  const cur = await latestRevision();
  if ((cur?.id ?? null) !== baseRevision) {
    revalidateAll(); // the form's base revision becomes the latest: the next review is against it
    return staleReview(cur?.id ?? null, baseRevision, seq);
  }
  const r = withItem(cur?.config ?? emptyConfig(), section, original, fd);
  if (!r) return { ok: false, seq, message: gone(section, original) };
  return reviewState(await reviewChange(r.next, cur?.config ?? null), seq);
});

export const deleteItem = validatedAction(itemRefSchema, async ({ section, name, baseRevision }, { user }) => {
  const res = await updateConfig(
    (c) => ({ ...c, [section]: sectionItems(c, section).filter((x) => x.name !== name) }),
    { author: user.username, source: 'ui', baseRevision },
  );
  revalidateAll();
  redirect(`${SECTIONS[section].path}?${res.ok ? `saved=${res.revision}` : errorQuery(res)}`);
});

/** Set `enabled` of one item (rules, services, port forwards, policies, uplinks) to the state the
 *  button asked for, on the revision the page showed (refused as "changed meanwhile" otherwise). */
export const toggleItem = validatedAction(toggleSchema, async ({ section, name, enabled, baseRevision }, { user, seq }): Promise<FormState> => {
  const res = await updateConfig(
    (c) => {
      const it = sectionItems(c, section).find((x) => x.name === name);
      if (it && 'enabled' in it) it.enabled = enabled;
      return c;
    },
    { author: user.username, source: 'toggle', baseRevision },
  );
  revalidateAll();
  if (!res.ok) redirect(`${SECTIONS[section].path}?${errorQuery(res)}`);
  return { ok: true, seq };
});

export const moveRule = validatedAction(moveRuleSchema, async ({ name, dir, baseRevision }, { user, seq }): Promise<FormState> => {
  const res = await updateConfig(
    (c) => {
      const i = c.rules.findIndex((r) => r.name === name);
      const j = dir === 'up' ? i - 1 : i + 1;
      if (i >= 0 && j >= 0 && j < c.rules.length) [c.rules[i], c.rules[j]] = [c.rules[j], c.rules[i]];
      return c;
    },
    { author: user.username, source: 'ui', baseRevision },
  );
  revalidateAll();
  if (!res.ok) redirect(`/rules?${errorQuery(res)}`);
  return { ok: true, seq };
});

/** The overview's uplink buttons. */
export const uplinkOp = validatedAction(uplinkOpSchema, async ({ name, op, baseRevision }, { user, seq }): Promise<FormState> => {
  const res = await updateConfig(
    (c) => {
      const u = c.uplinks.find((x) => x.name === name);
      if (!u) throw new ChangeRefused(`no uplink named "${name}"`);
      if (op === 'enable' || op === 'disable') u.enabled = op === 'enable';
      else u.drain = op === 'drain';
      return c;
    },
    { author: user.username, source: 'toggle', baseRevision },
  );
  revalidateAll();
  return res.ok ? { ok: true, seq } : { ok: false, seq, message: `Not saved: ${res.errors.slice(0, 3).join('; ')}` };
});
