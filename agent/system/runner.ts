// The one seam to the operating system. Every process linkward starts — a command that runs to
// completion (run), a long-running request/answer process (session) or a streaming one (spawn) —
// goes through a Runner. argv arrays only (never a shell), LC_ALL=C, timeouts, typed errors that
// carry stderr. Built on execa (timeouts with a forced kill after a delay, cleanup of children
// when the agent exits, typed results); see docs/development.md for why and what it costs.
// Tests swap the real runner for FakeSystem.runner (agent/system/fake.ts); `withNetns` runs every
// command of a runner inside a network namespace (the lab, the tests, the benchmarks).
import { execa, type ResultPromise } from 'execa';

export class CommandError extends Error {
  readonly argv: string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly stdout: string;
  readonly timedOut: boolean;
  constructor(argv: string[], exitCode: number | undefined, stdout: string, stderr: string, timedOut: boolean, cause?: unknown) {
    const what = timedOut ? 'timed out' : exitCode === undefined ? 'could not be started (or was killed)' : `exited ${exitCode}`;
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
  /** Do not throw on non-zero exit; return the result (a timeout or a failed start still throws). */
  allowFail?: boolean;
  /** Do not read stdout (result.stdout is ''): commands that print what they did, line by line
   *  (`conntrack -D` prints every deleted flow: 100 000 lines in a failover). */
  discardStdout?: boolean;
  /** Told the command's process id once it is started (e.g. to recognise its own netlink
   *  transaction in `nft monitor`'s "# new generation N by process PID" lines). */
  onPid?: (pid: number) => void;
  /** Aborting it terminates the command (SIGTERM); the run then throws like a killed one. */
  signal?: AbortSignal;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A long-running command that answers one request line at a time (e.g. `nft -j -i`). */
export interface Session {
  /** Write `line` to stdin; resolves with the next stdout line, or (stdout null) with what the
   *  command wrote to stderr when it answered there only. Requests are serialized. Rejects on
   *  timeout or when the command exits (the session is then closed). */
  request(line: string, timeoutMs?: number): Promise<{ stdout: string | null; stderr: string }>;
  close(): void;
  readonly alive: boolean;
}

export interface SpawnOptions {
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Called once when the process is gone (code null when killed by a signal or not started). */
  onExit?: (code: number | null, signal: NodeJS.Signals | null, error?: Error) => void;
  /** 'lines' (default): stdout/stderr go to the callbacks; 'inherit': to this process's. */
  stdio?: 'lines' | 'inherit';
  /** Do not keep this process alive for the child (long-lived watchers). */
  unref?: boolean;
  /** Start the child in its own process group and let it outlive this process (lab daemons);
   *  implies unref. */
  detached?: boolean;
  /** Append stdout and stderr to this file instead of the line callbacks. */
  logFile?: string;
  /** The child's stdout is this open file descriptor (e.g. a FIFO's write end; the caller keeps
   *  and closes its own copy); stderr still goes to onStderrLine. */
  stdoutFd?: number;
  /** Extra environment variables (on top of this process's, with LC_ALL=C). */
  env?: Record<string, string>;
  cwd?: string;
}

export interface SpawnedProcess {
  readonly argv: string[];
  readonly pid: number | undefined;
  /** Send SIGTERM (default) to the process. Idempotent. */
  kill(signal?: NodeJS.Signals): void;
  readonly exited: Promise<void>;
  /** True once the process is gone. */
  readonly done: boolean;
}

/** The seam: everything that starts a process takes one of these. */
export interface Runner {
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
  session(argv: string[]): Session;
  spawn(argv: string[], opts?: SpawnOptions): SpawnedProcess;
}

const NS_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** Output beyond this (per stream) kills the command: a runaway listing must not exhaust memory. */
export const MAX_OUTPUT = 100 * 1024 * 1024;
/** After the timeout's SIGTERM, SIGKILL follows this much later if the command is still there. */
export const KILL_AFTER_MS = 5000;
const MAX_LINE = 1024 * 1024;
/** How long stderr must stay quiet (with no stdout line) before it counts as a session's answer. */
const STDERR_SETTLE_MS = 30;

const ENV = { LC_ALL: 'C', LANG: 'C' };

function checkArgv(argv: string[], what: string): [string, string[]] {
  if (argv.length === 0) throw new Error(`${what}: empty argv`);
  for (const a of argv) if (typeof a !== 'string') throw new Error(`${what}: argv must be strings`);
  return [argv[0], argv.slice(1)];
}

const text = (v: unknown): string => (typeof v === 'string' ? v : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : '');

async function execaRun(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, args] = checkArgv(argv, 'run');
  const sub = execa(cmd, args, {
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
    stdout: opts.discardStdout ? 'ignore' : 'pipe',
    timeout: opts.timeoutMs ?? 15000,
    forceKillAfterDelay: KILL_AFTER_MS,
    maxBuffer: MAX_OUTPUT,
    env: ENV,
    reject: false,
    stripFinalNewline: false,
    encoding: 'utf8',
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
  });
  if (opts.onPid && sub.pid !== undefined) opts.onPid(sub.pid);
  const r = await sub;
  const stdout = text(r.stdout);
  let stderr = text(r.stderr);
  if (r.isMaxBuffer) stderr += `\n(output exceeded ${MAX_OUTPUT} bytes; command killed)`;
  // Killed by a signal, timed out, or never started: no exit code.
  const exitCode = r.timedOut || r.isMaxBuffer || r.signal !== undefined || r.exitCode === undefined ? undefined : r.exitCode;
  if (exitCode === undefined || (exitCode !== 0 && !opts.allowFail)) {
    throw new CommandError(argv, exitCode, stdout, stderr || (r.exitCode === undefined && !r.timedOut ? (r.originalMessage ?? r.shortMessage ?? '') : ''), r.timedOut, r.cause);
  }
  return { stdout, stderr, exitCode };
}

/** Chunks in, complete lines out (a trailing \r dropped); an unterminated line beyond `maxLine`
 *  characters is dropped. */
export function lineSplitter(cb: ((line: string) => void) | undefined, maxLine = MAX_LINE): (chunk: Buffer | string) => void {
  let buf = '';
  return (chunk) => {
    buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      cb?.(line);
    }
    if (buf.length > maxLine) buf = ''; // a runaway line without newline: drop it
  };
}

