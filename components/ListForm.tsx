'use client';
// The address-list editor form (/address-lists): name, entries pasted or uploaded (one per line,
// # comments), replace or append. A refused save keeps what was typed and lists the bad entries
// by their number (validated by the same schema as an import).
import { useActionState } from 'react';
import { initialFormState, baseRevisionValue } from '@/lib/web/forms';
import type { Action } from '@/lib/web/actions/validated';
import { SubmitButton } from './SubmitButton';

export function ListForm({ action, baseRevision, original, name, text, count }: {
  action: Action;
  baseRevision: number | null;
  /** The list edited, or null for a new one. */
  original: string | null;
  name: string;
  /** Its entries, one per line (null when too many to put in a text field). */
  text: string | null;
  count: number;
}) {
  const [state, formAction] = useActionState(action, initialFormState);
  const v = state.values ?? {};
  const id = original ? `l-${original}` : 'l-new';
  return (
    <form action={formAction} key={state.values ? state.seq : 'empty'} className="card space-y-3" data-testid="list-form">
      <h2 className="h2">{original ? `Edit ${original}` : 'New address list'}</h2>
      <input type="hidden" name="baseRevision" value={baseRevisionValue(baseRevision)} />
      <input type="hidden" name="original" value={original ?? ''} />
      {state.message && (
        <div role="alert" className="rounded-md bg-red-50 p-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
          <p className="font-medium">{state.message}</p>
          {state.formErrors && state.formErrors.length > 0 && (
            <ul className="mt-1 max-h-64 list-disc overflow-auto pl-5 font-mono text-xs" data-testid="list-errors">
              {state.formErrors.map((e, i) => <li key={i}>{e}</li>)}
            </ul>
          )}
        </div>
      )}
      <div>
        <label htmlFor={`${id}-name`} className="label">Name</label>
        <input id={`${id}-name`} name="name" defaultValue={typeof v.name === 'string' ? v.name : name} className="input max-w-xs" required pattern="[a-z][a-z0-9\-]{0,23}" />
        <p className="help">Lowercase letters, digits and “-”; rules refer to the list by it (a rename follows into them).</p>
      </div>
      <div>
        <label htmlFor={`${id}-text`} className="label">Entries (one address or network per line; # starts a comment)</label>
        <textarea id={`${id}-text`} name="text" rows={10} defaultValue={typeof v.text === 'string' ? v.text : (text ?? '')} className="input font-mono text-xs" spellCheck={false} placeholder={'203.0.113.0/24\n198.51.100.7\n2001:db8:bad::/48'} />
        {text === null && original && <p className="help">{count} entries: too many to edit here; upload a file to replace the list or paste entries to append.</p>}
      </div>
      <div>
        <label htmlFor={`${id}-file`} className="label">…or upload a text file</label>
        <input id={`${id}-file`} name="file" type="file" accept="text/plain,.txt,.list,.netset,.conf" className="block text-sm" />
      </div>
      <fieldset className="flex flex-wrap gap-4 text-sm">
        <legend className="label">The entries</legend>
        <label className="flex items-center gap-2"><input type="radio" name="mode" value="replace" defaultChecked={(v.mode ?? (text === null && original ? 'append' : 'replace')) === 'replace'} /> replace the list</label>
        {original && <label className="flex items-center gap-2"><input type="radio" name="mode" value="append" defaultChecked={(v.mode ?? (text === null ? 'append' : 'replace')) === 'append'} /> are added to it</label>}
      </fieldset>
      <SubmitButton>{original ? 'Save list' : 'Create list'}</SubmitButton>
    </form>
  );
}
