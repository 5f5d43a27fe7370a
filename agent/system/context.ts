// Shared context for every agent/system function: the one Runner (see runner.ts) and an optional
// network namespace the commands run in (tests, lab). Nothing here runs commands by itself.
import type { Runner, RunOptions, RunResult } from './runner';

export interface SysCtx {
  runner: Runner;
  /** Run every command inside this network namespace (ip netns exec NS ...). */
  netns?: string;
}

/** Run argv through ctx.runner, adding ctx.netns. */
export function exec(ctx: SysCtx, argv: string[], opts: Omit<RunOptions, 'netns'> = {}): Promise<RunResult> {
  return ctx.runner(argv, ctx.netns === undefined ? opts : { ...opts, netns: ctx.netns });
}

/** Accept either a bare Runner or a SysCtx (the brief allows both call styles). */
export function toCtx(c: SysCtx | Runner, netns?: string): SysCtx {
  if (typeof c === 'function') return netns === undefined ? { runner: c } : { runner: c, netns };
  return netns === undefined ? c : { ...c, netns };
}
