// The dashboard's server-action layer without a running Next: the validatedAction wrapper, the
// form schemas (hidden fields: section, item, base revision), and the pure helpers the actions use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formObject, parseForm, publicAction, validatedAction } from '../../lib/web/actions/validated';
import { baseRevisionField, itemFormSchema, itemRefSchema, importFormSchema, uplinkOpSchema, loginSchema, restoreSchema } from '../../lib/web/actions/schemas';
import { initialFormState, baseRevisionValue, type FormState } from '../../lib/web/forms';
import { settingsFormValues, settingsFromFormValues, settingsValues, parseSettings } from '../../lib/web/settings';
import { sectionItems } from '../../lib/web/sections';
import { parseConfig, type Config } from '../../lib/validations/config';

function fd(entries: [string, string | Blob][]): FormData {
  const f = new FormData();
  for (const [k, v] of entries) f.append(k, v);
  return f;
}

const config = (doc: unknown): Config => {
  const p = parseConfig(doc);
  assert.ok(p.ok, JSON.stringify(p));
  return p.value;
};

test('formObject: one value per name, repeated names as arrays', () => {
  assert.deepEqual(formObject(fd([['a', '1'], ['b', '2'], ['b', '3']])), { a: '1', b: ['2', '3'] });
});

test('base revision: hidden field round trip; missing or malformed is an error, not a silent default', () => {
  assert.equal(baseRevisionValue(null), '0');
  assert.equal(baseRevisionValue(17), '17');
  assert.equal(baseRevisionField.parse('0'), null);
  assert.equal(baseRevisionField.parse('17'), 17);
  for (const bad of ['', '-1', '1.5', '017', 'x', undefined]) assert.equal(baseRevisionField.safeParse(bad).success, false, String(bad));
  const r = parseForm(itemRefSchema, fd([['section', 'rules'], ['name', 'no-telnet']]), 1);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.state.message ?? '', /baseRevision: missing \(reload the page\)/);
});

test('row actions refuse a bad section or name with a message (no silent return)', () => {
  const cases: [string, [string, string][], RegExp][] = [
    ['unknown section', [['section', 'firewall'], ['name', 'x'], ['baseRevision', '3']], /section: unknown section/],
    ['bad name', [['section', 'rules'], ['name', 'X;drop'], ['baseRevision', '3']], /name: must be 1-24 characters/],
    ['two names', [['section', 'rules'], ['name', 'a'], ['name', 'b'], ['baseRevision', '3']], /name: /],
  ];
  for (const [what, entries, re] of cases) {
    const r = parseForm(itemRefSchema, fd(entries), 5);
    assert.equal(r.ok, false, what);
    if (r.ok) continue;
    assert.equal(r.state.ok, false);
    assert.equal(r.state.seq, 5);
    assert.match(r.state.message ?? '', re, what);
    assert.ok(r.state.formErrors?.length, what);
  }
  const ok = parseForm(itemRefSchema, fd([['section', 'rules'], ['name', 'no-telnet'], ['baseRevision', '3'], ['extra', 'ignored']]), 1);
  assert.deepEqual(ok.ok && ok.data, { section: 'rules', name: 'no-telnet', baseRevision: 3 });
  assert.equal(parseForm(uplinkOpSchema, fd([['name', 'dsl'], ['op', 'explode'], ['baseRevision', '1']]), 1).ok, false);
  assert.equal(parseForm(restoreSchema, fd([['id', '0'], ['baseRevision', '1']]), 1).ok, false);
});

test('item form: "" original = a new item; the item fields are left to the config schema', () => {
  const r = itemFormSchema.parse(formObject(fd([['section', 'uplinks'], ['original', ''], ['baseRevision', '0'], ['name', 'Bad Name']])));
  assert.deepEqual(r, { section: 'uplinks', original: null, baseRevision: null });
  assert.equal(itemFormSchema.parse(formObject(fd([['section', 'uplinks'], ['original', 'wan1'], ['baseRevision', '4']]))).original, 'wan1');
});

test('import form: a file is any Blob, an empty one means none chosen', async () => {
  const r = importFormSchema.parse(formObject(fd([['baseRevision', '2'], ['json', ''], ['file', new Blob(['{"version":1}'])]])));
  assert.equal(await r.file?.text(), '{"version":1}');
  assert.equal(importFormSchema.safeParse(formObject(fd([['baseRevision', '2'], ['file', 'not a file']]))).success, false);
});

test('publicAction parses before calling; validatedAction without a session has no effect', async () => {
  let seen: unknown = null;
  const login = publicAction(loginSchema, async (data, { seq }): Promise<FormState> => {
    seen = data;
    return { ok: true, seq };
  });
  const s = await login({ ok: true, seq: 4 }, fd([['username', '  Admin '], ['password', ' pw ']]));
  assert.deepEqual(seen, { username: 'admin', password: ' pw ' });
  assert.equal(s.seq, 5);
  const bad = await login(initialFormState, fd([['username', new Blob(['x'])]]));
  assert.equal(bad.ok, false);
  let called = false;
  const act = validatedAction(itemRefSchema, async () => {
    called = true;
    return { ok: true, seq: 1 };
  });
  await assert.rejects(act(initialFormState, fd([['section', 'rules'], ['name', 'x'], ['baseRevision', '1']])));
  assert.equal(called, false, 'no session (here: no request at all), no effect');
});

test('settings form: the typed values survive a refused save (echo → form values)', () => {
  const c = config({ version: 1 });
  const stored = settingsValues(c);
  assert.equal(stored.logRatePerMinute, 60);
  const form = fd([['icmpIn', 'echo-request'], ['icmpIn', 'timestamp-request'], ['logRatePerMinute', '0'], ['portScan.enabled', 'on'], ['portScan.ports', 'abc'], ['sticky', 'source'], ['rpFilter', 'strict'], ['syncookies', 'on']]);
  const back = settingsFromFormValues(settingsFormValues(form), stored);
  assert.deepEqual(back.icmpIn, ['echo-request', 'timestamp-request']);
  assert.deepEqual(back.icmpOut, []);
  assert.equal(back.logRatePerMinute, '0');
  assert.equal(back.portScan.ports, 'abc');
  assert.equal(back.portScan.enabled, true);
  assert.equal(back.logDrops, false);
  assert.equal(back.sticky, 'source');
  assert.equal(back.rpFilter, 'strict');
  assert.equal(back.syncookies, true);
  assert.equal(back.logMartians, false);
  // …and the same form parses into the settings the schema then checks.
  assert.equal(parseSettings(form, c).firewall.logRatePerMinute, 0);
});

test('sectionItems: the items of a section as data, the same objects (no casts needed)', () => {
  const c = config({ version: 1, uplinks: [{ name: 'dsl', interface: 'wan1' }], rules: [{ name: 'r1', chain: 'forward', action: 'drop' }] });
  assert.deepEqual(sectionItems(c, 'uplinks').map((x) => x.name), ['dsl']);
  sectionItems(c, 'rules')[0].enabled = false;
  assert.equal(c.rules[0].enabled, false);
  assert.deepEqual(sectionItems(null, 'lan'), []);
});
