'use client';
import { useActionState } from 'react';
import { initialFormState, baseRevisionValue, type FormState } from '@/lib/web/forms';
import { settingsFromFormValues, type SettingsValues } from '@/lib/web/settings';
import { ICMP_TYPES } from '@/lib/validations/enums';
import { SubmitButton } from './SubmitButton';
import { FieldErrors } from './FieldErrors';
import { ReviewChange } from './ReviewChange';
import { reviewSettings, reviewImport } from '@/lib/web/actions/settings';

export type { SettingsValues };

type Action = (prev: FormState, fd: FormData) => Promise<FormState>;

/** The revision the page rendered: a save is refused if another one was stored since. */
export function Base({ revision }: { revision: number | null }) {
  return <input type="hidden" name="baseRevision" value={baseRevisionValue(revision)} />;
}

export function Result({ state }: { state: FormState }) {
  if (!state.message) return null;
  return (
    <div role={state.ok ? 'status' : 'alert'} className={`rounded-md p-2 text-sm ${state.ok ? 'bg-emerald-50 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100' : 'bg-red-50 text-red-800 dark:bg-red-950 dark:text-red-200'}`}>
      <p className="font-medium">{state.message}</p>
      {state.formErrors && state.formErrors.length > 0 && (
        <ul className="mt-1 max-h-64 list-disc overflow-auto pl-5 font-mono text-xs" data-testid="import-errors">
          {state.formErrors.map((e, i) => <li key={i}>{e}</li>)}
        </ul>
      )}
    </div>
  );
}

function Check({ name, label, checked, value, errors }: { name: string; label: string; checked: boolean; value?: string; errors?: string[] }) {
  const id = `s-${name}${value ? `-${value}` : ''}`.replace(/\./g, '-');
  return (
    <div>
      <label htmlFor={id} className="flex items-center gap-2 text-sm">
        <input id={id} type="checkbox" name={name} value={value ?? 'on'} defaultChecked={checked} className="size-4 accent-sky-700" />
        {label}
      </label>
      <FieldErrors id={`${id}-err`} errors={errors} />
    </div>
  );
}

function Num({ name, label, value, errors, help }: { name: string; label: string; value: number | string; errors?: string[]; help?: string }) {
  const id = `s-${name.replace(/\./g, '-')}`;
  return (
    <div>
      <label htmlFor={id} className="label">{label}</label>
      <input id={id} name={name} type="text" inputMode="numeric" defaultValue={String(value)} className="input" aria-invalid={errors ? true : undefined} aria-describedby={errors ? `${id}-err` : undefined} />
      {help && <p className="help">{help}</p>}
      <FieldErrors id={`${id}-err`} errors={errors} />
    </div>
  );
}

