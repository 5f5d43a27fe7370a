// Issue 15: the packet log through NFLOG and ulogd2 — the generated ulogd.conf, parsing ulogd's
// JSON lines (captured from ulogd 2.0.8 in a namespace), storing them as DropLog rows with the
// rule's chain/verdict and the uplink, the per-second cap, retention by rows and bytes, and the
// compiler's log statement per backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '../../lib/db/sqlite';
import { renderUlogdConf } from '../../lib/compile/ulogd';
import { parseUlogdLine, PacketLog, pruneLog, findPluginDir, LOG_MAX_PER_S } from '../../agent/ulogd';
import { parseConfig } from '../../lib/validations/config';
import { compile } from '../../lib/compile/index';
import { FakeSystem } from '../../agent/system/fake';

// Two lines as ulogd 2.0.8 wrote them (JSON plugin, mode "unix"), shortened to the keys we read plus a few others.
const TCP_HIT = '{"timestamp": "2026-12-01T13:38:09.239593", "dvc": "Netfilter", "raw.pktlen": 60, "raw.pktcount": 1, "oob.prefix": "lw:log-ssh ", "oob.time.sec": 1796132289, "oob.time.usec": 239593, "oob.mark": 0, "oob.ifindex_in": 3, "oob.hook": 1, "oob.family": 2, "oob.protocol": 2048, "ip.protocol": 6, "ip.ttl": 64, "ip.totlen": 60, "src_port": 52340, "dest_port": 22, "tcp.syn": 1, "oob.in": "wan1", "oob.out": "", "src_ip": "203.0.113.9", "dest_ip": "100.64.1.2"}';
const ICMP_DROP = '{"timestamp": "2026-12-01T13:38:09.244550", "raw.pktlen": 84, "oob.prefix": "lw:drop:forward ", "oob.time.sec": 1796132289, "oob.time.usec": 244550, "oob.hook": 2, "oob.family": 2, "ip.protocol": 1, "ip.totlen": 84, "icmp.type": 8, "oob.in": "wan1", "oob.out": "lan0", "src_ip": "203.0.113.9", "dest_ip": "192.168.1.20"}';
const V6_DROP = '{"raw.pktlen": 80, "oob.prefix": "lw:drop:input ", "oob.time.sec": 1796132290, "oob.time.usec": 5000, "oob.hook": 1, "oob.family": 10, "ip6.nexthdr": 17, "ip6.payloadlen": 40, "src_port": 5353, "dest_port": 9999, "oob.in": "wan1", "oob.out": "", "src_ip": "2001:db8:1::9", "dest_ip": "2001:db8:1::2"}';

test('renderUlogdConf: the NFLOG → JSON stack on our group and socket; unsafe paths refused', () => {
  const t = renderUlogdConf({ pluginDir: '/usr/lib/x86_64-linux-gnu/ulogd', socket: '/run/linkward/ulogd.sock' });
  assert.match(t, /^stack=log1:NFLOG,base1:BASE,ifi1:IFINDEX,ip2str1:IP2STR,json1:JSON$/m);
  assert.match(t, /^\[log1\]\ngroup=7373\nnetlink_qthreshold=16\nnetlink_qtimeout=5$/m);
  assert.match(t, /^mode="unix"\nfile="\/run\/linkward\/ulogd.sock"$/m);
  assert.match(t, /^plugin="\/usr\/lib\/x86_64-linux-gnu\/ulogd\/ulogd_output_JSON.so"$/m);
  for (const bad of ['/tmp/a"b', '/tmp/a\nstack=x', 'relative/dir', '/tmp/../etc']) {
    assert.throws(() => renderUlogdConf({ pluginDir: '/usr/lib/ulogd', socket: bad }), /unsafe path/);
  }
  assert.throws(() => renderUlogdConf({ pluginDir: '/usr/lib/ulogd', socket: '/run/x.sock', group: 70000 }), /group/);
});

