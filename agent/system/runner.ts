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

/** A long-running command that answers one request line at a time (e.g. `nft -j -i`). */
export interface Session {
  /** Write `line` to stdin; resolves with the next stdout line, or (stdout null) with what the
   *  command wrote to stderr when it answered there only. Requests are serialized. Rejects on
   *  timeout or when the command exits (the session is then closed). */
  request(line: string, timeoutMs?: number): Promise<{ stdout: string | null; stderr: string }>;
  close(): void;
  readonly alive: boolean;
}

/** How long stderr must stay quiet (with no stdout line) before it counts as the answer. */
const STDERR_SETTLE_MS = 30;

/** Start `argv` (argv only, LC_ALL=C, optional netns) as a request/answer session over stdin/stdout. */
export function startSession(argv: string[], opts: { netns?: string } = {}): Session {
  if (argv.length === 0) throw new Error('session: empty argv');
  let full = argv;
  if (opts.netns !== undefined) {
    if (!NS_RE.test(opts.netns)) throw new Error(`session: invalid netns name ${JSON.stringify(opts.netns)}`);
    full = ['ip', 'netns', 'exec', opts.netns, ...argv];
  }
  const [cmd, ...args] = full;
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env(), shell: false });
  let alive = true;
  let outBuf = '';
  let errBuf = '';
  let pending: { resolve: (r: { stdout: string | null; stderr: string }) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> } | null = null;
  let settle: ReturnType<typeof setTimeout> | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  const fail = (why: string) => {
    const p = pending;
    pending = null;
    if (p) clearTimeout(p.timer);
    close();
    const code = why === 'exited' ? (child.exitCode ?? undefined) : undefined;
    p?.reject(new CommandError(full, code, '', errBuf || why, why === 'timed out', new Error(why)));
  };
  const answer = (stdout: string | null) => {
    const p = pending;
    if (!p) {
      fail('answer without a request'); // out of step: never trust this session again
      return;
    }
    pending = null;
    clearTimeout(p.timer);
    if (settle) clearTimeout(settle);
    settle = null;
    const stderr = errBuf;
    errBuf = '';
    p.resolve({ stdout, stderr });
  };
  child.stdout.on('data', (b: Buffer) => {
    outBuf += b.toString('utf8');
    if (outBuf.length > MAX_OUTPUT) return fail('output too large');
    let i: number;
    while ((i = outBuf.indexOf('\n')) >= 0) {
      const line = outBuf.slice(0, i);
      outBuf = outBuf.slice(i + 1);
      answer(line);
    }
  });
  child.stderr.on('data', (b: Buffer) => {
    errBuf += b.toString('utf8');
    if (errBuf.length > MAX_OUTPUT) return fail('output too large');
    if (!pending) return; // a stray warning; kept for the next answer
    if (settle) clearTimeout(settle);
    settle = setTimeout(() => {
      settle = null;
      if (pending) answer(null);
    }, STDERR_SETTLE_MS);
  });
  // An idle session does not keep the process alive (a pending request has its own timer).
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr] as unknown as { unref?: () => void }[]) s.unref?.();
  child.stdin.on('error', () => undefined);
  child.on('error', () => fail('could not be started'));
  child.on('close', () => {
    alive = false;
    if (pending) fail('exited');
  });
  function close() {
    if (!alive) return;
    alive = false;
    if (settle) clearTimeout(settle);
    child.stdin.end();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
  const request = (line: string, timeoutMs = 15000) => {
    const next = chain.then(
      () =>
        new Promise<{ stdout: string | null; stderr: string }>((resolve, reject) => {
          if (!alive) return reject(new Error(`${full.join(' ')}: session closed`));
          if (line.includes('\n')) return reject(new Error('session: one line per request'));
          pending = { resolve, reject, timer: setTimeout(() => fail('timed out'), timeoutMs) };
          errBuf = '';
          child.stdin.write(`${line}\n`);
        }),
    );
    chain = next.catch(() => undefined);
    return next;
  };
  return {
    request,
    close,
    get alive() {
      return alive;
    },
  };
}
