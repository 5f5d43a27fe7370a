// HealthMonitor: runs the probers of every uplink (one probe per target every probeIntervalMs),
// evaluates a round per uplink every intervalMs
// with the pure state machine (state.ts) and emits 'transition' events.
//
//   const m = new HealthMonitor();
//   m.on('transition', (t: Transition) => ...);
//   m.configure([{ name, id, interface, address, carrier, enabled, health: effectiveHealth(u, defaults) }]);
//   m.setLinkState('wan1', { carrier: false, hasAddress: true });  // from the link watcher
//   m.snapshot();  m.stop();
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { UplinkHealth, probeIntervalMs, type HealthSettings, type HealthStatus, type LinkFacts, type ProbeOutcome, type RoundResult, type Transition, type UplinkView } from './state';
import { PingProber, type Prober } from './ping';
import { SocketProber } from './sockets';
import { realRunner, type Runner } from '../system/runner';
import { markOf } from '../../lib/compile/constants';

export interface MonitorUplink {
  name: string;
  /** Uplink id 1-50: fwmark id << 8, routing table 200 + id. */
  id: number;
  interface: string;
  /** The uplink's IPv4 address (no prefix); absent = no address. Source for TCP/DNS probes. */
  address?: string;
  carrier: boolean;
  enabled: boolean;
  health: HealthSettings;
  /** Only when the uplink is first configured: start `down` with this reason (agent restart). */
  initialDown?: string;
}

export interface ProberSpec {
  uplink: string;
  id: number;
  interface: string;
  address?: string;
  target: string;
  method: HealthSettings['method'];
  port: number;
  /** Probe period of this target: probeIntervalMs(health), shorter than the round interval. */
  intervalMs: number;
  /** The round interval (health.intervalMs). */
  roundMs: number;
  timeoutMs: number;
}

export type ProberFactory = (spec: ProberSpec, onOutcome: (o: ProbeOutcome) => void) => Prober;

/** What snapshot() reports per uplink: the state machine's own view. */
export type UplinkSnapshot = UplinkView;

export interface HealthMonitorOptions {
  /** Starts the probe commands (default: the real runner; tests wrap it with withNetns). */
  runner?: Runner;
  now?: () => number;
  proberFactory?: ProberFactory;
  onLog?: (msg: string) => void;
  /** The agent's own directory for the ping probes' FIFOs (emptied at start): their output is
   *  read in one batch per round instead of one wake-up per reply. Absent: line by line. */
  probeDir?: string;
}


interface Entry {
  cfg: MonitorUplink;
  health: UplinkHealth;
  probers: Prober[];
  /** Probing, with rounds from the shared round timer of its interval (null: not probing). */
  round: { intervalMs: number; from: number } | null;
  probeKey: string;
}

/** Batched ping output (a FIFO read once per round) only up to this many probes per round. */
const MAX_LINES_PER_ROUND = 100;

/** One timer per round interval for every uplink probed at that interval: 4 uplinks at the
 *  default 500 ms wake the agent 2 times a second for their rounds, not 8. */
interface RoundGroup {
  timer: NodeJS.Timeout;
  entries: Set<Entry>;
}

function probeKey(u: MonitorUplink): string {
  const h = u.health;
  return JSON.stringify([u.id, u.interface, h.method === 'icmp' ? null : u.address ?? null, h.targets, h.method, h.port, h.intervalMs, h.timeoutMs]);
}

export class HealthMonitor extends EventEmitter {
  private entries = new Map<string, Entry>();
  private groups = new Map<number, RoundGroup>();
  private readonly now: () => number;
  private readonly factory: ProberFactory;
  /** Number of probers created so far (tests use it to check idempotence). */
  probersCreated = 0;

  constructor(private readonly opts: HealthMonitorOptions = {}) {
    super();
    this.now = opts.now ?? Date.now;
    this.factory = opts.proberFactory ?? ((spec, cb) => this.defaultProber(spec, cb));
    if (opts.probeDir) {
      try {
        // the run directory itself as its other users make it (0755); only probes/ is private
        fs.mkdirSync(path.dirname(opts.probeDir), { recursive: true, mode: 0o755 });
        // FIFOs a previous process left (it was killed) are nobody's: start empty
        fs.rmSync(opts.probeDir, { recursive: true, force: true });
        fs.mkdirSync(opts.probeDir, { mode: 0o700 });
        this.fifoDir = opts.probeDir;
      } catch (e) {
        opts.onLog?.(`probe directory ${opts.probeDir}: ${(e as Error).message}; ping output read line by line`);
      }
    }
  }

  private fifoDir: string | undefined;

  private defaultProber(spec: ProberSpec, onOutcome: (o: ProbeOutcome) => void): Prober {
    if (spec.method === 'icmp') {
      return new PingProber(
        { target: spec.target, ifname: spec.interface, mark: markOf(spec.id), intervalMs: spec.intervalMs, timeoutMs: spec.timeoutMs },
        onOutcome,
        // batched only while a round's output fits the pipe many times over (a FIFO holds 64 KiB,
        // ~700 lines; a round of 60 s at 40 ms probes would print 1 500): else line by line
        { runner: this.opts.runner ?? realRunner, now: this.now, onLog: this.opts.onLog, fifoDir: spec.roundMs / spec.intervalMs <= MAX_LINES_PER_ROUND ? this.fifoDir : undefined },
      );
    }
    return new SocketProber(
      { method: spec.method, target: spec.target, port: spec.port, localAddress: spec.address, timeoutMs: spec.timeoutMs, intervalMs: spec.intervalMs },
      onOutcome,
      this.now,
    );
  }

