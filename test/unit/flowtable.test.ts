// agent/flowtable.ts: the tracker's typed-array mirror behaves as a Map of Slot objects would,
// through growth, shrinking, hash collisions, deletions, string-table compaction and mark/sweep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTable, type Slot } from '../../agent/flowtable';

/** A small deterministic PRNG (xorshift32). */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

function slotOf(r: (n: number) => number, i: number): Slot {
  return {
    mark: r(2) ? 0x100 * (1 + r(4)) : 0x80000000 + r(1000), family: r(2) ? 4 : 6, local: r(10) === 0 ? 1 : 0,
    uplink: r(5) ? `isp${r(4)}` : null, host: r(3) ? `192.168.${r(4)}.${r(250)}` : null, state: r(4) ? ['ESTABLISHED', 'TIME_WAIT', 'SYN_SENT'][r(3)] : null,
    packets: r(1e6), bytes: r(2 ** 31) * 4096 + i, rate: r(3) ? r(1e7) + 0.5 : null, firstSeen: 1.7e12 + r(1e9), ts: r(2) ? 0 : 1.7e12 + r(1e9),
  };
}

test('FlowTable: a random mix of sets, overwrites and deletes gives what a Map gives (growth past 30 000, shrinking back, hash collisions, negative and zero keys)', () => {
  const r = rng(42);
  const t = new FlowTable();
  const ref = new Map<number, Slot>();
  const live: number[] = [];
  // a third of the keys from a small range (overwrites, colliding runs in the hash); both signs and 0
  const key = () => (r(3) === 0 ? r(64) - 32 : (r(2 ** 32) | 0));
  let max = 0;
  const check = () => {
    assert.equal(t.size, ref.size);
    for (const [k, v] of ref) assert.deepEqual(t.get(k), v, `key ${k}`);
  };
  let min = Infinity;
  let maxCap = 0;
  let minCap = Infinity;
  for (let step = 0; step < 260_000; step++) {
    // grow, then mostly delete (the columns and the hash shrink), then grow again (they grow back
    // from the shrunk size)
    const setting = step < 100_000 ? r(10) < 8 : step < 200_000 ? r(10) < 2 : r(10) < 8;
    if (setting) {
      const k = key();
      const sl = slotOf(r, step);
      if (!ref.has(k)) live.push(k);
      t.set(k, sl);
      ref.set(k, sl);
    } else if (live.length > 0) {
      // a live key (swap-remove) or, one time in four, one that is not there
      const i = r(live.length);
      const k = r(4) === 0 ? (r(2 ** 32) | 0) : live[i];
      const had = ref.delete(k);
      assert.equal(t.delete(k), had, `delete ${k}`);
      if (had) {
        const at = live.indexOf(k);
        live[at] = live[live.length - 1];
        live.pop();
      }
    }
    max = Math.max(max, ref.size);
    if (step < 100_000) maxCap = Math.max(maxCap, t.capacity);
    if (step >= 100_000 && step < 200_000) {
      min = Math.min(min, ref.size);
      minCap = Math.min(minCap, t.capacity);
    }
    // often while small (every shrink is a renumbering of the slots), now and then while big
    if (step % (ref.size < 4000 ? 250 : 10_000) === 0) check();
  }
  assert.ok(max > 30_000, `grew to ${max}`);
  assert.ok(min < max / 8, `shrank to ${min}`);
  assert.ok(minCap <= maxCap / 8, `the columns shrank too: ${maxCap} → ${minCap} slots`);
  assert.ok(ref.size > 10_000, `grew back to ${ref.size}`);
  check();
  assert.deepEqual([...t.keys()].sort((a, b) => a - b), [...ref.keys()].sort((a, b) => a - b));
  for (let i = 0; i < 1000; i++) {
    const k = r(2 ** 32) | 0;
    assert.equal(t.has(k), ref.has(k));
  }
  // empty it completely, then use it again
  for (const k of [...ref.keys()]) assert.equal(t.delete(k), true);
  assert.equal(t.size, 0);
  assert.equal(t.get(5), undefined);
  t.set(5, slotOf(r, 1));
  assert.equal(t.size, 1);
  assert.equal(t.has(5), true);
});

test('FlowTable: rates keep null vs 0, bytes beyond 2^32 and millisecond times exactly', () => {
  const t = new FlowTable();
  const a: Slot = { mark: 0xffffffff, family: 6, local: 1, uplink: 'isp1', host: 'fd00::1', state: null, packets: 0, bytes: 2 ** 50 + 1, rate: null, firstSeen: 1764700000123, ts: 0 };
  t.set(-1, a);
  t.set(0, { ...a, rate: 0, family: 4, local: 0, uplink: null });
  assert.deepEqual(t.get(-1), a);
  assert.deepEqual(t.get(0), { ...a, rate: 0, family: 4, local: 0, uplink: null });
});

