// Unified diff text ("@@", "+", "-", " " prefixed lines) with colours; no client JS.
export function DiffView({ text, label, testId }: { text: string; label: string; testId?: string }) {
  if (!text) return <p className="text-sm muted" data-testid={testId}>No differences.</p>;
  return (
    <pre aria-label={label} data-testid={testId} className="max-h-[32rem] overflow-auto rounded-md border border-zinc-200 bg-zinc-50 p-2 font-mono text-xs leading-5 dark:border-zinc-800 dark:bg-zinc-950">
      {text.split('\n').map((l, i) => {
        const cls = l.startsWith('+') ? 'bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-200'
          : l.startsWith('-') ? 'bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-200'
          : l.startsWith('@@') ? 'text-sky-700 dark:text-sky-300' : '';
        return <div key={i} className={`whitespace-pre ${cls}`}>{l.startsWith('@@') ? '⋯' : l}</div>;
      })}
    </pre>
  );
}