test('parseUlogdLine: rule hits and built-in drops, IPv4 and IPv6; foreign or malformed lines ignored', () => {
  assert.deepEqual(parseUlogdLine(TCP_HIT), { ts: 1796132289239, rule: 'log-ssh', chain: 'input', inIf: 'wan1', outIf: null, src: '203.0.113.9', dst: '100.64.1.2', proto: 'tcp', sport: 52340, dport: 22, len: 60 });
  const d = parseUlogdLine(ICMP_DROP)!;
  assert.equal(d.rule, null);
  assert.equal(d.chain, 'forward');
  assert.equal(d.proto, 'icmp');
  assert.equal(d.dport, null);
  assert.equal(d.outIf, 'lan0');
  const v6 = parseUlogdLine(V6_DROP)!;
  assert.deepEqual([v6.chain, v6.proto, v6.src, v6.sport, v6.dport, v6.len], ['input', 'udp', '2001:db8:1::9', 5353, 9999, 80]);
  const o = JSON.parse(TCP_HIT);
  for (const bad of [
    { ...o, 'oob.prefix': 'other: ' }, // not ours
    { ...o, 'oob.prefix': 'lw:Bad_Name ' }, // not a rule name
    { ...o, src_ip: '1.2.3.4; rm -rf /' },
    { ...o, dest_port: 70000 },
    { ...o, 'oob.time.sec': 'now' },
  ]) assert.equal(parseUlogdLine(JSON.stringify(bad)), null, JSON.stringify(bad).slice(0, 80));
  assert.equal(parseUlogdLine('{ not json'), null);
  assert.equal(parseUlogdLine(`{"x":"${'a'.repeat(20000)}"}`), null);
});

