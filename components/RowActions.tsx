import Link from 'next/link';
import { deleteItem, toggleItem } from '@/lib/web/actions/items';
import { baseRevisionValue } from '@/lib/web/forms';
import type { SectionKey } from '@/lib/web/sections';
import { SubmitButton } from './SubmitButton';
import { ActionForm } from './ActionForm';

/** Hidden fields of a row action: which item, and (delete) the revision the page shows — the store
 *  refuses the change if another one was stored since. */
function ItemRef({ section, name, baseRevision }: { section: SectionKey; name: string; baseRevision?: number | null }) {
  return (
    <>
      <input type="hidden" name="section" value={section} />
      <input type="hidden" name="name" value={name} />
      {baseRevision !== undefined && <input type="hidden" name="baseRevision" value={baseRevisionValue(baseRevision)} />}
    </>
  );
}

/** Enable/disable: asks for the opposite of the shown state, based on the revision the page shows. */
export function EnableToggle({ section, name, enabled, baseRevision }: { section: SectionKey; name: string; enabled: boolean; baseRevision: number | null }) {
  return (
    <ActionForm action={toggleItem}>
      <ItemRef section={section} name={name} baseRevision={baseRevision} />
      <input type="hidden" name="enabled" value={enabled ? 'false' : 'true'} />
      <SubmitButton
        className="btn btn-sm"
        title={enabled ? `Disable ${name}` : `Enable ${name}`}
        label={enabled ? `Enabled: disable ${name}` : `Disabled: enable ${name}`}
      >
        <span aria-hidden className={`inline-block size-2 rounded-full ${enabled ? 'bg-emerald-500' : 'bg-zinc-400'}`} />
        {enabled ? 'Enabled' : 'Disabled'}
      </SubmitButton>
    </ActionForm>
  );
}

export function EditDelete({ section, path, name, baseRevision }: { section: SectionKey; path: string; name: string; baseRevision: number | null }) {
  return (
    <div className="flex items-start gap-1">
      <Link href={`${path}?edit=${encodeURIComponent(name)}`} className="btn btn-sm" aria-label={`Edit ${name}`}>Edit</Link>
      <details className="relative">
        <summary className="btn btn-sm cursor-pointer list-none" aria-label={`Delete ${name}`}>Delete</summary>
        <div className="absolute right-0 z-20 mt-1 w-56 rounded-md border border-zinc-200 bg-white p-2 text-sm shadow-lg dark:border-zinc-700 dark:bg-zinc-900">
          <p className="mb-2">Delete <strong>{name}</strong>? This stores a new revision.</p>
          <ActionForm action={deleteItem}>
            <ItemRef section={section} name={name} baseRevision={baseRevision} />
            <SubmitButton className="btn btn-sm btn-danger">Delete {name}</SubmitButton>
          </ActionForm>
        </div>
      </details>
    </div>
  );
}