  private emitAll(ts: Transition[]): void {
    for (const t of ts) this.emit('transition', t);
  }

  /** Idempotent: only restarts the probes of uplinks whose probe settings changed. */
  configure(uplinks: MonitorUplink[]): void {
    const now = this.now();
    const names = new Set(uplinks.map((u) => u.name));
    for (const [name, e] of this.entries) {
      if (!names.has(name)) {
        this.halt(e);
        this.entries.delete(name);
      }
    }
    for (const u of uplinks) {
      const cfg: MonitorUplink = { ...u, health: { ...u.health, targets: [...u.health.targets] } };
      const link: LinkFacts = { carrier: u.carrier, hasAddress: u.address !== undefined };
      let e = this.entries.get(u.name);
      if (!e) {
        e = { cfg, health: new UplinkHealth(u.name, cfg.health, now, { enabled: u.enabled, link, initialDown: u.initialDown }), probers: [], round: null, probeKey: probeKey(cfg) };
        this.entries.set(u.name, e);
      } else {
        const key = probeKey(cfg);
        if (key !== e.probeKey) {
          this.halt(e);
          e.probeKey = key;
        }
        e.cfg = cfg;
        e.health.updateSettings(cfg.health);
        this.emitAll(e.health.setEnabled(now, u.enabled));
        this.emitAll(e.health.setLink(now, link));
      }
      this.sync(e);
    }
  }

  /** Link facts from the link watcher: carrier lost / no address => down immediately. */
  setLinkState(name: string, facts: LinkFacts): void {
    const e = this.entries.get(name);
    if (!e) return;
    this.emitAll(e.health.setLink(this.now(), facts));
    this.sync(e);
  }

  snapshot(): Record<string, UplinkSnapshot> {
    const out: Record<string, UplinkSnapshot> = {};
    for (const [name, e] of this.entries) {
      const v = e.health.view();
      out[name] = { state: v.state, since: v.since, reason: v.reason, latencyMs: v.latencyMs, lossPct: v.lossPct, measured: v.measured, lastRound: v.lastRound, quality: v.quality };
    }
    return out;
  }

  /** Round timers running: one per distinct round interval of the probed uplinks (tests). */
  get roundTimers(): number {
    return this.groups.size;
  }

  /** Process ids of running ping probers (for CPU measurements). */
  pids(): number[] {
    const out: number[] = [];
    for (const e of this.entries.values()) for (const p of e.probers) if (p instanceof PingProber && p.pid) out.push(p.pid);
    return out;
  }

  stop(): void {
    for (const e of this.entries.values()) this.halt(e);
    this.entries.clear();
  }

  private halt(e: Entry): void {
    for (const p of e.probers) p.stop();
    e.probers = [];
    const r = e.round;
    e.round = null;
    const g = r ? this.groups.get(r.intervalMs) : undefined;
    if (!g) return;
    g.entries.delete(e);
    if (g.entries.size === 0) {
      clearInterval(g.timer);
      this.groups.delete(r!.intervalMs);
    }
  }

  /** A tick of the shared timer: one round for each member whose probes have run long enough. */
  private tick(g: RoundGroup): void {
    const now = this.now();
    // batched probers first: every reply ping printed since the last tick, dated by ping
    for (const e of g.entries) {
      for (const p of e.probers) {
        try {
          p.drain?.(now);
        } catch (err) {
          this.opts.onLog?.(`probe output of ${e.cfg.name}: ${(err as Error).message}`);
        }
      }
    }
    for (const e of [...g.entries]) {
      // a member that joined less than half an interval ago waits for the next tick: its first
      // round comes 0.5-1.5 intervals after its probes started (on its own timer: 1 interval)
      if (e.round && g.entries.has(e) && now >= e.round.from) this.emitAll(e.health.round(now));
    }
  }

  /** Start probes when the uplink should be probed, stop them otherwise. */
  private sync(e: Entry): void {
    if (!e.health.probing) {
      this.halt(e);
      return;
    }
    if (e.round) return;
    const u = e.cfg;
    const h = u.health;
    for (const target of h.targets) {
      const spec: ProberSpec = {
        uplink: u.name, id: u.id, interface: u.interface, address: u.address, target,
        method: h.method, port: h.port, intervalMs: probeIntervalMs(h), roundMs: h.intervalMs, timeoutMs: h.timeoutMs,
      };
      this.probersCreated++;
      const p = this.factory(spec, (o) => e.health.probe(o));
      e.probers.push(p);
      p.start();
    }
    e.round = { intervalMs: h.intervalMs, from: this.now() + h.intervalMs / 2 };
    let g = this.groups.get(h.intervalMs);
    if (!g) {
      const group: RoundGroup = { timer: setInterval(() => this.tick(group), h.intervalMs), entries: new Set() };
      this.groups.set(h.intervalMs, (g = group));
    }
    g.entries.add(e);
  }
}
