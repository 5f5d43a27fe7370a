import type { Metadata } from 'next';
import { latestRevision, listRevisions, emptyConfig, redactSecrets, recentNotifications } from '@/lib/web/data';
import { SettingsForm, ImportForm, RestoreBackupForm } from '@/components/SettingsForms';
import { settingsValues } from '@/lib/web/settings';
import { fmtAgo } from '@/lib/web/format';
import { saveSettings, importConfig, restoreBackupAction } from '@/lib/web/actions/settings';
import { NotificationsForm, SendTestButton, MetricsAccessForm } from '@/components/ObserveForms';
import { saveNotifications, sendTestNotification, saveMetricsAccess } from '@/lib/web/actions/observe';

export const metadata: Metadata = { title: 'Settings' };
export const dynamic = 'force-dynamic';

export default async function SettingsPage() {
  const rev = await latestRevision();
  const v = settingsValues(rev?.config ?? emptyConfig());
  const base = rev?.id ?? null;
  const revisions = await listRevisions(10);
  const cfg = redactSecrets(rev?.config ?? emptyConfig());
  const recent = await recentNotifications(8);
  const target = (n: (typeof cfg.notifications)[number]) => (n.type === 'smtp' ? `${n.to.join(', ')} via ${n.host}:${n.port} (${n.tls})` : n.url);
  const secretOf = (n: (typeof cfg.notifications)[number]) => (n.type === 'webhook' ? ['HMAC secret', n.secret] : n.type === 'smtp' ? ['password', n.password] : ['token', n.token]) as [string, unknown];
  return (
    <>
      <header>
        <h1 className="h1">Settings</h1>
        <p className="mt-1 text-sm muted">Firewall-wide options and kernel settings. Saving stores a new revision that the agent applies.</p>
      </header>
      <SettingsForm action={saveSettings} v={v} baseRevision={base} />
      <section className="card space-y-3" aria-labelledby="ntf-h" data-testid="notifications-card">
        <h2 id="ntf-h" className="h2">Notifications</h2>
        <p className="text-sm muted">The agent sends them (queued, retried with backoff, one message for a flapping uplink): uplink down/up/degraded, failover and failback, apply errors, rollbacks, ban storms, data caps, agent restarts.</p>
        {cfg.notifications.length === 0 ? (
          <p className="text-sm muted">No channel yet.</p>
        ) : (
          <ul className="divide-y divide-zinc-200 dark:divide-zinc-800">
            {cfg.notifications.map((n) => {
              const [what, sec] = secretOf(n);
              return (
                <li key={n.name} className="flex flex-wrap items-start justify-between gap-3 py-2" data-testid={`channel-${n.name}`}>
                  <div className="text-sm">
                    <strong>{n.name}</strong> <span className="badge bg-zinc-100 text-zinc-800 dark:bg-zinc-800 dark:text-zinc-200">{n.type}</span>{!n.enabled && <span className="muted"> (disabled)</span>}
                    <p className="font-mono text-xs break-all">{target(n)}</p>
                    <p className="text-xs muted">{what}: {sec === undefined ? 'not set' : 'set'}{n.events ? ` · events: ${n.events.join(', ')}` : ' · all events'}</p>
                  </div>
                  <SendTestButton action={sendTestNotification} channel={n.name} />
                </li>
              );
            })}
          </ul>
        )}
        <NotificationsForm action={saveNotifications} json={JSON.stringify(cfg.notifications, null, 2)} baseRevision={base} />
        {recent.length > 0 && (
          <>
            <h3 className="pt-2 text-sm font-semibold">Recent notifications</h3>
            <ul className="space-y-1 text-xs" data-testid="recent-notifications">
              {recent.map((r) => (
                <li key={r.id}><span className="font-mono muted">{fmtAgo(r.createdAt)}</span> {r.event}{r.uplink ? ` ${r.uplink}` : ''} → {r.channel}: {r.sentAt ? `sent${r.attempts > 1 ? ` after ${r.attempts} attempts` : ''}` : r.failedAt ? `given up (${r.lastError})` : `queued (${r.attempts} attempts${r.lastError ? `, ${r.lastError}` : ''})`}</li>
              ))}
            </ul>
          </>
        )}
      </section>
      <section className="card space-y-3" aria-labelledby="met-h">
        <h2 id="met-h" className="h2">Prometheus metrics</h2>
        <p className="text-sm muted">GET <code className="font-mono">/metrics</code> on this dashboard serves the metrics in the Prometheus text format (also <code className="font-mono">linkward metrics</code>).</p>
        <MetricsAccessForm action={saveMetricsAccess} tokenSet={cfg.metrics?.token !== undefined} allow={(cfg.metrics?.allow ?? []).join(', ')} baseRevision={base} />
      </section>
      <div className="grid gap-4 lg:grid-cols-2">
        <section className="card space-y-2" aria-labelledby="exp-h">
          <h2 id="exp-h" className="h2">Export</h2>
          <p className="text-sm muted">Download the desired configuration as versioned JSON (the same document `linkward export` prints).</p>
          <a href="/api/export" className="btn" download>Download configuration</a>
          <h3 className="pt-3 text-sm font-semibold">Backup</h3>
          <p className="text-sm muted">Everything in one file: the database (all revisions, counter history, accounts, audit log) and the router&apos;s linkward configuration files (HTTPS certificate and key). Keep it private. Put it back below (the database) or with <code>sudo linkward restore FILE</code> on the router (everything).</p>
          <a href="/api/backup" className="btn" download>Download backup</a>
          <h3 className="pt-3 text-sm font-semibold">Restore a backup</h3>
          <RestoreBackupForm action={restoreBackupAction} />
          <h3 className="pt-3 text-sm font-semibold">Recent revisions</h3>
          {revisions.length === 0 ? (
            <p className="text-sm muted">None yet.</p>
          ) : (
            <ol className="space-y-1 text-sm">
              {revisions.map((r) => (
                <li key={r.id}><span className="font-mono text-xs muted">r{r.id}</span> {r.summary} <span className="text-xs muted">({r.source}, {r.author}, {fmtAgo(r.createdAt)})</span></li>
              ))}
            </ol>
          )}
        </section>
        <section className="card space-y-2" aria-labelledby="imp-h">
          <h2 id="imp-h" className="h2">Import</h2>
          <ImportForm action={importConfig} baseRevision={base} />
        </section>
      </div>
    </>
  );
}
