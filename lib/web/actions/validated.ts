// The one wrapper every dashboard server action goes through (lib/web/actions/*.ts):
// session check → FormData parsed with the action's zod schema → the action, which returns the
// form state for useActionState. Bad input never makes an action return silently: it returns
// { ok: false, message, fieldErrors, formErrors }. No try here: redirect()/revalidatePath() in
// an action propagate as Next expects. (Models: nextjs/saas-starter lib/auth/middleware.ts
// validatedActionWithUser; vercel/next-learn dashboard app/lib/actions.ts.)
import type { z } from 'zod';
import { revalidatePath } from 'next/cache';
import { actionUser } from '../auth-action';
import type { SessionUser } from '../../auth/session';
import type { FormLike, FormState } from '../forms';
import { formatPath } from '../../validations/config';

/** A server action as useActionState calls it. */
export type Action<S extends FormState = FormState> = (prev: FormState, fd: FormData) => Promise<S>;

export interface ActionContext {
  fd: FormData;
  /** prev.seq + 1: the form remounts with the returned values when it changes. */
  seq: number;
}

type Entry = ReturnType<FormLike['get']>;

/** FormData → plain object for the schema: one value per name; a repeated name becomes an array
 *  (which a schema expecting one string rejects). */
export function formObject(fd: FormLike & { keys(): Iterable<string> }): Record<string, Entry | Entry[]> {
  const out: Record<string, Entry | Entry[]> = {};
  for (const k of new Set(fd.keys())) {
    const all = fd.getAll(k);
    out[k] = all.length === 1 ? all[0] : all;
  }
  return out;
}

/** Parse a form with `schema`; on failure the form state that says what was wrong. */
export function parseForm<S extends z.ZodType>(schema: S, fd: FormData, seq: number): { ok: true; data: z.output<S> } | { ok: false; state: FormState } {
  const r = schema.safeParse(formObject(fd));
  if (r.success) return { ok: true, data: r.data };
  const fieldErrors: Record<string, string[]> = {};
  const formErrors: string[] = [];
  for (const issue of r.error.issues) {
    const p = formatPath(issue.path);
    (fieldErrors[p] ??= []).push(issue.message);
    formErrors.push(`${p}: ${issue.message}`);
  }
  return { ok: false, state: { ok: false, seq, message: `Not done: ${formErrors.join('; ')}`, fieldErrors, formErrors } };
}

/** For actions that need no session (sign-in, first setup, sign-out). */
export function publicAction<S extends z.ZodType, R extends FormState>(
  schema: S,
  fn: (data: z.output<S>, ctx: ActionContext) => Promise<R>,
): Action<R | FormState> {
  return async (prev, fd) => {
    const seq = prev.seq + 1;
    const parsed = parseForm(schema, fd, seq);
    return parsed.ok ? fn(parsed.data, { fd, seq }) : parsed.state;
  };
}

/** For every other action: no valid session, no effect (NotSignedIn is thrown, as before). */
export function validatedAction<S extends z.ZodType, R extends FormState>(
  schema: S,
  fn: (data: z.output<S>, ctx: ActionContext & { user: SessionUser }) => Promise<R>,
): Action<R | FormState> {
  return async (prev, fd) => {
    const user = await actionUser();
    const seq = prev.seq + 1;
    const parsed = parseForm(schema, fd, seq);
    return parsed.ok ? fn(parsed.data, { fd, seq, user }) : parsed.state;
  };
}

/** Every page shows the desired revision (status bar): refresh them all after a change. */
export function revalidateAll(): void {
  revalidatePath('/', 'layout');
}
