// The connection tracker: a live mirror of the kernel's conntrack table, both families, kept from
// the event stream (`conntrack -E -e NEW,DESTROY`) instead of listing the whole table every few
// seconds. What costs is proportional to what changes, not to how many flows there are:
//  - at start (and after lost events or a count mismatch) one streamed listing seeds the mirror;
//  - NEW/DESTROY events keep it; the Connection table gets only the inserted and deleted rows
//    (batched), the uplink cards' counts follow at once;
//  - every checkMs a `conntrack -C` (no listing) compares the kernel's count with the mirror;
//  - per-flow bytes exist only in listings (the kernel sends no counters with NEW events), so a
//    listing runs only while someone watches (Watch row "connections", set by the Connections page
//    and /api/connections) — every watchDumpMs (5 s), stretched so a listing never takes more
//    than ~1/40 of the time — and gives bytes and a rate (bytes/s since the previous reading) per flow.
// mode 'poll' is the old way (a full listing every pollMs), kept for the bench's side-by-side
// measurement and as the fallback when the event stream cannot run.
import { dumpConnections, countConnections, listConnections, watchConnections, type ConnEntry, type ConntrackWatch } from './system/conntrack';
import type { Runner } from './system/runner';
import { heapForSize, type SizeScope } from './heapsize';
import { FlowTable, type Slot } from './flowtable';
import { parseIPv4, parseCidr, cidrContains, parseIPv6, parseCidr6, cidr6Contains, type Cidr, type Cidr6 } from '../lib/validations/net';

/** One row of the Connection table (ids are the conntrack id as a signed 32-bit integer). */
export interface FlowRow {
  id: number;
  family: 4 | 6;
  proto: string;
  src: string;
  dst: string;
  sport: number | null;
  dport: number | null;
  state: string | null;
  uplink: string | null;
  /** The LAN host of the flow (the source of an outbound flow, the target of a port forward). */
  host: string | null;
  /** 1: the router's own flow (health probes, its DNS queries): not counted on the uplink cards. */
  local: 0 | 1;
  packets: number;
  bytes: number;
  /** bytes/s since the previous reading (null: not read twice yet). */
  rate: number | null;
  firstSeen: number;
  /** When bytes were read (0: never — the flow is only known from its NEW event). */
  ts: number;
}

/** A row's changing part (UPDATE): bytes, rate, state, and the uplink (relabelled by a config change). */
export interface FlowBytes {
  id: number;
  packets: number;
  bytes: number;
  rate: number | null;
  ts: number;
  state: string | null;
  uplink: string | null;
}

/** Where the tracker writes (AgentStore implements it); each call is one transaction. false: the
 *  database refused (the next write is a full rewrite). */
export interface ConnStore {
  connReplace(rows: FlowRow[]): boolean;
  connApply(ins: FlowRow[], del: number[], upd: FlowBytes[]): boolean;
  /** Until when someone watches `name` (ms), null: nobody. */
  watchUntil(name: string): number | null;
}

/** What the tracker needs to know of the configuration and the machine. */
export interface ConnContext {
  /** Uplink name of a flow's mark, null when no uplink's. */
  uplinkOf: (mark: number) => string | null;
  /** The LAN networks (host attribution). */
  lan: string[];
  /** The router's own addresses (its flows are `local`). */
  local: string[];
}

export interface ConnTrackerOptions {
  runner: Runner;
  store: ConnStore;
  log?: (msg: string) => void;
  now?: () => number;
  mode?: 'events' | 'poll';
  /** poll mode: a full listing this often (ms). */
  pollMs?: number;
  /** events mode, while watched: a listing (bytes, rate) this often at most (ms). */
  watchDumpMs?: number;
  /** events mode: compare `conntrack -C` with the mirror this often (ms). */
  checkMs?: number;
  /** Batch the database writes of events (ms). */
  flushMs?: number;
  /** The per-uplink counts changed (the agent rewrites the uplink cards). */
  onCounts?: () => void;
  /** The kernel's flow count (default: its counter file, else `conntrack -C`). */
  count?: () => Promise<number>;
  /** Where the events mode's listings run (default: V8 optimizing for size while they do;
   *  agent/heapsize.ts). */
  heap?: Pick<SizeScope, 'run'> & Partial<Pick<SizeScope, 'collect'>>;
  /** The listing that rewrites the whole Connection table (start-up, or after the database
   *  refused a write) runs a full collection every this many flows (0: never). */
  collectEvery?: number;
}

