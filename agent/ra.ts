// Router advertisements on the LANs with Debian's radvd, supervised by the agent: the config is
// generated (lib/compile/radvd.ts) from the plan, checked (`radvd -c`), written atomically, and
// radvd reloaded with SIGHUP when it changed (it advertises at once after a reload: a dead
// uplink's prefix is deprecated on the LAN within milliseconds); started when a LAN needs RAs,
// stopped when none does, restarted with backoff if it exits. Through the runner (argv only).
import fs from 'node:fs';
import path from 'node:path';
import type { RaSpec } from '../lib/compile/types';
import { renderRadvd } from '../lib/compile/radvd';
import type { Runner, SpawnedProcess } from './system/runner';

export class RaDaemon {
  private proc: SpawnedProcess | null = null;
  private text: string | null = null;
  private stopped = false;
  private restarts = 0;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private missingLogged = false;
  /** Reloads sent (tests). */
  reloads = 0;

  constructor(private readonly runner: Runner, private readonly dir: string, private readonly log: (m: string) => void) {}

  get file(): string {
    return path.join(this.dir, 'radvd.conf');
  }

  get running(): boolean {
    return this.proc !== null && !this.proc.done;
  }

  /** Bring radvd to `ra` (empty: not running). Never throws: RAs are not worth failing an apply. */
  async configure(ra: readonly RaSpec[]): Promise<void> {
    if (this.stopped) return;
    if (ra.length === 0) {
      this.text = null;
      this.kill();
      return;
    }
    const text = renderRadvd(ra);
    if (text === this.text && this.running) return;
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
      const tmp = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, text, { mode: 0o644 });
      const check = await this.runner.run(['radvd', '-c', '-C', tmp], { allowFail: true, timeoutMs: 10000 });
      if (check.exitCode !== 0) {
        fs.rmSync(tmp, { force: true });
        this.log(`radvd refused the generated configuration (router advertisements unchanged): ${(check.stderr || check.stdout).trim().split('\n').slice(-3).join(' | ')}`);
        return;
      }
      fs.renameSync(tmp, this.file);
    } catch (e) {
      const missing = (e as { exitCode?: number }).exitCode === undefined && /ENOENT|could not be started/.test(String((e as Error).message));
      if (missing && !this.missingLogged) {
        this.missingLogged = true;
        this.log('radvd is not installed (apt install radvd): IPv6 LANs get no router advertisements');
      } else if (!missing) this.log(`radvd: ${(e as Error).message}`);
      return;
    }
    this.text = text;
    if (this.running) {
      this.proc!.kill('SIGHUP');
      this.reloads++;
    } else this.start();
  }

  private start(): void {
    if (this.stopped || this.text === null) return;
    const p = this.runner.spawn(['radvd', '-n', '-C', this.file, '-p', path.join(this.dir, 'radvd.pid'), '-m', 'stderr'], {
      unref: true,
      onStderrLine: (l) => {
        if (/error|fail|warn/i.test(l)) this.log(`radvd: ${l}`);
      },
      onExit: (code, signal) => {
        if (this.proc === p) this.proc = null;
        if (this.stopped || this.text === null) return;
        const delay = Math.min(30000, 1000 * 2 ** Math.min(this.restarts++, 5));
        this.log(`radvd exited (${signal ?? code}); restart in ${delay} ms`);
        this.restartTimer = setTimeout(() => this.start(), delay);
        this.restartTimer.unref();
      },
    });
    this.proc = p;
  }

  private kill(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const p = this.proc;
    this.proc = null;
    p?.kill('SIGTERM');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const p = this.proc;
    this.kill();
    if (p) await Promise.race([p.exited, new Promise((r) => setTimeout(r, 3000))]);
  }
}
