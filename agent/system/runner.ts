// The one seam to the operating system: every command linkward runs goes through run().
// argv arrays only (never a shell), LC_ALL=C, a timeout, optional stdin, typed errors with stderr.
// node:child_process directly (not execa): the agent runs a few commands per second when idle,
// and execa's per-run overhead was the largest single item of its idle CPU (docs/performance.md).
import { spawn } from 'node:child_process';

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
/** Output beyond this (per stream) kills the command: a runaway listing must not exhaust memory. */
const MAX_OUTPUT = 100 * 1024 * 1024;
/** After the timeout's SIGTERM, SIGKILL follows this much later if the command is still there. */
const KILL_AFTER_MS = 5000;

let childEnv: NodeJS.ProcessEnv | null = null;
function env(): NodeJS.ProcessEnv {
  // Built once: copying process.env per run is measurable at several runs per second.
  childEnv ??= { ...process.env, LC_ALL: 'C', LANG: 'C' };
  return childEnv;
}

/** Run argv (argv[0] is the program). Without `input`, stdin is /dev/null. */
export const run: Runner = (argv, opts = {}) => {
  if (argv.length === 0) return Promise.reject(new Error('run: empty argv'));
  let full = argv;
  if (opts.netns !== undefined) {
    if (!NS_RE.test(opts.netns)) return Promise.reject(new Error(`run: invalid netns name ${JSON.stringify(opts.netns)}`));
    full = ['ip', 'netns', 'exec', opts.netns, ...argv];
  }
  const [cmd, ...args] = full;
  return new Promise<RunResult>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    let overflow = false;
    let startError: Error | undefined;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const child = spawn(cmd, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: env(),
      shell: false,
      windowsHide: true,
    });
    const kill = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      killTimer.unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs ?? 15000);
    child.stdout?.on('data', (b: Buffer) => {
      outLen += b.length;
      if (outLen > MAX_OUTPUT) {
        overflow = true;
        kill();
      } else out.push(b);
    });
    child.stderr?.on('data', (b: Buffer) => {
      errLen += b.length;
      if (errLen > MAX_OUTPUT) {
        overflow = true;
        kill();
      } else err.push(b);
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // EPIPE: the command exited without reading all input
      child.stdin.end(opts.input);
    }
    child.on('error', (e) => {
      startError ??= e; // spawn failure (ENOENT, EACCES); 'close' follows
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      const stdout = Buffer.concat(out).toString('utf8');
      let stderr = Buffer.concat(err).toString('utf8');
      if (overflow) stderr += `\n(output exceeded ${MAX_OUTPUT} bytes; command killed)`;
      // Killed by a signal (or never started): no exit code, as with execa before.
      const exitCode = startError || signal !== null || code === null ? undefined : code;
      const res: RunResult = { stdout, stderr, exitCode: exitCode ?? -1 };
      if (timedOut || exitCode === undefined || overflow || (exitCode !== 0 && !opts.allowFail)) {
        reject(new CommandError(full, exitCode, stdout, stderr, timedOut, startError));
        return;
      }
      resolve(res);
    });
  });
};
