// Drop log and port-scan bans (issue 8), agent side.
//  - Drops: the compiler records every dropped packet in the dynamic sets lw_drop_input /
//    lw_drop_forward and their IPv6 twins lw_drop_input6 / lw_drop_forward6 (key iifname . saddr .
//    daddr . l4proto . dport, with a per-element counter).
//    The agent reads them every few seconds with `nft -j list set`, turns counter increases into
//    DropLog rows (count = packets since the last poll) and keeps the newest 10 000 rows.
//    Sets are read only when they can have changed (CollectGate): every element update is
//    followed, in the same rule, by the named counter lw_b_drop_<chain>; a ban is added only by
//    the rule counting lw_b_portscan and leaves by expiry (known from its remaining time) or unban.
//    So when the agent's latest counter read shows those counters unchanged, the plan is the same,
//    no ban is due to expire and the last full read is < FULL_READ_MS old, nothing is read.
//    Why not NFLOG or the kernel log: see docs/safety.md.
//  - Bans: elements of lw_banned and lw_banned6 (IPv6: per /64, listed as "<net>/64") with their
//    remaining time are mirrored into the Ban table; an AgentRequest {type:'unban', args:{address}}
//    deletes one element (an IPv4 address or an IPv6 /64, parseBanAddress).
import { z } from 'zod';
import type { DB } from '../lib/db/sqlite';
import type { Runner } from './system/runner';
import { listSetJson, deleteSetElement } from './system/nft';
import { isDbFault } from './store';
import { pruneLog, LOG_KEEP_ROWS } from './ulogd';
import type { Config } from '../lib/validations/config';
import { isIPv4, isIPv6, parseBanAddress } from '../lib/validations/net';
import { SET_BANNED, SET_BANNED6, SET_DROP_FORWARD, SET_DROP_FORWARD6, SET_DROP_INPUT, SET_DROP_INPUT6, SET_SCAN_PORTS, SET_SCAN_PORTS6, DROP_SET_TIMEOUT_S, counterBuiltin } from '../lib/compile/constants';

/** Rows kept in the log table (the same cap as the packet log's, agent/ulogd.ts). */
export const DROP_LOG_KEEP = LOG_KEEP_ROWS;
/** Even when no counter moved, the sets are read at least this often (safety net). */
export const FULL_READ_MS = 30000;

/** What collect() may skip on: the agent's latest named-counter values (name → bytes, read
 *  before this call) and an identity of the applied plan (any change forces a read). */
export interface CollectGate {
  counters: ReadonlyMap<string, number>;
  plan: unknown;
}

const GATE_COUNTER = { input: counterBuiltin('drop-input'), forward: counterBuiltin('drop-forward'), bans: counterBuiltin('portscan') } as const;

const counterZ = z.object({ packets: z.number(), bytes: z.number() }).partial();
const elemZ = z.object({
  elem: z.object({
    val: z.union([z.string(), z.object({ concat: z.array(z.union([z.string(), z.number()])) })]),
    expires: z.number().optional(),
    timeout: z.number().optional(),
    counter: counterZ.optional(),
  }),
});
const setDocZ = z.object({
  nftables: z.array(z.union([
    z.object({ set: z.object({ name: z.string(), timeout: z.number().optional(), elem: z.array(z.union([elemZ, z.string()])).optional() }) }),
    z.record(z.string(), z.unknown()),
  ])),
});

export interface SetElement {
  key: string | (string | number)[];
  expiresS: number | null;
  timeoutS: number | null;
  packets: number;
}

/** Pure: the elements of one set from `nft -j list set` output. Plain elements (no timeout/counter) are strings. */
export function parseSetJson(text: string): { timeoutS: number | null; elements: SetElement[] } {
  const doc = setDocZ.parse(JSON.parse(text));
  for (const o of doc.nftables) {
    if (!('set' in o)) continue;
    const s = (o as { set: { timeout?: number; elem?: (z.infer<typeof elemZ> | string)[] } }).set;
    const elements = (s.elem ?? []).map((e): SetElement => {
      if (typeof e === 'string') return { key: e, expiresS: null, timeoutS: null, packets: 0 };
      const v = e.elem.val;
      return { key: typeof v === 'string' ? v : v.concat, expiresS: e.elem.expires ?? null, timeoutS: e.elem.timeout ?? null, packets: e.elem.counter?.packets ?? 0 };
    });
    return { timeoutS: s.timeout ?? null, elements };
  }
  return { timeoutS: null, elements: [] };
}

