// The reconcile loop. Level-triggered: every trigger (new revision, link/address change,
// health transition, periodic timer) coalesces into one reconcile that compares desired
// state with what the kernel has and fixes the difference. Failures keep the last good kernel
// state, are recorded in the database and retried with exponential backoff and a full resync.
import { EventEmitter } from 'node:events';
import type { DB } from '../lib/db/sqlite';
import type { Config } from '../lib/validations/config';
import { effectiveHealth, familyQuorum } from '../lib/validations/config';
import type { Facts, Plan, HealthState } from '../lib/compile/types';
import { compile } from '../lib/compile/compile';
import { MARK_MASK, counterUplinkIn, counterUplinkOut, uplinkIdOfMark } from '../lib/compile/constants';
import { realRunner, type Runner } from './system/runner';
import { gatherFacts, readFactsDocs, factsFromDocs, type FactsDocs } from './system/facts';
import { isIPv6 } from '../lib/validations/net';
import { applyPlan, resetApplyCache, prefetchMarker, stopVerify, ApplyError, type ApplyCtx } from './system/apply';
import { openDb } from '../lib/db/sqlite';
import type { SysctlChange } from './system/sysctl';
import { NftCounterReader } from './system/nft';
import { deleteByMark } from './system/conntrack';
import { ConnTracker, type ConnContext } from './connections';
import { watchLinks, type LinkWatcher } from './system/ipmonitor';
import { DriftWatch } from './system/driftwatch';
import { AgentStore, isDbFault, REQUESTS_PER_READ, type UplinkStatusRow } from './store';
import { HealthMonitor, type UplinkSnapshot } from './health/monitor';
import { watchDbWrites, type DbWatch } from './system/dbwatch';
import { ConfirmWatcher } from './confirm';
import { Visibility } from './droplog';
import { uplinkStatus } from './uplink-status';
import { AgentMetrics } from './metrics';
import { Notifier, type NotifierOptions } from './notify/notifier';
import type { NotifyEventData } from './notify/events';
import { Meter } from './meter';
import { traceKernel, type TraceSpec } from './system/trace';

/** New port-scan bans within a minute that make a "ban storm" notification. */
export const BAN_STORM = 10;

/** Health entity of an uplink's IPv6 ("isp1/6"): config names never contain '/'. */
export const FAMILY6_SUFFIX = '/6';
let agentCount = 0;
import { BootState } from './bootstate';
import { RaDaemon } from './ra';
import { PrefixDelegation } from './pd';
import { PacketLog } from './ulogd';
import os from 'node:os';
import path from 'node:path';
import { readMachine } from './system/machine';

export interface AgentOptions {
  db: DB;
  runner?: Runner;
  /** Probe uplink health (off for --once). */
  health?: boolean;
  /** Watch `ip monitor` for link/address changes. */
  watchLinks?: boolean;
  /** Skip the periodic resync while `nft monitor` and `ip monitor` saw nothing since the last
   *  verification (agent/system/driftwatch.ts; default true with watchLinks; a full resync still
   *  runs every RESYNC_BACKSTOP_MS). */
  driftWatch?: boolean;
  /** Read the counters every counterMs whether or not anyone watches (the behaviour before
   *  2026-12; LINKWARD_IDLE=eager, for the footprint bench's comparison). */
  eagerCounters?: boolean;
  pollMs?: number;
  resyncMs?: number;
  counterMs?: number;
  sampleMs?: number;
  connMs?: number;
  /** Drop-log and ban collection interval (default 3000). */
  dropMs?: number;
  log?: (msg: string) => void;
  /** Handle AgentRequest rows of these types (e.g. the demo's lab.break). */
  requestHandlers?: Record<string, (args: Record<string, unknown>) => Promise<string>>;
  /** Notifier options (tests: a shorter send timeout, policy windows). */
  notify?: Omit<NotifierOptions, 'log' | 'metrics' | 'event'>;
  /** Persist each newly applied plan here for the next boot (agent/bootstate.ts); off when unset. */
  bootStateDir?: string;
  /** Runtime files (radvd.conf, ulogd.conf and its socket): default $LINKWARD_RUN_DIR, else a directory of this process in the temp dir. */
  runDir?: string;
  /** Run ulogd2 for the packet log when it is installed (agent/ulogd.ts; default true; never in --once). */
  packetLog?: boolean;
}

export interface ReconcileResult {
  ok: boolean;
  revision: number | null;
  error?: string;
  changed?: boolean;
  ms?: number;
}

type Timer = ReturnType<typeof setTimeout>;

/** The backstop poll of the database while inotify reports its writes (else every pollMs). */
const DB_BACKSTOP_MS = 2000;
/** The commit-confirmed check with no confirmation pending (one is woken by its own events). */
const CONFIRM_IDLE_MS = 10_000;

/** `fn` runs one call at a time; calls while it runs are folded into one more run after it. */
function coalesced(fn: () => Promise<void>, onError: (e: unknown) => void): () => void {
  let running = false;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        try {
          await fn();
        } catch (e) {
          onError(e);
        }
      } while (again);
    } finally {
      running = false;
    }
  };
  return () => void run();
}

/** A full periodic resync runs at least this often even when the monitors saw nothing. */
export const RESYNC_BACKSTOP_MS = 10 * 60_000;

export class Agent extends EventEmitter {
  private db: DB;
  private _store!: AgentStore;
  private _confirm!: ConfirmWatcher;
  private _visibility!: Visibility;
  get store(): AgentStore {
    return this._store;
  }
  /** Commit-confirmed deadlines and automatic rollback (agent/confirm.ts). */
  get confirm(): ConfirmWatcher {
    return this._confirm;
  }
  /** Drop log and port-scan bans (agent/droplog.ts). */
  get visibility(): Visibility {
    return this._visibility;
  }
  private _metrics!: AgentMetrics;
  private _notifier!: Notifier;
  private _meter!: Meter;
  /** The agent's own metrics (AgentMetric table, GET /metrics). */
  get metrics(): AgentMetrics {
    return this._metrics;
  }
  /** Notifications: queued in SQLite, sent off the reconcile path (agent/notify). */
  get notifier(): Notifier {
    return this._notifier;
  }
  /** Metered uplinks: usage per period (agent/meter.ts). */
  get meter(): Meter {
    return this._meter;
  }
  private readonly runner: Runner;
  private readonly opts: Required<Pick<AgentOptions, 'pollMs' | 'resyncMs' | 'counterMs' | 'sampleMs' | 'connMs'>> & AgentOptions;
  private readonly applyCtx: ApplyCtx;
  private readonly log: (msg: string) => void;
  private health: HealthMonitor | null = null;
  private links: LinkWatcher | null = null;
  private dbWatch: DbWatch | null = null;
  private drift: DriftWatch | null = null;
  /** The drift generation at the start of the last successful reconcile, and when it ended. */
  private verifiedGen = -1;
  /** The nft part of verifiedGen (DriftWatch.nftGeneration at the same moment). */
  private verifiedNftGen = -1;
  private verifiedAt = 0;
  private running = false;
  private busy: Promise<ReconcileResult> | null = null;
  private dirty: string | null = null;
  private timers = new Set<Timer>();
  private retryTimer: Timer | null = null;
  private failures = 0;
  private lastDataVersion = -1;
  private lastRevisionSeen: number | null = null;
  private lastPlan: Plan | null = null;
  private lastConfig: Config | null = null;
  private lastFacts: Facts | null = null;
  private lastAppliedRevision: number | null = null;
  private lastSample = 0;
  /** The conntrack mirror (agent/connections.ts): started by start(), one listing in --once. */
  private conns: ConnTracker | null = null;
  private connCount = new Map<string, number>();
  private uplinkSince = new Map<string, { state: string; since: number; reason: string }>();
  private restoredDown = new Map<string, string>();
  /** The kernel has IPv6 (from the last facts read). */
  private ipv6 = true;
  private readonly bootState: BootState | null;
  /** radvd for the IPv6 LANs (agent/ra.ts); not run by `agent --once` (it needs a daemon). */
  readonly ra: RaDaemon;
  /** DHCPv6-PD clients for uplinks with ipv6.prefix "auto" (agent/pd.ts); not run by --once. */
  readonly pd: PrefixDelegation;
  /** ulogd2 and the packet log (agent/ulogd.ts); not run by `agent --once`. */
  private _packetLog!: PacketLog;
  get packetLog(): PacketLog {
    return this._packetLog;
  }
  private runDir: string;
  private onceMode = false;