function tempDb() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-plog-'));
  const db = openDb(path.join(dir, 'a.db'));
  return { db, dir, done: () => { db.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

const cfg = parseConfig({
  version: 1,
  lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
  uplinks: [{ name: 'isp1', interface: 'wan1', gateway: '100.64.1.1' }],
  rules: [{ name: 'log-ssh', chain: 'input', action: 'accept', protocol: 'tcp', port: 22, log: true }],
});
if (!cfg.ok) throw new Error(cfg.errors.join('\n'));

test('PacketLog: lines become DropLog rows (rule, chain, verdict, uplink, 5-tuple, length, via nflog)', () => {
  const t = tempDb();
  try {
    const f = new FakeSystem();
    const pl = new PacketLog(t.db, f.runner, t.dir, () => undefined);
    pl.setConfig(cfg.value);
    pl.line(TCP_HIT);
    pl.line(ICMP_DROP);
    pl.line('garbage');
    assert.equal(pl.flush(), 2);
    const rows = t.db.prepare('SELECT rule, chain, verdict, uplink, inIf, outIf, src, dst, proto, sport, dport, len, via, count, ts FROM DropLog ORDER BY id').all();
    assert.deepEqual(rows, [
      { rule: 'log-ssh', chain: 'input', verdict: 'accept', uplink: 'isp1', inIf: 'wan1', outIf: null, src: '203.0.113.9', dst: '100.64.1.2', proto: 'tcp', sport: 52340, dport: 22, len: 60, via: 'nflog', count: 1, ts: 1796132289239 },
      { rule: null, chain: 'forward', verdict: 'drop', uplink: 'isp1', inIf: 'wan1', outIf: 'lan0', src: '203.0.113.9', dst: '192.168.1.20', proto: 'icmp', sport: null, dport: null, len: 84, via: 'nflog', count: 1, ts: 1796132289244 },
    ]);
    // At most LOG_MAX_PER_S records per second are kept; the rest are counted.
    const now = 5_000_000;
    for (let i = 0; i < LOG_MAX_PER_S + 25; i++) pl.line(TCP_HIT, now);
    assert.equal(pl.flush(), LOG_MAX_PER_S);
    assert.equal(pl.suppressed, 25);
    pl.line(TCP_HIT, now + 1000);
    assert.equal(pl.flush(), 1);
  } finally {
    t.done();
  }
});

test('PacketLog: a record is written within FLUSH_MS by a timer armed only while records wait', async () => {
  const t = tempDb();
  const pl = new PacketLog(t.db, new FakeSystem().runner, t.dir, () => undefined);
  try {
    pl.setConfig(cfg.value);
    const rows = () => t.db.prepare('SELECT COUNT(*) FROM DropLog').pluck().get();
    assert.equal(pl['flushTimer'], null, 'nothing buffered: no timer');
    pl.line(TCP_HIT);
    pl.line(TCP_HIT);
    assert.notEqual(pl['flushTimer'], null);
    for (let i = 0; i < 50 && rows() === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(rows(), 2, 'both written by one timer, without a flush() call');
    assert.equal(pl['flushTimer'], null, 'and the timer is gone with them');
  } finally {
    await pl.stop();
    t.done();
  }
});

test('pruneLog: the table stays within rows and bytes (oldest go first, down to 90 %)', () => {
  const t = tempDb();
  try {
    const ins = t.db.prepare("INSERT INTO DropLog (ts, chain, src, dst, proto, count, via) VALUES (?, 'input', ?, '100.64.1.2', 'tcp', 1, 'nflog')");
    for (let i = 0; i < 120; i++) ins.run(i, `203.0.113.${i % 250}`);
    assert.equal(pruneLog(t.db, 200, 1e9), 0);
    assert.equal(pruneLog(t.db, 100, 1e9), 30);
    const ids = t.db.prepare('SELECT MIN(ts) AS lo, COUNT(*) AS n FROM DropLog').get() as { lo: number; n: number };
    assert.deepEqual(ids, { lo: 30, n: 90 });
    // Bytes: every row is about 48 + 5 + 12 + 10 + 3 bytes; a cap of 40 rows' worth keeps 36 at most.
    const rowBytes = (t.db.prepare("SELECT 48 + length('input') + length(src) + length(dst) + length(proto) FROM DropLog ORDER BY id DESC LIMIT 1").pluck().get() as number);
    pruneLog(t.db, 10000, rowBytes * 40);
    const n = t.db.prepare('SELECT COUNT(*) FROM DropLog').pluck().get() as number;
    assert.ok(n <= 36 && n >= 30, `rows after the byte cap: ${n}`);
    assert.equal(t.db.prepare('SELECT MAX(ts) FROM DropLog').pluck().get(), 119, 'the newest row stays');
  } finally {
    t.done();
  }
});

test('compile: log statements go to NFLOG group 7373 only when the agent reads it (facts.nflog)', () => {
  const facts = { interfaces: {}, health: {} };
  const kernel = compile(cfg.value, facts).nftDeclaration;
  const nflog = compile(cfg.value, { ...facts, nflog: true }).nftDeclaration;
  assert.match(kernel, /log prefix "lw:log-ssh " accept/);
  assert.doesNotMatch(kernel, /group 7373/);
  assert.match(nflog, /log prefix "lw:log-ssh " group 7373 snaplen 128 accept/);
  assert.match(nflog, /limit rate 60\/minute log prefix "lw:drop:input " group 7373 snaplen 128/);
});

test('findPluginDir: a directory with every plugin, or what is missing and the package to install', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-plug-'));
  try {
    assert.match(String((findPluginDir([dir]) as { missing: string }).missing), /not installed \(apt install ulogd2 ulogd2-json\)/);
    for (const p of ['ulogd_inppkt_NFLOG.so', 'ulogd_raw2packet_BASE.so', 'ulogd_filter_IFINDEX.so', 'ulogd_filter_IP2STR.so']) fs.writeFileSync(path.join(dir, p), '');
    assert.match(String((findPluginDir([dir]) as { missing: string }).missing), /ulogd_output_JSON.so missing .*apt install ulogd2-json/);
    fs.writeFileSync(path.join(dir, 'ulogd_output_JSON.so'), '');
    assert.deepEqual(findPluginDir(['/nonexistent', dir]), { dir });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('summarize: top rules name admin rules and the built-in drop of each chain', async () => {
  const { summarize } = await import('../../lib/store/drops');
  const s = summarize([
    { src: 'a', proto: 'tcp', dport: 22, uplink: 'isp1', chain: 'input', ts: 1, count: 1, rule: 'log-ssh' },
    { src: 'a', proto: 'tcp', dport: 22, uplink: 'isp1', chain: 'input', ts: 2, count: 1, rule: 'log-ssh' },
    { src: 'b', proto: 'udp', dport: 161, uplink: 'isp1', chain: 'forward', ts: 3, count: 5, rule: null },
    { src: 'c', proto: 'tcp', dport: 23, uplink: null, chain: 'input', ts: 4, count: 1 },
  ], 0);
  assert.deepEqual(s.topRules, [{ rule: 'drop:forward', count: 5 }, { rule: 'log-ssh', count: 2 }, { rule: 'drop:input', count: 1 }]);
});
