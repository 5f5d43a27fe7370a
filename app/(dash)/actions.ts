'use server';
// Every write from the dashboard. Each action: session check -> parse FormData -> build the whole
// next config -> updateConfig/saveConfig (shared zod validation, new revision + audit row) ->
// field errors back to the form, or revalidate + redirect (outside try).
import { redirect } from 'next/navigation';
import { revalidatePath } from 'next/cache';
import { actionUser } from '@/lib/web/auth-action';
import { SECTIONS, isSectionKey, type SectionKey } from '@/lib/web/sections';
import { parseItem, formValues, mapFieldErrors, type FormState } from '@/lib/web/forms';
import { parseSettings, settingsFieldErrors, parseImportText } from '@/lib/web/settings';
import { updateConfig, saveConfig } from '@/lib/store/revisions';
import { prisma } from '@/lib/db/prisma';
import { NAME_RE } from '@/lib/validations/net';
import { isDemo } from '@/lib/web/data';
import type { Config } from '@/lib/validations/config';
import { confirmWithinFrom } from '@/lib/web/review';

type Item = Record<string, unknown> & { name: string };
const items = (c: Config, s: SectionKey) => c[s] as unknown as Item[];

function refresh() {
  revalidatePath('/', 'layout');
}

export async function saveItem(section: SectionKey, original: string | null, prev: FormState, fd: FormData): Promise<FormState> {
  const user = await actionUser();
  if (!isSectionKey(section)) return { ok: false, seq: prev.seq + 1, message: 'unknown section' };
  const spec = SECTIONS[section];
  const seq = prev.seq + 1;
  const values = formValues(spec, fd);
  let index = -1;
  let missing = false;
  const res = await updateConfig(
    (c) => {
      const list = items(c, section);
      index = original ? list.findIndex((x) => x.name === original) : -1;
      if (original && index < 0) {
        missing = true;
        return c;
      }
      const next = parseItem(spec, fd, index >= 0 ? list[index] : undefined) as Item;
      if (index >= 0) list[index] = next;
      else index = list.push(next) - 1;
      return c;
    },
    { author: user.username, source: 'ui', confirmWithin: confirmWithinFrom(fd) },
  );
  if (missing) return { ok: false, seq, values, message: `${spec.singular} "${original}" no longer exists (changed elsewhere?)` };
  if (!res.ok) {
    const { fieldErrors, formErrors } = mapFieldErrors(res.fieldErrors, `${section}[${index}]`, spec.fields);
    return { ok: false, seq, values, fieldErrors, formErrors, message: 'Not saved: fix the highlighted fields.' };
  }
  refresh();
  redirect(`${spec.path}?saved=${res.revision}`);
}

export async function deleteItem(section: SectionKey, name: string): Promise<void> {
  const user = await actionUser();
  if (!isSectionKey(section) || !NAME_RE.test(name)) return;
  const res = await updateConfig(
    (c) => {
      (c as Record<string, unknown>)[section] = items(c, section).filter((x) => x.name !== name);
      return c;
    },
    { author: user.username, source: 'ui' },
  );
  refresh();
  const q = res.ok ? `saved=${res.revision}` : `error=${encodeURIComponent(res.errors.slice(0, 3).join('; '))}`;
  redirect(`${SECTIONS[section].path}?${q}`);
}

/** Flip `enabled` of one item (rules, services, port forwards, policies, uplinks). */
export async function toggleItem(section: SectionKey, name: string): Promise<void> {
  const user = await actionUser();
  if (!isSectionKey(section) || !NAME_RE.test(name)) return;
  const res = await updateConfig(
    (c) => {
      const it = items(c, section).find((x) => x.name === name);
      if (it && 'enabled' in it) it.enabled = !it.enabled;
      return c;
    },
    { author: user.username, source: 'toggle' },
  );
  refresh();
  if (!res.ok) redirect(`${SECTIONS[section].path}?error=${encodeURIComponent(res.errors.slice(0, 3).join('; '))}`);
}

export async function moveRule(name: string, dir: 'up' | 'down'): Promise<void> {
  const user = await actionUser();
  if (!NAME_RE.test(name) || (dir !== 'up' && dir !== 'down')) return;
  await updateConfig(
    (c) => {
      const i = c.rules.findIndex((r) => r.name === name);
      const j = dir === 'up' ? i - 1 : i + 1;
      if (i >= 0 && j >= 0 && j < c.rules.length) [c.rules[i], c.rules[j]] = [c.rules[j], c.rules[i]];
      return c;
    },
    { author: user.username, source: 'ui' },
  );
  refresh();
}

