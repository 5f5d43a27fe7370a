// The reconcile loop. Level-triggered: every trigger (new revision, link/address change,
// health transition, periodic timer) coalesces into one reconcile that compares desired
// state with what the kernel has and fixes the difference. Failures keep the last good kernel
// state, are recorded in the database and retried with exponential backoff and a full resync.
import { EventEmitter } from 'node:events';
import type { DB } from '../lib/db/sqlite';
import type { Config } from '../lib/validations/config';
import { effectiveHealth } from '../lib/validations/config';
import type { Facts, Plan, HealthState } from '../lib/compile/types';
import { compile } from '../lib/compile/compile';
import { MARK_MASK, counterUplinkIn, counterUplinkOut, uplinkIdOfMark } from '../lib/compile/constants';
import { realRunner, type Runner } from './system/runner';
import { gatherFacts } from './system/facts';
import { applyPlan, resetApplyCache, type ApplyCtx } from './system/apply';
import type { SysctlChange } from './system/sysctl';
import { NftCounterReader } from './system/nft';
import { listConnections, deleteByMark } from './system/conntrack';
import { watchLinks, type LinkWatcher } from './system/ipmonitor';
import { AgentStore, type ConnRow, type UplinkStatusRow } from './store';
import { HealthMonitor } from './health/monitor';
import { watchDbWrites, type DbWatch } from './system/dbwatch';
import { ConfirmWatcher } from './confirm';
import { Visibility } from './droplog';
import { uplinkStatus } from './uplink-status';
import { BootState } from './bootstate';
import { readMachine } from './system/machine';

export interface AgentOptions {
  db: DB;
  runner?: Runner;
  /** Probe uplink health (off for --once). */
  health?: boolean;
  /** Watch `ip monitor` for link/address changes. */
  watchLinks?: boolean;
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
  /** Persist each newly applied plan here for the next boot (agent/bootstate.ts); off when unset. */
  bootStateDir?: string;
}

export interface ReconcileResult {
  ok: boolean;
  revision: number | null;
  error?: string;
  changed?: boolean;
  ms?: number;
}

type Timer = ReturnType<typeof setTimeout>;

export class Agent extends EventEmitter {
  readonly store: AgentStore;
  /** Commit-confirmed deadlines and automatic rollback (agent/confirm.ts). */
  readonly confirm: ConfirmWatcher;
  /** Drop log and port-scan bans (agent/droplog.ts). */
  readonly visibility: Visibility;
  private readonly runner: Runner;
  private readonly opts: Required<Pick<AgentOptions, 'pollMs' | 'resyncMs' | 'counterMs' | 'sampleMs' | 'connMs'>> & AgentOptions;
  private readonly applyCtx: ApplyCtx;
  private readonly log: (msg: string) => void;
  private health: HealthMonitor | null = null;
  private links: LinkWatcher | null = null;
  private dbWatch: DbWatch | null = null;
  private running = false;
  private busy: Promise<ReconcileResult> | null = null;
  private dirty: string | null = null;
  private timers: Timer[] = [];
  private retryTimer: Timer | null = null;
  private failures = 0;
  private lastDataVersion = -1;
  private lastRevisionSeen: number | null = null;
  private lastPlan: Plan | null = null;
  private lastConfig: Config | null = null;
  private lastFacts: Facts | null = null;
  private lastAppliedRevision: number | null = null;
  private lastSample = 0;
  private connCount = new Map<string, number>();
  private uplinkSince = new Map<string, { state: string; since: number; reason: string }>();
  private restoredDown = new Map<string, string>();
  private readonly bootState: BootState | null;

