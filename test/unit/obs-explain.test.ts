// The packet tracer's evaluation of the compiled nft text (lib/compile/explain.ts) on the example
// configuration of the goldens (test/golden/02_example): decisions with counter names, uplink
// reasons (policy, weighted shares with the backup tier named, inbound, source), NAT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../lib/validations/config';
import { compile } from '../../lib/compile/compile';
import { explain, tokenize, type PacketSpec } from '../../lib/compile/explain';
import type { Facts } from '../../lib/compile/types';

const dir = path.join(import.meta.dirname, '..', 'golden', '02_example');
const parsed = parseConfig(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')));
assert.ok(parsed.ok);
const config = parsed.value;
const facts = JSON.parse(fs.readFileSync(path.join(dir, 'facts.json'), 'utf8')) as Facts;
const plan = compile(config, facts);
const x = (s: Partial<PacketSpec>) => explain(config, facts, plan, { src: '192.168.1.20', dst: '93.184.216.34', proto: 'tcp', dport: 443, in: 'lan', ...s });

test('LAN to the Internet: accepted by lan-out, weighted pick with shares, masquerade', () => {
  const e = x({});
  assert.equal(e.path, 'forward');
  assert.equal(e.decision.text, 'accept by lw:builtin:lan-out in chain forward (counter lw_b_lan_out)');
  assert.equal(e.uplink?.why, 'weighted');
  assert.deepEqual(e.uplink?.shares, [{ uplink: 'dsl', share: 0.75 }, { uplink: 'cable', share: 0.25 }]);
  assert.match(e.uplink!.detail, /not in the pick: lte: backup \(priority 2\)/);
  assert.match(e.nat.snat ?? '', /masquerade/);
  assert.deepEqual(e.warnings, []);
});

test('policy, admin drop rule, port forward, service, default drop, router output', () => {
  const pol = x({ src: '192.168.1.50', proto: 'udp', dport: 5060 });
  assert.equal(pol.uplink?.name, 'cable');
  assert.equal(pol.uplink?.why, 'policy');
  assert.match(pol.uplink!.detail, /policy voip-on-cable .*counter lw_pol_voip_on_cable/);
  const telnet = x({ dport: 23 });
  assert.equal(telnet.decision.text, 'drop by lw:rule:no-telnet in chain forward (counter lw_r_no_telnet)');
  assert.equal(telnet.uplink, null);
  const fwd = x({ src: '203.0.113.5', dst: '198.51.100.2', dport: 8080, in: 'dsl' });
  assert.equal(fwd.nat.dnat, '192.168.1.10:80');
  assert.equal(fwd.oif, 'eth0');
  assert.equal(fwd.decision.text, 'accept by lw:builtin:dnat in chain forward (counter lw_b_dnat)');
  const ssh = x({ src: '203.0.113.5', dst: '198.51.100.2', dport: 22, in: 'dsl' });
  assert.equal(ssh.path, 'input');
  assert.equal(ssh.decision.rule?.counter, 'lw_s_ssh');
  const closed = x({ src: '203.0.113.5', dst: '198.51.100.2', dport: 25, in: 'dsl' });
  assert.equal(closed.decision.text, 'drop by lw:builtin:drop-input in chain input (counter lw_b_drop_input)');
  const lte = x({ src: '203.0.113.5', dst: '10.64.1.2', dport: 22, in: 'lte' });
  assert.equal(lte.decision.verdict, 'drop', 'ssh is not offered on lte');
  const out = x({ src: '198.51.100.2', dst: '203.0.113.5', proto: 'icmp', dport: undefined, in: 'router' });
  assert.equal(out.path, 'output');
  assert.equal(out.uplink?.why, 'source');
  assert.equal(out.oif, 'eth1');
});

test('bad input is refused with the flag named', () => {
  assert.throws(() => x({ src: '192.168.1' }), /^Error: --src: not an IPv4 address/);
  assert.throws(() => x({ in: 'wan9' }), /^Error: --in: must be lan, router or an uplink name \(dsl, cable, lte\)/);
  assert.throws(() => x({ proto: 'icmp', dport: 1 }), /--dport: ports need --proto tcp or udp/);
});

test('an expression the evaluator does not know is reported, not guessed', () => {
  const odd = { ...plan, nftDeclaration: plan.nftDeclaration.replace('chain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n', 'chain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\tmeta skuid 0 accept\n') };
  const e = explain(config, facts, odd, { src: '192.168.1.20', dst: '93.184.216.34', proto: 'tcp', dport: 443, in: 'lan' });
  assert.ok(e.warnings.some((w) => /unknown expression "meta skuid"/.test(w)), e.warnings.join('; '));
  assert.deepEqual(tokenize('iifname { "a", "b" } tcp dport 22 comment "lw:x:y"'), ['iifname', '{ "a", "b" }', 'tcp', 'dport', '22', 'comment', '"lw:x:y"']);
});
