// Event-driven drift detection: the periodic resync reads the whole nft table (fingerprint) and
// every route table and ip rule to find changes made behind our back. Those reads cost ~0.2 % of
// a core every 30 s with 1 000 rules. Instead, a long-running `nft monitor` (our table's events)
// and the link watcher's `ip monitor … route rule` (our tables' routes, ip rules) bump a
// generation on anything that could be drift — including the agent's own applies, whose events
// arrive after the apply. The agent records the generation at the start of each successful
// reconcile (a reconcile compares the kernel with the plan: it is a verification); the periodic
// resync runs only when the generation moved since, when a monitor is not running, or when the
// backstop interval passed. Nothing is trusted from the events themselves: an event only means
// "verify"; a lost event (monitor exited or its socket overran: a stderr line) means "verify".
import type { Runner, SpawnedProcess } from './runner';
import { NFT_TABLE_REF } from '../../lib/compile/constants';

/** How long after its start a monitor is assumed to listen. */
const SETTLE_MS = 1000;

export class DriftWatch {
  /** Moves on every event that could be drift and on every monitor start/stop/error. */
  generation = 0;
  /** Why it last moved (logs, tests). */
  last = '';
  private nft: SpawnedProcess | null = null;
  private stopped = false;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private restarts = 0;
  /** The ip monitor feeding routes/rules (the link watcher) is running. */
  ipRunning = false;

  constructor(private readonly runner: Runner, private readonly log: (m: string) => void) {}

  /** Drift evidence from elsewhere (the link watcher's route/rule events). */
  bump(what: string): void {
    this.generation++;
    this.last = what;
    if (what === 'ip monitor started') this.ipRunning = true;
    else if (what === 'ip monitor exited') this.ipRunning = false;
    // A monitor subscribes some time after it was spawned: a verification that started before it
    // surely listens does not count (this second bump invalidates it).
    if (what.endsWith(' started')) setTimeout(() => this.bump(`${what.slice(0, -8)} settled`), SETTLE_MS).unref();
  }

  /** Both monitors are running: a quiet generation means nothing changed. */
  get watching(): boolean {
    return this.nft !== null && this.ipRunning && !this.stopped;
  }

  start(): void {
    this.restartTimer = null;
    if (this.stopped) return;
    const table = ` ${NFT_TABLE_REF} `;
    const p = this.runner.spawn(['nft', 'monitor'], {
      unref: true,
      onStdoutLine: (line) => {
        this.restarts = 0;
        // "add rule inet linkward forward …", "delete chain inet linkward …", "flush table …"
        if (`${line} `.includes(table)) this.bump('nft monitor: our table');
      },
      onStderrLine: (line) => this.bump(`nft monitor: ${line.slice(0, 80)}`), // e.g. ENOBUFS: events lost
      onExit: (code, signal, err) => {
        if (this.nft === p) this.nft = null;
        this.bump('nft monitor exited');
        if (this.stopped) return;
        this.log(`nft monitor ${err ? `failed: ${err.message}` : `exited (${signal ?? code})`}; restarting`);
        const delay = Math.min(30000, 500 * 2 ** Math.min(this.restarts++, 6));
        this.restartTimer = setTimeout(() => this.start(), delay);
        this.restartTimer.unref();
      },
    });
    this.nft = p;
    this.bump('nft monitor started');
  }

  stop(): void {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.nft?.kill('SIGTERM');
    this.nft = null;
  }
}
