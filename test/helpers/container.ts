// A Debian 13 container booted with systemd-nspawn, for the package's boot test (GUIDE.md §8).
// The root is the cached debootstrap tree (scripts/boot-root.sh) under an overlay, so every run
// starts from the same fresh Debian and the cache is never written. The container's network
// interfaces are moved in at start from a staging namespace (nspawn --network-interface), so they
// exist — down — when the container's init starts, like a real router's NICs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli';

export function sh(argv: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 120000, maxBuffer: 64 * 1024 * 1024 });
  const out = { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  if (out.code !== 0 && !opts.allowFail) throw new Error(`${argv.join(' ')} exited ${out.code}: ${out.stderr.trim()}`);
  return out;
}

/** The cached Debian root (built by scripts/boot-root.sh when missing: ~1 min, Debian mirror). */
export function bootRoot(): string {
  return sh(['bash', path.join(ROOT, 'scripts', 'boot-root.sh')], { timeoutMs: 900000 }).stdout.trim().split('\n').pop()!;
}

export interface Overlay {
  merged: string;
  upper: string;
  cleanup(): void;
}

/** A writable view of `lower` (overlayfs); the lower tree is never written. */
export function overlay(lower: string, dir: string): Overlay {
  const upper = path.join(dir, 'upper');
  const work = path.join(dir, 'work');
  const merged = path.join(dir, 'merged');
  for (const d of [upper, work, merged]) fs.mkdirSync(d, { recursive: true });
  sh(['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
  return {
    merged,
    upper,
    cleanup() {
      sh(['umount', '-l', merged], { allowFail: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Container {
  /** PID (in our namespace) of the container's init. */
  leader: number;
  proc: ChildProcess;
  log: string;
  /** Run argv inside the container (all its namespaces), as root. */
  exec(argv: string[], opts?: { input?: string; allowFail?: boolean; timeoutMs?: number }): { code: number; stdout: string; stderr: string };
  /** Wait for nspawn to exit; its exit code (133 = the container asked to reboot). */
  exited(timeoutMs?: number): Promise<number | null>;
  /** SIGTERM to nspawn (clean shutdown of the container), SIGKILL if it lingers. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(...fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Boot `root` with nspawn inside network namespace `stageNs`, moving `ifaces` from it into the container. */
export async function boot(root: string, stageNs: string, ifaces: string[], logFile: string): Promise<Container> {
  // nspawn refuses to move an interface udev has not "initialized" — and no udev runs on a host
  // whose PID 1 is not systemd. It skips that check when /sys is read-only (the container
  // convention: udev_available()), so nspawn runs in its own mount namespace with /sys read-only.
  const nspawn = [
    'systemd-nspawn', '--quiet', '-D', root, '--boot', '--register=no', '--keep-unit',
    '--private-network', ...ifaces.map((i) => `--network-interface=${i}`), '--console=pipe', '--machine=linkward-boot',
  ];
  // nsenter (not `ip netns exec`, which mounts a fresh /sys without the cgroup hierarchy nspawn needs)
  const argv = [`--net=/run/netns/${stageNs}`, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -o remount,bind,ro /sys && exec "$@"', 'sh', ...nspawn];
  const log = fs.openSync(logFile, 'a');
  const proc = spawn('nsenter', argv, { stdio: ['ignore', log, log], env: { ...process.env, SYSTEMD_NSPAWN_TMPFS_TMP: '1' } });
  fs.closeSync(log);
  let exitCode: number | null | undefined;
  const exitP = new Promise<number | null>((resolve) => proc.on('exit', (code) => {
    exitCode = code;
    resolve(code);
  }));
  // nsenter → unshare → sh → nspawn → (outer child) → init: find a descendant whose comm is systemd and whose
  // network namespace differs from the stage's
  let leader = 0;
  for (let i = 0; i < 200 && !leader && exitCode === undefined; i++) {
    await sleep(50);
    const queue = [proc.pid!];
    while (queue.length) {
      const p = queue.shift()!;
      let comm = '';
      try {
        comm = fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      if (comm === 'systemd' && p !== proc.pid) {
        leader = p;
        break;
      }
      queue.push(...childrenOf(p));
    }
  }
  if (!leader) {
    proc.kill('SIGKILL');
    throw new Error(`container did not start (exit ${exitCode}); see ${logFile}:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
  }
  const c: Container = {
    leader,
    proc,
    log: logFile,
    exec: (cmd, opts = {}) => sh(['nsenter', '-t', String(leader), '-m', '-u', '-i', '-n', '-p', '--', ...cmd], opts),
    exited: async (timeoutMs = 60000) => {
      const t = sleep(timeoutMs).then(() => undefined);
      const r = await Promise.race([exitP, t]);
      return r === undefined ? null : r;
    },
    stop: async () => {
      if (exitCode !== undefined) return;
      proc.kill('SIGTERM');
      if ((await c.exited(30000)) === null && exitCode === undefined) {
        proc.kill('SIGKILL');
        await c.exited(10000);
      }
    },
  };
  return c;
}

/** Wait until the container's systemd says running (or degraded: some unit failed; returned). */
export async function waitBooted(c: Container, timeoutMs = 90000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    const r = c.exec(['systemctl', 'is-system-running'], { allowFail: true });
    last = r.stdout.trim();
    if (last === 'running' || last === 'degraded') return last;
    await sleep(250);
  }
  throw new Error(`container not booted after ${timeoutMs} ms (state ${last}); log: ${fs.readFileSync(c.log, 'utf8').slice(-3000)}`);
}
