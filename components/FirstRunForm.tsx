'use client';
// The first-run proposal as an import form: the proposed document (editable), "Review change"
// (summary, configuration and kernel diff) and the apply with commit-confirmed on by default.
import { useActionState } from 'react';
import { initialFormState } from '@/lib/web/forms';
import { importConfig, reviewImport } from '@/lib/web/actions/settings';
import { SubmitButton } from './SubmitButton';
import { ReviewChange } from './ReviewChange';
import { Base, Result } from './SettingsForms';

export function FirstRunForm({ json, baseRevision }: { json: string; baseRevision: number | null }) {
  const [state, formAction] = useActionState(importConfig, initialFormState);
  return (
    <form action={formAction} className="space-y-3" data-testid="first-run-form">
      <Base revision={baseRevision} />
      <Result state={state} />
      <div>
        <label htmlFor="fr-json" className="label">Proposed configuration (you may edit it)</label>
        <textarea id="fr-json" name="json" rows={14} defaultValue={json} className="input font-mono text-xs" spellCheck={false} />
      </div>
      <ReviewChange review={reviewImport} idPrefix="first-run" defaultConfirm defaultWithin={300} />
      <SubmitButton>Apply this configuration</SubmitButton>
    </form>
  );
}
