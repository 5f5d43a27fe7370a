// bench/peer/shorewall.ts: the pure generator of the Shorewall + LSM peer configuration (no
// kernel, no shorewall binary). The lab's own configuration goes in; the expected files are
// written out here in full for the parts that carry the multi-uplink semantics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shorewallFiles, lsmFiles, parseLsmEvents, LSM_DEFAULTS, LSM_TUNED, type PeerFacts } from '../../bench/peer/shorewall';
import { isInstalledStatus } from '../../bench/peer/install';
import { parseBenchArgs } from '../../bench/run';
import { benchConfig, blocklistEntries } from '../../bench/stats';
import { parseConfig, type Config, type ConfigInput } from '../../lib/validations/config';
import { labConfig } from '../../lab/plan';

const facts: PeerFacts = {
  uplinks: { isp1: { gateway: '100.64.1.1', address: '100.64.1.2' }, isp2: { gateway: '100.64.2.1', address: '100.64.2.2' }, isp3: { gateway: '100.64.3.1', address: '100.64.3.2' } },
  stateDir: '/tmp/lw-bench-bp1-x/peer/state',
};
const parsed = (doc: ConfigInput): Config => {
  const p = parseConfig(doc);
  if (!p.ok) throw new Error(p.errors.join('; '));
  return p.value;
};
const lab = (n = 2, extra: Parameters<typeof benchConfig>[1] = {}) => parsed(benchConfig(labConfig(n) as ConfigInput, extra));

test('providers: balance=<weight> for the first tier, fallback for the others; track, persistent, no COPY', () => {
  const f = shorewallFiles(lab(3), facts);
  assert.equal(f.shorewall.providers, [
    '#NAME\tNUMBER\tMARK\tDUPLICATE\tINTERFACE\tGATEWAY\tOPTIONS\tCOPY (empty: USE_DEFAULT_RT=Yes)',
    'isp1\t1\t1\t-\twan1\t100.64.1.1\ttrack,balance=3,persistent\t-',
    // isp2's gateway is "auto" in the lab config: the lab's gateway comes from the facts
    'isp2\t2\t2\t-\twan2\t100.64.2.1\ttrack,balance=1,persistent\t-',
    'isp3\t3\t3\t-\twan3\t100.64.3.1\ttrack,fallback=1,persistent\t-',
    '',
  ].join('\n'));
  assert.ok(f.skipped.some((s) => /isp3: priority 2 → Shorewall fallback/.test(s)));
});

test('lab config: zones, interfaces, policy, rules, DNAT, masquerade, rtrules', () => {
  const f = shorewallFiles(lab(2), facts);
  const s = f.shorewall;
  assert.equal(s.zones, '#ZONE\tTYPE\nfw\tfirewall\nnet\tipv4\nloc\tipv4\n');
  assert.equal(s.interfaces, '?FORMAT 2\n#ZONE\tINTERFACE\tOPTIONS\nloc\tlan0\ttcpflags,nosmurfs,routefilter=0\nnet\twan1\ttcpflags,nosmurfs,routefilter=0,optional\nnet\twan2\ttcpflags,nosmurfs,routefilter=0,optional\n');
  assert.equal(s.policy, '#SOURCE\tDEST\tPOLICY\n$FW\tall\tACCEPT\nloc\t$FW\tACCEPT\nloc\tnet\tACCEPT\nnet\tall\tDROP\nall\tall\tREJECT\n');
  assert.equal(s.rules, [
    '#ACTION\tSOURCE\tDEST\tPROTO\tDPORT',
    '?SECTION NEW',
    'ACCEPT\tnet:wan1\t$FW\ttcp\t2222', // service ssh, uplinks [isp1]
    'ACCEPT\tnet:203.0.113.80/32\t$FW\tudp\t123', // service ntp, sources
    'DROP:info\tall-\tall-\ttcp\t23', // rule no-telnet (forward, log)
    'DNAT\tnet:wan1\tloc:192.168.1.10:80\ttcp\t8080',
    'DNAT\tnet:wan2\tloc:192.168.1.10:80\ttcp\t8080',
    '',
  ].join('\n'));
  assert.equal(s.snat, '#ACTION\tSOURCE\tDEST\nMASQUERADE\t192.168.1.0/24\twan1\nMASQUERADE\t192.168.1.0/24\twan2\n');
  assert.equal(s.rtrules, '#SOURCE\tDEST\tPROVIDER\tPRIORITY\n192.168.1.50/32\t-\tisp2\t1000\n');
  assert.equal(s.vardir, 'VARDIR=/tmp/lw-bench-bp1-x/peer/state/var\n');
  for (const line of ['USE_DEFAULT_RT=Yes', 'KEEP_RT_TABLES=Yes', 'IP_FORWARDING=On', 'ROUTE_FILTER=No', 'LOCKFILE=/tmp/lw-bench-bp1-x/peer/state/lock']) {
    assert.ok(s['shorewall.conf'].split('\n').includes(line), line);
  }
  assert.equal(f.ruleLines, 1);
});

test('filler rules, one-rule flips and a 10 000-entry blocklist (blrules, one line per entry)', () => {
  const f = shorewallFiles(lab(2, { rules: 1000, flip: 7, blocklist: blocklistEntries(10000) }), facts);
  const bl = f.shorewall.blrules.split('\n').filter((l) => l && !l.startsWith('#'));
  assert.equal(bl.length, 10000);
  assert.equal(bl[0], 'DROP\tall-\tall-:10.0.0.0/32\t-\t-');
  const rules = f.shorewall.rules.split('\n');
  assert.ok(rules.includes('DROP\tall-\tall-:10.0.0.1/32\ttcp\t1024'));
  assert.ok(rules.includes('ACCEPT\tall-\tall-:10.0.0.5/32\ttcp\t1025'));
  assert.ok(rules.includes('DROP\tall-\tall-:10.255.255.1/32\tudp\t8'));
  assert.equal(f.ruleLines, 10000 + 1000 + 1 + 1);
});

