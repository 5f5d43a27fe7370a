'use client';
// A small form around one server action from lib/web/actions (row buttons: enable/disable, delete,
// move, restore, unban, uplink operations, sign out). The action's form state comes back through
// useActionState; when it was refused (bad request, changed meanwhile, ...), the reason is shown
// next to the button instead of being dropped.
import { useActionState } from 'react';
import { initialFormState, type FormState } from '@/lib/web/forms';

export function ActionForm({ action, children, className, testId }: {
  action: (prev: FormState, fd: FormData) => Promise<FormState>;
  children: React.ReactNode;
  className?: string;
  testId?: string;
}) {
  const [state, formAction] = useActionState(action, initialFormState);
  return (
    <form action={formAction} className={className} data-testid={testId}>
      {children}
      {!state.ok && state.message && (
        <p role="alert" className="mt-1 max-w-xs text-xs text-red-700 dark:text-red-400">{state.message}</p>
      )}
    </form>
  );
}