function Select({ name, label, value, options, errors }: { name: string; label: string; value: string; options: readonly string[]; errors?: string[] }) {
  const id = `s-${name}`;
  return (
    <div>
      <label htmlFor={id} className="label">{label}</label>
      <select id={id} name={name} defaultValue={value} className="input">
        {options.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
      <FieldErrors id={`${id}-err`} errors={errors} />
    </div>
  );
}

function Lines({ name, label, value, errors, help }: { name: string; label: string; value: string; errors?: string[]; help?: string }) {
  const id = `s-${name}`;
  return (
    <div className="mt-3">
      <label htmlFor={id} className="label">{label}</label>
      <textarea id={id} name={name} defaultValue={value} rows={3} className="input font-mono text-xs" aria-describedby={`${id}-err`} />
      {help && <p className="help">{help}</p>}
      <FieldErrors id={`${id}-err`} errors={errors} />
    </div>
  );
}

export function SettingsForm({ action, v: stored, baseRevision }: { action: Action; v: SettingsValues; baseRevision: number | null }) {
  const [state, formAction] = useActionState(action, initialFormState);
  const fe = state.fieldErrors ?? {};
  // After a refused save the form is remounted with what was typed (else with the stored values).
  const v = state.values ? settingsFromFormValues(state.values, stored) : stored;
  return (
    <form action={formAction} key={state.values ? state.seq : 'stored'} className="space-y-4" noValidate data-testid="settings-form">
      <Base revision={baseRevision} />
      <Result state={state} />
      <fieldset className="card">
        <legend className="h2 px-1">ICMP</legend>
        <div className="grid gap-4 md:grid-cols-2">
          <fieldset>
            <legend className="label">Accepted to the router (in)</legend>
            <div className="grid grid-cols-1 gap-1 sm:grid-cols-2">
              {ICMP_TYPES.map((t) => <Check key={t} name="icmpIn" value={t} label={t} checked={v.icmpIn.includes(t)} />)}
            </div>
            <FieldErrors id="s-icmpIn-err" errors={fe.icmpIn} />
          </fieldset>
          <fieldset>
            <legend className="label">Sent by the router (out)</legend>
            <div className="grid grid-cols-1 gap-1 sm:grid-cols-2">
              {ICMP_TYPES.map((t) => <Check key={t} name="icmpOut" value={t} label={t} checked={v.icmpOut.includes(t)} />)}
            </div>
            <FieldErrors id="s-icmpOut-err" errors={fe.icmpOut} />
          </fieldset>
        </div>
        <p className="help">Related ICMP errors for existing connections are always accepted.</p>
      </fieldset>
      <fieldset className="card">
        <legend className="h2 px-1">Logging and port scans</legend>
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <Check name="logDrops" label="Log dropped packets" checked={v.logDrops} errors={fe.logDrops} />
          <Num name="logRatePerMinute" label="Log at most (per minute)" value={v.logRatePerMinute} errors={fe.logRatePerMinute} />
          <Check name="portScan.enabled" label="Ban port scanners" checked={v.portScan.enabled} errors={fe['portScan.enabled']} />
          <div />
          <Num name="portScan.ports" label="Closed ports probed…" value={v.portScan.ports} errors={fe['portScan.ports']} />
          <Num name="portScan.seconds" label="…within seconds" value={v.portScan.seconds} errors={fe['portScan.seconds']} />
          <Num name="portScan.banSeconds" label="Ban for seconds" value={v.portScan.banSeconds} errors={fe['portScan.banSeconds']} />
        </div>
        <p className="help">A scanner is a source probing that many <em>different</em> closed ports on an uplink within the window; retries of one port do not count.</p>
        <Lines name="portScan.neverBan" label="Never ban (addresses or networks, one per line)" value={v.portScan.neverBan} errors={fe['portScan.neverBan']}
          help="Always exempt, without listing them: the LAN networks, the router's addresses, the gateways, the health-probe targets and the sources named in services." />
      </fieldset>
      <fieldset className="card">
        <legend className="h2 px-1">Anti-spoofing (uplinks)</legend>
        <input type="hidden" name="antiSpoof.present" value="1" />
        <div className="grid gap-3 sm:grid-cols-2">
          <Check name="antiSpoof.enabled" label="Drop forged sources (LAN, loopback, the router's own addresses)" checked={v.antiSpoof.enabled} errors={fe['antiSpoof.enabled']} />
          <Check name="antiSpoof.bogons" label="Also drop bogons (private, reserved, documentation ranges)" checked={v.antiSpoof.bogons} errors={fe['antiSpoof.bogons']} />
        </div>
        <Lines name="antiSpoof.exceptions" label="Bogon exceptions (networks, one per line)" value={v.antiSpoof.exceptions} errors={fe['antiSpoof.exceptions']}
          help="E.g. a private network behind a modem. The uplinks' own networks and gateways, health targets and service sources are exempt already." />
      </fieldset>
      <fieldset className="card">
        <legend className="h2 px-1">Balancing and dashboard</legend>
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <Select name="sticky" label="Default stickiness" value={v.sticky} options={['connection', 'source']} errors={fe.sticky} />
          <Num name="stickySeconds" label="Source stickiness (s)" value={v.stickySeconds} errors={fe.stickySeconds} />
          <Num name="dashboardPort" label="Dashboard port (anti-lockout)" value={v.dashboardPort} errors={fe.dashboardPort} />
          <Check name="allowLockout" label="Allow configs that lock the LAN out (advanced)" checked={v.allowLockout} errors={fe.allowLockout} />
        </div>
      </fieldset>
      <fieldset className="card">
        <legend className="h2 px-1">Kernel (sysctl)</legend>
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <Select name="rpFilter" label="Reverse-path filter on uplinks" value={v.rpFilter} options={['loose', 'strict', 'off']} errors={fe.rpFilter} />
          <Check name="syncookies" label="SYN cookies" checked={v.syncookies} errors={fe.syncookies} />
          <Check name="logMartians" label="Log martian packets" checked={v.logMartians} errors={fe.logMartians} />
          <Check name="ignoreBroadcastPings" label="Ignore broadcast pings" checked={v.ignoreBroadcastPings} errors={fe.ignoreBroadcastPings} />
        </div>
        <p className="help">With several uplinks, keep reverse-path filtering loose: strict silently drops replies arriving on another uplink.</p>
      </fieldset>
      <ReviewChange review={reviewSettings} idPrefix="settings" />
      <SubmitButton>Save settings</SubmitButton>
    </form>
  );
}

export function ImportForm({ action, baseRevision }: { action: Action; baseRevision: number | null }) {
  const [state, formAction] = useActionState(action, initialFormState);
  const pasted = state.values?.json;
  return (
    <form action={formAction} key={state.values ? state.seq : 'empty'} className="space-y-3" data-testid="import-form">
      <Base revision={baseRevision} />
      <Result state={state} />
      <div>
        <label htmlFor="imp-file" className="label">Configuration file (JSON)</label>
        <input id="imp-file" name="file" type="file" accept="application/json,.json" className="block text-sm file:mr-2 file:rounded-md file:border file:border-zinc-300 file:bg-white file:px-3 file:py-1.5 file:text-sm dark:file:border-zinc-700 dark:file:bg-zinc-800 dark:file:text-zinc-100" />
      </div>
      <div>
        <label htmlFor="imp-json" className="label">…or paste it</label>
        <textarea id="imp-json" name="json" rows={6} defaultValue={typeof pasted === 'string' ? pasted : undefined} className="input font-mono text-xs" placeholder='{"version": 1, "uplinks": [...]}' spellCheck={false} />
      </div>
      <p className="help">The whole document is validated exactly like the forms; if anything is wrong, nothing is stored.</p>
      <ReviewChange review={reviewImport} idPrefix="import" />
      <SubmitButton>Validate and import</SubmitButton>
    </form>
  );
}

/** Restore a backup (Settings → Backup): a file and a typed confirmation. */
export function RestoreBackupForm({ action }: { action: Action }) {
  const [state, formAction] = useActionState(action, initialFormState);
  return (
    <form action={formAction} className="space-y-3" data-testid="restore-backup-form">
      <Result state={state} />
      <div>
        <label htmlFor="rb-file" className="label">Backup file (.lwbackup)</label>
        <input id="rb-file" name="file" type="file" accept=".lwbackup,application/gzip" className="block text-sm file:mr-2 file:rounded-md file:border file:border-zinc-300 file:bg-white file:px-3 file:py-1.5 file:text-sm dark:file:border-zinc-700 dark:file:bg-zinc-800 dark:file:text-zinc-100" />
        <FieldErrors id="rb-file-err" errors={state.fieldErrors?.file} />
      </div>
      <div>
        <label htmlFor="rb-confirm" className="label">Type RESTORE to replace every revision, account and the history with the backup&apos;s</label>
        <input id="rb-confirm" name="confirm" className="input w-40 font-mono" autoComplete="off" />
        <FieldErrors id="rb-confirm-err" errors={state.fieldErrors?.confirm} />
      </div>
      <p className="help">The database only (the HTTPS certificate and key stay as they are; <code>sudo linkward restore FILE</code> puts those back too). The agent applies the restored configuration at once.</p>
      <SubmitButton>Restore backup</SubmitButton>
    </form>
  );
}