  constructor(opts: AgentOptions) {
    super();
    this.opts = { pollMs: 250, resyncMs: 30000, counterMs: 2000, sampleMs: 10000, connMs: 5000, ...opts };
    this.runner = opts.runner ?? realRunner;
    this.counterReader = new NftCounterReader(this.runner);
    this.store = new AgentStore(opts.db);
    this.visibility = new Visibility(opts.db, this.runner);
    this.confirm = new ConfirmWatcher(opts.db, (type, action, msg) => {
      this.store.event(type, msg);
      if (action) this.store.audit(action, msg);
      this.log(msg);
    });
    this.applyCtx = { runner: this.runner };
    this.bootState = opts.bootStateDir ? new BootState(opts.bootStateDir) : null;
    this.log = opts.log ?? ((m) => process.stderr.write(`${new Date().toISOString()} linkward-agent: ${m}\n`));
    const st = this.store.state();
    this.lastAppliedRevision = (st.appliedRevision as number | null) ?? null;
  }

  /** Converge once. Serialized: concurrent triggers coalesce into one extra run. */
  reconcile(trigger: string): Promise<ReconcileResult> {
    if (this.busy) {
      this.dirty = trigger;
      return this.busy;
    }
    this.busy = this.doReconcile(trigger).finally(() => {
      this.busy = null;
      if (this.dirty && this.running) {
        const t = this.dirty;
        this.dirty = null;
        void this.reconcile(t);
      }
    });
    return this.busy;
  }

  private healthStates(config: Config): Record<string, HealthState> {
    const out: Record<string, HealthState> = {};
    const snap = this.health?.snapshot() ?? {};
    for (const u of config.uplinks) {
      const s = snap[u.name]?.state ?? (this.restoredDown.has(u.name) ? 'down' : undefined);
      out[u.name] = s === 'up' ? 'up' : s === 'down' ? 'down' : 'unknown';
    }
    return out;
  }

