// Event-driven drift detection: the periodic resync reads the whole nft table (fingerprint) and
// every route table and ip rule to find changes made behind our back. Those reads cost ~0.2 % of
// a core every 30 s with 1 000 rules. Instead, a long-running `nft monitor` (our table's events)
// and the link watcher's `ip monitor … route rule` (our tables' routes, ip rules) bump a
// generation on anything that could be drift. The agent's own `nft -f` transactions are known by
// their process id (the kernel's "# new generation N by process PID" line after each transaction's
// events) and do not count; its own route/rule changes do. The agent records the generation at
// the start of each successful reconcile (a reconcile compares the kernel with the plan: it is a
// verification); the periodic resync runs only when the generation moved since, when a monitor
// is not running, or when the backstop interval passed. Nothing is trusted from the events themselves: an event only means
// "verify"; a lost event (monitor exited or its socket overran: a stderr line) means "verify".
import type { Runner, SpawnedProcess } from './runner';
import { NFT_TABLE_REF } from '../../lib/compile/constants';

/** How long after its start a monitor is assumed to listen. */
const SETTLE_MS = 1000;
/** Events of our table not followed by their transaction's "# new generation" line within this
 *  long after the last of them count as drift anyway (an nft that does not print it). Measured
 *  from the last event: nft monitor needs a while to print a 10 000-rule transaction. */
const GEN_LINE_MS = 200;
/** Our own `nft -f` pids are remembered this long (a failed apply commits nothing). */
const OWN_PID_MS = 60_000;
const GEN_RE = /^# new generation \d+ by process (\d+) /;

export class DriftWatch {
  /** Moves on every event that could be drift and on every monitor start/stop/error. */
  generation = 0;
  /** The part of `generation` that came from the nft monitor (our table's events, its own
   *  start/stop/errors): a read-back of the table verifies those, not routes or rules. */
  nftGeneration = 0;
  /** Why it last moved (logs, tests). */
  last = '';
  private nft: SpawnedProcess | null = null;
  private stopped = false;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private restarts = 0;
  /** The ip monitor feeding routes/rules (the link watcher) is running. */
  ipRunning = false;
  /** Transactions of our own `nft -f` runs (pid → when), and how many were recognised. */
  private own = new Map<number, number>();
  ownTransactions = 0;
  /** Events of our table seen since the last "# new generation" line (their author unknown yet),
   *  and when the last of them came. */
  private pending: ReturnType<typeof setTimeout> | null = null;
  private pendingLast = 0;
  /** quietDuring() calls in progress: the monitor is down on purpose and not restarted by its exit. */
  private quiet = 0;
  /** How many of our transactions ran with the monitor down (tests). */
  quietCommits = 0;

  constructor(private readonly runner: Runner, private readonly log: (m: string) => void) {}

  /** Drift evidence from elsewhere (the link watcher's route/rule events). */
  bump(what: string): void {
    this.generation++;
    if (what.startsWith('nft monitor')) this.nftGeneration++;
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

  /** No event of our table waits for its transaction's author. */
  get settled(): boolean {
    return this.pending === null;
  }

  /** Our own `nft -f` runs as `pid`: the events of its transaction are not drift. */
  ownCommit(pid: number): void {
    // with the monitor stopped for it (quietDuring) nothing will print that transaction: a pid
    // kept here would only wait to be mistaken for a later nft of someone else with the same pid
    if (this.quiet > 0) return;
    const now = Date.now();
    for (const [p, at] of this.own) if (now - at > OWN_PID_MS) this.own.delete(p);
    this.own.set(pid, now);
  }

  /** One line of `nft monitor`: our table's events wait for the "# new generation N by process
   *  PID (comm)" line the kernel sends after each transaction; one by our own nft is ours, any
   *  other (or none within GEN_LINE_MS) is drift evidence. */
  private onLine(line: string): void {
    const g = GEN_RE.exec(line);
    if (g) {
      if (!this.pending) return;
      clearTimeout(this.pending);
      this.pending = null;
      const pid = Number(g[1]);
      if (this.own.delete(pid)) this.ownTransactions++;
      else this.bump('nft monitor: our table');
      return;
    }
    if (!`${line} `.includes(` ${NFT_TABLE_REF} `)) return;
    this.pendingLast = Date.now();
    if (!this.pending) this.awaitGenLine(GEN_LINE_MS);
  }

  /** No transaction line GEN_LINE_MS after the last event of our table: drift. */
  private awaitGenLine(ms: number): void {
    this.pending = setTimeout(() => {
      const quiet = Date.now() - this.pendingLast;
      if (quiet < GEN_LINE_MS) return this.awaitGenLine(GEN_LINE_MS - quiet);
      this.pending = null;
      this.bump('nft monitor: our table (no transaction line)');
    }, ms);
    this.pending.unref?.();
  }

  start(): void {
    this.restartTimer = null;
    if (this.stopped) return;
    const p = this.runner.spawn(['nft', 'monitor'], {
      unref: true,
      onStdoutLine: (line) => {
        this.restarts = 0;
        // "add rule inet linkward forward …", "delete chain inet linkward …", "flush table …",
        // then "# new generation 12 by process 3456 (nft)"
        this.onLine(line);
      },
      onStderrLine: (line) => this.bump(`nft monitor: ${line.slice(0, 80)}`), // e.g. ENOBUFS: events lost
      onExit: (code, signal, err) => {
        const current = this.nft === p;
        if (current) this.nft = null;
        this.bump('nft monitor exited');
        // stopped, or replaced (quietDuring took it down and starts the next one itself)
        if (this.stopped || !current) return;
        this.log(`nft monitor ${err ? `failed: ${err.message}` : `exited (${signal ?? code})`}; restarting`);
        const delay = Math.min(30000, 500 * 2 ** Math.min(this.restarts++, 6));
        this.restartTimer = setTimeout(() => this.start(), delay);
        this.restartTimer.unref();
      },
    });
    this.nft = p;
    this.bump('nft monitor started');
  }

  /** Run `commit` (one of our large transactions) with the nft monitor unsubscribed, then start it
   *  again. Nothing is trusted meanwhile: the monitor's exit and restart move the generation, so
   *  the next verification (the read-back after the apply, or the periodic resync) checks the
   *  table; until then `watching` is false and partial applies read their marker. */
  async quietDuring(commit: () => Promise<void>): Promise<void> {
    // not running (stopped, or between a crash and its restart): nothing to stop; a second call
    // while one is quiet joins that quiet period
    if (this.stopped || (!this.nft && this.quiet === 0)) return commit();
    this.quiet++;
    try {
      const p = this.nft;
      if (p) {
        this.nft = null;
        p.kill('SIGTERM');
        // its netlink socket closes when it exits: only then does the kernel stop building events
        // for it (at most 500 ms: a monitor that does not exit by then is not waited for)
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([p.exited, new Promise<void>((r) => { timer = setTimeout(r, 500); })]);
        clearTimeout(timer);
      }
      this.quietCommits++;
      await commit();
    } finally {
      this.quiet--;
      if (this.quiet === 0 && !this.stopped && !this.nft) this.start();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.pending) clearTimeout(this.pending);
    this.pending = null;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.nft?.kill('SIGTERM');
    this.nft = null;
  }
}
