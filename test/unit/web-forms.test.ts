import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseItem, itemValues, mapFieldErrors, splitList, parseNumber, parsePort, formValues } from '../../lib/web/forms';
import { SECTIONS } from '../../lib/web/sections';
import { parseSettings, settingsFieldErrors, parseImportText } from '../../lib/web/settings';
import { parseConfig, type Config } from '../../lib/validations/config';
import { rates, fmtBits, fmtBytes } from '../../lib/web/format';

function fd(entries: [string, string][]): FormData {
  const f = new FormData();
  for (const [k, v] of entries) f.append(k, v);
  return f;
}

test('splitList / parseNumber / parsePort', () => {
  assert.deepEqual(splitList(' 1.1.1.1, 9.9.9.9\n8.8.8.8;;'), ['1.1.1.1', '9.9.9.9', '8.8.8.8']);
  assert.equal(parseNumber(''), undefined);
  assert.equal(parseNumber('42'), 42);
  assert.equal(parseNumber('4x'), '4x');
  assert.equal(parsePort('8080'), 8080);
  assert.equal(parsePort('6000-6010'), '6000-6010');
});

test('uplink form: nested health, empty health dropped, checkboxes, id kept on edit', () => {
  const spec = SECTIONS.uplinks;
  const a = parseItem(spec, fd([['name', 'wan1'], ['interface', 'eth1'], ['gateway', '10.0.0.1'], ['weight', '3'], ['enabled', 'on'], ['health.targets', '1.1.1.1 9.9.9.9'], ['health.intervalMs', '200']]));
  assert.deepEqual(a, { name: 'wan1', interface: 'eth1', gateway: '10.0.0.1', weight: 3, enabled: true, drain: false, health: { targets: ['1.1.1.1', '9.9.9.9'], intervalMs: 200 } });
  const b = parseItem(spec, fd([['name', 'wan1'], ['interface', 'eth2']]), { name: 'wan1', id: 7, interface: 'eth1', health: { targets: ['1.1.1.1'] } });
  assert.equal(b.id, 7, 'id not shown in the form must survive an edit');
  assert.equal(b.health, undefined, 'all-empty health group is removed');
  assert.equal(b.enabled, false, 'unchecked checkbox means false');
  // The result passes the shared schema.
  const r = parseConfig({ version: 1, uplinks: [a] });
  assert.equal(r.ok, true);
});

test('itemValues round-trips through the form', () => {
  const spec = SECTIONS.services;
  const item = { name: 'ssh', enabled: true, protocol: 'tcp', port: 22, uplinks: ['wan1'], sources: ['10.0.0.0/8', '192.168.0.0/16'], lan: false, lowDelay: false };
  const v = itemValues(spec, item);
  assert.equal(v.sources, '10.0.0.0/8, 192.168.0.0/16');
  assert.deepEqual(v.uplinks, ['wan1']);
  assert.equal(v.lan, false);
  const f = new FormData();
  for (const [k, x] of Object.entries(v)) {
    if (Array.isArray(x)) x.forEach((y) => f.append(k, y));
    else if (typeof x === 'boolean') { if (x) f.append(k, 'on'); }
    else f.append(k, x);
  }
  assert.deepEqual(parseItem(spec, f), item);
  // New item defaults: enabled and lan checked.
  const d = itemValues(spec, null);
  assert.equal(d.enabled, true);
  assert.equal(d.lan, true);
  assert.equal(formValues(spec, f).name, 'ssh');
});

test('mapFieldErrors maps schema paths to form fields, others to form errors', () => {
  const spec = SECTIONS.uplinks;
  const { fieldErrors, formErrors } = mapFieldErrors(
    {
      'uplinks[1].gateway': ['not an IPv4 address'],
      'uplinks[1].health.targets[1]': ['not an IPv4 address'],
      'uplinks[1].health.quorum': ['must be ≤ the number of targets (1)'],
      'uplinks[0].gateway': ['other item'],
      'policies[0].uplink': ['unknown uplink "x"'],
    },
    'uplinks[1]',
    spec.fields,
  );
  assert.deepEqual(fieldErrors.gateway, ['not an IPv4 address']);
  assert.deepEqual(fieldErrors['health.targets'], ['entry 2: not an IPv4 address']);
  assert.deepEqual(fieldErrors['health.quorum'], ['must be ≤ the number of targets (1)']);
  assert.equal(formErrors.length, 2);
  assert.ok(formErrors.some((e) => e.startsWith('policies[0].uplink')));
});

test('real schema errors from a bad uplink land on the gateway field', () => {
  const spec = SECTIONS.uplinks;
  const item = parseItem(spec, fd([['name', 'wan1'], ['interface', 'eth1'], ['gateway', '10.0.0.300'], ['enabled', 'on']]));
  const r = parseConfig({ version: 1, uplinks: [item] });
  assert.equal(r.ok, false);
  if (r.ok) return;
  const { fieldErrors } = mapFieldErrors(r.fieldErrors, 'uplinks[0]', spec.fields);
  assert.ok(fieldErrors.gateway?.length, `gateway error expected, got ${JSON.stringify(r.fieldErrors)}`);
});