  private async doReconcile(trigger: string): Promise<ReconcileResult> {
    const t0 = performance.now();
    const desired = this.store.desired();
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
      }
      this.lastRevisionSeen = desired.revision;
      return { ok: false, revision: desired.revision, error: msg };
    }
    const { config, revision } = desired;
    const ifnames = [...config.lan.map((l) => l.interface), ...config.uplinks.map((u) => u.interface)];
    let interfaces: Facts['interfaces'] | null = null;
    try {
      interfaces = await gatherFacts(this.runner, ifnames);
      // Carrier/address facts reach the health monitor before compiling, so a lost carrier takes
      // the uplink out in this very reconcile (its transition coalesces into one more run).
      this.syncLinkStates(config, interfaces);
      const facts: Facts = { interfaces, health: this.healthStates(config) };
      const plan = compile(config, facts);
      const res = await applyPlan(this.applyCtx, plan);
      const ms = performance.now() - t0;
      const changed = res.nftChanged || res.routeOps.length > 0 || res.ruleOps.length > 0 || res.sysctlsChanged.length > 0;
      const newRevision = revision !== this.lastAppliedRevision;
      this.lastPlan = plan;
      this.lastConfig = config;
      this.lastFacts = facts;
      this.lastRevisionSeen = revision;
      if (newRevision || changed || this.failures > 0) {
        this.store.recordApplied(revision, ms, facts);
        const what = [res.nftChanged ? 'nft table' : null, res.routeOps.length ? `${res.routeOps.length} route ops` : null, res.ruleOps.length ? `${res.ruleOps.length} rule ops` : null, res.sysctlsChanged.length ? `${res.sysctlsChanged.length} sysctls` : null].filter(Boolean).join(', ');
        const msg = `applied revision ${revision} in ${ms.toFixed(0)} ms (${trigger}${what ? `; ${what}` : '; no kernel change'})`;
        if (newRevision || changed) this.store.event('apply', msg);
        if (newRevision) this.store.audit('config.apply', msg);
        this.log(msg);
      } else this.store.heartbeat(process.pid);
      this.lastAppliedRevision = revision;
      this.saveBootState(plan, revision, res.sysctlsChanged);
      this.failures = 0;
      this.replans = 0;
      this.confirm.onApplied(revision);
      this.configureHealth(config, facts, plan);
      this.writeUplinkStatus();
      return { ok: true, revision, changed, ms };
    } catch (e) {
      const err = e instanceof Error ? e.message : String(e);
      // A link that changed while we applied (carrier lost mid-apply, ifup racing a route add)
      // makes route operations fail against facts that are already stale: re-plan at once with
      // fresh facts instead of recording a failure — a few times, then treat it as a failure.
      if (interfaces && this.replans < 3 && (await this.factsChanged(ifnames, interfaces))) {
        this.replans++;
        resetApplyCache(this.applyCtx);
        this.log(`interfaces changed while applying revision ${revision} (${err}); re-planning with fresh facts`);
        this.dirty = `re-plan: interfaces changed during apply`;
        return { ok: false, revision, error: `interfaces changed during apply; re-planning: ${err}` };
      }
      this.failures++;
      resetApplyCache(this.applyCtx); // next attempt resyncs from the kernel, trusting nothing cached
      const msg = `applying revision ${revision} failed (attempt ${this.failures}; the kernel keeps the last good state): ${err}`;
      this.store.recordError(revision, msg);
      if (this.failures === 1) {
        this.store.event('apply-error', msg);
        this.store.audit('config.apply-error', msg);
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
      const rows = this.opts.db.prepare("SELECT name, reason FROM UplinkStatus WHERE state = 'down' AND updatedAt >= ?").all(since) as { name: string; reason: string }[];
      return new Map(rows.map((r) => [r.name, r.reason]));
    } catch {
      return new Map();
    }
  }

  private configureHealth(config: Config, facts: Facts, plan: Plan): void {
    if (!this.health) return;
    this.health.configure(
      config.uplinks.map((u) => {
        const f = facts.interfaces[u.interface];
        const p = plan.uplinks.find((x) => x.name === u.name);
        return {
          name: u.name,
          id: u.id,
          interface: u.interface,
          address: p?.address,
          carrier: Boolean(f?.exists && f.up && f.carrier),
          enabled: u.enabled,
          health: effectiveHealth(u),
          ...(this.restoredDown.has(u.name) ? { initialDown: `down before the agent restarted (${this.restoredDown.get(u.name)})` } : {}),
        };
      }),
    );
    this.restoredDown.clear();
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
      };
    });
    this.store.writeUplinks(rows);
  }

  private lastCounterValues = new Map<string, number>();
  /** One long-running `nft -j -i` for the 2 s counter reads (the plain runner when one was injected). */
  private readonly counterReader: NftCounterReader;

  /** Read every named counter and store it (and a sample every sampleMs). */
  async collectCounters(): Promise<void> {
    if (!this.lastPlan) return;
    const values = await this.counterReader.read();
    const now = Date.now();
    const sample = now - this.lastSample >= this.opts.sampleMs;
    if (sample) this.lastSample = now;
    this.store.writeCounters(values, this.lastPlan.counters, sample);
    this.lastCounterValues = new Map(values.map((v) => [v.name, v.bytes]));
    this.store.heartbeat(process.pid);
  }

  private visibilityBusy: Promise<void> | null = null;

  /** Drop log and bans: reads only the nft sets that can have changed since the last read
   *  (their gate counters moved, the revision changed, a ban expires, or 30 s passed). */
  collectVisibility(): Promise<void> {
    if (!this.lastPlan) return Promise.resolve();
    this.visibilityBusy ??= this.visibility
      .collect(this.lastConfig, Date.now(), { counters: this.lastCounterValues, plan: this.lastAppliedRevision })
      .then(() => undefined)
      .finally(() => {
        this.visibilityBusy = null;
      });
    return this.visibilityBusy;
  }

  /** Connection reads to skip: when the list came back identical, the next read waits one
   *  more connMs each time (5, 10, 15, 20 s with the default), back to every connMs on a change. */
  private connSkip = 0;
  private connQuiet = 0;

  async collectConnections(): Promise<void> {
    if (!this.lastConfig) return;
    if (this.connSkip > 0) {
      this.connSkip--;
      return;
    }
    const byId = new Map(this.lastConfig.uplinks.map((u) => [u.id, u.name]));
    const conns = await listConnections(this.runner);
    const counts = new Map<string, number>();
    const rows: ConnRow[] = conns.map((c) => {
      const id = uplinkIdOfMark(c.mark ?? 0);
      const uplink = byId.get(id) ?? null;
      if (uplink) counts.set(uplink, (counts.get(uplink) ?? 0) + 1);
      return { proto: c.proto, src: c.src, dst: c.dst, sport: c.sport ?? null, dport: c.dport ?? null, state: c.state ?? null, uplink, packets: c.packets ?? 0, bytes: c.bytes ?? 0 };
    });
    this.connCount = counts;
    const changed = this.store.writeConnections(rows);
    this.connQuiet = changed ? 0 : Math.min(this.connQuiet + 1, 3);
    this.connSkip = this.connQuiet;
  }

  private async onTransition(t: { uplink: string; from: string; to: string; reason: string }): Promise<void> {
    this.store.event('uplink', `uplink ${t.uplink}: ${t.from} → ${t.to} (${t.reason})`, t.uplink);
    this.store.audit(t.to === 'down' ? 'uplink.failover' : 'uplink.state', `uplink ${t.uplink}: ${t.from} → ${t.to} (${t.reason})`);
    this.log(`uplink ${t.uplink}: ${t.from} -> ${t.to} (${t.reason})`);
    const before = this.lastPlan;
    const r = await this.reconcile(`health: ${t.uplink} ${t.to}`);
    if (!r.ok) return;
    await this.cleanupFlows(before, this.lastPlan);
    this.writeUplinkStatus();
  }

  /** After a plan change: flows pinned to uplinks that are now unusable are deleted so they
   *  re-establish on a live uplink instead of hanging. Draining uplinks keep their flows.
   *  failback "reset": when an uplink comes back, flows on backup-tier uplinks that lost their
   *  activity are deleted too, so they return to the preferred tier. */
  private async cleanupFlows(before: Plan | null, after: Plan | null): Promise<void> {
    if (!after || !this.lastConfig) return;
    this.connSkip = 0; // after a plan change the flows move: list them at the next tick
    this.connQuiet = 0;
    const cfg = new Map(this.lastConfig.uplinks.map((u) => [u.name, u]));
    const snap = this.health?.snapshot() ?? {};
    for (const u of after.uplinks) {
      const c = cfg.get(u.name);
      if (!c) continue;
      // No previous plan (agent start): assume it was active, so flows an earlier agent process
      // left on an uplink that is unusable now are deleted too.
      const wasActive = before ? (before.uplinks.find((x) => x.name === u.name)?.active ?? false) : true;
      const dead = snap[u.name]?.state === 'down' || !c.enabled;
      const recoveredOther = !u.active && wasActive && !dead && !c.drain && after.uplinks.some((x) => x.active && x.priority < u.priority && cfg.get(x.name)?.failback === 'reset');
      if ((dead && (wasActive || !c.enabled)) || recoveredOther) {
        try {
          const n = await deleteByMark(this.runner, u.mark, MARK_MASK);
          this.store.event('uplink', `deleted ${n} tracked connection(s) of uplink ${u.name} (${dead ? 'unusable' : 'failback reset'})`, u.name);
        } catch (e) {
          this.log(`conntrack cleanup for ${u.name} failed: ${(e as Error).message}`);
        }
      }
    }
  }

  private async handleRequests(): Promise<void> {
    const handlers: Record<string, (args: Record<string, unknown>) => Promise<string>> = {
      ...this.visibility.requestHandlers(),
      // the dashboard's first-run proposal (/first-run): the machine as it is, read only
      'machine.facts': async () => JSON.stringify(await readMachine(this.runner)),
      ...(this.opts.requestHandlers ?? {}),
    };
    for (const r of this.store.pendingRequests()) {
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
  }

  private every(ms: number, fn: () => Promise<void> | void): void {
    const tick = async () => {
      if (!this.running) return;
      try {
        await fn();
      } catch (e) {
        this.log(`periodic task failed: ${(e as Error).message}`);
      }
      if (this.running) this.timers.push(setTimeout(tick, ms));
    };
    this.timers.push(setTimeout(tick, ms));
  }

  /** Commit-confirmed: roll back an unconfirmed revision whose deadline passed, then apply. */
  async checkConfirm(): Promise<void> {
    const t = this.confirm.tick();
    if (t.kind === 'rolledBack') await this.reconcile(`rollback of revision ${t.revision}`);
  }

  /** Run forever (until stop()). */
  async start(): Promise<void> {
    this.running = true;
    this.store.markStarted(process.pid);
    this.store.event('agent', `agent started (pid ${process.pid})`);
    if (this.opts.health !== false) {
      // An uplink the previous agent process had found down (recently) starts down, so a restart
      // mid-failover converges to the same plan instead of briefly re-adding a dead uplink.
      this.restoredDown = this.recentDownUplinks(Date.now() - 300000);
      this.health = new HealthMonitor({ runner: this.runner });
      this.health.on('transition', (t) => void this.onTransition(t));
    }
    await this.reconcile('start');
    await this.cleanupFlows(null, this.lastPlan).catch(() => undefined);
    this.lastDataVersion = this.store.dataVersion();
    // Desired-state watch: PRAGMA data_version is a cheap "did another connection commit" probe.
    const checkRevision = async () => {
      if (!this.running) return;
      const v = this.store.dataVersion();
      if (v === this.lastDataVersion) return;
      this.lastDataVersion = v;
      const latest = this.store.latestRevisionId();
      if (latest !== null && latest !== this.lastRevisionSeen) await this.reconcileAndCleanup(`revision ${latest}`);
    };
    this.every(this.opts.pollMs, checkRevision);
    // inotify wake-up: a commit by the web/CLI is seen in milliseconds, not after up to pollMs (bench: apply latency)
    this.dbWatch = watchDbWrites(this.opts.db.name, () => void checkRevision().catch((e) => this.log(`revision check failed: ${(e as Error).message}`)));
    this.every(this.opts.resyncMs, () => this.reconcile('periodic resync').then(() => undefined));
    this.every(this.opts.counterMs, async () => {
      await this.collectCounters();
      this.writeUplinkStatus();
      // Right after the counters: a moved drop/port-scan counter means new drop records or bans.
      await this.collectVisibility();
    });
    this.every(this.opts.connMs, () => this.collectConnections());
    this.every(3600 * 1000, () => this.store.prune());
    this.every(1000, () => this.handleRequests());
    this.every(1000, () => this.checkConfirm());
    // Expiring bans and the periodic full read of the sets (the counter tick covers new drops).
    this.every(this.opts.dropMs ?? 3000, () => this.collectVisibility());
    if (this.opts.watchLinks !== false) {
      this.links = watchLinks(this.runner, (what) => {
        // Carrier/address changes reach the health monitor at once (no waiting for probes).
        void this.reconcileAndCleanup(`link change: ${what}`);
      }, this.log);
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
      this.health.setLinkState(u.name, { carrier: Boolean(f?.exists && f.up && f.carrier), hasAddress: Boolean(f?.addresses.length) });
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.links?.stop();
    this.dbWatch?.stop();
    this.health?.stop();
    this.counterReader.close();
    if (this.busy) await this.busy.catch(() => undefined);
  }

  /** `agent --once`: converge, collect counters once, report. */
  async runOnce(): Promise<ReconcileResult> {
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