test('chains and uplinks map to zone pairs; port ranges use ":"; IPv6 parts are reported, not generated', () => {
  const doc = labConfig(2) as ConfigInput;
  doc.rules = [
    { name: 'in1', chain: 'input', action: 'reject', protocol: 'udp', port: '5000-5010', uplink: 'isp2' },
    { name: 'out1', chain: 'output', action: 'drop', protocol: 'icmp', destination: '198.51.100.0/24' },
    { name: 'fw1', chain: 'forward', action: 'accept', protocol: 'tcp', port: 443, uplink: 'isp1', source: '192.168.1.0/24' },
    { name: 'v6', chain: 'forward', action: 'drop', destination: '2001:db8::/32' },
  ];
  const f = shorewallFiles(parsed(doc), facts);
  const rules = f.shorewall.rules.split('\n');
  assert.ok(rules.includes('REJECT\tnet:wan2\t$FW\tudp\t5000:5010'));
  assert.ok(rules.includes('DROP\t$FW\tall:198.51.100.0/24\ticmp\t-'));
  assert.ok(rules.includes('ACCEPT\tnet:wan1:192.168.1.0/24\tloc\ttcp\t443'));
  assert.ok(rules.includes('ACCEPT\tloc:192.168.1.0/24\tnet:wan1\ttcp\t443'));
  assert.ok(!rules.some((l) => l.includes('2001:db8')));
  assert.ok(f.skipped.includes('rule v6: IPv6'));
});

test('LSM: one connection per uplink from its address out of its interface; event script of fixed words', () => {
  const l = lsmFiles(lab(2), facts, LSM_DEFAULTS, '/tmp/lw-bench-bp1-x/peer/lsm-event');
  assert.ok(l.conf.includes('connection {\n  name=isp1\n  checkip=203.0.113.10\n  device=wan1\n  sourceip=100.64.1.2\n}'));
  assert.ok(l.conf.includes('connection {\n  name=isp2\n  checkip=203.0.113.10\n  device=wan2\n  sourceip=100.64.2.2\n}'));
  for (const k of ['max_packet_loss=15', 'max_successive_pkts_lost=7', 'min_packet_loss=5', 'min_successive_pkts_rcvd=10', 'interval_ms=1000', 'timeout_ms=1000', 'eventscript=/tmp/lw-bench-bp1-x/peer/lsm-event']) {
    assert.ok(l.conf.split('\n').map((x) => x.trim()).includes(k), k);
  }
  assert.ok(l.script.includes('  isp1) dev=wan1 ;;\n  isp2) dev=wan2 ;;\n  *) exit 0 ;;'));
  assert.ok(l.script.includes('/sbin/shorewall -q $action $dev'));
  assert.ok(l.skipped.some((s) => /LSM pings 203\.0\.113\.10 only \(linkward: 3 targets/.test(s)));
  const t = lsmFiles(lab(2), facts, LSM_TUNED, '/tmp/x/lsm-event').conf;
  assert.ok(t.includes('  interval_ms=240\n') && t.includes('  max_successive_pkts_lost=2\n') && t.includes('  min_successive_pkts_rcvd=2\n') && t.includes('  max_packet_loss=99\n') && t.includes('  min_packet_loss=98\n'));
});

test('strict grammars: odd paths and names are refused before anything is written', () => {
  assert.throws(() => shorewallFiles(lab(2), { ...facts, stateDir: '/tmp/a b' }), /unexpected path/);
  assert.throws(() => shorewallFiles(lab(2), { ...facts, stateDir: '/tmp/../etc' }), /unexpected path/);
  assert.throws(() => lsmFiles(lab(2), facts, LSM_DEFAULTS, '/tmp/x;rm'), /unexpected path/);
  assert.throws(() => lsmFiles(lab(2), facts, { ...LSM_DEFAULTS, intervalMs: 0 }, '/tmp/x'), /bad LSM timing/);
  assert.throws(() => lsmFiles(lab(2), facts, { ...LSM_DEFAULTS, maxPacketLoss: 100, minPacketLoss: 99 }, '/tmp/x'), /min_packet_loss < max_packet_loss ≤ 99/);
  assert.throws(() => shorewallFiles(lab(2), { ...facts, uplinks: { isp1: facts.uplinks.isp1 } }), /no lab facts for uplink isp2/);
  const c = lab(2);
  c.uplinks[0].interface = 'wan1;x';
  assert.throws(() => shorewallFiles(c, facts), /unexpected interface/);
});

test('LSM event log parsing, dpkg status, --peer argument', () => {
  assert.deepEqual(parseLsmEvents('1764600000000 event isp1 down\njunk\n1764600000500 done isp1 disable rc=0\n'), [
    { t: 1764600000000, kind: 'event', name: 'isp1', what: 'down' },
    { t: 1764600000500, kind: 'done', name: 'isp1', what: 'disable' },
  ]);
  assert.equal(isInstalledStatus('install ok installed'), true);
  assert.equal(isInstalledStatus('deinstall ok config-files'), false);
  assert.deepEqual(parseBenchArgs(['--peer', 'shorewall', '--quick']).only, ['peer']);
  assert.deepEqual(parseBenchArgs(['--peer', 'shorewall', '--only', 'apply']).only, ['apply', 'peer']);
  assert.throws(() => parseBenchArgs(['--peer', 'pfsense']), /--peer needs one of: shorewall/);
  assert.equal(parseBenchArgs([]).only.includes('peer' as never), false);
});