test('settings form parse + error mapping', () => {
  const base = (parseConfig({ version: 1 }) as { ok: true; value: Config }).value;
  const f = fd([['icmpIn', 'echo-request'], ['icmpIn', 'time-exceeded'], ['logRatePerMinute', '0'], ['portScan.enabled', 'on'], ['portScan.ports', '30'], ['rpFilter', 'strict'], ['syncookies', 'on']]);
  const { firewall, sysctl } = parseSettings(f, base);
  assert.deepEqual(firewall.icmpIn, ['echo-request', 'time-exceeded']);
  assert.deepEqual(firewall.icmpOut, []);
  assert.equal(firewall.logDrops, false);
  assert.deepEqual(firewall.portScan, { enabled: true, ports: 30, neverBan: [] }, 'empty numeric fields fall back to schema defaults');
  assert.equal(sysctl.rpFilter, 'strict');
  assert.equal(sysctl.logMartians, false);
  const r = parseConfig({ ...base, firewall, sysctl });
  assert.equal(r.ok, false, 'logRatePerMinute 0 must be rejected');
  if (r.ok) return;
  const m = settingsFieldErrors(r.fieldErrors);
  assert.ok(m.fieldErrors.logRatePerMinute?.length);
});

test('import text parsing', () => {
  assert.equal(parseImportText('').ok, false);
  const bad = parseImportText('{"version": 1,');
  assert.equal(bad.ok, false);
  assert.match((bad as { error: string }).error, /not valid JSON/);
  assert.deepEqual(parseImportText(' {"version":1} '), { ok: true, doc: { version: 1 } });
});

test('rates and formatting', () => {
  assert.deepEqual(rates([{ ts: 0, v: 0 }, { ts: 10_000, v: 1000 }, { ts: 20_000, v: 500 }]), [{ ts: 10_000, rate: 100 }, { ts: 20_000, rate: 0 }]);
  assert.equal(fmtBits(1_500_000), '1.5 Mbit/s');
  assert.equal(fmtBytes(2048), '2.0 KiB');
});

test('IPv6 in the forms: uplink gateway/prefix, LAN mode/address/subnet, port-forward pinhole; empty IPv6 dropped; validated by the schema', () => {
  const up = parseItem(SECTIONS.uplinks, fd([['name', 'isp1'], ['interface', 'wan1'], ['gateway', '100.64.1.1'], ['enabled', 'on'], ['ipv6.gateway', 'fe80::1'], ['ipv6.prefix', '2001:db8:100::/56']]));
  assert.deepEqual(up.ipv6, { gateway: 'fe80::1', prefix: '2001:db8:100::/56' });
  const up0 = parseItem(SECTIONS.uplinks, fd([['name', 'isp2'], ['interface', 'wan2'], ['ipv6.gateway', ''], ['ipv6.prefix', '']]));
  assert.equal('ipv6' in up0, false, 'no IPv6 field filled: no ipv6 block');
  const lan = parseItem(SECTIONS.lan, fd([['name', 'lan'], ['interface', 'lan0'], ['address', '192.168.1.1/24'], ['ipv6.mode', 'nptv6'], ['ipv6.address', 'fd00:1::1/64'], ['ipv6.subnet', '']]));
  assert.deepEqual(lan.ipv6, { mode: 'nptv6', address: 'fd00:1::1/64' });
  const lan0 = parseItem(SECTIONS.lan, fd([['name', 'lan'], ['interface', 'lan0'], ['address', '192.168.1.1/24'], ['ipv6.mode', ''], ['ipv6.address', ''], ['ipv6.subnet', '']]));
  assert.equal('ipv6' in lan0, false);
  const pin = parseItem(SECTIONS.portForwards, fd([['name', 'web6'], ['enabled', 'on'], ['protocol', 'tcp'], ['port', '443'], ['to', '2001:db8:100::10'], ['toPort', '']]));
  const doc = { version: 1, lan: [lan], uplinks: [up], portForwards: [pin] };
  const ok = parseConfig(doc);
  assert.equal(ok.ok, true, ok.ok ? '' : ok.errors.join('\n'));
  // Bad values land on their fields (the same schema as import and CLI).
  const bad = parseConfig({ ...doc, uplinks: [{ ...up, ipv6: { gateway: 'ff02::1', prefix: '2001:db8:100::1/56' } }], lan: [{ ...lan, ipv6: { mode: 'nptv6' } }], portForwards: [{ ...pin, toPort: 8443 }] });
  assert.equal(bad.ok, false);
  if (bad.ok) return;
  const m = mapFieldErrors(bad.fieldErrors, 'uplinks[0]', SECTIONS.uplinks.fields);
  assert.ok(m.fieldErrors['ipv6.gateway']?.length, JSON.stringify(m));
  assert.ok(m.fieldErrors['ipv6.prefix']?.some((e) => /host bits/.test(e)), JSON.stringify(m));
  assert.ok(mapFieldErrors(bad.fieldErrors, 'lan[0]', SECTIONS.lan.fields).fieldErrors['ipv6.address']?.length);
  assert.ok(mapFieldErrors(bad.fieldErrors, 'portForwards[0]', SECTIONS.portForwards.fields).fieldErrors.toPort?.some((e) => /pinhole/.test(e)));
  // Edit round trip: the form shows what is stored.
  const v = itemValues(SECTIONS.uplinks, up);
  assert.equal(v['ipv6.gateway'], 'fe80::1');
  assert.equal(v['ipv6.prefix'], '2001:db8:100::/56');
});