export interface DropRow {
  ts: number;
  chain: 'input' | 'forward';
  inIf: string | null;
  uplink: string | null;
  src: string;
  dst: string;
  proto: string;
  dport: number | null;
  count: number;
}

/** Turns successive set snapshots into drop records (counter deltas). In the first snapshot
 *  after start, only elements hit since `startedAt` are recorded (older ones were recorded by an
 *  earlier agent process, or predate it); their whole counter counts. */
export class DropTracker {
  private seen = new Map<string, number>();
  private primed = false;

  constructor(private readonly startedAt = Date.now()) {}

  update(chain: 'input' | 'forward', elements: SetElement[], now: number, ifaceUplink: Map<string, string>, setTimeoutS = DROP_SET_TIMEOUT_S): DropRow[] {
    const first = !this.primed;
    const rows: DropRow[] = [];
    const keep = new Set<string>();
    for (const e of elements) {
      if (!Array.isArray(e.key) || e.key.length !== 5) continue;
      const [inIf, src, dst, proto, port] = e.key;
      const id = `${chain}|${e.key.join('|')}`;
      keep.add(id);
      const before = this.seen.get(id) ?? 0;
      this.seen.set(id, e.packets);
      const delta = e.packets >= before ? e.packets - before : e.packets; // re-created element
      // `update` re-arms the timeout on every hit: the last hit was (timeout - expires) ago.
      const lastHit = e.expiresS !== null ? now - Math.max(0, (e.timeoutS ?? setTimeoutS) - e.expiresS) * 1000 : now;
      if (delta <= 0 || (first && lastHit < this.startedAt - 1000)) continue;
      const p = String(proto);
      rows.push({
        ts: Math.min(now, lastHit),
        chain,
        inIf: String(inIf),
        uplink: ifaceUplink.get(String(inIf)) ?? null,
        src: String(src),
        dst: String(dst),
        proto: p,
        dport: (p === 'tcp' || p === 'udp') && typeof port === 'number' ? port : null,
        count: delta,
      });
    }
    for (const id of [...this.seen.keys()]) if (id.startsWith(`${chain}|`) && !keep.has(id)) this.seen.delete(id);
    return rows;
  }

  prime(): void {
    this.primed = true;
  }

}

/** "port-scan ban: 203.0.113.66 probed 21 closed ports (22, 23, 25, … 8080) on isp1; banned for 600 s, until 12:34:56Z". */
export function banMessage(b: BanRow, probe: { ports: number[]; uplinks: string[] } | undefined, now: number): string {
  const ports = probe?.ports ?? [];
  const list = ports.length > 12 ? `${ports.slice(0, 11).join(', ')}, … ${ports[ports.length - 1]}` : ports.join(', ');
  const what = ports.length ? `probed ${ports.length}${ports.length === 64 ? '+' : ''} closed port${ports.length === 1 ? '' : 's'} (${list})` : 'probed closed ports';
  const where = probe?.uplinks.length ? ` on ${probe.uplinks.join(', ')}` : '';
  const until = new Date(b.expiresAt).toISOString().slice(11, 19);
  return `port-scan ban: ${b.address} ${what}${where}; banned for ${Math.round((b.expiresAt - now) / 1000)} s, until ${until}Z`;
}

export interface BanRow {
  address: string;
  expiresAt: number;
  timeoutS: number | null;
}

export class Visibility {
  private readonly tracker = new DropTracker();
  /** IPv6 drop sets: their own tracker (a tracker forgets elements of its chain that left the set). */
  private readonly tracker6 = new DropTracker();
  private readonly st;
  /** Gate counter values at the last read of each set; plan identity and time of the last full read. */
  private readonly readAt = new Map<'input' | 'forward' | 'bans', number | undefined>();
  private lastPlan: unknown = undefined;
  private lastFullRead = -Infinity;
  private nextBanExpiry = Infinity;
  private banCount = 0;
  /** nft set reads done (for tests and the footprint bench). */
  reads = 0;
  /** ulogd2 reads NFLOG (agent/ulogd.ts): the built-in drops arrive per packet from there, so the
   *  drop-record sets are not turned into rows (they would count the same drops twice). */
  nflog = false;

