'use client';
// Issue 17 forms: notification channels (JSON, secrets write-only), "send test", /metrics
// access, and the packet tracer.
import { useActionState } from 'react';
import { initialFormState, baseRevisionValue, type FormState } from '@/lib/web/forms';
import { SubmitButton } from './SubmitButton';
import type { ExplainState } from '@/lib/web/actions/observe';

type Action<S extends FormState = FormState> = (prev: FormState, fd: FormData) => Promise<S>;

function Result({ state, testId }: { state: FormState; testId?: string }) {
  if (!state.message) return null;
  return (
    <div role={state.ok ? 'status' : 'alert'} data-testid={testId} className={`rounded-md p-2 text-sm ${state.ok ? 'bg-emerald-50 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100' : 'bg-red-50 text-red-800 dark:bg-red-950 dark:text-red-200'}`}>
      <p className="font-medium">{state.message}</p>
      {state.formErrors && state.formErrors.length > 0 && (
        <ul className="mt-1 list-disc pl-5 font-mono text-xs">{state.formErrors.map((e, i) => <li key={i}>{e}</li>)}</ul>
      )}
    </div>
  );
}

export function NotificationsForm({ action, json, baseRevision }: { action: Action; json: string; baseRevision: number | null }) {
  const [state, formAction] = useActionState(action, initialFormState);
  const shown = typeof state.values?.json === 'string' ? state.values.json : json;
  return (
    <form action={formAction} key={state.values ? state.seq : 'stored'} className="space-y-2" data-testid="notifications-form">
      <input type="hidden" name="baseRevision" value={baseRevisionValue(baseRevision)} />
      <Result state={state} testId="notifications-result" />
      <label htmlFor="ntf-json" className="label">Channels (JSON)</label>
      <textarea id="ntf-json" name="json" rows={12} defaultValue={shown} className="input font-mono text-xs" spellCheck={false} />
      <p className="help">
        Types: <code>webhook</code> (url, optional HMAC <code>secret</code>), <code>smtp</code> (host, port, from, to, username, password; STARTTLS by default),
        {' '}<code>ntfy</code> (url of the topic, optional <code>token</code>). Secrets are write-only: a stored one shows as <code>{'{"set": true}'}</code> (keep it); type a new value to replace it.
      </p>
      <SubmitButton>Save channels</SubmitButton>
    </form>
  );
}

export function SendTestButton({ action, channel }: { action: Action; channel: string }) {
  const [state, formAction] = useActionState(action, initialFormState);
  return (
    <form action={formAction} className="space-y-1" data-testid={`send-test-${channel}`}>
      <input type="hidden" name="channel" value={channel} />
      <SubmitButton className="btn btn-sm" label={`Send a test notification to ${channel}`}>Send test</SubmitButton>
      {state.message && (
        <p role={state.ok ? 'status' : 'alert'} className={`max-w-md text-xs ${state.ok ? 'text-emerald-800 dark:text-emerald-300' : 'text-red-700 dark:text-red-400'}`}>{state.message}</p>
      )}
    </form>
  );
}

export function MetricsAccessForm({ action, tokenSet, allow, baseRevision }: { action: Action; tokenSet: boolean; allow: string; baseRevision: number | null }) {
  const [state, formAction] = useActionState(action, initialFormState);
  return (
    <form action={formAction} key={state.values ? state.seq : 'stored'} className="space-y-2" data-testid="metrics-form">
      <input type="hidden" name="baseRevision" value={baseRevisionValue(baseRevision)} />
      <Result state={state} />
      <div className="grid gap-3 sm:grid-cols-2">
        <div>
          <label htmlFor="m-token" className="label">Bearer token ({tokenSet ? 'set' : 'not set'})</label>
          <input id="m-token" name="token" type="password" autoComplete="new-password" className="input" placeholder={tokenSet ? 'leave empty to keep' : 'a long random string'} />
          <label className="mt-1 flex items-center gap-2 text-xs"><input type="checkbox" name="clearToken" className="size-4" /> remove the token</label>
        </div>
        <div>
          <label htmlFor="m-allow" className="label">Allowed source networks</label>
          <input id="m-allow" name="allow" type="text" className="input font-mono text-xs" defaultValue={typeof state.values?.allow === 'string' ? state.values.allow : allow} placeholder="e.g. 192.168.1.5/32" />
        </div>
      </div>
      <p className="help">Prometheus: <code>authorization: {'{'} credentials: &lt;token&gt; {'}'}</code> in the scrape config, or scrape from an allowed address. A signed-in browser may always open /metrics.</p>
      <SubmitButton>Save metrics access</SubmitButton>
    </form>
  );
}

