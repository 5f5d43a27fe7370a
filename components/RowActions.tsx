import Link from 'next/link';
import { deleteItemForm, toggleItemForm } from '@/app/(dash)/actions';
import type { SectionKey } from '@/lib/web/sections';
import { SubmitButton } from './SubmitButton';

export function EnableToggle({ section, name, enabled }: { section: SectionKey; name: string; enabled: boolean }) {
  return (
    <form action={toggleItemForm}>
      <input type="hidden" name="section" value={section} />
      <input type="hidden" name="name" value={name} />
      <SubmitButton
        className={`btn btn-sm ${enabled ? '' : 'opacity-80'}`}
        title={enabled ? `Disable ${name}` : `Enable ${name}`}
        label={enabled ? `Enabled: disable ${name}` : `Disabled: enable ${name}`}
      >
        <span aria-hidden className={`inline-block size-2 rounded-full ${enabled ? 'bg-emerald-500' : 'bg-zinc-400'}`} />
        {enabled ? 'Enabled' : 'Disabled'}
      </SubmitButton>
    </form>
  );
}

export function EditDelete({ section, path, name }: { section: SectionKey; path: string; name: string }) {
  return (
    <div className="flex items-start gap-1">
      <Link href={`${path}?edit=${encodeURIComponent(name)}`} className="btn btn-sm" aria-label={`Edit ${name}`}>Edit</Link>
      <details className="relative">
        <summary className="btn btn-sm cursor-pointer list-none" aria-label={`Delete ${name}`}>Delete</summary>
        <div className="absolute right-0 z-20 mt-1 w-56 rounded-md border border-zinc-200 bg-white p-2 text-sm shadow-lg dark:border-zinc-700 dark:bg-zinc-900">
          <p className="mb-2">Delete <strong>{name}</strong>? This stores a new revision.</p>
          <form action={deleteItemForm}>
            <input type="hidden" name="section" value={section} />
            <input type="hidden" name="name" value={name} />
            <SubmitButton className="btn btn-sm btn-danger">Delete {name}</SubmitButton>
          </form>
        </div>
      </details>
    </div>
  );
}
