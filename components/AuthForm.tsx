'use client';
import { useActionState } from 'react';
import { initialFormState, type FormState } from '@/lib/web/forms';
import { SubmitButton } from './SubmitButton';
import { FieldErrors } from './FieldErrors';

interface Props {
  mode: 'login' | 'setup';
  action: (prev: FormState, fd: FormData) => Promise<FormState>;
  needsToken: boolean;
  /** Setup: where the browser is (decides the explanation next to the token). */
  where?: 'loopback' | 'private' | 'public' | 'unknown';
}

function Input(props: { name: string; label: string; type?: string; autoComplete?: string; state: FormState; help?: string }) {
  const errs = props.state.fieldErrors?.[props.name];
  const id = `f-${props.name}`;
  const v = props.state.values?.[props.name];
  return (
    <div>
      <label htmlFor={id} className="label">{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        required
        autoComplete={props.autoComplete}
        defaultValue={typeof v === 'string' ? v : undefined}
        aria-invalid={errs ? true : undefined}
        aria-describedby={errs ? `${id}-err` : props.help ? `${id}-help` : undefined}
        className="input"
      />
      {props.help && !errs && <p id={`${id}-help`} className="help">{props.help}</p>}
      <FieldErrors id={`${id}-err`} errors={errs} />
    </div>
  );
}

export function AuthForm({ mode, action, needsToken, where }: Props) {
  const [state, formAction] = useActionState(action, initialFormState);
  const setup = mode === 'setup';
  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <div className="card w-full max-w-sm">
        <div className="mb-4 flex items-center gap-2">
          <img src="/icon.svg" alt="" width={28} height={28} />
          <h1 className="h1">{setup ? 'Create the administrator' : 'Sign in to linkward'}</h1>
        </div>
        {setup && (
          <p className="mb-4 text-sm muted">
            linkward has no default password. Choose the administrator account now.
            {needsToken
              ? ' Unless you use a browser on the router itself, a one-time setup token is required: run `linkward admin setup-token` on the router.'
              : ''}
            {where === 'public' ? ' You are connecting from a public address: the dashboard should not be reachable from the Internet.' : ''}
          </p>
        )}
        <form action={formAction} key={state.seq} className="space-y-3" noValidate>
          {state.message && (
            <p role="alert" className="rounded-md bg-red-50 p-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
              {state.message}
            </p>
          )}
          <Input name="username" label="Username" autoComplete="username" state={state} />
          <Input
            name="password"
            label="Password"
            type="password"
            autoComplete={setup ? 'new-password' : 'current-password'}
            state={state}
            help={setup ? 'at least 10 characters' : undefined}
          />
          {setup && <Input name="confirm" label="Confirm password" type="password" autoComplete="new-password" state={state} />}
          {setup && needsToken && <Input name="token" label="Setup token" autoComplete="off" state={state} />}
          <SubmitButton className="btn btn-primary w-full">{setup ? 'Create administrator' : 'Sign in'}</SubmitButton>
        </form>
      </div>
    </main>
  );
}
