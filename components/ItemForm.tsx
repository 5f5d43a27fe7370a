'use client';
import { useActionState } from 'react';
import Link from 'next/link';
import { SECTIONS, type FieldSpec, type SectionKey } from '@/lib/web/sections';
import { initialFormState, baseRevisionValue, type FormState, type FormValues } from '@/lib/web/forms';
import { SubmitButton } from './SubmitButton';
import { FieldErrors } from './FieldErrors';
import { ReviewChange } from './ReviewChange';
import { reviewItem } from '@/lib/web/actions/items';

interface Props {
  section: SectionKey;
  action: (prev: FormState, fd: FormData) => Promise<FormState>;
  /** Current values of the item being edited (or defaults for a new one). */
  values: FormValues;
  editing: string | null;
  uplinkNames: string[];
  /** The revision the page rendered: a save is refused if another one was stored since. */
  baseRevision: number | null;
}

function Field({ f, value, errors, uplinkNames }: { f: FieldSpec; value: FormValues[string] | undefined; errors?: string[]; uplinkNames: string[] }) {
  const id = `f-${f.name.replace(/\./g, '-')}`;
  const described = [errors ? `${id}-err` : null, f.help ? `${id}-help` : null].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name: f.name,
    'aria-invalid': errors ? true : undefined,
    'aria-describedby': described,
  } as const;
  const str = typeof value === 'string' ? value : '';
  let control: React.ReactNode;
  switch (f.kind) {
    case 'checkbox':
      return (
        <div className="flex flex-col justify-end">
          <label htmlFor={id} className="flex items-center gap-2 text-sm font-medium">
            <input type="checkbox" {...common} defaultChecked={value === true} className="size-4 rounded accent-sky-700 focus-visible:outline-2 focus-visible:outline-sky-600" />
            {f.label}
          </label>
          {f.help && <p id={`${id}-help`} className="help">{f.help}</p>}
          <FieldErrors id={`${id}-err`} errors={errors} />
        </div>
      );
    case 'uplinks': {
      const sel = Array.isArray(value) ? value : [];
      return (
        <fieldset aria-describedby={described} className="sm:col-span-2">
          <legend className="label">{f.label}</legend>
          {uplinkNames.length === 0 ? (
            <p className="help">No uplinks defined yet.</p>
          ) : (
            <div className="flex flex-wrap gap-3">
              {uplinkNames.map((u) => (
                <label key={u} className="flex items-center gap-1.5 text-sm">
                  <input type="checkbox" name={f.name} value={u} defaultChecked={sel.includes(u)} className="size-4 accent-sky-700" />
                  {u}
                </label>
              ))}
            </div>
          )}
          {f.help && <p id={`${id}-help`} className="help">{f.help}</p>}
          <FieldErrors id={`${id}-err`} errors={errors} />
        </fieldset>
      );
    }
    case 'select':
    case 'uplink': {
      const opts = f.kind === 'uplink' ? uplinkNames : (f.options ?? []);
      control = (
        <select {...common} defaultValue={str} className="input">
          {(f.optional || f.kind === 'uplink') && <option value="">{f.optional ? (f.emptyLabel ?? '(default)') : '(choose)'}</option>}
          {opts.map((o) => (
            <option key={o} value={o}>{o}</option>
          ))}
        </select>
      );
      break;
    }
    case 'textarea':
      control = <textarea {...common} defaultValue={str} placeholder={f.placeholder} rows={2} className="input" />;
      break;
    default:
      control = (
        <input
          {...common}
          type="text"
          inputMode={f.kind === 'number' ? 'numeric' : undefined}
          defaultValue={str}
          placeholder={f.placeholder}
          autoComplete="off"
          spellCheck={false}
          className="input"
        />
      );
  }
  return (
    <div className={f.kind === 'textarea' || f.kind === 'list' ? 'sm:col-span-2' : undefined}>
      <label htmlFor={id} className="label">{f.label}</label>
      {control}
      {f.help && <p id={`${id}-help`} className="help">{f.help}</p>}
      <FieldErrors id={`${id}-err`} errors={errors} />
    </div>
  );
}

export function ItemForm({ section, action, values, editing, uplinkNames, baseRevision }: Props) {
  const spec = SECTIONS[section];
  const [state, formAction] = useActionState(action, initialFormState);
  const v = state.values ?? values;
  const groups = new Map<string, FieldSpec[]>();
  for (const f of spec.fields) {
    const g = f.group ?? '';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(f);
  }
  return (
    <section className="card" aria-labelledby="item-form-title">
      <h2 id="item-form-title" className="h2 mb-3">
        {editing ? `Edit ${spec.singular} ${editing}` : `Add ${spec.singular}`}
      </h2>
      <form action={formAction} key={state.seq} className="space-y-4" noValidate data-testid="item-form">
        <input type="hidden" name="section" value={section} />
        <input type="hidden" name="original" value={editing ?? ''} />
        <input type="hidden" name="baseRevision" value={baseRevisionValue(baseRevision)} />
        {state.message && !state.ok && (
          <div role="alert" className="rounded-md bg-red-50 p-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
            <p className="font-medium">{state.message}</p>
            {state.formErrors && state.formErrors.length > 0 && (
              <ul className="mt-1 list-disc pl-5">
                {state.formErrors.map((e, i) => <li key={i}>{e}</li>)}
              </ul>
            )}
          </div>
        )}
        {[...groups.entries()].map(([g, fields]) => {
          const boxes = fields.filter((f) => f.kind === 'checkbox');
          const grid = (
            <>
              <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
                {fields.filter((f) => f.kind !== 'checkbox').map((f) => (
                  <Field key={f.name} f={f} value={v[f.name]} errors={state.fieldErrors?.[f.name]} uplinkNames={uplinkNames} />
                ))}
              </div>
              {boxes.length > 0 && (
                <div className="mt-3 flex flex-wrap gap-x-6 gap-y-2">
                  {boxes.map((f) => (
                    <Field key={f.name} f={f} value={v[f.name]} errors={state.fieldErrors?.[f.name]} uplinkNames={uplinkNames} />
                  ))}
                </div>
              )}
            </>
          );
          return g ? (
            <fieldset key={g} className="rounded-md border border-zinc-200 p-3 dark:border-zinc-800">
              <legend className="px-1 text-sm font-semibold">{g}</legend>
              {grid}
            </fieldset>
          ) : (
            <div key="main">{grid}</div>
          );
        })}
        <ReviewChange review={reviewItem} idPrefix="item" />
        <div className="flex gap-2">
          <SubmitButton>{editing ? 'Save changes' : `Add ${spec.singular}`}</SubmitButton>
          <Link href={spec.path} className="btn">Cancel</Link>
        </div>
      </form>
    </section>
  );
}
