// V8's "optimize for size" mode for one allocation burst of the agent: the conntrack listing; and
// collect(), a full collection that the start-up listing runs every 5 000 flows (connections.ts).
// Seeding the mirror from 50 000 flows parses 50 000 lines; with V8's default heuristics the heap
// grows for the burst and keeps that size for ~15 s until its memory reducer runs. With
// --optimize-for-size while the listing runs, V8 collects more eagerly and keeps less. Conntrack
// bench, 50 000 flows, alternating (docs/performance.md, issue 16, fifth round): RSS max in the
// measured window 98.0 / 102.2 MB with it vs 119.2 / 116.2 MB without; the start-up peak
// 108.9 / 116.1 vs 119.2 / 116.2 MB; seeding 3.1–3.3 s vs 2.9–3.4 s.
// Not for the whole process: set for the agent's life it made applies slower (one-rule change at
// 10 000 rules +65-79 %, a 10 000-rule load +27-30 %), and not in the tracker's poll mode, where
// listings can run back to back (agent/connections.ts).
// Node 20 leaves V8's flags writable after start (--no-freeze-flags-after-init is its default;
// started with --freeze-flags-after-init, this call, like the --semi-space-growth-factor one in
// bin/linkward.js, would abort the process). V8 reads the flag at each GC decision
// (Heap::ShouldOptimizeForMemoryUsage), which is what takes effect here; what it implies only at
// heap set-up (the capped young generation) does not apply when it is set at run time.
import v8 from 'node:v8';
import vm from 'node:vm';

export type SetFlags = (flags: string) => void;
export type FullGc = () => void;

/** V8's full collection: the process's own gc() when started with --expose-gc, else exposed at
 *  run time (the flag makes V8 install gc() in contexts created after it: one vm context); null
 *  when this V8 offers neither. */
export function exposeGc(setFlags: SetFlags = (f) => v8.setFlagsFromString(f)): FullGc | null {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return own as FullGc;
  try {
    setFlags('--expose-gc');
    const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : null');
    return typeof gc === 'function' ? (gc as FullGc) : null;
  } catch {
    return null;
  }
}

/** True when the process was started with the flag, either way (then it is left as it is; Node
 *  refuses it in NODE_OPTIONS, so the command line is the only place). */
export function presetForSize(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.some((a) => /^--(no-?)?optimize[-_]for[-_]size$/.test(a));
}

/** Runs fn with V8 optimizing for size; nested and concurrent scopes share one setting, the last
 *  one out restores the default. */
export class SizeScope {
  private depth = 0;
  constructor(
    private readonly setFlags: SetFlags = (f) => v8.setFlagsFromString(f),
    private readonly preset: boolean = presetForSize(),
    private readonly gcSource: () => FullGc | null = exposeGc,
  ) {}

  /** Full collections run by collect(), and the time they took (ms). */
  readonly collected = { count: 0, ms: 0 };
  private gc: FullGc | null | undefined;

  /** One full collection now (a burst's own step: the start-up listing every few thousand flows,
   *  agent/connections.ts). V8 left alone lets the burst's garbage pile up in the old generation
   *  before its first full collection: ~35 MB of heap at 50 000 flows for ~20 MB live. */
  collect(): void {
    if (this.gc === undefined) this.gc = this.gcSource();
    if (!this.gc) return;
    const t0 = performance.now();
    this.gc();
    this.collected.count++;
    this.collected.ms += performance.now() - t0;
  }

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