export type UplinkOp = 'enable' | 'disable' | 'drain' | 'undrain';

export async function uplinkOp(name: string, op: UplinkOp): Promise<void> {
  const user = await actionUser();
  if (!NAME_RE.test(name) || !['enable', 'disable', 'drain', 'undrain'].includes(op)) return;
  await updateConfig(
    (c) => {
      const u = c.uplinks.find((x) => x.name === name);
      if (!u) return c;
      if (op === 'enable' || op === 'disable') u.enabled = op === 'enable';
      else u.drain = op === 'drain';
      return c;
    },
    { author: user.username, source: 'toggle' },
  );
  refresh();
}

/** Demo mode only: ask the agent to break/restore an uplink in the lab. */
export async function labRequest(uplink: string, type: 'lab.break' | 'lab.restore'): Promise<void> {
  const user = await actionUser();
  if (!isDemo() || !NAME_RE.test(uplink) || (type !== 'lab.break' && type !== 'lab.restore')) return;
  const db = prisma();
  await db.agentRequest.create({ data: { createdAt: Date.now(), type, args: JSON.stringify({ uplink }) } });
  await db.auditLog.create({ data: { ts: Date.now(), actor: user.username, action: type, detail: `uplink ${uplink}` } });
  refresh();
}

export async function saveSettings(prev: FormState, fd: FormData): Promise<FormState> {
  const user = await actionUser();
  const seq = prev.seq + 1;
  const res = await updateConfig(
    (c) => {
      const { firewall, sysctl } = parseSettings(fd, c);
      return { ...c, firewall, sysctl };
    },
    { author: user.username, source: 'ui', confirmWithin: confirmWithinFrom(fd) },
  );
  if (!res.ok) {
    const { fieldErrors, formErrors } = settingsFieldErrors(res.fieldErrors);
    return { ok: false, seq, fieldErrors, formErrors, message: 'Not saved: fix the highlighted fields.' };
  }
  refresh();
  return { ok: true, seq, message: res.changed ? `Saved as revision ${res.revision}.` : 'No change.' };
}

export async function importConfig(prev: FormState, fd: FormData): Promise<FormState> {
  const user = await actionUser();
  const seq = prev.seq + 1;
  let text = typeof fd.get('json') === 'string' ? (fd.get('json') as string) : '';
  const file = fd.get('file');
  if (file && typeof file === 'object' && 'text' in file && file.size > 0) {
    if (file.size > 8 * 1024 * 1024) return { ok: false, seq, message: 'file too large (max 8 MiB)' };
    text = await file.text();
  }
  const parsed = parseImportText(text);
  if (!parsed.ok) return { ok: false, seq, message: 'Nothing imported.', formErrors: [parsed.error] };
  const res = await saveConfig(parsed.doc, { author: user.username, source: 'import', confirmWithin: confirmWithinFrom(fd) });
  if (!res.ok) return { ok: false, seq, message: `Nothing imported: ${res.errors.length} problem(s).`, formErrors: res.errors.slice(0, 200) };
  refresh();
  return { ok: true, seq, message: res.changed ? `Imported as revision ${res.revision}: ${res.summary}` : 'Identical to the current configuration; nothing stored.' };
}

// Row actions in long lists (1 000 rules) take their arguments from hidden fields: a `.bind()`
// embeds an encrypted copy of the bound arguments in every form (twice: HTML and RSC payload),
// which made the rules page 7 MB. The fields are validated exactly like the bound arguments.
const field = (fd: FormData, k: string) => {
  const v = fd.get(k);
  return typeof v === 'string' ? v : '';
};

export async function moveRuleForm(fd: FormData): Promise<void> {
  const dir = field(fd, 'dir');
  await moveRule(field(fd, 'name'), dir === 'down' ? 'down' : dir === 'up' ? 'up' : ('' as 'up'));
}

export async function toggleItemForm(fd: FormData): Promise<void> {
  await toggleItem(field(fd, 'section') as SectionKey, field(fd, 'name'));
}

export async function deleteItemForm(fd: FormData): Promise<void> {
  await deleteItem(field(fd, 'section') as SectionKey, field(fd, 'name'));
}

