'use server';
// Issue 8 server actions: review (preview) of a pending form change, restore, confirm, unban.
// Every action checks the session first; writes go through saveConfig / the agent request table.
import { redirect } from 'next/navigation';
import { revalidatePath } from 'next/cache';
import { actionUser } from '@/lib/web/auth-action';
import { SECTIONS, isSectionKey, type SectionKey } from '@/lib/web/sections';
import { parseItem } from '@/lib/web/forms';
import { parseSettings, parseImportText } from '@/lib/web/settings';
import { latestRevision } from '@/lib/store/revisions';
import { restoreRevision, confirmPending, pendingConfirmation, type PendingView } from '@/lib/store/safety';
import { requestUnban } from '@/lib/store/drops';
import { reviewChange, confirmWithinFrom, type Review } from '@/lib/web/review';
import { parseConfig, type Config } from '@/lib/validations/config';

type Item = Record<string, unknown> & { name: string };

async function current(): Promise<Config> {
  const rev = await latestRevision();
  return rev?.config ?? (parseConfig({ version: 1 }) as { ok: true; value: Config }).value;
}

/** What saving this form would change (nothing is stored). */
export async function reviewForm(kind: 'settings' | 'import' | 'item', section: string | null, original: string | null, fd: FormData): Promise<Review> {
  await actionUser();
  const c = structuredClone(await current());
  if (kind === 'settings') {
    const { firewall, sysctl } = parseSettings(fd, c);
    return reviewChange({ ...c, firewall, sysctl });
  }
  if (kind === 'import') {
    let text = typeof fd.get('json') === 'string' ? (fd.get('json') as string) : '';
    const file = fd.get('file');
    if (file && typeof file === 'object' && 'text' in file && file.size > 0) {
      if (file.size > 8 * 1024 * 1024) return { ok: false, errors: ['file too large (max 8 MiB)'] };
      text = await file.text();
    }
    const parsed = parseImportText(text);
    if (!parsed.ok) return { ok: false, errors: [parsed.error] };
    return reviewChange(parsed.doc);
  }
  if (!section || !isSectionKey(section)) return { ok: false, errors: ['unknown section'] };
  const list = (c as unknown as Record<SectionKey, Item[]>)[section];
  const index = original ? list.findIndex((x) => x.name === original) : -1;
  if (original && index < 0) return { ok: false, errors: [`${SECTIONS[section].singular} "${original}" no longer exists`] };
  const next = parseItem(SECTIONS[section], fd, index >= 0 ? list[index] : undefined) as Item;
  if (index >= 0) list[index] = next;
  else list.push(next);
  return reviewChange(c);
}

export async function restoreAction(id: number, fd: FormData): Promise<void> {
  const user = await actionUser();
  if (!Number.isInteger(id) || id < 1) return;
  const r = await restoreRevision(id, user.username, { confirmWithin: confirmWithinFrom(fd) });
  revalidatePath('/', 'layout');
  redirect(r.ok ? `/history?restored=${r.revision}` : `/history?error=${encodeURIComponent(r.errors.slice(0, 3).join('; '))}`);
}

export async function confirmAction(revision: number): Promise<{ ok: boolean; message: string }> {
  const user = await actionUser();
  const r = await confirmPending(user.username, Number.isInteger(revision) ? revision : undefined);
  revalidatePath('/', 'layout');
  return r.ok ? { ok: true, message: `Revision ${r.revision} confirmed.` } : { ok: false, message: r.reason };
}

export async function pendingAction(): Promise<PendingView | null> {
  await actionUser();
  return pendingConfirmation();
}

export async function unbanAction(address: string): Promise<void> {
  const user = await actionUser();
  const r = await requestUnban(address, user.username);
  revalidatePath('/bans');
  redirect(r.ok ? `/bans?requested=${encodeURIComponent(address)}` : `/bans?error=${encodeURIComponent(r.error)}`);
}