  constructor(private readonly db: DB, private readonly runner: Runner) {
    this.st = {
      drop: db.prepare('INSERT INTO DropLog (ts, chain, inIf, outIf, uplink, src, dst, proto, sport, dport, count) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, NULL, ?, ?)'),
      banUpsert: db.prepare(`INSERT INTO Ban (address, expiresAt, timeoutS, firstSeen, updatedAt, ports, uplink) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(address) DO UPDATE SET expiresAt = excluded.expiresAt, timeoutS = excluded.timeoutS, updatedAt = excluded.updatedAt`),
      banAll: db.prepare('SELECT address FROM Ban').pluck(),
      event: db.prepare('INSERT INTO Event (ts, type, uplink, message) VALUES (?, ?, ?, ?)'),
      banDelete: db.prepare('DELETE FROM Ban WHERE address = ?'),
    };
  }

  /** Which sets must be read now (all of them without a gate). */
  due(gate: CollectGate | undefined, now: number): { input: boolean; forward: boolean; bans: boolean } {
    if (!gate || gate.plan !== this.lastPlan || now - this.lastFullRead >= FULL_READ_MS) return { input: true, forward: true, bans: true };
    const moved = (k: 'input' | 'forward' | 'bans') => gate.counters.get(GATE_COUNTER[k]) !== this.readAt.get(k);
    return { input: moved('input'), forward: moved('forward'), bans: moved('bans') || now >= this.nextBanExpiry };
  }

  /** Read the drop sets and the ban set (with a gate: only those that can have changed); store
   *  new drop records and the current bans. */
  collect(config: Config | null, now = Date.now(), gate?: CollectGate): Promise<{ drops: number; bans: number; read: number }> {
    const p = this.collectNow(config, now, gate);
    this.collecting = p.catch(() => undefined);
    return p;
  }

  private async collectNow(config: Config | null, now: number, gate?: CollectGate): Promise<{ drops: number; bans: number; read: number }> {
    const due = this.due(gate, now);
    if (due.input && due.forward && due.bans) {
      this.lastFullRead = now;
      this.lastPlan = gate?.plan;
    }
    if (this.nflog) {
      due.input = false;
      due.forward = false;
    }
    const ifaceUplink = new Map((config?.uplinks ?? []).map((u) => [u.interface, u.name]));
    const rows: DropRow[] = [];
    let read = 0;
    // IPv4 and IPv6 sets of a chain: one gate counter (the chain's counted default drop follows both).
    for (const [chain, set, tracker] of [['input', SET_DROP_INPUT, this.tracker], ['forward', SET_DROP_FORWARD, this.tracker], ['input', SET_DROP_INPUT6, this.tracker6], ['forward', SET_DROP_FORWARD6, this.tracker6]] as const) {
      if (!due[chain]) continue;
      this.readAt.set(chain, gate?.counters.get(GATE_COUNTER[chain]));
      read++;
      const text = await listSetJson(this.runner, set);
      if (text === null) continue;
      const s = parseSetJson(text);
      rows.push(...tracker.update(chain, s.elements, now, ifaceUplink, s.timeoutS ?? DROP_SET_TIMEOUT_S));
    }
    if (due.input && due.forward) {
      this.tracker.prime();
      this.tracker6.prime();
    }
    let bans: BanRow[] | null = null;
    if (due.bans) {
      this.readAt.set('bans', gate?.counters.get(GATE_COUNTER.bans));
      read++;
      const bansText = await listSetJson(this.runner, SET_BANNED);
      bans = bansText === null ? [] : parseSetJson(bansText).elements
        .filter((e) => typeof e.key === 'string' && isIPv4(e.key))
        .map((e) => ({ address: e.key as string, expiresAt: now + (e.expiresS ?? 0) * 1000, timeoutS: e.timeoutS }));
      // IPv6: one element per banned /64 (its network address); listed as "<net>/64".
      read++;
      const bans6Text = await listSetJson(this.runner, SET_BANNED6);
      if (bans6Text !== null) {
        for (const e of parseSetJson(bans6Text).elements) {
          if (typeof e.key !== 'string' || !isIPv6(e.key)) continue;
          const b = parseBanAddress(e.key);
          if ('ban' in b) bans.push({ address: b.ban, expiresAt: now + (e.expiresS ?? 0) * 1000, timeoutS: e.timeoutS });
        }
      }
      // Re-read just after the first ban runs out (the element leaves the kernel set by itself).
      this.nextBanExpiry = bans.reduce((m, b) => Math.min(m, b.expiresAt + 500), Infinity);
      this.banCount = bans.length;
    }
    // New bans: which closed ports the source probed, on which uplink (lw_scan_ports, read once).
    let known: Set<string>;
    try {
      known = bans ? new Set(this.st.banAll.all() as string[]) : new Set<string>();
    } catch (e) {
      if (!isDbFault(e)) throw e;
      return { drops: 0, bans: this.banCount, read }; // database unavailable: the kernel keeps the bans; read again later
    }
    const fresh = (bans ?? []).filter((b) => !known.has(b.address));
    const probes = fresh.length ? await this.scanPorts(ifaceUplink) : new Map<string, { ports: number[]; uplinks: string[] }>();
    if (fresh.length) read++;
    this.reads += read;
    if (rows.length || bans) {
      try {
        this.db.transaction(() => {
          rows.sort((a, b) => a.ts - b.ts);
          for (const r of rows) this.st.drop.run(r.ts, r.chain, r.inIf, r.uplink, r.src, r.dst, r.proto, r.dport, r.count);
          if (rows.length) pruneLog(this.db);
          if (!bans) return;
          const keep = new Set(bans.map((b) => b.address));
          for (const b of bans) {
            const p = probes.get(b.address);
            this.st.banUpsert.run(b.address, b.expiresAt, b.timeoutS, now, now, JSON.stringify(p?.ports ?? []), p?.uplinks.join(',') || null);
          }
          for (const b of fresh) {
            const p = probes.get(b.address);
            this.st.event.run(now, 'ban', p?.uplinks[0] ?? null, banMessage(b, p, now).slice(0, 2000));
          }
          for (const a of this.st.banAll.all() as string[]) if (!keep.has(a)) this.st.banDelete.run(a);
        })();
      } catch (e) {
        // Database unavailable (full, locked, read-only, corrupt): these drop records are lost,
        // the bans stay in the kernel and are listed at the next read after it is back.
        if (!isDbFault(e)) throw e;
      }
    }
    return { drops: rows.length, bans: this.banCount, read };
  }

