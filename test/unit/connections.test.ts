// The conntrack mirror (agent/connections.ts) against a scripted conntrack (event stream, streamed
// listings, counts) and a real database; the Connections page's SQL (lib/web/connections.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb, type DB } from '../../lib/db/sqlite';
import { AgentStore } from '../../agent/store';
import { ConnTracker, type ConnContext } from '../../agent/connections';
import { parseConntrackLine } from '../../agent/system/conntrack';
import type { Runner, SpawnOptions, SpawnedProcess } from '../../agent/system/runner';
import { connectionsPageOn, parseConnQuery } from '../../lib/web/connections';

function tmpDb() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-conn-'));
  const db = openDb(path.join(dir, 'a.db'));
  return { db, cleanup: () => { db.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Lines as conntrack 1.4.7 prints them (captured in a namespace: -L -o extended,id and -E -o extended,id).
const L4 = (id: number, src: string, sport: number, mark: number, bytes?: number) =>
  `ipv4     2 tcp      6 431999 ESTABLISHED src=${src} dst=203.0.113.80 sport=${sport} dport=443 ${bytes !== undefined ? `packets=10 bytes=${bytes} ` : ''}src=203.0.113.80 dst=10.1.0.2 sport=443 dport=${sport} ${bytes !== undefined ? 'packets=5 bytes=0 ' : ''}[ASSURED] mark=${mark} use=1 id=${id}`;
const L6 = (id: number, mark: number) =>
  `ipv6     10 tcp      6 599 ESTABLISHED src=fd00:1::10 dst=2001:db8::80 sport=1001 dport=443 src=2001:db8::80 dst=fd00:1::10 sport=443 dport=1001 [ASSURED] mark=${mark} use=1 id=${id}`;
const EV = (kind: 'NEW' | 'DESTROY', line: string) => `[${kind}] ${line.replace(/ use=1/, '')} [USERSPACE] portid=16726`;

/** conntrack as the tracker uses it: -L streams `table`, -E hands its line callback to the test. */
class ScriptedConntrack {
  table: string[] = [];
  kernelCount: number | null = null;
  listings = 0;
  events: SpawnOptions | null = null;
  readonly runner: Runner = {
    run: async (argv) => {
      throw new Error(`unexpected run: ${argv.join(' ')}`);
    },
    session: () => {
      throw new Error('no sessions');
    },
    spawn: (argv: string[], opts: SpawnOptions = {}): SpawnedProcess => {
      let done = false;
      let resolve: () => void = () => undefined;
      const exited = new Promise<void>((r) => (resolve = r));
      const end = (code: number | null) => {
        if (done) return;
        done = true;
        opts.onExit?.(code, null);
        resolve();
      };
      if (argv.includes('-E')) this.events = opts;
      else if (argv.includes('-L')) {
        this.listings++;
        const lines = [...this.table];
        setImmediate(() => {
          for (const l of lines) opts.onStdoutLine?.(l);
          opts.onStderrLine?.(`conntrack v1.4.7 (conntrack-tools): ${lines.length} flow entries have been shown.`);
          end(0);
        });
      } else setImmediate(() => end(127));
      return { argv, pid: 1, kill: () => end(null), exited, get done() { return done; } };
    },
  };
  emit(line: string) {
    this.events?.onStdoutLine?.(line);
  }
}

const ctx: ConnContext = {
  uplinkOf: (mark) => ({ 1: 'isp1', 2: 'isp2' } as Record<number, string>)[(mark >>> 8) & 0xff] ?? null,
  lan: ['192.168.1.0/24', 'fd00:1::/64'],
  local: ['10.1.0.2', '192.168.1.1'],
};

const rows = (db: DB) => db.prepare('SELECT id, family, src, uplink, host, local, bytes, rate FROM Connection ORDER BY id').all() as { id: number; family: number; src: string; uplink: string | null; host: string | null; local: number; bytes: number; rate: number | null }[];

test('parseConntrackLine: listing and event lines, both families, the conntrack id (not an ICMP id)', () => {
  const a = parseConntrackLine(L4(2264602614, '192.168.1.5', 1000, 256, 300));
  assert.equal(a?.family, 4);
  assert.equal(a?.id, 2264602614);
  assert.equal(a?.mark, 256);
  assert.equal(a?.bytes, 300);
  const b = parseConntrackLine(EV('NEW', L6(410100254, 512)));
  assert.deepEqual([b?.event, b?.family, b?.src, b?.dst, b?.sport, b?.dport, b?.mark, b?.id], ['NEW', 6, 'fd00:1::10', '2001:db8::80', 1001, 443, 512, 410100254]);
  assert.equal(b?.bytes, undefined, 'NEW events carry no counters');
  const icmp = parseConntrackLine('[DESTROY] ipv4     2 icmp     1 29 src=10.1.0.2 dst=198.51.100.1 type=8 code=0 id=9234 src=198.51.100.1 dst=10.1.0.2 type=0 code=0 id=9234 mark=256 id=77');
  assert.deepEqual([icmp?.event, icmp?.proto, icmp?.id], ['DESTROY', 'icmp', 77]);
  assert.equal(parseConntrackLine('conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.'), null);
});

test('ConnTracker: seeded by a listing, kept by NEW/DESTROY events, counts without the router’s own flows', async () => {
  const t = tmpDb();
  const ct = new ScriptedConntrack();
  let counted = 0;
  const tr = new ConnTracker({ runner: ct.runner, store: new AgentStore(t.db), flushMs: 5, checkMs: 1e9, count: async () => ct.table.length, onCounts: () => counted++ });
  try {
    tr.setContext(ctx);
    ct.table = [L4(1, '192.168.1.10', 40000, 256), L6(2, 512), L4(3, '10.1.0.2', 50000, 256)];
    tr.start();
    await sleep(20);
    await tr.settled();
    assert.equal(ct.listings, 1);
    assert.deepEqual(rows(t.db).map((r) => [r.id, r.family, r.uplink, r.host, r.local]), [[1, 4, 'isp1', '192.168.1.10', 0], [2, 6, 'isp2', 'fd00:1::10', 0], [3, 4, 'isp1', null, 1]]);
    assert.deepEqual([...tr.counts()].sort(), [['isp1', 1], ['isp2', 1]]);
    assert.ok(counted >= 1);
    // a new flow and a gone one arrive as events; the table follows without another listing
    const before = counted;
    ct.emit(EV('NEW', L4(4, '192.168.1.11', 40001, 512)));
    ct.emit(EV('DESTROY', L6(2, 512)));
    await sleep(30);
    assert.deepEqual(rows(t.db).map((r) => r.id), [1, 3, 4]);
    assert.deepEqual([...tr.counts()].sort(), [['isp1', 1], ['isp2', 1]]);
    ct.emit(EV('NEW', L4(5, '192.168.1.12', 40002, 512)));
    await sleep(30);
    assert.deepEqual([...tr.counts()].sort(), [['isp1', 1], ['isp2', 2]]);
    assert.ok(counted > before, 'the cards are told when counts move');
    assert.equal(ct.listings, 1, 'no listing for events');
    // the agent deleted isp2's flows from the kernel: gone from the table and the cards at once
    const c0 = counted;
    assert.equal(tr.forgetMark(2 << 8, 0xff00), 2);
    assert.deepEqual(rows(t.db).map((r) => r.id), [1, 3], 'written synchronously, before the DESTROY events');
    assert.deepEqual([...tr.counts()], [['isp1', 1]]);
    assert.equal(counted, c0 + 1);
    // their DESTROY events change nothing more
    ct.emit(EV('DESTROY', L4(4, '192.168.1.11', 40001, 512)));
    await sleep(30);
    assert.deepEqual(rows(t.db).map((r) => r.id), [1, 3]);
  } finally {
    tr.stop();
    t.cleanup();
  }
});

test('ConnTracker: lost events and a count that does not match lead to a listing; a listing replaces the mirror', async () => {
  const t = tmpDb();
  const ct = new ScriptedConntrack();
  let kernel = 0;
  const tr = new ConnTracker({ runner: ct.runner, store: new AgentStore(t.db), flushMs: 5, checkMs: 0, count: async () => kernel });
  try {
    tr.setContext(ctx);
    ct.table = [L4(1, '192.168.1.10', 40000, 256)];
    kernel = 1;
    tr.start();
    await sleep(20);
    await tr.settled();
    assert.equal(ct.listings, 1);
    // the kernel dropped events (ENOBUFS): one listing at once
    ct.table = [L4(1, '192.168.1.10', 40000, 256), L4(7, '192.168.1.20', 40007, 512)];
    ct.events?.onStderrLine?.('WARNING: We have hit ENOBUFS! We are losing events.');
    await sleep(20);
    await tr.settled();
    assert.equal(ct.listings, 2);
    assert.deepEqual(rows(t.db).map((r) => r.id), [1, 7]);
    // 40 flows appeared without events: two count checks in a row beyond the slack → a listing
    ct.table = Array.from({ length: 40 }, (_, i) => L4(100 + i, '192.168.1.30', 41000 + i, 256));
    kernel = 40;
    for (let i = 0; i < 40 && ct.listings < 3; i++) await sleep(100);
    await tr.settled();
    assert.equal(ct.listings, 3, 'the mismatch was noticed');
    assert.equal(rows(t.db).length, 40, 'the listing replaced the mirror (flows 1 and 7 are gone)');
    assert.ok(tr.stats.resyncs.some((r) => r.startsWith('count mismatch')), tr.stats.resyncs.join(', '));
  } finally {
    tr.stop();
    t.cleanup();
  }
});

test('ConnTracker: events mode: every listing runs inside the heap scope (V8 optimizing for size), events do not', async () => {
  const t = tmpDb();
  const ct = new ScriptedConntrack();
  let inScope = 0;
  const seen: { listings: number; inScope: number }[] = [];
  const heap = { run: async <T>(fn: () => Promise<T>) => { inScope++; try { return await fn(); } finally { seen.push({ listings: ct.listings, inScope }); inScope--; } } };
  const tr = new ConnTracker({ runner: ct.runner, store: new AgentStore(t.db), flushMs: 5, checkMs: 1e9, count: async () => ct.table.length, heap });
  try {
    tr.setContext(ctx);
    ct.table = [L4(1, '192.168.1.10', 40000, 256)];
    tr.start();
    await sleep(20);
    await tr.settled();
    ct.emit(EV('NEW', L4(2, '192.168.1.11', 40001, 256)));
    ct.events?.onStderrLine?.('WARNING: We have hit ENOBUFS! We are losing events.');
    await sleep(20);
    await tr.settled();
    assert.equal(ct.listings, 2);
    assert.deepEqual(seen, [{ listings: 1, inScope: 1 }, { listings: 2, inScope: 1 }], 'one scope per listing, each closed');
    assert.equal(inScope, 0);
  } finally {
    tr.stop();
    t.cleanup();
  }
});

test('ConnTracker: the listing that rewrites every row runs a full collection every collectEvery flows; a resync that does not, none', async () => {
  const t = tmpDb();
  const ct = new ScriptedConntrack();
  const collects: number[] = [];
  const heap = { run: <T>(fn: () => Promise<T>) => fn(), collect: () => collects.push(ct.listings) };
  const tr = new ConnTracker({ runner: ct.runner, store: new AgentStore(t.db), flushMs: 5, checkMs: 1e9, count: async () => ct.table.length, heap, collectEvery: 3 });
  try {
    tr.setContext(ctx);
    ct.table = Array.from({ length: 10 }, (_, i) => L4(i + 1, '192.168.1.10', 40000 + i, 256));
    tr.start();
    await sleep(20);
    await tr.settled();
    assert.deepEqual(collects, [1, 1, 1], 'the start-up listing of 10 flows: after the 3rd, 6th and 9th');
    assert.equal(t.db.prepare('SELECT COUNT(*) FROM Connection').pluck().get(), 10);
    ct.events?.onStderrLine?.('WARNING: We have hit ENOBUFS! We are losing events.');
    await sleep(20);
    await tr.settled();
    assert.equal(ct.listings, 2);
    assert.deepEqual(collects, [1, 1, 1], 'the lost-events resync keeps the rows it can and collects nothing');
  } finally {
    tr.stop();
    t.cleanup();
  }
});

test('ConnTracker: poll mode lists outside the heap scope (its listings can run back to back)', async () => {
  const t = tmpDb();
  const ct = new ScriptedConntrack();
  let scoped = 0;
  const heap = { run: async <T>(fn: () => Promise<T>) => { scoped++; return fn(); } };
  let listings = 0;
  // poll mode reads a buffered listing (runner.run)
  const runner: Runner = { ...ct.runner, run: async (argv) => { assert.ok(argv.includes('-L'), argv.join(' ')); listings++; return { exitCode: 0, stdout: `${ct.table.join('\n')}\n`, stderr: '' }; } };
  const tr = new ConnTracker({ runner, store: new AgentStore(t.db), mode: 'poll', pollMs: 0, flushMs: 5, checkMs: 1e9, count: async () => ct.table.length, heap });
  try {
    tr.setContext(ctx);
    ct.table = [L4(1, '192.168.1.10', 40000, 256)];
    tr.start();
    for (let i = 0; i < 40 && listings < 2; i++) await sleep(100);
    await tr.settled();
    assert.ok(listings >= 2, `listings: ${listings}`);
    assert.equal(rows(t.db).length, 1);
    assert.equal(scoped, 0);
  } finally {
    tr.stop();
    t.cleanup();
  }
});

test('ConnTracker: while the page watches, listings give bytes and a rate per flow', async () => {
  const t = tmpDb();
  const ct = new ScriptedConntrack();
  let now = 1_000_000;
  const tr = new ConnTracker({ runner: ct.runner, store: new AgentStore(t.db), flushMs: 5, checkMs: 1e9, watchDumpMs: 0, now: () => now, count: async () => ct.table.length });
  try {
    tr.setContext(ctx);
    ct.table = [L4(1, '192.168.1.10', 40000, 256, 1000)];
    tr.start();
    await sleep(20);
    await tr.settled();
    assert.deepEqual(rows(t.db).map((r) => [r.bytes, r.rate]), [[1000, null]], 'one reading: bytes, no rate yet');
    const n = ct.listings;
    await sleep(1200);
    assert.equal(ct.listings, n, 'nobody watches: no listing');
    t.db.prepare("INSERT INTO Watch (name, until) VALUES ('connections', ?)").run(now + 60_000);
    now += 2000;
    ct.table = [L4(1, '192.168.1.10', 40000, 256, 9000)];
    await sleep(1200);
    assert.equal(ct.listings, n, 'idle, the tracker sleeps until the next count check: it learns of the watch from poke()');
    tr.poke(); // what the agent does when another process commits to the database
    for (let i = 0; i < 30 && ct.listings === n; i++) await sleep(100);
    await tr.settled();
    await sleep(20);
    assert.deepEqual(rows(t.db).map((r) => [r.bytes, r.rate]), [[9000, 4000]], '8000 bytes in 2 s');
  } finally {
    tr.stop();
    t.cleanup();
  }
});

test('connectionsPageOn: paged, filtered and aggregated in SQL; marks the table watched', () => {
  const t = tmpDb();
  try {
    const ins = t.db.prepare('INSERT INTO Connection (id, family, proto, src, dst, sport, dport, state, uplink, host, local, packets, bytes, rate, firstSeen, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    t.db.transaction(() => {
      for (let i = 0; i < 120; i++) {
        const v6 = i % 10 === 0;
        ins.run(i + 1, v6 ? 6 : 4, i % 3 === 0 ? 'udp' : 'tcp', v6 ? `fd00:1::${i}` : `192.168.1.${i % 5}`, '203.0.113.80', 40000 + i, i % 3 === 0 ? 53 : 443, null, i % 4 === 0 ? 'isp2' : 'isp1', v6 ? `fd00:1::${i}` : `192.168.1.${i % 5}`, 0, i, i * 100, i % 2 ? i : null, 1000 + i, 2000);
      }
      ins.run(500, 4, 'icmp', '10.1.0.2', '198.51.100.1', null, null, null, null, null, 1, 1, 84, null, 1, 2000);
    })();
    const p = connectionsPageOn(t.db, { pageSize: 10, page: 2 }, 5000);
    assert.equal(p.all, 121);
    assert.equal(p.total, 121);
    assert.equal(p.rows.length, 10);
    assert.deepEqual(p.rows.map((r) => r.bytes), [10900, 10800, 10700, 10600, 10500, 10400, 10300, 10200, 10100, 10000], 'second page by bytes');
    const isp2 = p.perUplink.find((u) => u.uplink === 'isp2');
    const expect = Array.from({ length: 120 }, (_, i) => i).filter((i) => i % 4 === 0);
    assert.deepEqual(isp2, { uplink: 'isp2', count: expect.length, own: 0, bytes: expect.reduce((n, i) => n + i * 100, 0), rate: 0 });
    assert.deepEqual(p.perUplink.find((u) => u.uplink === ''), { uplink: '', count: 1, own: 1, bytes: 84, rate: 0 }, 'the router\'s own flow is counted as such');
    assert.equal(p.topHosts.length, 10);
    assert.equal(p.topHosts[0].host, '192.168.1.4', JSON.stringify(p.topHosts.slice(0, 2)));
    assert.equal(p.topFlows[0].rate, 119);
    assert.ok((t.db.prepare("SELECT until FROM Watch WHERE name = 'connections'").pluck().get() as number) > 5000, 'watched');
    // filters: uplink, family, words (all must match), a page past the end is clamped
    assert.equal(connectionsPageOn(t.db, { uplink: 'isp2' }).total, expect.length);
    assert.equal(connectionsPageOn(t.db, { uplink: '-' }).total, 1);
    assert.equal(connectionsPageOn(t.db, { family: 6 }).total, 12);
    const w = connectionsPageOn(t.db, { q: 'udp :53 isp2' });
    assert.ok(w.total > 0 && w.rows.every((r) => r.proto === 'udp' && r.dport === 53 && r.uplink === 'isp2'));
    assert.equal(connectionsPageOn(t.db, { q: '100%' }).total, 0, 'LIKE wildcards are literal');
    const last = connectionsPageOn(t.db, { page: 99, pageSize: 50 });
    assert.equal(last.query.page, 3);
    assert.equal(last.rows.length, 21);
    assert.deepEqual(connectionsPageOn(t.db, { sort: 'newest', pageSize: 1 }).rows.map((r) => r.id), [120]);
    assert.deepEqual(connectionsPageOn(t.db, { host: '192.168.1.3', pageSize: 500 }).rows.map((r) => r.host).filter((h) => h !== '192.168.1.3'), []);
  } finally {
    t.cleanup();
  }
});

test('parseConnQuery: strict; a bad parameter is reported and ignored', () => {
  assert.deepEqual(parseConnQuery(new URLSearchParams('page=2&sort=rate&family=6&uplink=isp1')).query, { page: 2, pageSize: 50, sort: 'rate', family: 6, uplink: 'isp1' });
  const bad = parseConnQuery(new URLSearchParams("pageSize=100000&uplink=x';drop&sort=rate"));
  assert.match(bad.error ?? '', /pageSize/);
  assert.match(bad.error ?? '', /uplink/);
  assert.deepEqual(bad.query, { page: 1, pageSize: 50, sort: 'rate' });
  assert.deepEqual(parseConnQuery({ q: ['a b', 'c'], host: '' }).query, { page: 1, pageSize: 50, sort: 'bytes', q: 'a b' });
});
