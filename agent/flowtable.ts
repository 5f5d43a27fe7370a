// The connection tracker's mirror of the kernel's flows, in typed arrays: one column per field and
// an open-addressing hash of the flow keys, instead of a Map of one object per flow. A Map entry
// and its object with two boxed numbers (firstSeen and ts are beyond V8's small integers) cost
// ~180 bytes a flow on the heap, and the garbage collector walks every one of them; here a flow is
// 65 bytes of columns (up to twice that right after they doubled) and 16–32 bytes of hash (8 a
// position, at most half full): ~106 bytes at 50 000 flows, outside the objects the collector traces
// (docs/performance.md, section 3b, sixth round). Strings (uplinks, hosts, states) are stored once,
// in a table of their own, and referred to by number.

/** What the mirror keeps per flow (no addresses: the database has the rest). */
export interface Slot {
  mark: number;
  family: 4 | 6;
  local: 0 | 1;
  uplink: string | null;
  host: string | null;
  state: string | null;
  packets: number;
  bytes: number;
  rate: number | null;
  firstSeen: number;
  ts: number;
}

const MIN_CAP = 256;
/** The string table is rebuilt from the live flows when it grows past this (hosts come and go). */
const MAX_STRINGS = 65_536;

/** Flow key (a signed 32-bit integer) → Slot. Iteration runs in slot order, not insertion order. */
export class FlowTable {
  private count = 0;
  /** Slots 0..top-1 have been used; a freed one goes to `free`. */
  private top = 0;
  private free: number[] = [];
  private cap = 0;
  private ids = new Int32Array(0);
  private marks = new Uint32Array(0);
  /** bit 0: IPv6, bit 1: local, bit 2: live. */
  private meta = new Uint8Array(0);
  private uplinks = new Uint32Array(0);
  private hosts = new Uint32Array(0);
  private states = new Uint32Array(0);
  private packets = new Float64Array(0);
  private bytes = new Float64Array(0);
  /** NaN: no rate yet. */
  private rates = new Float64Array(0);
  private firstSeen = new Float64Array(0);
  private ts = new Float64Array(0);
  /** The sweep generation a slot was last marked in (mark/sweep of a listing). */
  private epochs = new Uint32Array(0);
  private epoch = 0;
  // hash: power-of-two size, linear probing, backward-shift deletion; hslot = slot + 1 (0: empty)
  private hkeys = new Int32Array(0);
  private hslot = new Int32Array(0);
  private hmask = -1;
  // strings: 0 is null
  private names: (string | null)[] = [null];
  private nameIdx = new Map<string, number>();
  /** Strings left by the last compaction (the next one waits until there are twice as many). */
  private namesKept = 0;

  get size(): number {
    return this.count;
  }

  /** Where a key's probe starts: murmur3's finalizer, so every bit of the key reaches the low
   *  bits the mask keeps (keys that differ only in their high bits do not pile up in one run). */
  private home(key: number): number {
    let h = key ^ (key >>> 16);
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return (h >>> 0) & this.hmask;
  }

  /** Mean distance of the keys from their home position (tests: the hash spreads them). */
  meanProbe(): number {
    let sum = 0;
    let n = 0;
    for (let i = 0; i <= this.hmask; i++) {
      if (this.hslot[i] === 0) continue;
      sum += (i - this.home(this.hkeys[i]) + this.hmask + 1) & this.hmask;
      n++;
    }
    return n === 0 ? 0 : sum / n;
  }

  /** Hash position of `key`, or -1. */
  private find(key: number): number {
    if (this.hmask < 0) return -1;
    for (let i = this.home(key); ; i = (i + 1) & this.hmask) {
      if (this.hslot[i] === 0) return -1;
      if (this.hkeys[i] === key) return i;
    }
  }

  private slotOf(key: number): number {
    const h = this.find(key);
    return h < 0 ? -1 : this.hslot[h] - 1;
  }

  has(key: number): boolean {
    return this.find(key) >= 0;
  }

  /** The table's own copy of `v` (flat, shared by every flow that has it): the tracker's rows
   *  take their uplink, host and state strings from here too, so each is held once. */
  intern(v: string | null | undefined): string | null {
    return v === null || v === undefined ? null : this.names[this.name(v)];
  }

