import type { Metadata } from 'next';
import { latestRevision, listRevisions, emptyConfig } from '@/lib/store/revisions';
import { SettingsForm, ImportForm } from '@/components/SettingsForms';
import { settingsValues } from '@/lib/web/settings';
import { fmtAgo } from '@/lib/web/format';
import { saveSettings, importConfig } from '@/lib/web/actions/settings';

export const metadata: Metadata = { title: 'Settings' };
export const dynamic = 'force-dynamic';

export default async function SettingsPage() {
  const rev = await latestRevision();
  const v = settingsValues(rev?.config ?? emptyConfig());
  const base = rev?.id ?? null;
  const revisions = await listRevisions(10);
  return (
    <>
      <header>
        <h1 className="h1">Settings</h1>
        <p className="mt-1 text-sm muted">Firewall-wide options and kernel settings. Saving stores a new revision that the agent applies.</p>
      </header>
      <SettingsForm action={saveSettings} v={v} baseRevision={base} />
      <div className="grid gap-4 lg:grid-cols-2">
        <section className="card space-y-2" aria-labelledby="exp-h">
          <h2 id="exp-h" className="h2">Export</h2>
          <p className="text-sm muted">Download the desired configuration as versioned JSON (the same document `linkward export` prints).</p>
          <a href="/api/export" className="btn" download>Download configuration</a>
          <h3 className="pt-3 text-sm font-semibold">Backup</h3>
          <p className="text-sm muted">Everything in one file: the database (all revisions, counter history, accounts, audit log) and the router&apos;s linkward configuration files (HTTPS certificate and key). Keep it private. Put it back with <code>linkward restore FILE</code> on the router.</p>
          <a href="/api/backup" className="btn" download>Download backup</a>
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
