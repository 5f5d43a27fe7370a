/** Banner after a redirect: ?saved=<revision> or ?error=<text>. */
export function Notice({ saved, error }: { saved?: string; error?: string }) {
  if (error) {
    return (
      <p role="alert" className="rounded-md border border-red-200 bg-red-50 p-2 text-sm text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200">
        Not saved: {error}
      </p>
    );
  }
  if (saved && /^\d+$/.test(saved)) {
    return (
      <p role="status" className="rounded-md border border-emerald-200 bg-emerald-50 p-2 text-sm text-emerald-900 dark:border-emerald-900 dark:bg-emerald-950 dark:text-emerald-100">
        Saved as revision {saved}. The agent applies it within seconds (see the status bar).
      </p>
    );
  }
  return null;
}