function execaSpawn(argv: string[], opts: SpawnOptions = {}): SpawnedProcess {
  const [cmd, args] = checkArgv(argv, 'spawn');
  const inherit = opts.stdio === 'inherit';
  const out = opts.logFile !== undefined ? { file: opts.logFile, append: true } : inherit ? 'inherit' : 'pipe';
  const child: ResultPromise = execa(cmd, args, {
    stdin: 'ignore',
    // a file descriptor goes to child_process.spawn as is (execa's types list only 0-9)
    stdout: opts.stdoutFd !== undefined ? (opts.stdoutFd as unknown as 'pipe') : out,
    stderr: out,
    env: opts.env ? { ...opts.env, ...ENV } : ENV,
    cwd: opts.cwd,
    reject: false,
    buffer: false,
    detached: opts.detached ?? false,
    cleanup: !opts.detached,
    forceKillAfterDelay: KILL_AFTER_MS,
  });
  if (out === 'pipe') {
    child.stdout?.on('data', lineSplitter(opts.onStdoutLine));
    child.stderr?.on('data', lineSplitter(opts.onStderrLine));
  }
  if (opts.unref || opts.detached) {
    child.unref();
    for (const s of [child.stdout, child.stderr] as unknown as ({ unref?: () => void } | null)[]) s?.unref?.();
  }
  let done = false;
  const exited = child.then((r) => {
    if (done) return;
    done = true;
    const started = r.exitCode !== undefined || r.signal !== undefined;
    opts.onExit?.(r.exitCode ?? null, (r.signal as NodeJS.Signals | undefined) ?? null, started ? undefined : new Error(r.originalMessage ?? r.shortMessage ?? 'could not be started'));
  });
  return {
    argv,
    get pid() {
      return child.pid;
    },
    get done() {
      return done;
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (!done && child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited,
  };
}

function execaSession(argv: string[]): Session {
  const [cmd, args] = checkArgv(argv, 'session');
  const child = execa(cmd, args, { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', env: ENV, reject: false, buffer: false, forceKillAfterDelay: KILL_AFTER_MS });
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
    p?.reject(new CommandError(argv, code, '', errBuf || why, why === 'timed out', new Error(why)));
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
  child.stdout!.on('data', (b: Buffer) => {
    outBuf += b.toString('utf8');
    if (outBuf.length > MAX_OUTPUT) return fail('output too large');
    let i: number;
    while ((i = outBuf.indexOf('\n')) >= 0) {
      const line = outBuf.slice(0, i);
      outBuf = outBuf.slice(i + 1);
      answer(line);
    }
  });
  child.stderr!.on('data', (b: Buffer) => {
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
  for (const s of [child.stdin, child.stdout, child.stderr] as unknown as ({ unref?: () => void } | null)[]) s?.unref?.();
  child.stdin!.on('error', () => undefined);
  void child.then((r) => {
    if (r.exitCode === undefined && r.signal === undefined) return fail('could not be started');
    alive = false;
    if (pending) fail('exited');
  });
  function close() {
    if (!alive) return;
    alive = false;
    if (settle) clearTimeout(settle);
    child.stdin!.end();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
  const request = (line: string, timeoutMs = 15000) => {
    const next = chain.then(
      () =>
        new Promise<{ stdout: string | null; stderr: string }>((resolve, reject) => {
          if (!alive) return reject(new Error(`${argv.join(' ')}: session closed`));
          if (line.includes('\n')) return reject(new Error('session: one line per request'));
          pending = { resolve, reject, timer: setTimeout(() => fail('timed out'), timeoutMs) };
          errBuf = '';
          child.stdin!.write(`${line}\n`);
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

/** The real runner (execa). */
export const realRunner: Runner = { run: execaRun, session: execaSession, spawn: execaSpawn };

/** Every command of `inner` runs inside network namespace `ns` (`ip netns exec NS argv...`). */
export function withNetns(inner: Runner, ns: string): Runner {
  if (!NS_RE.test(ns)) throw new Error(`invalid netns name ${JSON.stringify(ns)}`);
  const wrap = (argv: string[]) => ['ip', 'netns', 'exec', ns, ...argv];
  return {
    run: (argv, opts) => (argv.length === 0 ? Promise.reject(new Error('run: empty argv')) : inner.run(wrap(argv), opts)),
    session: (argv) => inner.session(wrap(argv)),
    spawn: (argv, opts) => inner.spawn(wrap(argv), opts),
  };
}

/** `withNetns` when `ns` is given, else the runner itself. */
export const inNetns = (inner: Runner, ns: string | undefined): Runner => (ns === undefined ? inner : withNetns(inner, ns));
