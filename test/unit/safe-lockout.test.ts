// Issue 8: anti-lockout refusal in the shared schema (forms, CLI import and the agent all use it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../lib/validations/config';
import { lanRemovalIssue, lockoutIssues } from '../../lib/validations/lockout';

const base = {
  version: 1,
  lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
  uplinks: [{ name: 'isp1', interface: 'wan1' }],
  services: [{ name: 'ssh', protocol: 'tcp', port: 22 }],
};
const withRules = (rules: unknown[], firewall: Record<string, unknown> = {}) => ({ ...base, rules, firewall });

test('a rule dropping LAN → dashboard port is refused with a clear explanation', () => {
  const r = parseConfig(withRules([
    { name: 'a', chain: 'forward', action: 'drop' },
    { name: 'b', chain: 'input', action: 'accept' },
    { name: 'c', chain: 'input', action: 'drop', protocol: 'tcp', port: 23 },
    { name: 'block-lan', chain: 'input', action: 'drop', source: '192.168.1.0/24' },
  ]));
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.errors, ['rules[3]: would block the dashboard (tcp 3000) from the LAN; set firewall.allowLockout to override']);
});

test('variants: port ranges, reject, ssh, custom dashboard port, lists, destination', () => {
  const bad = [
    { name: 'x', chain: 'input', action: 'reject', protocol: 'tcp', port: '1-5000' },
    { name: 'x', chain: 'input', action: 'drop', protocol: 'any' },
    { name: 'x', chain: 'input', action: 'drop', destination: '192.168.1.1/32' },
    { name: 'x', chain: 'input', action: 'drop', sourceList: 'l' },
  ];
  for (const rule of bad) {
    const r = parseConfig({ ...withRules([rule]), addressLists: [{ name: 'l', entries: ['192.168.1.20'] }] });
    assert.equal(r.ok, false, JSON.stringify(rule));
  }
  const ssh = parseConfig(withRules([{ name: 'x', chain: 'input', action: 'drop', protocol: 'tcp', port: 22 }]));
  assert.equal(ssh.ok, false);
  if (!ssh.ok) assert.match(ssh.errors[0], /would block ssh \(tcp 22\) from the LAN/);
  const custom = parseConfig(withRules([{ name: 'x', chain: 'input', action: 'drop', protocol: 'tcp', port: 8443 }], { dashboardPort: 8443 }));
  assert.equal(custom.ok, false);
  if (!custom.ok) assert.match(custom.errors[0], /dashboard \(tcp 8443\)/);
});

test('rules that cannot hit the LAN → dashboard path are accepted', () => {
  const ok = [
    { name: 'x', chain: 'input', action: 'drop', source: '203.0.113.0/24' },
    { name: 'x', chain: 'input', action: 'drop', protocol: 'udp' },
    { name: 'x', chain: 'input', action: 'drop', protocol: 'tcp', port: 23 },
    { name: 'x', chain: 'input', action: 'drop', uplink: 'isp1' },
    { name: 'x', chain: 'input', action: 'drop', destination: '10.0.0.0/8' },
    { name: 'x', chain: 'input', action: 'drop', enabled: false },
    { name: 'x', chain: 'forward', action: 'drop' },
  ];
  for (const rule of ok) assert.equal(parseConfig(withRules([rule])).ok, true, JSON.stringify(rule));
});

test('firewall.allowLockout overrides', () => {
  const r = parseConfig(withRules([{ name: 'x', chain: 'input', action: 'drop' }], { allowLockout: true }));
  assert.equal(r.ok, true);
  assert.deepEqual(lockoutIssues({ ...base, rules: [{ enabled: true, chain: 'input', action: 'drop', protocol: 'any' }], addressLists: [], services: [], firewall: { dashboardPort: 3000, allowLockout: true } }), []);
});

test('removing every LAN network from a working config is refused by the write path check', () => {
  const fw = { dashboardPort: 3000, allowLockout: false };
  assert.match(lanRemovalIssue({ lan: [1] }, { lan: [], uplinks: [1], firewall: fw }) ?? '', /^lan: removes every LAN network: the dashboard \(tcp 3000\)/);
  assert.equal(lanRemovalIssue({ lan: [] }, { lan: [], uplinks: [1], firewall: fw }), null, 'never had a LAN');
  assert.equal(lanRemovalIssue({ lan: [1] }, { lan: [], uplinks: [1], firewall: { ...fw, allowLockout: true } }), null);
  assert.equal(lanRemovalIssue(null, { lan: [], uplinks: [1], firewall: fw }), null);
});