const signed = (n: number) => n | 0;
/** A full collection every 5 000 flows of the listing that rewrites every row (heapsize.ts'
 *  collect()). Seeding 50 000 flows (bench/rss-startup.ts, two alternating pairs, VmRSS every
 *  20 ms): peak 96.7–96.9 MB with it vs 110.1–110.9 MB without; the 10 collections took
 *  137–159 ms of a 1.5–1.6 s listing (1.46–1.51 s without). Every 2 000: 94–97 MB for 330–380 ms. */
export const COLLECT_EVERY = 5000;
/** The periodic look while something is due soon (poll mode, a watcher, a pending rewrite). */
const TICK_MS = 500;
/** At most this long between looks otherwise (the count check is every checkMs, 10 s). */
const MAX_SLEEP_MS = 10_000;

/** FNV-1a of a flow's tuple: the key of a flow the kernel listed without an id. */
function tupleKey(e: ConnEntry): number {
  const s = `${e.family} ${e.proto} ${e.src} ${e.sport ?? ''} ${e.dst} ${e.dport ?? ''}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

export const flowKey = (e: ConnEntry): number => (e.id !== undefined ? signed(e.id) : tupleKey(e));

interface Nets {
  v4: Cidr[];
  v6: Cidr6[];
  local: Set<string>;
}

function compileContext(c: ConnContext): Nets {
  const v4: Cidr[] = [];
  const v6: Cidr6[] = [];
  for (const n of c.lan) {
    const a = parseCidr(n);
    if (a) v4.push(a);
    else {
      const b = parseCidr6(n);
      if (b) v6.push(b);
    }
  }
  return { v4, v6, local: new Set([...c.local, '127.0.0.1', '::1']) };
}

function inLan(nets: Nets, addr: string | undefined): boolean {
  if (!addr) return false;
  const a4 = parseIPv4(addr);
  if (a4 !== null) return nets.v4.some((n) => cidrContains(n, a4));
  if (nets.v6.length === 0) return false;
  const a6 = parseIPv6(addr);
  return a6 !== null && nets.v6.some((n) => cidr6Contains(n, a6));
}

export class ConnTracker {
  /** The mirror: key (signed conntrack id) → what the counts, the cleanup and the rates need
   *  (typed arrays: agent/flowtable.ts). */
  private readonly flows = new FlowTable();
  private readonly o: Required<Omit<ConnTrackerOptions, 'onCounts' | 'log'>> & Pick<ConnTrackerOptions, 'onCounts'>;
  private readonly log: (m: string) => void;
  private ctx: ConnContext = { uplinkOf: () => null, lan: [], local: [] };
  private nets: Nets = compileContext(this.ctx);
  private watch: ConntrackWatch | null = null;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private running = false;
  /** Events that arrive while a listing runs: replayed after it. */
  private queue: (ConnEntry & { event?: string })[] | null = null;
  private pendingIns = new Map<number, FlowRow>();
  private pendingDel = new Set<number>();
  private pendingUpd = new Map<number, FlowBytes>();
  private fullWrite = true;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** The per-uplink counts last reported; none yet = no flows (an empty first listing changes nothing). */
  private lastCounts = '[]';
  /** Flows per uplink, the router's own excluded (kept as flows come and go). */
  private readonly perUplink = new Map<string, number>();
  private resyncing: Promise<void> | null = null;
  private resyncWanted: string | null = null;
  private mismatches = 0;
  private restarts = 0;
  private lastDumpMs = 0;
  private nextDumpAt = 0;
  private lastCheck = 0;
  private tickTimer: ReturnType<typeof setTimeout> | null = null;
  private ticking = false;
  mode: 'events' | 'poll';
  /** What it did (bench and tests): listings, events, count checks, resyncs and why. */
  readonly stats = { dumps: 0, events: 0, checks: 0, resyncs: [] as string[], lost: 0, writes: 0 };

  constructor(opts: ConnTrackerOptions) {
    this.o = { mode: 'events', pollMs: 5000, watchDumpMs: 5000, checkMs: 10000, flushMs: 300, now: Date.now, count: () => countConnections(opts.runner), heap: heapForSize, collectEvery: COLLECT_EVERY, ...opts } as ConnTracker['o'];
    this.mode = this.o.mode;
    this.log = opts.log ?? (() => undefined);
  }

  /** Flows in the mirror. */
  get size(): number {
    return this.flows.size;
  }

  /** Hosts, states, uplink names: the mirror's own copies (flat, shared), so a row never keeps a
   *  listing line alive and each string is held once. */
  private intern(v: string | null | undefined): string | null {
    return this.flows.intern(v);
  }


  private countAdd(sl: Slot, d: 1 | -1): void {
    if (!sl.uplink || sl.local) return;
    const n = (this.perUplink.get(sl.uplink) ?? 0) + d;
    if (n > 0) this.perUplink.set(sl.uplink, n);
    else this.perUplink.delete(sl.uplink);
  }

  /** Set a flow; `old`: what the mirror has for it, when the caller read it already. */
  private put(id: number, sl: Slot, old: Slot | undefined = this.flows.get(id)): void {
    if (old) this.countAdd(old, -1);
    this.flows.set(id, sl);
    this.countAdd(sl, 1);
  }

  /** Remove a flow from the mirror (and, at the next write, from the table). */
  private drop(id: number): boolean {
    const old = this.flows.get(id);
    if (!old) return false;
    this.countAdd(old, -1);
    this.flows.delete(id);
    if (!this.pendingIns.delete(id)) this.pendingDel.add(id);
    this.pendingUpd.delete(id);
    return true;
  }

  /** Configuration or interface addresses changed: relabel every flow's uplink; when the LAN
   *  networks or the router's addresses changed, a listing recomputes hosts. */
  setContext(ctx: ConnContext): void {
    const netsChanged = JSON.stringify([ctx.lan, ctx.local]) !== JSON.stringify([this.ctx.lan, this.ctx.local]);
    this.ctx = ctx;
    this.nets = compileContext(ctx);
    this.flows.forEach((id, f) => {
      const uplink = this.intern(ctx.uplinkOf(f.mark));
      if (uplink !== f.uplink) {
        this.put(id, { ...f, uplink }, f);
        if (!this.pendingIns.has(id)) this.pendingUpd.set(id, this.bytesOf(id, { ...f, uplink }));
        else (this.pendingIns.get(id) as FlowRow).uplink = uplink;
      }
    });
    if (netsChanged && this.running && this.flows.size > 0) this.requestResync('LAN or router addresses changed');
    this.scheduleFlush();
  }

  private bytesOf(id: number, f: Slot): FlowBytes {
    return { id, packets: f.packets, bytes: f.bytes, rate: f.rate, ts: f.ts, state: f.state, uplink: f.uplink };
  }

  /** The slot of a listed or announced flow (prev: what the mirror had). */
  private slot(e: ConnEntry & { event?: string }, now: number, prev?: Slot): Slot {
    const local = this.nets.local.has(e.src) ? 1 : 0;
    const host = local ? null : inLan(this.nets, e.src) ? e.src : inLan(this.nets, e.replySrc) ? (e.replySrc as string) : inLan(this.nets, e.dst) ? e.dst : null;
    const hasBytes = e.bytes !== undefined && e.event !== 'NEW';
    const bytes = hasBytes ? (e.bytes as number) : (prev?.bytes ?? 0);
    let rate = prev?.rate ?? null;
    if (hasBytes) {
      if (prev && prev.ts > 0 && now > prev.ts) rate = Math.max(0, ((bytes - prev.bytes) * 1000) / (now - prev.ts));
      else if (prev && prev.ts === 0 && now > prev.firstSeen) rate = (bytes * 1000) / (now - prev.firstSeen); // known since its NEW event
    }
    return {
      mark: e.mark, family: e.family, local, uplink: this.intern(this.ctx.uplinkOf(e.mark)), host: this.intern(host), state: this.intern(e.state),
      packets: hasBytes ? (e.packets ?? 0) : (prev?.packets ?? 0), bytes, rate: rate === null ? null : Math.round(rate),
      firstSeen: prev?.firstSeen ?? now, ts: hasBytes ? now : (prev?.ts ?? 0),
    };
  }

  private fullRow(id: number, e: ConnEntry, sl: Slot): FlowRow {
    return {
      id, family: sl.family, proto: e.proto, src: e.src, dst: e.dst, sport: e.sport ?? null, dport: e.dport ?? null, state: sl.state,
      uplink: sl.uplink, host: sl.host, local: sl.local, packets: sl.packets, bytes: sl.bytes, rate: sl.rate, firstSeen: sl.firstSeen, ts: sl.ts,
    };
  }

  /** Start the event stream and seed the mirror (events mode), or the periodic listing (poll). */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.mode === 'events') this.startEvents();
    this.requestResync('start');
    this.loop();
  }

  stop(): void {
    this.running = false;
    this.watch?.stop();
    this.watch = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = null;
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.running) fn();
    }, ms);
    t.unref?.();
    this.timers.add(t);
  }

  private startEvents(): void {
    const started = this.o.now();
    this.watch = watchConnections(this.o.runner, {
      onEvent: (e) => this.onEvent(e),
      // while a listing runs every event is queued (the listing may know the flow)
      knownId: (id) => this.queue !== null || this.flows.has(id | 0),
      onLost: (why) => {
        this.stats.lost++;
        this.requestResync(`events lost (${why})`);
      },
      onExit: (why) => {
        if (!this.running) return;
        this.watch = null;
        const quick = this.o.now() - started < 2000;
        this.restarts = quick ? this.restarts + 1 : 0;
        if (quick && this.restarts >= 3) {
          this.log(`conntrack event stream unavailable (${why}): reading the whole table every ${this.o.pollMs / 1000} s instead`);
          this.mode = 'poll';
          this.poke(); // listings from now on: the first one at once
          return;
        }
        const delay = Math.min(30000, 1000 * 2 ** this.restarts);
        this.log(`conntrack event stream ended (${why}); restarting in ${delay} ms`);
        this.after(delay, () => {
          this.startEvents();
          this.requestResync('event stream restarted');
        });
      },
    });
  }

  private onEvent(e: ConnEntry & { event?: string }): void {
    this.stats.events++;
    if (this.queue) {
      this.queue.push(e);
      return;
    }
    this.applyEvent(e, this.o.now());
    this.scheduleFlush();
  }

  private applyEvent(e: ConnEntry & { event?: string }, now: number): void {
    const id = flowKey(e);
    if (e.event === 'DESTROY') {
      this.drop(id);
      return;
    }
    const prev = this.flows.get(id);
    const sl = this.slot(e, now, prev);
    this.put(id, sl, prev);
    this.pendingDel.delete(id);
    this.pendingUpd.delete(id);
    this.pendingIns.set(id, this.fullRow(id, e, sl));
  }

  /** Flows the agent just deleted from the kernel (failover cleanup by mark): gone from the mirror,
   *  the table and the cards now, before their DESTROY events arrive. Returns how many. */
  forgetMark(mark: number, mask: number, family?: 4 | 6): number {
    const ids = this.flows.keysByMark(mark, mask, family);
    for (const id of ids) this.drop(id);
    if (ids.length > 0) this.flush();
    return ids.length;
  }

  /** Tracked flows per uplink, the router's own excluded. */
  counts(): Map<string, number> {
    return new Map(this.perUplink);
  }

  private scheduleFlush(): void {
    if (this.flushTimer || !this.running) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flush();
    }, this.o.flushMs);
    this.flushTimer.unref?.();
  }

  /** Write what changed to the database (one transaction), then tell the cards if counts moved. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    // the cards first (they read the in-memory counts), the Connection rows after
    const c = JSON.stringify([...this.perUplink].sort());
    if (c !== this.lastCounts) {
      this.lastCounts = c;
      this.o.onCounts?.();
    }
    let ok: boolean;
    if (this.fullWrite) {
      // a full rewrite needs every row: only a listing has them all (the periodic loop asks for one)
      if (this.pendingIns.size < this.flows.size) return;
      ok = this.o.store.connReplace([...this.pendingIns.values()]);
    } else if (this.pendingIns.size || this.pendingDel.size || this.pendingUpd.size) ok = this.o.store.connApply([...this.pendingIns.values()], [...this.pendingDel], [...this.pendingUpd.values()]);
    else ok = true;
    this.stats.writes++;
    if (ok) {
      this.pendingIns.clear();
      this.pendingDel.clear();
      this.pendingUpd.clear();
    }
    this.fullWrite = !ok;
  }

  /** Write the pending rows now, without telling the cards (a listing in progress). */
  private writeBatch(): void {
    if (this.fullWrite) return;
    if (this.o.store.connApply([...this.pendingIns.values()], [...this.pendingDel], [...this.pendingUpd.values()])) {
      this.pendingIns.clear();
      this.pendingDel.clear();
      this.pendingUpd.clear();
    } else this.fullWrite = true;
  }

  /** Re-read the whole table (seed, lost events, a count mismatch, someone watching bytes). */
  requestResync(why: string): void {
    if (this.resyncing) {
      this.resyncWanted ??= why;
      return;
    }
    // the listing is the agent's largest allocation burst: V8 optimizes for size while it runs
    // (events mode: the seeding, a resync, a watched listing at most ~2.5 % of the time; not in
    // poll mode, where listings could run back to back and the whole agent would be in that mode)
    const list = () => this.resync(why);
    this.resyncing = (this.mode === 'poll' ? list() : this.o.heap.run(list))
      .catch((e: unknown) => this.log(`conntrack listing failed (${why}): ${(e as Error).message}`))
      .finally(() => {
        this.resyncing = null;
        const again = this.resyncWanted;
        this.resyncWanted = null;
        if (again && this.running) this.requestResync(again);
      });
  }

  /** Wait for a running listing (tests, --once). */
  async settled(): Promise<void> {
    for (let i = 0; i < 10 && this.resyncing; i++) await this.resyncing;
  }

  private async resync(why: string): Promise<void> {
    const t0 = performance.now();
    if (this.stats.resyncs.length < 50) this.stats.resyncs.push(why);
    const now = this.o.now();
    // every flow the listing shows is marked seen: the ones not marked since begin() are gone
    this.flows.begin();
    // a full rewrite (start, or the database refused a write): empty the table, then every listed
    // flow is inserted, in batches (50 000 rows never sit in memory at once)
    const full = this.fullWrite;
    if (full) {
      if (!this.o.store.connReplace([])) throw new Error('the database refused to clear the Connection table');
      this.fullWrite = false;
      this.pendingIns.clear();
      this.pendingUpd.clear();
      this.pendingDel.clear();
    }
    const every = full && this.o.heap.collect ? this.o.collectEvery : 0;
    let taken = 0;
    const take = (e: ConnEntry) => {
      if (every > 0 && ++taken % every === 0) this.o.heap.collect?.();
      const id = flowKey(e);
      const prev = this.flows.get(id);
      const sl = this.slot(e, now, prev);
      this.put(id, sl, prev);
      this.flows.seen(id);
      this.pendingDel.delete(id);
      if (full || !prev || prev.uplink !== sl.uplink || prev.host !== sl.host || prev.family !== sl.family) {
        this.pendingUpd.delete(id);
        this.pendingIns.set(id, this.fullRow(id, e, sl));
      } else if (prev.bytes !== sl.bytes || prev.state !== sl.state || prev.rate !== sl.rate) {
        const ins = this.pendingIns.get(id);
        if (ins) this.pendingIns.set(id, this.fullRow(id, e, sl));
        else this.pendingUpd.set(id, this.bytesOf(id, sl));
      }
      if (this.pendingIns.size + this.pendingUpd.size >= 5000) this.writeBatch();
    };
    this.queue = [];
    try {
      if (this.mode === 'events') await dumpConnections(this.o.runner, take);
      else for (const e of await listConnections(this.o.runner, Number.MAX_SAFE_INTEGER)) take(e);
    } catch (e) {
      // keep the mirror as it is; events go on
      const q = this.queue;
      this.queue = null;
      for (const ev of q) this.applyEvent(ev, this.o.now());
      throw e;
    }
    this.stats.dumps++;
    // flows the listing did not show are gone
    for (const id of this.flows.unseen()) this.drop(id);
    if (full) this.pendingDel.clear(); // the table was emptied
    const q = this.queue;
    this.queue = null;
    for (const ev of q) this.applyEvent(ev, this.o.now());
    this.mismatches = 0;
    this.lastDumpMs = performance.now() - t0;
    this.flush();
  }

  private watched(now: number): boolean {
    const until = this.o.store.watchUntil('connections');
    return until !== null && until > now;
  }

  /** The periodic part: poll mode lists; events mode checks the count and lists while watched.
   *  Events mode with nobody watching sleeps until the next count check (`poke()` wakes it when
   *  a watch may have started); otherwise it looks every 500 ms. */
  private loop(): void {
    this.lastCheck = this.o.now();
    this.schedule(TICK_MS);
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = setTimeout(() => {
      this.tickTimer = null;
      void this.tick();
    }, ms);
    this.tickTimer.unref?.();
  }

  /** Another process committed to the database (a watch row may be new): look now, not at the
   *  next count check. The agent calls it on every such commit it sees. */
  poke(): void {
    if (this.running && !this.ticking) this.schedule(0);
  }

  private async tick(): Promise<void> {
    this.ticking = true;
    const now = this.o.now();
    try {
      if (this.fullWrite && !this.resyncing && this.flows.size > 0 && now >= this.nextDumpAt) {
        // the database refused a write: rewrite it from a listing, at most every 10 s
        this.nextDumpAt = now + 10000;
        this.requestResync('database rewrite');
      } else if (this.mode === 'poll') {
        if (now >= this.nextDumpAt) {
          this.nextDumpAt = now + this.o.pollMs;
          this.requestResync('poll');
        }
      } else if (this.watched(now) && now >= this.nextDumpAt && !this.resyncing) {
        // bytes for the watcher; a listing never takes more than ~2.5 % of the time
        this.nextDumpAt = now + Math.max(this.o.watchDumpMs, 40 * this.lastDumpMs);
        this.requestResync('watched');
      } else if (now - this.lastCheck >= this.o.checkMs && !this.resyncing) {
        this.lastCheck = now;
        this.stats.checks++;
        const n = await this.o.count();
        const diff = Math.abs(n - this.flows.size);
        // events in flight make small differences; two checks in a row beyond that = lost events
        if (diff > Math.max(5, this.flows.size / 500)) {
          if (++this.mismatches >= 2) this.requestResync(`count mismatch (kernel ${n}, mirror ${this.flows.size})`);
        } else this.mismatches = 0;
      }
    } catch (e) {
      this.log(`conntrack check failed: ${(e as Error).message}`);
    }
    let next = TICK_MS;
    try {
      const t = this.o.now();
      if (this.mode === 'events' && !this.fullWrite && !this.resyncing && !this.watched(t)) next = Math.min(MAX_SLEEP_MS, Math.max(TICK_MS, this.lastCheck + this.o.checkMs - t));
    } catch {
      /* the database is unreadable: look again soon */
    }
    this.ticking = false;
    this.schedule(next);
  }

  /** One listing written to the database (agent --once, no event stream). */
  async once(): Promise<void> {
    this.running = true;
    const m = this.mode;
    this.mode = 'poll';
    try {
      await this.resync('once');
    } finally {
      this.mode = m;
      this.running = false;
    }
  }
}