test('FlowTable: keys that differ only in their high bits spread over the hash (no long probe runs)', () => {
  const r = rng(3);
  for (const step of [4096, 65536, 1 << 24]) {
    const t = new FlowTable();
    for (let i = 0; i < 20_000; i++) t.set((i * step) | 0, slotOf(r, i));
    assert.equal(t.size, step === 1 << 24 ? 256 : 20_000, 'distinct keys (× 2^24 wraps after 256)');
    assert.ok(t.meanProbe() < 2, `keys × ${step}: mean probe distance ${t.meanProbe()}`);
  }
});

test('FlowTable: mark/sweep finds the flows a listing did not show; a flow added during it is not taken as seen', () => {
  const t = new FlowTable();
  const r = rng(7);
  for (let k = 1; k <= 10; k++) t.set(k, slotOf(r, k));
  t.begin();
  for (const k of [2, 4, 6]) t.seen(k);
  t.set(3, slotOf(r, 3)); // an update is not a sighting
  t.set(11, slotOf(r, 11)); // new
  assert.deepEqual(t.unseen().sort((a, b) => a - b), [1, 3, 5, 7, 8, 9, 10, 11]);
  t.begin();
  assert.equal(t.unseen().length, 11, 'a new listing: nothing seen yet');
  // across a growth of the columns (slots renumbered): the marks move with the flows
  t.begin();
  for (let k = 1; k <= 11; k += 2) t.seen(k);
  for (let k = 100; k < 5100; k++) t.set(k, slotOf(r, k));
  for (let k = 100; k < 5100; k += 2) t.seen(k);
  const gone = new Set(t.unseen());
  for (let k = 1; k <= 11; k++) assert.equal(gone.has(k), k % 2 === 0, `flow ${k}`);
  for (let k = 100; k < 5100; k++) assert.equal(gone.has(k), k % 2 === 1, `flow ${k}`);
  // and across a shrink
  t.begin();
  for (let k = 100; k < 5100; k++) if (k % 50 !== 0) t.delete(k);
  for (let k = 100; k < 5100; k += 100) t.seen(k);
  const left = new Set(t.unseen());
  for (let k = 100; k < 5100; k += 50) assert.equal(left.has(k), k % 100 !== 0, `flow ${k} after the shrink`);
});

test('FlowTable: keysByMark matches under the mask and the family', () => {
  const t = new FlowTable();
  const base: Slot = { mark: 0, family: 4, local: 0, uplink: null, host: null, state: null, packets: 0, bytes: 0, rate: null, firstSeen: 0, ts: 0 };
  t.set(1, { ...base, mark: 0x100 });
  t.set(2, { ...base, mark: 0x1ff });
  t.set(3, { ...base, mark: 0x100, family: 6 });
  t.set(4, { ...base, mark: 0x200 });
  t.set(5, { ...base, mark: 0x80000100 });
  assert.deepEqual(t.keysByMark(0x100, 0xff00).sort(), [1, 2, 3, 5]);
  assert.deepEqual(t.keysByMark(0x100, 0xff00, 6), [3]);
  assert.deepEqual(t.keysByMark(0x80000100, 0xffffff00).sort(), [5]);
});

test('FlowTable: hosts that come and go do not grow the string table without bound', () => {
  const t = new FlowTable();
  const base: Slot = { mark: 0, family: 6, local: 0, uplink: 'isp1', host: null, state: 'ESTABLISHED', packets: 0, bytes: 0, rate: null, firstSeen: 0, ts: 0 };
  // 300 000 short-lived flows, each from a new address; at most 100 live at once (their state
  // and uplink from small sets: the compaction keeps all three right)
  const states = ['ESTABLISHED', 'TIME_WAIT', null, 'SYN_SENT'];
  const uplinks = ['isp1', null, 'isp2'];
  const of = (i: number): Slot => ({ ...base, host: `fd00::${i.toString(16)}`, state: states[i % 4], uplink: uplinks[i % 3] });
  // 50 long-lived flows: set before the churn, they go through every compaction
  for (let i = 0; i < 50; i++) t.set(-1 - i, { ...of(i), host: `fd00:1::${i}` });
  for (let i = 0; i < 300_000; i++) {
    t.set(i, of(i));
    if (i >= 100) t.delete(i - 100);
  }
  assert.equal(t.size, 150);
  for (let i = 0; i < 50; i++) assert.deepEqual(t.get(-1 - i), { ...of(i), host: `fd00:1::${i}` }, `long-lived flow ${i}`);
  assert.ok(t.strings <= 65_536 + 1, `${t.strings} strings held`);
  for (let i = 300_000 - 100; i < 300_000; i++) assert.deepEqual(t.get(i), of(i));
});