  private name(v: string | null): number {
    if (v === null) return 0;
    let n = this.nameIdx.get(v);
    if (n === undefined) {
      n = this.names.length;
      const flat = Buffer.from(v, 'latin1').toString('latin1'); // a flat copy, not a slice of a listing line
      this.names.push(flat);
      this.nameIdx.set(flat, n);
    }
    return n;
  }

  private read(s: number): Slot {
    const m = this.meta[s];
    const r = this.rates[s];
    return {
      mark: this.marks[s], family: m & 1 ? 6 : 4, local: m & 2 ? 1 : 0,
      uplink: this.names[this.uplinks[s]], host: this.names[this.hosts[s]], state: this.names[this.states[s]],
      packets: this.packets[s], bytes: this.bytes[s], rate: Number.isNaN(r) ? null : r, firstSeen: this.firstSeen[s], ts: this.ts[s],
    };
  }

  get(key: number): Slot | undefined {
    const s = this.slotOf(key);
    return s < 0 ? undefined : this.read(s);
  }

  /** Keys of the flows whose mark matches `mark` under `mask` (of one family, if given). */
  keysByMark(mark: number, mask: number, family?: 4 | 6): number[] {
    const want = (mark & mask) >>> 0;
    const out: number[] = [];
    for (let s = 0; s < this.top; s++) {
      const m = this.meta[s];
      if (!(m & 4) || ((this.marks[s] & mask) >>> 0) !== want) continue;
      if (family !== undefined && (m & 1 ? 6 : 4) !== family) continue;
      out.push(this.ids[s]);
    }
    return out;
  }

  set(key: number, sl: Slot): void {
    let s = this.slotOf(key);
    if (s < 0) {
      if (this.free.length === 0 && this.top === this.cap) this.resize(Math.max(MIN_CAP, this.cap * 2));
      if (this.names.length > Math.max(MAX_STRINGS, 2 * this.namesKept)) this.compactNames();
      s = this.free.length > 0 ? (this.free.pop() as number) : this.top++;
      this.ids[s] = key;
      this.epochs[s] = (this.epoch - 1) >>> 0; // not seen in the listing in progress
      this.hashInsert(key, s);
      this.count++;
    }
    this.marks[s] = sl.mark;
    this.meta[s] = (sl.family === 6 ? 1 : 0) | (sl.local ? 2 : 0) | 4;
    this.uplinks[s] = this.name(sl.uplink);
    this.hosts[s] = this.name(sl.host);
    this.states[s] = this.name(sl.state);
    this.packets[s] = sl.packets;
    this.bytes[s] = sl.bytes;
    this.rates[s] = sl.rate === null ? NaN : sl.rate;
    this.firstSeen[s] = sl.firstSeen;
    this.ts[s] = sl.ts;
  }

  delete(key: number): boolean {
    const h = this.find(key);
    if (h < 0) return false;
    const s = this.hslot[h] - 1;
    this.hashDelete(h);
    this.meta[s] = 0;
    this.free.push(s);
    this.count--;
    if (this.cap > MIN_CAP * 4 && this.count < this.cap / 8) this.resize(Math.max(MIN_CAP, this.cap / 4));
    return true;
  }

  /** Every flow (a snapshot of the keys: the callback may set or delete). */
  forEach(fn: (key: number, sl: Slot) => void): void {
    for (const key of this.keys()) {
      const s = this.slotOf(key);
      if (s >= 0) fn(key, this.read(s));
    }
  }

  keys(): Int32Array {
    const out = new Int32Array(this.count);
    let n = 0;
    for (let s = 0; s < this.top; s++) if (this.meta[s] & 4) out[n++] = this.ids[s];
    return out;
  }

  /** Mark/sweep for a listing: begin() starts one; seen() marks a listed flow; unseen() lists the
   *  flows not marked since begin() (no Set of every key while a listing runs). One generation at
   *  a time: two overlapping listings would share it (the tracker runs one at a time, `resyncing`). */
  begin(): void {
    this.epoch = (this.epoch + 1) >>> 0;
  }

