// node:test reporter (second reporter of scripts/test.sh): after the run, each test file's time as
// the sum of its top-level tests' durations (its imports and after() hooks, e.g. a lab's teardown,
// are not in it), slowest first, so a CI log shows where the suite's minutes go.
export default async function* fileTimes(source) {
  const byFile = new Map();
  for await (const ev of source) {
    if ((ev.type === 'test:pass' || ev.type === 'test:fail') && ev.data.nesting === 0 && ev.data.file) {
      const f = ev.data.file.replace(`${process.cwd()}/`, '');
      const t = byFile.get(f) ?? { ms: 0, fail: 0 };
      t.ms += ev.data.details?.duration_ms ?? 0;
      if (ev.type === 'test:fail') t.fail++;
      byFile.set(f, t);
    }
  }
  const rows = [...byFile].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, t]) => s + t.ms, 0);
  yield `linkward test: time per file (${rows.length} files, ${(total / 1000).toFixed(0)} s of tests)\n`;
  for (const [f, t] of rows) yield `${(t.ms / 1000).toFixed(1).padStart(8)} s  ${f}${t.fail ? `  (${t.fail} failed)` : ''}\n`;
}