export function ExplainForm({ action, uplinks }: { action: Action<ExplainState>; uplinks: string[] }) {
  const [state, formAction] = useActionState(action, initialFormState as ExplainState);
  const v = (state.values ?? {}) as Record<string, string | boolean>;
  const fe = state.fieldErrors ?? {};
  const x = state.result?.explanation;
  return (
    <div className="space-y-4">
      <form action={formAction} className="card grid gap-3 sm:grid-cols-3 lg:grid-cols-6" data-testid="explain-form" key={state.seq}>
        {(['src', 'dst'] as const).map((k) => (
          <div key={k}>
            <label htmlFor={`x-${k}`} className="label">{k === 'src' ? 'Source' : 'Destination'}</label>
            <input id={`x-${k}`} name={k} className="input font-mono text-xs" defaultValue={String(v[k] ?? (k === 'src' ? '192.168.1.10' : ''))} aria-invalid={fe[k] ? true : undefined} />
            {fe[k] && <p className="text-xs text-red-700">{fe[k].join('; ')}</p>}
          </div>
        ))}
        <div>
          <label htmlFor="x-proto" className="label">Protocol</label>
          <select id="x-proto" name="proto" className="input" defaultValue={String(v.proto ?? 'tcp')}>{['tcp', 'udp', 'icmp'].map((p) => <option key={p}>{p}</option>)}</select>
        </div>
        <div>
          <label htmlFor="x-dport" className="label">Port</label>
          <input id="x-dport" name="dport" className="input" inputMode="numeric" defaultValue={String(v.dport ?? '443')} />
          {fe.dport && <p className="text-xs text-red-700">{fe.dport.join('; ')}</p>}
        </div>
        <div>
          <label htmlFor="x-in" className="label">Arrives from</label>
          <select id="x-in" name="in" className="input" defaultValue={String(v.in ?? 'lan')}>
            <option value="lan">the LAN</option>
            <option value="router">the router itself</option>
            {uplinks.map((u) => <option key={u} value={u}>uplink {u}</option>)}
          </select>
        </div>
        <div className="flex flex-col justify-end gap-2">
          <label className="flex items-center gap-2 text-xs"><input type="checkbox" name="trace" defaultChecked={Boolean(v.trace)} className="size-4" /> confirm in the kernel (10 s)</label>
          <SubmitButton>Explain</SubmitButton>
        </div>
      </form>
      {!state.ok && state.message && <Result state={state} />}
      {x && (
        <section className="card space-y-3" data-testid="explain-result" aria-label="Explanation">
          <p className="text-sm"><span className="muted">revision {state.result!.revision}{state.result!.applied ? ' (applied)' : ' (not applied yet)'} · path</span> <strong>{x.path}</strong>{x.iif ? <> in <code>{x.iif}</code></> : null}{x.oif ? <> out <code>{x.oif}</code></> : null}</p>
          <p className={`rounded-md p-2 text-sm font-medium ${x.decision.verdict === 'accept' ? 'bg-emerald-50 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100' : 'bg-red-50 text-red-900 dark:bg-red-950 dark:text-red-100'}`} data-testid="explain-decision">{x.decision.text}</p>
          {x.uplink && <p className="text-sm" data-testid="explain-uplink"><span className="muted">Uplink:</span> <strong>{x.uplink.name || '–'}</strong> ({x.uplink.why}) — {x.uplink.detail}</p>}
          {(x.nat.dnat || x.nat.snat) && <p className="text-sm"><span className="muted">NAT:</span> {x.nat.dnat ? `destination → ${x.nat.dnat}` : ''}{x.nat.dnat && x.nat.snat ? '; ' : ''}{x.nat.snat ? `source → ${x.nat.snat}` : ''}</p>}
          <ol className="space-y-1 text-xs">
            {x.visits.map((c, i) => (
              <li key={i} className="rounded border border-zinc-200 p-2 dark:border-zinc-800">
                <span className="font-mono">{c.hook}/{c.chain}</span> <span className="muted">→ {c.verdict}</span>
                {c.matched.length > 0 && (
                  <ul className="mt-1 space-y-0.5 pl-4">
                    {c.matched.map((m) => <li key={m.index} className="font-mono">#{m.index} {m.comment ?? ''}{m.counter ? ` [${m.counter}]` : ''} → {m.effect}</li>)}
                  </ul>
                )}
              </li>
            ))}
          </ol>
          {x.warnings.map((w, i) => <p key={i} className="text-xs text-amber-800">{w}</p>)}
          {state.trace && (
            <div className="space-y-1" data-testid="explain-trace">
              <h3 className="text-sm font-semibold">Kernel trace</h3>
              <p className="text-sm">{state.trace.summary}</p>
              {state.trace.lines.length > 0 && <pre className="max-h-64 overflow-auto rounded bg-zinc-50 p-2 text-[11px] dark:bg-zinc-950">{state.trace.lines.join('\n')}</pre>}
            </div>
          )}
        </section>
      )}
    </div>
  );
}