  seen(key: number): void {
    const s = this.slotOf(key);
    if (s >= 0) this.epochs[s] = this.epoch;
  }

  unseen(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.top; s++) if (this.meta[s] & 4 && this.epochs[s] !== this.epoch) out.push(this.ids[s]);
    return out;
  }

  /** Slots the columns have room for (tests: they shrink as flows go). */
  get capacity(): number {
    return this.cap;
  }

  /** Distinct strings held (tests). */
  get strings(): number {
    return this.names.length - 1;
  }

  private hashInsert(key: number, s: number): void {
    if ((this.count + 1) * 2 > this.hmask + 1) this.rehash(Math.max(MIN_CAP * 2, (this.hmask + 1) * 2));
    this.place(key, s + 1);
  }

  /** An empty hash of `size` positions (a power of two). */
  private emptyHash(size: number): void {
    this.hkeys = new Int32Array(size);
    this.hslot = new Int32Array(size);
    this.hmask = size - 1;
  }

  /** Put a key (known absent) at the first free position of its run. */
  private place(key: number, slotPlus1: number): void {
    let i = this.home(key);
    while (this.hslot[i] !== 0) i = (i + 1) & this.hmask;
    this.hkeys[i] = key;
    this.hslot[i] = slotPlus1;
  }

  /** Linear probing's deletion without tombstones: later entries of the run move back. */
  private hashDelete(i: number): void {
    this.hslot[i] = 0;
    for (let j = (i + 1) & this.hmask; this.hslot[j] !== 0; j = (j + 1) & this.hmask) {
      const h = this.home(this.hkeys[j]);
      // the entry at j may fill the hole at i when its home is not in (i, j] (cyclically)
      const movable = i <= j ? h <= i || h > j : h <= i && h > j;
      if (movable) {
        this.hkeys[i] = this.hkeys[j];
        this.hslot[i] = this.hslot[j];
        this.hslot[j] = 0;
        i = j;
      }
    }
  }

  private rehash(size: number): void {
    const keys = this.hkeys;
    const slots = this.hslot;
    this.emptyHash(size);
    for (let i = 0; i < slots.length; i++) if (slots[i] !== 0) this.place(keys[i], slots[i]);
  }

  /** New columns of `cap` slots; the live flows are packed at the start (slot numbers change). */
  private resize(cap: number): void {
    const live: number[] = [];
    for (let s = 0; s < this.top; s++) if (this.meta[s] & 4) live.push(s);
    // a column of the same type, `cap` long, with the live slots packed at its start
    const copy = <T extends Int32Array | Uint32Array | Uint8Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      for (let n = 0; n < live.length; n++) b[n] = a[live[n]];
      return b;
    };
    this.ids = copy(this.ids);
    this.marks = copy(this.marks);
    this.meta = copy(this.meta);
    this.uplinks = copy(this.uplinks);
    this.hosts = copy(this.hosts);
    this.states = copy(this.states);
    this.packets = copy(this.packets);
    this.bytes = copy(this.bytes);
    this.rates = copy(this.rates);
    this.firstSeen = copy(this.firstSeen);
    this.ts = copy(this.ts);
    this.epochs = copy(this.epochs);
    this.cap = cap;
    this.top = live.length;
    this.free = [];
    // the hash points at the new slot numbers; it shrinks with the columns
    let size = MIN_CAP * 2;
    while (size < live.length * 2 + 2) size *= 2;
    this.emptyHash(size);
    for (let s = 0; s < live.length; s++) this.place(this.ids[s], s + 1);
  }

  /** A fresh string table with only what live flows refer to. */
  private compactNames(): void {
    const old = this.names;
    this.names = [null];
    this.nameIdx = new Map();
    for (let s = 0; s < this.top; s++) {
      if (!(this.meta[s] & 4)) continue;
      this.uplinks[s] = this.name(old[this.uplinks[s]]);
      this.hosts[s] = this.name(old[this.hosts[s]]);
      this.states[s] = this.name(old[this.states[s]]);
    }
    this.namesKept = this.names.length;
  }
}