  constructor(opts: AgentOptions) {
    super();
    this.opts = { pollMs: 250, resyncMs: 30000, counterMs: 2000, sampleMs: 10000, connMs: 5000, ...opts };
    this.runner = opts.runner ?? realRunner;
    this.counterReader = new NftCounterReader(this.runner);
    this.bootState = opts.bootStateDir ? new BootState(opts.bootStateDir) : null;
    const runDir = opts.runDir ?? process.env.LINKWARD_RUN_DIR ?? path.join(os.tmpdir(), `linkward-${process.pid}-${++agentCount}`);
    this.ra = new RaDaemon(this.runner, runDir, (m) => this.log(m));
    this.pd = new PrefixDelegation(this.runner, runDir, (m) => this.log(m), (ifname, prefixes) => {
      if (this.running) void this.reconcile(`prefix delegation: ${ifname} ${prefixes.join(', ') || 'none'}`);
    });
    this.runDir = runDir;
    this.log = opts.log ?? ((m) => process.stderr.write(`${new Date().toISOString()} linkward-agent: ${m}\n`));
    this.db = opts.db;
    this.attachDb(opts.db);
    // Partial applies skip their marker read when the drift watch saw nothing on our table (or
    // routes) since a reconcile verified that the kernel holds our last apply.
    this.applyCtx = {
      runner: this.runner,
      kernelAsLeft: () => Boolean(this.drift?.watching) && this.drift!.settled && this.drift!.generation === this.verifiedGen && this.failures === 0,
      ownCommit: (pid) => this.drift?.ownCommit(pid),
      // LINKWARD_BULK_QUIET=0 keeps the monitor listening (the apply bench's side-by-side)
      bulk: (commit) => (this.drift && process.env.LINKWARD_BULK_QUIET !== '0' ? this.drift.quietDuring(commit) : commit()),
      onDrift: (why) => void (this.running && this.reconcile(`drift: ${why}`)),
      // The read-back after partial applies verifies the table: our own apply's nft events do
      // not need a resync then — unless something else (routes, rules) moved since the last
      // verification, which only a reconcile checks.
      verifyToken: () => (this.drift ? { gen: this.drift.generation, nft: this.drift.nftGeneration } : null),
      onVerified: (t) => {
        const tok = t as { gen: number; nft: number } | null;
        if (!tok || tok.gen <= this.verifiedGen || this.verifiedNftGen < 0) return;
        if (tok.gen - tok.nft !== this.verifiedGen - this.verifiedNftGen) return; // a route/rule event too
        this.verifiedGen = tok.gen;
        this.verifiedNftGen = tok.nft;
      },
    };
    const st = this.store.state();
    this.lastAppliedRevision = (st.appliedRevision as number | null) ?? null;
  }

  /** The store, drop log and commit-confirmed watcher on connection `db`. */
  private attachDb(db: DB): void {
    this._store = new AgentStore(db);
    this._store.onOutage = (o, ended) => this.log(ended
      ? `database available again after ${((Date.now() - o.since) / 1000).toFixed(1)} s; ${o.deferred} record(s) written late, ${o.dropped} dropped`
      : `database unavailable (${o.error}): the kernel keeps its state, probing and failover go on; records are kept and written when it is back`);
    this._visibility = new Visibility(db, this.runner);
    const prevLog = this._packetLog;
    this._packetLog = prevLog ? prevLog.reattach(db) : new PacketLog(db, this.runner, this.runDir, (m) => this.log(m), (state, detail) => this.onPacketLogState(state, detail));
    this._visibility.nflog = this._packetLog.active;
    this._confirm = new ConfirmWatcher(db, (type, action, msg) => {
      this.store.event(type, msg);
      if (action) this.store.audit(action, msg);
      this.log(msg);
      if (type === 'rollback') this.notifier.notify({ event: 'confirm.rollback', state: action === 'config.rollback-failed' ? 'failed' : 'rolled-back', time: Date.now(), message: msg });
    });
    this._notifier?.stop?.();
    this._metrics = new AgentMetrics(db);
    this._meter = new Meter(db, this._metrics);
    this._notifier = new Notifier(db, {
      ...this.opts.notify,
      log: (m) => this.log(m),
      metrics: this._metrics,
      event: (type, message, uplink) => this.store.event(type, message, uplink ?? null),
    });
  }

  /** The database file was replaced (restored after a deletion): open the new one, carry the
   *  outage report and the deferred records over. */
  private reopenDb(): void {
    const carry = this.store.takeDeferred();
    let db: DB;
    try {
      db = openDb(this.db.name);
    } catch (e) {
      this.store.adoptDeferred(carry);
      this.log(`database file ${this.db.name} is back but cannot be opened yet: ${(e as Error).message}`);
      return;
    }
    const old = this.db;
    this.db = db;
    this.attachDb(db);
    this.store.adoptDeferred(carry);
    this.lastDataVersion = -1;
    this.log(`database file ${db.name} replaced: reopened`);
    this.store.heartbeat(process.pid); // writes the report of the outage
    try {
      if (old !== this.opts.db) old.close();
    } catch {
      /* already unusable */
    }
  }

  /** The connection in use (a reopen after the file was replaced changes it). */
  get database(): DB {
    return this.db;
  }

  /** Converge once. Serialized: concurrent triggers coalesce into one extra run. Never rejects. */
  reconcile(trigger: string): Promise<ReconcileResult> {
    if (this.busy) {
      this.dirty = trigger;
      return this.busy;
    }
    this.busy = this.doReconcile(trigger).catch((e: unknown): ReconcileResult => {
      const error = `reconcile failed unexpectedly (${trigger}): ${e instanceof Error ? e.message : String(e)}`;
      this.log(error);
      return { ok: false, revision: this.lastRevisionSeen, error };
    }).finally(() => {
      this.busy = null;
      if (this.dirty && this.running) {
        const t = this.dirty;
        this.dirty = null;
        void this.reconcile(t);
      }
    });
    return this.busy;
  }

