// Long-running commands (runner.ts covers run-to-completion ones): argv arrays only, never a
// shell, LC_ALL=C, optional network namespace, stdout/stderr delivered line by line.
import { spawn as nodeSpawn } from 'node:child_process';

export interface SpawnOptions {
  /** Run inside this network namespace (ip netns exec NAME ...). */
  netns?: string;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Called once when the process is gone (code null when killed by a signal or not started). */
  onExit?: (code: number | null, signal: NodeJS.Signals | null, error?: Error) => void;
}

export interface SpawnedProcess {
  readonly argv: string[];
  readonly pid: number | undefined;
  /** Send SIGTERM (default) to the process. Idempotent. */
  kill(signal?: NodeJS.Signals): void;
  readonly exited: Promise<void>;
}

const NS_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_LINE = 64 * 1024;

function lineSplitter(cb: ((line: string) => void) | undefined): (chunk: Buffer) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      cb?.(line);
    }
    if (buf.length > MAX_LINE) buf = ''; // a runaway line without newline: drop it
  };
}

export type Spawner = (argv: string[], opts?: SpawnOptions) => SpawnedProcess;

export const spawnLines: Spawner = (argv, opts = {}) => {
  if (argv.length === 0) throw new Error('spawn: empty argv');
  let full = argv;
  if (opts.netns !== undefined) {
    if (!NS_RE.test(opts.netns)) throw new Error(`spawn: invalid netns name ${JSON.stringify(opts.netns)}`);
    full = ['ip', 'netns', 'exec', opts.netns, ...argv];
  }
  const [cmd, ...args] = full;
  const child = nodeSpawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    shell: false,
  });
  child.stdout.on('data', lineSplitter(opts.onStdoutLine));
  child.stderr.on('data', lineSplitter(opts.onStderrLine));
  let done = false;
  let resolveExit!: () => void;
  const exited = new Promise<void>((r) => (resolveExit = r));
  const finish = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
    if (done) return;
    done = true;
    opts.onExit?.(code, signal, error);
    resolveExit();
  };
  child.on('error', (e) => finish(null, null, e));
  child.on('close', (code, signal) => finish(code, signal));
  return {
    argv: full,
    get pid() {
      return child.pid;
    },
    kill(signal = 'SIGTERM') {
      if (!done && child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited,
  };
};
