// Pure helpers: FormData -> item object (for the shared zod schema), item -> form values,
// and schema error paths -> form field names. No Next/React imports (unit-tested).
import type { FieldSpec, SectionSpec } from './sections';

export interface FormLike {
  get(name: string): FormDataEntryValue | null;
  getAll(name: string): FormDataEntryValue[];
}

/** Raw values echoed back to the form after a failed submit (inputs keep what was typed). */
export type FormValues = Record<string, string | string[] | boolean>;

export interface FormState {
  ok: boolean;
  /** Increments on every submit so the form can remount with `values`. */
  seq: number;
  message?: string;
  fieldErrors?: Record<string, string[]>;
  formErrors?: string[];
  values?: FormValues;
}

export const initialFormState: FormState = { ok: true, seq: 0 };

/** Value of the hidden `baseRevision` field: the revision the page rendered ("0" = none stored yet;
 *  parsed by baseRevisionField in lib/web/actions/schemas.ts). */
export const baseRevisionValue = (id: number | null | undefined): string => String(id ?? 0);

function str(v: FormDataEntryValue | null): string {
  return typeof v === 'string' ? v.trim() : '';
}

/** Split "a, b c\nd" into ["a","b","c","d"]. */
export function splitList(s: string): string[] {
  return s.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
}

/** "42" -> 42; "" -> undefined; "4x" -> "4x" (left for the schema to reject with a message). */
export function parseNumber(s: string): number | string | undefined {
  if (s === '') return undefined;
  if (/^-?\d+$/.test(s)) return Number(s);
  return s;
}

/** Port field: a number when plain digits, else the string (ranges "a-b"). */
export function parsePort(s: string): number | string | undefined {
  if (s === '') return undefined;
  return /^\d+$/.test(s) ? Number(s) : s;
}

export function parseField(f: FieldSpec, form: FormLike): unknown {
  switch (f.kind) {
    case 'checkbox':
      return form.get(f.name) !== null && form.get(f.name) !== 'off';
    case 'number':
      return parseNumber(str(form.get(f.name)));
    case 'port':
      return parsePort(str(form.get(f.name)));
    case 'list': {
      const l = splitList(str(form.get(f.name)));
      return l.length ? l : undefined;
    }
    case 'uplinks': {
      const l = form.getAll(f.name).map((v) => str(v)).filter(Boolean);
      return l.length ? l : undefined;
    }
    default: {
      const s = str(form.get(f.name));
      return s === '' ? undefined : s;
    }
  }
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown) {
  const parts = path.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1];
  if (value === undefined) delete o[last];
  else o[last] = value;
}

function getPath(obj: unknown, path: string): unknown {
  let o = obj;
  for (const p of path.split('.')) {
    if (typeof o !== 'object' || o === null) return undefined;
    o = (o as Record<string, unknown>)[p];
  }
  return o;
}

/** Build the item from the form, on top of `existing` (keeps keys the form does not show, like uplink ids). */
export function parseItem(spec: SectionSpec, form: FormLike, existing?: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = existing ? structuredClone(existing) : {};
  for (const f of spec.fields) setPath(out, f.name, parseField(f, form));
  for (const g of spec.optionalGroups ?? []) {
    const v = out[g];
    if (v && typeof v === 'object' && Object.values(v).every((x) => x === undefined)) delete out[g];
  }
  return out;
}

/** Raw submitted values, to refill the form after an error. */
export function formValues(spec: SectionSpec, form: FormLike): FormValues {
  const v: FormValues = {};
  for (const f of spec.fields) {
    if (f.kind === 'checkbox') v[f.name] = form.get(f.name) !== null;
    else if (f.kind === 'uplinks') v[f.name] = form.getAll(f.name).map((x) => str(x));
    else v[f.name] = typeof form.get(f.name) === 'string' ? (form.get(f.name) as string) : '';
  }
  return v;
}

/** Form values for an existing item (or defaults for a new one). */
export function itemValues(spec: SectionSpec, item?: Record<string, unknown> | null): FormValues {
  const v: FormValues = {};
  for (const f of spec.fields) {
    const x = item ? getPath(item, f.name) : undefined;
    if (f.kind === 'checkbox') v[f.name] = item ? x === true : f.defaultChecked === true;
    else if (f.kind === 'uplinks') v[f.name] = Array.isArray(x) ? x.map(String) : [];
    else if (f.kind === 'list') v[f.name] = Array.isArray(x) ? x.join(', ') : '';
    else v[f.name] = x === undefined || x === null ? (item ? '' : f.defaultValue ?? '') : String(x);
  }
  return v;
}

/**
 * Map schema errors (keys like "uplinks[3].health.targets[1]") to this form's fields.
 * Errors under `prefix` that match a field go to fieldErrors[field]; the rest become formErrors.
 */
export function mapFieldErrors(
  errors: Record<string, string[]>,
  prefix: string,
  fields: readonly FieldSpec[],
): { fieldErrors: Record<string, string[]>; formErrors: string[] } {
  const fieldErrors: Record<string, string[]> = {};
  const formErrors: string[] = [];
  const names = fields.map((f) => f.name).sort((a, b) => b.length - a.length);
  for (const [path, msgs] of Object.entries(errors)) {
    let field: string | undefined;
    if (path.startsWith(prefix + '.')) {
      const rest = path.slice(prefix.length + 1);
      field = names.find((n) => rest === n || rest.startsWith(n + '.') || rest.startsWith(n + '['));
      if (field) {
        const detail = rest.slice(field.length);
        const m = /^\[(\d+)\]/.exec(detail);
        (fieldErrors[field] ??= []).push(...msgs.map((x) => (m ? `entry ${Number(m[1]) + 1}: ${x}` : x)));
        continue;
      }
    }
    formErrors.push(...msgs.map((x) => `${path}: ${x}`));
  }
  return { fieldErrors, formErrors };
}