  private healthStates(config: Config, family: 4 | 6 = 4): Record<string, HealthState> {
    const out: Record<string, HealthState> = {};
    const snap = this.health?.snapshot() ?? {};
    for (const u of config.uplinks) {
      const key = family === 6 ? `${u.name}${FAMILY6_SUFFIX}` : u.name;
      const s = snap[key]?.state ?? (family === 4 && this.restoredDown.has(u.name) ? 'down' : undefined);
      if (family === 6 && snap[key] === undefined) continue; // no IPv6 targets: IPv6 follows IPv4
      out[u.name] = s === 'up' ? 'up' : s === 'down' ? 'down' : s === 'degraded' ? 'degraded' : 'unknown';
    }
    return out;
  }

  /** The last facts read (the raw `ip -j` documents), with the link-event count at the time. */
  private factsCache: { docs: FactsDocs; linkGen: number; at: number } | null = null;
  /** Link/address/default-route events seen (the link watcher's debounced callbacks). */
  private linkGen = 0;
  /** Facts reads done / reused (tests, bench). */
  factsReads = { read: 0, reused: 0 };

  /** Links, addresses, gateways. A health transition (the hot path of a failover) and a new
   *  revision (the admin's change): when the link watcher runs and reported nothing since the last
   *  read (less than 30 s ago), nothing it watches changed, so the last read is reused (4 `ip -j`
   *  runs saved). A change it has not delivered yet (its 100 ms debounce) triggers a reconcile of
   *  its own, which reads. Any other trigger (start, resync, link change, retry) reads. */
  private readFacts(trigger: string): Promise<FactsDocs> {
    const c = this.factsCache;
    if ((trigger.startsWith('health:') || /^revision \d+$/.test(trigger)) && c && this.links && this.drift?.ipRunning && c.linkGen === this.linkGen && Date.now() - c.at < 30_000) {
      this.factsReads.reused++;
      return Promise.resolve(c.docs);
    }
    const linkGen = this.linkGen;
    this.factsReads.read++;
    return readFactsDocs(this.runner).then((docs) => {
      this.factsCache = { docs, linkGen, at: Date.now() };
      return docs;
    });
  }

  /** The periodic resync is needed: no drift watch, a monitor down, an event since the last
   *  verification (our own applies make some too), a failed apply, or the backstop is due. */
  resyncDue(now = Date.now()): boolean {
    const d = this.drift;
    if (!d || !d.watching || this.failures > 0) return true;
    return d.generation !== this.verifiedGen || now - this.verifiedAt >= RESYNC_BACKSTOP_MS;
  }

  private async doReconcile(trigger: string): Promise<ReconcileResult> {
    const t0 = performance.now();
    const gen = this.drift?.generation ?? -1;
    const nftGen = this.drift?.nftGeneration ?? -1;
    // The kernel reads that do not depend on the config start first and run while the revision
    // is validated (synchronous): the `ip -j` facts and the partial sync's marker look.
    const factsDocs = this.readFacts(trigger);
    factsDocs.catch(() => undefined);
    if (this.store.latestRevisionId() !== this.lastAppliedRevision) prefetchMarker(this.applyCtx);
    let desired = this.store.desired();
    if (desired.kind === 'unavailable') {
      // The database cannot be read: keep converging on the last config we validated (health
      // changes must still fail over); with none, there is nothing to apply.
      if (!this.lastConfig || this.lastRevisionSeen === null) return { ok: false, revision: null, error: `database unavailable: ${desired.error}` };
      desired = { kind: 'ok', revision: this.lastRevisionSeen, config: this.lastConfig, row: { id: this.lastRevisionSeen, config: '', createdAt: 0, confirmWithin: null, confirmedAt: null, rolledBackAt: null } };
    }
    if (desired.kind === 'none') {
      this.store.heartbeat(process.pid);
      return { ok: true, revision: null };
    }
    if (desired.kind === 'invalid') {
      const msg = `revision ${desired.revision} is invalid and was not applied (the kernel keeps revision ${this.lastAppliedRevision ?? 'none'}): ${desired.errors.join('; ')}`;
      if (this.lastRevisionSeen !== desired.revision) {
        this.store.recordError(desired.revision, msg);
        this.store.event('apply-error', msg);
        this.log(msg);
        this.notifier.notify({ event: 'apply.failed', state: 'invalid', time: Date.now(), message: msg, details: { revision: desired.revision, errors: desired.errors.slice(0, 20) } });
      }
      this.lastRevisionSeen = desired.revision;
      return { ok: false, revision: desired.revision, error: msg };
    }
    const { config, revision } = desired;
    const ifnames = [...config.lan.map((l) => l.interface), ...config.uplinks.map((u) => u.interface)];
    let interfaces: Facts['interfaces'] | null = null;
    try {
      const full = factsFromDocs(ifnames, await factsDocs);
      interfaces = full.interfaces;
      this.ipv6 = full.ipv6;
      // Carrier/address facts reach the health monitor before compiling, so a lost carrier takes
      // the uplink out in this very reconcile (its transition coalesces into one more run).
      this.syncLinkStates(config, interfaces);
      const auto = config.uplinks.filter((u) => u.ipv6?.prefix === 'auto');
      if (!this.onceMode && this.ipv6) this.pd.configure(auto.map((u) => u.interface));
      for (const u of auto) {
        const d = this.pd.facts(u.interface);
        if (d && interfaces[u.interface]) interfaces[u.interface].delegated6 = d;
      }
      const facts: Facts = { interfaces, health: this.healthStates(config), health6: this.healthStates(config, 6), ipv6: this.ipv6 };
      if (this.packetLog.active && !this.onceMode) facts.nflog = true;
      this.packetLog.setConfig(config);
      const overCap = this.meter.overCap(config);
      if (overCap.length) facts.overCap = overCap;
      this.notifier.configure(config.notifications);
      const plan = compile(config, facts);
      const res = await applyPlan(this.applyCtx, plan);
      if (!this.onceMode) await this.ra.configure(plan.ra); // at once: a dead uplink's prefix is deprecated on the LAN now
      const ms = performance.now() - t0;
      const changed = res.nftChanged || res.routeOps.length > 0 || res.ruleOps.length > 0 || res.addrOps.length > 0 || res.sysctlsChanged.length > 0;
      const newRevision = revision !== this.lastAppliedRevision;
      this.lastPlan = plan;
      this.lastConfig = config;
      this.lastFacts = facts;
      this.lastRevisionSeen = revision;
      // The confirmation clock starts before the applied mark is written (each is its own commit):
      // a reader (dashboard, CLI, test) that finds the revision applied must find its deadline
      // pending too — written after, it was missed in the gap (CI: applied seen, pendingConfirm null).
      try {
        this.confirm.onApplied(revision); // bookkeeping: a database fault here is not an apply failure
        this.confirmTask?.(); // a new window: the check wakes at its deadline
      } catch (e) {
        if (!isDbFault(e)) throw e;
      }
      if (newRevision || changed || this.failures > 0) {
        this.store.recordApplied(revision, ms, facts);
        const what = [res.nftChanged ? 'nft table' : null, res.routeOps.length ? `${res.routeOps.length} route ops` : null, res.ruleOps.length ? `${res.ruleOps.length} rule ops` : null, res.addrOps.length ? `${res.addrOps.length} address ops` : null, res.sysctlsChanged.length ? `${res.sysctlsChanged.length} sysctls` : null].filter(Boolean).join(', ');
        const msg = `applied revision ${revision} in ${ms.toFixed(0)} ms (${trigger}${what ? `; ${what}` : '; no kernel change'})`;
        if (newRevision || changed) {
          this.store.event('apply', msg);
          this.metrics.observeApply(ms / 1000);
        }
        if (newRevision) this.store.audit('config.apply', msg);
        this.log(msg);
      } else this.store.heartbeat(process.pid);
      this.lastAppliedRevision = revision;
      this.saveBootState(plan, revision, res.sysctlsChanged);
      this.failures = 0;
      this.replans = 0;
      this.configureHealth(config, facts, plan);
      this.conns?.setContext(connContext(config, facts));
      this.writeUplinkStatus();
      this.verifiedGen = gen; // the kernel matched the plan as of this reconcile's start
      this.verifiedNftGen = nftGen;
      this.verifiedAt = Date.now();
      return { ok: true, revision, changed, ms };
    } catch (e) {
      const err = e instanceof Error ? e.message : String(e);
      // A link that changed while we applied (carrier lost mid-apply, ifup racing a route add)
      // makes route operations fail against facts that are already stale: re-plan at once with
      // fresh facts instead of recording a failure — a few times, then treat it as a failure.
      if (interfaces && this.replans < 3 && (await this.factsChanged(ifnames, interfaces))) {
        this.replans++;
        resetApplyCache(this.applyCtx);
        this.factsCache = null;
        this.log(`interfaces changed while applying revision ${revision} (${err}); re-planning with fresh facts`);
        this.dirty = `re-plan: interfaces changed during apply`;
        return { ok: false, revision, error: `interfaces changed during apply; re-planning: ${err}` };
      }
      this.failures++;
      resetApplyCache(this.applyCtx); // next attempt resyncs from the kernel, trusting nothing cached
      this.factsCache = null;
      // nft applied but routes/rules/sysctls did not: a commit-confirmed revision still gets its
      // confirmation window (and its rollback) — the kernel does carry part of it.
      if (e instanceof ApplyError && revision !== this.lastAppliedRevision) {
        try {
          this.confirm.onApplied(revision);
          this.confirmTask?.();
        } catch (ce) {
          this.log(`commit-confirmed bookkeeping failed: ${(ce as Error).message}`);
        }
      }
      const msg = `applying revision ${revision} failed (attempt ${this.failures}; the kernel keeps the last good state): ${err}`;
      this.store.recordError(revision, msg);
      if (this.failures === 1) {
        this.store.event('apply-error', msg);
        this.store.audit('config.apply-error', msg);
        this.notifier.notify({ event: 'apply.failed', state: 'failed', time: Date.now(), message: msg, details: { revision } });
      }
      this.log(msg);
      this.lastRevisionSeen = revision;
      this.scheduleRetry();
      return { ok: false, revision, error: msg };
    }
  }

