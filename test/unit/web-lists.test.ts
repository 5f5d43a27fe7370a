// Issue 15: the address-list editor's pure part — text → entries, one list's edit applied to a
// configuration (rename follows into rules), delete refused while used, statistics, search, and
// the schema's errors pointed at the entry that is wrong. Saved documents go through parseConfig.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type Config } from '../../lib/validations/config';
import { parseEntriesText, applyListEdit, deleteList, listStats, searchEntries, listErrors, ListRefused } from '../../lib/web/lists';

const base = (): Config => {
  const r = parseConfig({
    version: 1,
    lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
    uplinks: [{ name: 'isp1', interface: 'wan1', gateway: '100.64.1.1' }],
    addressLists: [{ name: 'blocked', entries: ['203.0.113.0/24', '2001:db8:bad::/48'] }],
    rules: [
      { name: 'drop-blocked', chain: 'forward', action: 'drop', sourceList: 'blocked' },
      { name: 'drop-to-blocked', chain: 'forward', action: 'drop', destinationList: 'blocked', enabled: false },
    ],
  });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.value;
};

test('parseEntriesText: lines, commas and blanks; # and ; comments; duplicates dropped in order', () => {
  assert.deepEqual(parseEntriesText('# spamhaus drop\n203.0.113.0/24 ; SBL1\r\n198.51.100.7, 198.51.100.8\n\n203.0.113.0/24\n  2001:db8::1  '), ['203.0.113.0/24', '198.51.100.7', '198.51.100.8', '2001:db8::1']);
  assert.deepEqual(parseEntriesText(''), []);
});

test('applyListEdit: new, replace, append (no duplicates), rename follows into rules; validated by the schema', () => {
  const c = base();
  const added = applyListEdit(c, { original: null, name: 'trusted', entries: ['192.168.1.10'], mode: 'replace' });
  assert.deepEqual(added.addressLists.map((l) => l.name), ['blocked', 'trusted']);
  const appended = applyListEdit(c, { original: 'blocked', name: 'blocked', entries: ['203.0.113.0/24', '198.51.100.9'], mode: 'append' });
  assert.deepEqual(appended.addressLists[0].entries, ['203.0.113.0/24', '2001:db8:bad::/48', '198.51.100.9']);
  const replaced = applyListEdit(c, { original: 'blocked', name: 'blocked', entries: ['198.51.100.9'], mode: 'replace' });
  assert.deepEqual(replaced.addressLists[0].entries, ['198.51.100.9']);
  const renamed = applyListEdit(c, { original: 'blocked', name: 'bad-hosts', entries: c.addressLists[0].entries, mode: 'replace' });
  assert.deepEqual(renamed.rules.map((r) => [r.sourceList, r.destinationList]), [['bad-hosts', undefined], [undefined, 'bad-hosts']]);
  assert.equal(parseConfig(renamed).ok, true, 'the renamed document still validates');
  assert.throws(() => applyListEdit(c, { original: null, name: 'blocked', entries: [], mode: 'replace' }), ListRefused);
  assert.throws(() => applyListEdit(c, { original: 'gone', name: 'gone', entries: [], mode: 'replace' }), /no longer exists/);
  // A bad entry is refused by the shared schema, and the error names the entry.
  const bad = applyListEdit(c, { original: 'blocked', name: 'blocked', entries: ['198.51.100.9', '1.2.3.999', '10.0.0.1/33', '$(reboot)'], mode: 'replace' });
  const r = parseConfig(bad);
  assert.equal(r.ok, false);
  if (r.ok) return;
  const errs = listErrors(r.errors, 0, bad.addressLists[0].entries);
  assert.equal(errs.length, 3, errs.join('\n'));
  assert.match(errs[0], /^entry 2 \("1\.2\.3\.999"\): /);
  assert.match(errs[1], /^entry 3 \("10\.0\.0\.1\/33"\): /);
  assert.match(errs[2], /^entry 4 \("\$\(reboot\)"\): /);
});

test('deleteList: refused while a rule uses the list (names it); otherwise gone', () => {
  const c = base();
  assert.throws(() => deleteList(c, 'blocked'), /used by rules drop-blocked, drop-to-blocked/);
  const free = { ...c, rules: [] };
  assert.deepEqual(deleteList(free, 'blocked').addressLists, []);
  assert.throws(() => deleteList(free, 'nope'), /no longer exists/);
});

test('listStats and searchEntries: counts per family, rules using the list, substring search with a limit', () => {
  assert.deepEqual(listStats(base()), [{
    name: 'blocked', entries: 2, v4: 1, v6: 1,
    rules: [
      { name: 'drop-blocked', chain: 'forward', action: 'drop', enabled: true, as: 'source' },
      { name: 'drop-to-blocked', chain: 'forward', action: 'drop', enabled: false, as: 'destination' },
    ],
  }]);
  const many = Array.from({ length: 10000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  const s = searchEntries(many, '10.3.', 50);
  assert.equal(s.total, many.filter((m) => m.includes('10.3.')).length);
  assert.ok(s.total >= 256);
  assert.equal(s.matches.length, 50);
  assert.ok(s.matches.every((m) => m.includes('10.3.')));
  assert.deepEqual(searchEntries(many, '', 3), { matches: many.slice(0, 3), total: 10000 });
});