  /** Per source: the distinct closed ports in lw_scan_ports (first 64, sorted) and the uplinks. */
  private async scanPorts(ifaceUplink: Map<string, string>): Promise<Map<string, { ports: number[]; uplinks: string[] }>> {
    const out = new Map<string, { ports: number[]; uplinks: string[] }>();
    const elements: SetElement[] = [];
    for (const set of [SET_SCAN_PORTS, SET_SCAN_PORTS6]) {
      const text = await listSetJson(this.runner, set).catch(() => null);
      if (text !== null) elements.push(...parseSetJson(text).elements);
    }
    for (const e of elements) {
      if (!Array.isArray(e.key) || e.key.length !== 3) continue;
      const [key, ifname, port] = e.key;
      if (typeof key !== 'string' || typeof port !== 'number') continue;
      // IPv6 scan tracking is per /64 too: the ban's name
      const src = isIPv4(key) ? key : (() => { const b = parseBanAddress(key); return 'ban' in b ? b.ban : key; })();
      const o = out.get(src) ?? { ports: [], uplinks: [] };
      if (!o.ports.includes(port)) o.ports.push(port);
      const up = ifaceUplink.get(String(ifname)) ?? String(ifname);
      if (!o.uplinks.includes(up)) o.uplinks.push(up);
      out.set(src, o);
    }
    for (const o of out.values()) o.ports = o.ports.sort((a, b) => a - b).slice(0, 64);
    return out;
  }

  /** Remove one IPv4 address from lw_banned or one /64 from lw_banned6. Validated (strict
   *  grammar, canonical text) before it reaches nft. Waits for a set read in progress (which
   *  could otherwise write the ban back) and makes the next collect re-read the ban sets. */
  async unban(address: unknown): Promise<string> {
    const b = parseBanAddress(address);
    if ('error' in b) throw new Error(`address ${b.error}`);
    await this.collecting;
    const was = await deleteSetElement(this.runner, b.family === 6 ? SET_BANNED6 : SET_BANNED, b.element);
    this.st.banDelete.run(b.ban);
    this.readAt.set('bans', undefined);
    if (!was) return `${b.ban} was not banned`;
    return `unbanned ${b.ban}`;
  }

  /** The collect() in progress, if any (unban waits for it). */
  private collecting: Promise<unknown> = Promise.resolve();

  requestHandlers(): Record<string, (args: Record<string, unknown>) => Promise<string>> {
    return { unban: (args) => this.unban(args.address) };
  }
}