  private replans = 0;

  /** The applied plan becomes the next boot's ruleset; a failed write is logged, never fatal. */
  private saveBootState(plan: Plan, revision: number, sysctls: SysctlChange[]): void {
    if (!this.bootState) return;
    try {
      if (this.bootState.saveApplied(plan, revision, sysctls)) this.log(`boot ruleset saved (revision ${revision}) in ${this.bootState.dir}`);
    } catch (e) {
      this.log(`could not save the boot ruleset in ${this.bootState.dir}: ${(e as Error).message}`);
    }
  }

  private async factsChanged(ifnames: string[], used: Facts['interfaces']): Promise<boolean> {
    try {
      return JSON.stringify(await gatherFacts(this.runner, ifnames)) !== JSON.stringify(used);
    } catch {
      return false;
    }
  }

  private scheduleRetry(): void {
    if (!this.running || this.retryTimer) return;
    const delay = Math.min(60000, 1000 * 2 ** Math.min(this.failures - 1, 6));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.reconcile(`retry ${this.failures}`);
    }, delay);
  }

  /** Uplinks whose stored status (written by an earlier agent process) is down and recent. */
  private recentDownUplinks(since: number): Map<string, string> {
    try {
      const rows = this.db.prepare("SELECT name, reason FROM UplinkStatus WHERE state = 'down' AND updatedAt >= ?").all(since) as { name: string; reason: string }[];
      return new Map(rows.map((r) => [r.name, r.reason]));
    } catch {
      return new Map();
    }
  }

  private configureHealth(config: Config, facts: Facts, plan: Plan): void {
    if (!this.health) return;
    // One monitored entity per uplink and family: "<name>" probes the IPv4 targets, "<name>/6"
    // the IPv6 ones (an uplink's IPv6 can fail on its own: another gateway, often another path).
    this.health.configure(
      config.uplinks.flatMap((u) => {
        const f = facts.interfaces[u.interface];
        const p = plan.uplinks.find((x) => x.name === u.name);
        const h = effectiveHealth(u);
        const v4 = h.targets.filter((t) => !isIPv6(t));
        const v6 = h.targets.filter((t) => isIPv6(t));
        const base = { id: u.id, interface: u.interface, carrier: Boolean(f?.exists && f.up && f.carrier), enabled: u.enabled };
        const out = [];
        if (v4.length > 0 || v6.length === 0) {
          out.push({
            ...base, name: u.name, address: p?.address, health: { ...h, targets: v4.length ? v4 : h.targets, quorum: familyQuorum(u, v4.length || h.targets.length) },
            ...(this.restoredDown.has(u.name) ? { initialDown: `down before the agent restarted (${this.restoredDown.get(u.name)})` } : {}),
          });
        }
        if (v6.length > 0 && u.ipv6) out.push({ ...base, name: `${u.name}${FAMILY6_SUFFIX}`, address: p?.v6?.address, health: { ...h, targets: v6, quorum: familyQuorum(u, v6.length) } });
        return out;
      }),
    );
    this.restoredDown.clear();
  }

  /** The IPv6 side of an uplink for the dashboard: its own probes' verdict (or the IPv4 one when
   *  it has no IPv6 targets), gated by the IPv6 plan (no gateway, backup tier, ...). */
  private uplinkStatus6(u: Config['uplinks'][number], p: Plan['uplinks'][number], h: UplinkSnapshot | undefined) {
    const v6 = p.v6!;
    const base = uplinkStatus(u, p, h, Boolean(this.health));
    let state = base.state;
    let reason = base.reason;
    if (v6.reason && ['no-gateway', 'health-down'].includes(v6.reason.code) && state !== 'disabled' && state !== 'draining') [state, reason] = ['down', v6.reason.detail];
    else if (v6.reason?.code === 'backup' && state === 'up') reason = v6.reason.detail;
    const live = state === 'up' || state === 'degraded';
    return { state, reason, address: v6.address ?? null, gateway: v6.gateway ?? null, prefix: v6.prefix ?? null, latencyMs: live ? (h?.latencyMs ?? null) : null, lossPct: live ? (h?.lossPct ?? null) : null };
  }

  /** Uplink state for the dashboard and `status`: disabled/draining from config, else health. */
  private writeUplinkStatus(): void {
    const config = this.lastConfig;
    const plan = this.lastPlan;
    if (!config || !plan) return;
    const snap = this.health?.snapshot() ?? {};
    const now = Date.now();
    const counters = this.lastCounterValues;
    const rows: UplinkStatusRow[] = config.uplinks.map((u) => {
      const p = plan.uplinks.find((x) => x.name === u.name);
      const h = snap[u.name];
      const { state, reason } = uplinkStatus(u, p, h, Boolean(this.health));
      const prev = this.uplinkSince.get(u.name);
      const since = prev && prev.state === state ? prev.since : (h?.since ?? now);
      this.uplinkSince.set(u.name, { state, since, reason });
      return {
        name: u.name,
        state,
        since,
        reason,
        address: p?.address ?? null,
        gateway: p?.gateway ?? null,
        latencyMs: h?.latencyMs ?? null,
        lossPct: h?.lossPct ?? null,
        connections: this.connCount.get(u.name) ?? 0,
        rxBytes: BigInt(counters.get(counterUplinkIn(u.id)) ?? 0),
        txBytes: BigInt(counters.get(counterUplinkOut(u.id)) ?? 0),
        ipv6: p?.v6 ? JSON.stringify(this.uplinkStatus6(u, p, snap[`${u.name}${FAMILY6_SUFFIX}`] ?? h)) : null,
      };
    });
    this.store.writeUplinks(rows);
  }

  private lastCounterValues = new Map<string, number>();
  /** One long-running `nft -j -i` for the 2 s counter reads (the plain runner when one was injected). */
  private readonly counterReader: NftCounterReader;

  private lastCounterRead = 0;

  /** A counter read is due: someone watches the counters, or the history sample is due. */
  countersDue(now = Date.now()): boolean {
    if (this.opts.eagerCounters || now - this.lastCounterRead >= this.opts.sampleMs - this.opts.counterMs / 2) return true;
    if (this.lastConfig?.uplinks.some((u) => u.metered)) return true; // data caps need fresh usage
    return (this.store.watchUntil('counters') ?? 0) > now;
  }

  /** Read every named counter and store it (and a sample every sampleMs). */
  async collectCounters(): Promise<void> {
    if (!this.lastPlan) return;
    this.lastCounterRead = Date.now();
    const values = await this.counterReader.read();
    const now = Date.now();
    const sample = now - this.lastSample >= this.opts.sampleMs - this.opts.counterMs / 2; // tolerance: reads come on counterMs ticks
    if (sample) this.lastSample = now;
    this.store.writeCounters(values, this.lastPlan.counters, sample);
    this.lastCounterValues = new Map(values.map((v) => [v.name, v.bytes]));
    this.store.heartbeat(process.pid);
    if (this.lastConfig?.uplinks.some((u) => u.metered)) {
      const before = this.meter.overCap(this.lastConfig, now).join();
      for (const e of this.meter.update(this.lastConfig, this.lastCounterValues, now)) {
        this.store.event('metered', e.message, e.uplink ?? null);
        this.log(e.message);
        this.notifier.notify(e);
      }
      // A cap reached (or a new period) changes what the compiler may use.
      if (this.meter.overCap(this.lastConfig, now).join() !== before && this.running) void this.reconcileAndCleanup('data cap');
    }
  }

  private lastBanCheck = 0;

  /** Many new port-scan bans within a minute: one "ban storm" notification (de-duplicated). */
  private checkBanStorm(now = Date.now()): void {
    if (now - this.lastBanCheck < 10_000) return;
    this.lastBanCheck = now;
    const n = this.db.prepare('SELECT COUNT(*) FROM Ban WHERE firstSeen >= ?').pluck().get(now - 60_000) as number;
    if (n >= BAN_STORM) {
      const total = this.db.prepare('SELECT COUNT(*) FROM Ban').pluck().get() as number;
      this.notifier.notify({ event: 'bans.storm', state: 'storm', time: now, message: `port-scan detection banned ${n} sources within a minute (${total} banned now)`, details: { newBans: n, banned: total } });
    }
  }

  private visibilityBusy: Promise<void> | null = null;

  /** Drop log and bans: reads only the nft sets that can have changed since the last read
   *  (their gate counters moved, the revision changed, a ban expires, or 30 s passed). */
  collectVisibility(): Promise<void> {
    if (!this.lastPlan) return Promise.resolve();
    this.visibilityBusy ??= this.visibility
      .collect(this.lastConfig, Date.now(), { counters: this.lastCounterValues, plan: this.lastAppliedRevision })
      .then(() => this.checkBanStorm())
      .finally(() => {
        this.visibilityBusy = null;
      });
    return this.visibilityBusy;
  }

  /** The tracker's counts for the uplink cards (the router's own flows excluded). */
  private refreshConnCounts(): void {
    if (this.conns) this.connCount = this.conns.counts();
  }

  /** `agent --once`: one conntrack listing into the Connection table (the running agent keeps a
   *  live mirror from the event stream instead, agent/connections.ts). */
  async collectConnections(): Promise<void> {
    if (!this.lastConfig || !this.lastFacts) return;
    if (this.conns) return;
    const t = new ConnTracker({ runner: this.runner, store: this.store });
    t.setContext(connContext(this.lastConfig, this.lastFacts));
    await t.once();
    this.connCount = t.counts();
  }

  /** Failover first, bookkeeping after: the kernel change and the flow cleanup do not wait for
   *  (or depend on) the database; the event, audit row and notification follow. */
  private async onTransition(t: { uplink: string; from: string; to: string; reason: string; at?: number }): Promise<void> {
    const decidedAt = t.at ?? Date.now();
    this.log(`uplink ${t.uplink}: ${t.from} -> ${t.to} (${t.reason})`);
    this.metrics.inc('uplink_transitions_total', { uplink: t.uplink, to: t.to });
    // The verdict is visible at once (dashboard, status), before the reconcile that acts on it.
    this.writeUplinkStatus();
    const before = this.lastPlan;
    // The flows the uplink carried (the last connection snapshot), for the failover message.
    const flows = this.flowSample(t.uplink);
    const r = await this.reconcile(`health: ${t.uplink} ${t.to}`);
    const reset = r.ok ? await this.cleanupFlows(before, this.lastPlan) : new Map<string, number>();
    // "isp1/6" is the IPv6 side of uplink isp1: events name the uplink and the family
    const six = t.uplink.endsWith(FAMILY6_SUFFIX);
    const name = six ? t.uplink.slice(0, -FAMILY6_SUFFIX.length) : t.uplink;
    const label = six ? `${name} (IPv6)` : name;
    this.store.event('uplink', `uplink ${label}: ${t.from} → ${t.to} (${t.reason})`, name);
    this.store.audit(t.to === 'down' ? 'uplink.failover' : 'uplink.state', `uplink ${label}: ${t.from} → ${t.to} (${t.reason})`);
    if (r.ok) this.writeUplinkStatus();
    try {
      if (six) {
        const ev = t.to === 'down' ? 'uplink.down' : t.to === 'up' && t.from !== 'unknown' ? 'uplink.up' : null;
        if (ev) this.notifier.notify({ event: ev, uplink: name, state: t.to, time: decidedAt, message: `uplink ${label}: ${t.from} → ${t.to} (${t.reason}).`, details: { family: 6, from: t.from, to: t.to, reason: t.reason } });
      } else this.notifyTransition(t, decidedAt, before, r.ok ? this.lastPlan : before, reset, flows);
    } catch (e) {
      if (!isDbFault(e)) throw e; // the notification queue lives in the database: best effort
    }
  }

  private flowSample(uplink: string): { total: number; sample: string[] } {
    try {
      const db = this.db;
      const total = db.prepare('SELECT COUNT(*) FROM Connection WHERE uplink = ?').pluck().get(uplink) as number;
      const rows = db.prepare('SELECT proto, src, dst, sport, dport FROM Connection WHERE uplink = ? ORDER BY bytes DESC LIMIT 5').all(uplink) as { proto: string; src: string; dst: string; sport: number | null; dport: number | null }[];
      return { total, sample: rows.map((c) => `${c.proto} ${c.src}${c.sport ? `:${c.sport}` : ''} → ${c.dst}${c.dport ? `:${c.dport}` : ''}`) };
    } catch {
      return { total: 0, sample: [] };
    }
  }

  /** One notification per health transition: failover/failback when the set of uplinks taking
   *  new connections changed because of it, else uplink.<state>. */
  private notifyTransition(t: { uplink: string; from: string; to: string; reason: string }, decidedAt: number, before: Plan | null, after: Plan | null, reset: Map<string, number>, flows: { total: number; sample: string[] }): void {
    const wasActive = before?.uplinks.find((u) => u.name === t.uplink)?.active ?? false;
    const isActive = after?.uplinks.find((u) => u.name === t.uplink)?.active ?? false;
    const activeNow = (after?.uplinks ?? []).filter((u) => u.active).map((u) => u.name);
    const now = activeNow.length ? `new connections now leave by ${activeNow.join(', ')}` : 'no uplink is active: new connections follow the main routing table';
    const details: Record<string, unknown> = { from: t.from, to: t.to, reason: t.reason, active: activeNow, decidedAt: new Date(decidedAt).toISOString() };
    let e: NotifyEventData;
    if (wasActive && !isActive) {
      this.metrics.inc('failovers_total', { uplink: t.uplink });
      const n = reset.get(t.uplink) ?? 0;
      details.flowsReset = n;
      details.flows = flows.sample;
      const moved = n > 0 ? `; ${n} tracked connection(s) of ${t.uplink} were reset so they re-open on a live uplink${flows.sample.length ? ` (e.g. ${flows.sample.slice(0, 3).join(', ')})` : ''}` : '';
      e = { event: 'failover', uplink: t.uplink, state: t.to, time: decidedAt, message: `uplink ${t.uplink} is ${t.to} (${t.reason}): ${now}${moved}.`, details };
    } else if (!wasActive && isActive && (t.from === 'down' || t.from === 'degraded')) {
      this.metrics.inc('failbacks_total', { uplink: t.uplink });
      const moved = [...reset.entries()].filter(([, n]) => n > 0);
      details.flowsReset = Object.fromEntries(moved);
      const back = moved.length ? `; ${moved.map(([u, n]) => `${n} connection(s) of ${u}`).join(', ')} were reset to come back (failback reset)` : '';
      e = { event: 'failback', uplink: t.uplink, state: t.to, time: decidedAt, message: `uplink ${t.uplink} is ${t.to} again (${t.reason}): ${now}${back}.`, details };
    } else {
      const ev = t.to === 'down' ? 'uplink.down' : t.to === 'degraded' ? 'uplink.degraded' : t.to === 'up' ? 'uplink.up' : null;
      if (ev === null) return; // unknown/disabled: the admin's own doing or the start
      if (ev === 'uplink.up' && t.from === 'unknown') return; // first verdict after a start
      const weight = t.to === 'degraded' && isActive ? ' It keeps taking new connections with half its weight.' : '';
      e = { event: ev, uplink: t.uplink, state: t.to, time: decidedAt, message: `uplink ${t.uplink}: ${t.from} → ${t.to} (${t.reason}).${weight}`, details };
    }
    this.notifier.notify(e);
  }

  /** After a plan change: flows pinned to uplinks that are now unusable are deleted so they
   *  re-establish on a live uplink instead of hanging. Draining uplinks keep their flows.
   *  failback "reset": when an uplink comes back, flows on backup-tier uplinks that lost their
   *  activity are deleted too, so they return to the preferred tier. */
  private async cleanupFlows(before: Plan | null, after: Plan | null): Promise<Map<string, number>> {
    const deleted = new Map<string, number>();
    if (!after || !this.lastConfig) return deleted;
    const cfg = new Map(this.lastConfig.uplinks.map((u) => [u.name, u]));
    const snap = this.health?.snapshot() ?? {};
    for (const u of after.uplinks) {
      const c = cfg.get(u.name);
      if (!c) continue;
      // No previous plan (agent start): assume it was active, so flows an earlier agent process
      // left on an uplink that is unusable now are deleted too.
      const wasActive = before ? (before.uplinks.find((x) => x.name === u.name)?.active ?? false) : true;
      const dead = snap[u.name]?.state === 'down' || !c.enabled || u.reason?.code === 'cap-reached';
      const recoveredOther = !u.active && wasActive && !dead && !c.drain && after.uplinks.some((x) => x.active && x.priority < u.priority && cfg.get(x.name)?.failback === 'reset');
      const v6 = u.v6;
      const wasActive6 = before ? (before.uplinks.find((x) => x.name === u.name)?.v6?.active ?? false) : true;
      const dead6 = v6 !== undefined && (dead || snap[`${u.name}${FAMILY6_SUFFIX}`]?.state === 'down') && !v6.active && wasActive6;
      const families: (4 | 6)[] = [];
      if ((dead && (wasActive || !c.enabled)) || recoveredOther) families.push(4);
      if (dead6 || (families.length && v6 === undefined)) families.push(6); // without IPv6 config, its flows carry the uplink's mark too
      for (const fam of families) {
        try {
          const n = await deleteByMark(this.runner, u.mark, MARK_MASK, fam);
          // the cards show it now, not when the DESTROY events have been read
          if (this.conns?.forgetMark(u.mark, MARK_MASK, fam)) this.refreshConnCounts();
          deleted.set(u.name, (deleted.get(u.name) ?? 0) + n);
          if (fam === 4 || n > 0) this.store.event('uplink', `deleted ${n} tracked ${fam === 6 ? 'IPv6 ' : ''}connection(s) of uplink ${u.name} (${dead || fam === 6 ? 'unusable' : 'failback reset'})`, u.name);
        } catch (e) {
          this.log(`conntrack cleanup for ${u.name} (IPv${fam}) failed: ${(e as Error).message}`);
        }
      }
    }
    return deleted;
  }

  /** Answer pending dashboard/CLI requests (at most REQUESTS_PER_READ); returns how many. */
  private async handleRequests(): Promise<number> {
    const handlers: Record<string, (args: Record<string, unknown>) => Promise<string>> = {
      ...this.visibility.requestHandlers(),
      // "send test" from Settings: one test notification to one channel, the outcome as the result.
      'notify.test': async (args: Record<string, unknown>) => {
        const ch = typeof args.channel === 'string' ? args.channel : '';
        const r = await this.notifier.sendTest(ch);
        return r.ok ? r.result : `error: ${r.result}`;
      },
      // Kernel confirmation of the packet tracer (linkward explain --trace, the /explain page).
      'explain.trace': async (args: Record<string, unknown>) => {
        const r = await traceKernel(this.runner, args as unknown as TraceSpec);
        return JSON.stringify({ lines: r.lines.slice(0, 200), summary: r.summary, decision: r.decision, oif: r.oif });
      },
      // the dashboard's first-run proposal (/first-run): the machine as it is, read only
      'machine.facts': async () => JSON.stringify(await readMachine(this.runner)),
      ...(this.opts.requestHandlers ?? {}),
    };
    const pending = this.store.pendingRequests();
    for (const r of pending) {
      const h = handlers[r.type];
      let result: string;
      try {
        result = h ? await h(JSON.parse(r.args) as Record<string, unknown>) : `unsupported request type ${r.type}`;
      } catch (e) {
        result = `error: ${(e as Error).message}`;
      }
      this.store.finishRequest(r.id, result);
      this.store.event('agent', `request ${r.type}: ${result.length > 300 ? `${result.length} bytes` : result}`);
    }
    return pending.length;
  }

  /** Run `fn` every `ms` (after the previous run finished). A failing run is logged (database
   *  faults only once per outage: the store reports those) and the next one runs as usual. */
  private every(ms: number | (() => number), fn: () => Promise<void> | void): void {
    let timer: Timer;
    const tick = async () => {
      this.timers.delete(timer);
      if (!this.running) return;
      try {
        await fn();
      } catch (e) {
        if (!(isDbFault(e) && this.store.dbOutage)) this.log(`periodic task failed: ${(e as Error).message}`);
      }
      if (!this.running) return;
      timer = setTimeout(tick, typeof ms === 'number' ? ms : ms());
      this.timers.add(timer);
    };
    timer = setTimeout(tick, typeof ms === 'number' ? ms : ms());
    this.timers.add(timer);
  }

  /** Commit-confirmed: roll back an unconfirmed revision whose deadline passed, then apply
   *  (not while the database is refusing writes: the rollback is a new revision). Returns when
   *  to look again: at the deadline of a pending confirmation, else a backstop (a confirmation
   *  or a new commit-confirmed revision wakes the check earlier: onDbChange, after an apply). */
  async checkConfirm(): Promise<number> {
    if (this.store.dbOutage) return 1000;
    const t = this.confirm.tick();
    if (t.kind === 'rolledBack') await this.reconcile(`rollback of revision ${t.revision}`);
    if (t.kind === 'waiting') return Math.min(CONFIRM_IDLE_MS, t.remainingMs + 5);
    return t.kind === 'idle' ? CONFIRM_IDLE_MS : 0;
  }

  private confirmTask: (() => void) | null = null;
  private confirmTimer: Timer | null = null;

  private scheduleConfirm(ms: number): void {
    if (this.confirmTimer) {
      clearTimeout(this.confirmTimer);
      this.timers.delete(this.confirmTimer);
    }
    this.confirmTimer = null;
    if (!this.running) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.confirmTimer === t) this.confirmTimer = null;
      this.confirmTask?.();
    }, ms);
    this.confirmTimer = t;
    this.timers.add(t);
  }

  /** The packet log started, stopped or changed its reader: say so, and re-plan when the log
   *  statements must change (NFLOG group ↔ kernel log). */
  private onPacketLogState(state: string, detail: string): void {
    const active = state === 'running' || state === 'restarting';
    this.store.event('log', `packet log: ${active ? 'NFLOG via ulogd2' : 'kernel drop-record sets (admin rules log to the kernel log)'}: ${detail}`);
    if (state !== 'restarting') this.log(`packet log ${state}: ${detail}`);
    if (this.visibility.nflog !== active) {
      this.visibility.nflog = active;
      if (this.running) void this.reconcile(`packet log ${state}`);
    }
  }

  /** Run forever (until stop()). */
  async start(): Promise<void> {
    this.running = true;
    const prev = this.store.state();
    this.store.markStarted(process.pid);
    this.store.event('agent', `agent started (pid ${process.pid})`);
    this.notifier.start();
    if (this.opts.health !== false) {
      // An uplink the previous agent process had found down (recently) starts down, so a restart
      // mid-failover converges to the same plan instead of briefly re-adding a dead uplink.
      this.restoredDown = this.recentDownUplinks(Date.now() - 300000);
      // ping output through FIFOs in the run directory, read once per round (agent/health/ping.ts)
      this.health = new HealthMonitor({ runner: this.runner, probeDir: path.join(this.runDir, 'probes'), onLog: (m) => this.log(m) });
      this.health.on('transition', (t) => void this.onTransition(t).catch((e: unknown) => this.log(`transition handling failed: ${e instanceof Error ? e.message : String(e)}`)));
    }
    // Before the first apply: the ruleset logs to NFLOG only when ulogd2 reads it.
    if (this.opts.packetLog !== false) await this.packetLog.start();
    await this.reconcile('start');
    await this.cleanupFlows(null, this.lastPlan).catch(() => undefined);
    // After the first reconcile the channels of the applied configuration are known.
    const prevSeen = (prev.heartbeatAt as number | null) ?? null;
    this.notifier.notify({
      event: 'agent.restarted', state: 'started', time: Date.now(),
      message: `linkward agent started (pid ${process.pid})${prevSeen ? `; the previous agent (pid ${String(prev.pid ?? '?')}) was last seen ${new Date(prevSeen).toISOString()}` : ''}; applied revision ${this.lastAppliedRevision ?? 'none'}.`,
      details: { pid: process.pid, previousPid: prev.pid ?? null, previousHeartbeat: prevSeen ? new Date(prevSeen).toISOString() : null, revision: this.lastAppliedRevision },
    });
    this.lastDataVersion = this.store.dataVersion();
    // Everything the web and the CLI ask of the agent arrives as a commit of another connection:
    // a new revision, a request, a confirmation, a watch row. One cheap probe (PRAGMA
    // data_version) tells whether there was one; it runs on the inotify wake-up of every write to
    // the database's files (a commit by the web is seen in milliseconds) and as a backstop poll.
    const onError = (what: string) => (e: unknown) => {
      if (!(isDbFault(e) && this.store.dbOutage)) this.log(`${what} failed: ${(e as Error).message}`);
    };
    const revisions = coalesced(async () => {
      const latest = this.store.latestRevisionId();
      if (latest !== null && latest !== this.lastRevisionSeen) await this.reconcileAndCleanup(`revision ${latest}`);
    }, onError('revision check'));
    const requests = coalesced(async () => {
      // a full read may leave more; bounded, in case finishing them fails (database outage)
      // (finishing deferred: the same ones would come back, so stop then)
      for (let i = 0; i < 10 && this.running && !this.store.dbOutage; i++) if ((await this.handleRequests()) < REQUESTS_PER_READ) break;
    }, onError('request handling'));
    // `backstop`: revisions and requests are looked at even without a commit, to retry what an
    // earlier pass left (a burst of requests beyond ten reads, a read that failed): one indexed
    // SELECT each
    const onDbChange = (backstop = false) => {
      if (!this.running) return;
      const v = this.store.dataVersion();
      const changed = v !== this.lastDataVersion;
      this.lastDataVersion = v;
      if (!changed && !backstop) return;
      revisions();
      requests();
      if (!changed) return;
      this.confirmTask?.();
      this.conns?.poke();
    };
    this.dbWatch = watchDbWrites(this.db.name, () => onDbChange());
    this.every(() => (this.dbWatch?.active ? Math.max(this.opts.pollMs, DB_BACKSTOP_MS) : this.opts.pollMs), () => onDbChange(true));
    this.every(this.opts.resyncMs, async () => {
      if (!this.resyncDue()) return;
      await this.reconcile(this.drift?.watching ? `periodic resync (${this.drift.generation !== this.verifiedGen ? `after ${this.drift.last}` : 'backstop'})` : 'periodic resync');
    });
    this.every(this.opts.counterMs, async () => {
      if (this.store.fileState() === 'replaced') this.reopenDb();
      // Counters every counterMs only while someone watches them (an open dashboard, /api/counters,
      // a /metrics scrape: Watch "counters"), else every sampleMs for the history.
      if (this.countersDue()) await this.collectCounters();
      else this.store.heartbeat(process.pid);
      this.writeUplinkStatus();
      // Right after the counters: a moved drop/port-scan counter means new drop records or bans.
      await this.collectVisibility();
    });
    // conntrack: a live mirror from the event stream; the cards follow its counts at once
    this.conns = new ConnTracker({
      runner: this.runner, store: this.store, log: (m) => this.log(m), pollMs: this.opts.connMs,
      mode: process.env.LINKWARD_CONNTRACK === 'poll' ? 'poll' : 'events',
      onCounts: () => {
        this.refreshConnCounts();
        this.writeUplinkStatus();
      },
    });
    if (this.lastConfig && this.lastFacts) this.conns.setContext(connContext(this.lastConfig, this.lastFacts));
    this.conns.start();
    this.every(3600 * 1000, () => this.store.prune());
    // Requests left from before the start; the commit-confirmed clock (it wakes at the deadline).
    requests();
    this.confirmTask = coalesced(async () => {
      const wait = await this.checkConfirm();
      this.scheduleConfirm(wait);
    }, (e) => {
      onError('commit-confirmed check')(e);
      this.scheduleConfirm(1000);
    });
    this.confirmTask();
    // Expiring bans and the periodic full read of the sets (the counter tick covers new drops).
    this.every(this.opts.dropMs ?? 3000, () => this.collectVisibility());
    if (this.opts.watchLinks !== false) {
      if (this.opts.driftWatch !== false) {
        this.drift = new DriftWatch(this.runner, this.log);
        this.drift.start();
      }
      const drift = this.drift;
      this.links = watchLinks(this.runner, (what) => {
        this.linkGen++;
        // Carrier/address changes reach the health monitor at once (no waiting for probes).
        void this.reconcileAndCleanup(`link change: ${what}`).catch((e: unknown) => this.log(`link change handling failed: ${e instanceof Error ? e.message : String(e)}`));
      }, this.log, 100, drift ? (what) => drift.bump(what) : undefined);
    }
  }

  private async reconcileAndCleanup(trigger: string): Promise<void> {
    const before = this.lastPlan;
    const r = await this.reconcile(trigger);
    if (r.ok) await this.cleanupFlows(before, this.lastPlan);
  }

  private syncLinkStates(config: Config, interfaces: Facts['interfaces']): void {
    if (!this.health) return;
    for (const u of config.uplinks) {
      const f = interfaces[u.interface];
      const carrier = Boolean(f?.exists && f.up && f.carrier);
      this.health.setLinkState(u.name, { carrier, hasAddress: Boolean(f?.addresses.length) });
      if (u.ipv6) this.health.setLinkState(`${u.name}${FAMILY6_SUFFIX}`, { carrier, hasAddress: Boolean(f?.addresses6?.some((a) => a.scope === 'global') || f?.gateway6) });
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.confirmTask = null; // an apply still finishing must not start a rollback after stop
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.links?.stop();
    this.drift?.stop();
    this.dbWatch?.stop();
    this.health?.stop();
    this.conns?.stop();
    this.counterReader.close();
    if (this.busy) await this.busy.catch(() => undefined);
    await stopVerify(this.applyCtx);
    await this.ra.stop();
    await this.pd.stop();
    await this.packetLog.stop();
    await this.notifier.stop();
  }

  /** `agent --once`: converge, collect counters once, report. */
  async runOnce(): Promise<ReconcileResult> {
    this.onceMode = true;
    let r = await this.reconcile('once');
    for (let i = 0; i < 3 && !r.ok && r.error?.startsWith('interfaces changed during apply'); i++) r = await this.reconcile('once: re-plan');
    if (r.ok && this.confirm.tick().kind === 'rolledBack') r = await this.reconcile('once: rollback');
    if (r.ok && r.revision !== null) {
      await this.collectCounters();
      await this.collectConnections().catch(() => undefined);
      this.writeUplinkStatus();
    }
    this.counterReader.close();
    return r;
  }
}

/** What the conntrack mirror needs: uplink names by mark, LAN networks, the router's addresses. */
export function connContext(config: Config, facts: Facts): ConnContext {
  const byId = new Map(config.uplinks.map((u) => [u.id, u.name]));
  const lan: string[] = [];
  const local: string[] = [];
  for (const l of config.lan) {
    lan.push(l.address);
    for (const a of facts.interfaces[l.interface]?.addresses6 ?? []) if (a.scope === 'global') lan.push(`${a.address}/${a.prefix}`);
  }
  for (const f of Object.values(facts.interfaces)) {
    for (const a of f.addresses) local.push(a.address);
    for (const a of f.addresses6 ?? []) local.push(a.address);
  }
  return { uplinkOf: (mark) => byId.get(uplinkIdOfMark(mark)) ?? null, lan, local };
}
