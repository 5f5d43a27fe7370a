// V8's "optimize for size" mode for one allocation burst of the agent: the conntrack listing.
// Seeding the mirror from 50 000 flows parses 50 000 lines; with V8's default heuristics the heap
// grows for the burst and keeps that size for ~15 s until its memory reducer runs. With
// --optimize-for-size while the listing runs, V8 collects more eagerly and keeps less. Conntrack
// bench, 50 000 flows, alternating (docs/performance.md, issue 16, fifth round): RSS max in the
// measured window 98.0 / 102.2 MB with it vs 119.2 / 116.2 MB without; the start-up peak
// 108.9 / 116.1 vs 119.2 / 116.2 MB; seeding 3.1–3.3 s vs 2.9–3.4 s.
// Not for the whole process: set for the agent's life it made applies 40–60 % slower.
// Node keeps V8's flags writable after start (it turns off --freeze-flags-after-init), and the
// flag is read where V8 sizes the heap and decides on GC, so setting it at run time takes effect;
// the agent already sets --semi-space-growth-factor the same way (bin/linkward.js).
import v8 from 'node:v8';

export type SetFlags = (flags: string) => void;

/** True when the process was started with the flag (then it is left as it is). */
export function presetForSize(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /^--(no-)?optimize[-_]for[-_]size$/.test(a));
}

/** Runs fn with V8 optimizing for size; nested and concurrent scopes share one setting, the last
 *  one out restores the default. */
export class SizeScope {
  private depth = 0;
  constructor(
    private readonly setFlags: SetFlags = (f) => v8.setFlagsFromString(f),
    private readonly preset: boolean = presetForSize(),
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.preset) return fn();
    if (this.depth++ === 0) this.setFlags('--optimize-for-size');
    try {
      return await fn();
    } finally {
      if (--this.depth === 0) this.setFlags('--no-optimize-for-size');
    }
  }
}

export const heapForSize = new SizeScope();
