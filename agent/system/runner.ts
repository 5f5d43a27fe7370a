// The one seam to the operating system: every command linkward runs goes through run().
// argv arrays only (never a shell), LC_ALL=C, a timeout, optional stdin, typed errors with stderr.
import { execa } from 'execa';

export class CommandError extends Error {
  readonly argv: string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly stdout: string;
  readonly timedOut: boolean;
  constructor(argv: string[], exitCode: number | undefined, stdout: string, stderr: string, timedOut: boolean, cause?: unknown) {
    const what = timedOut ? 'timed out' : exitCode === undefined ? 'could not be started' : `exited ${exitCode}`;
    super(`${argv.join(' ')} ${what}${stderr ? `: ${stderr.trim()}` : ''}`, cause ? { cause } : undefined);
    this.name = 'CommandError';
    this.argv = argv;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
    this.timedOut = timedOut;
  }
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  /** Run inside this network namespace (ip netns exec NAME ...). */
  netns?: string;
  /** Do not throw on non-zero exit; return the result. */
  allowFail?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export type Runner = (argv: string[], opts?: RunOptions) => Promise<RunResult>;

const NS_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Run argv (argv[0] is the program). */
export const run: Runner = async (argv, opts = {}) => {
  if (argv.length === 0) throw new Error('run: empty argv');
  let full = argv;
  if (opts.netns !== undefined) {
    if (!NS_RE.test(opts.netns)) throw new Error(`run: invalid netns name ${JSON.stringify(opts.netns)}`);
    full = ['ip', 'netns', 'exec', opts.netns, ...argv];
  }
  const [cmd, ...args] = full;
  const r = await execa(cmd, args, {
    input: opts.input,
    timeout: opts.timeoutMs ?? 15000,
    reject: false,
    stripFinalNewline: false,
    env: { LC_ALL: 'C', LANG: 'C' },
    extendEnv: true,
  });
  const res: RunResult = { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1 };
  if (r.timedOut || r.exitCode === undefined || (r.exitCode !== 0 && !opts.allowFail)) {
    throw new CommandError(full, r.exitCode, res.stdout, res.stderr, Boolean(r.timedOut), r.cause);
  }
  return res;
};
