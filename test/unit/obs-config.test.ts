// Issue 17's configuration: notification channels (the issue's JSON shape imports as-is), strict
// grammars with errors that name the field, write-only secrets through the real store on a real
// migrated database (never in a revision, never exported in clear), quality and metered fields.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-obscfg-'));
let n = 0;
const freshDb = () => (process.env.LINKWARD_DB = path.join(dir, `t${++n}.db`));
freshDb();

const { saveConfig, latestRevision } = await import('../../lib/store/revisions');
const { redactSecrets, resolveSecret } = await import('../../lib/store/secrets');
const { parseConfig } = await import('../../lib/validations/config');
const { openDb } = await import('../../lib/db/sqlite');
const { disconnect } = await import('../../lib/db/prisma');
const { checkReceiverUrl, isEmail, isHostname } = await import('../../lib/validations/observe');

after(async () => {
  await disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

const ISSUE_SHAPE = {
  version: 1,
  notifications: [
    { name: 'lan-hook', type: 'webhook', url: 'http://10.0.0.2:9099/linkward' },
    { name: 'mail', type: 'smtp', host: 'mail.example.org', port: 587, from: 'router@example.org', to: ['admin@example.org'] },
    { name: 'phone', type: 'ntfy', url: 'https://ntfy.sh/my-router' },
  ],
};

function errorsOf(doc: unknown): string[] {
  const r = parseConfig(doc);
  return r.ok ? [] : r.errors;
}

test("the issue's notifications shape validates as-is", () => {
  const r = parseConfig(ISSUE_SHAPE);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('; '));
  assert.equal(r.value.notifications.length, 3);
  const mail = r.value.notifications[1];
  assert.equal(mail.type === 'smtp' && mail.tls, 'starttls', 'STARTTLS is the default');
});

test('strict grammars: each bad value is refused with its field path', () => {
  const bad = (n: Record<string, unknown>) => errorsOf({ version: 1, notifications: [n] });
  const hook = { name: 'h', type: 'webhook' };
  for (const url of ['ftp://x/', 'file:///etc/passwd', 'javascript:alert(1)', 'http://user:pw@host/', 'http://bad_host/', 'http://host/a b', 'http://h/#frag', 'not a url']) {
    const e = bad({ ...hook, url });
    assert.ok(e.length > 0 && e.every((x) => x.startsWith('notifications[0].url: ')), `${url}: ${e.join('; ')}`);
  }
  assert.match(bad({ name: 'x', type: 'pager' }).join(), /notifications\[0\]\.type: must be one of webhook, smtp, ntfy/);
  const mail = { name: 'm', type: 'smtp', host: 'mx.example.org', from: 'a@example.org', to: ['b@example.org'] };
  assert.match(bad({ ...mail, to: ['b@example.org\r\nBcc: evil@x.org'] }).join(), /notifications\[0\]\.to\[0\]: not an e-mail address/);
  assert.match(bad({ ...mail, from: 'a b@example.org' }).join(), /notifications\[0\]\.from: /);
  assert.match(bad({ ...mail, host: 'mx example' }).join(), /notifications\[0\]\.host: not a host name/);
  assert.match(bad({ ...mail, password: 'x' }).join(), /notifications\[0\]\.username: a password needs a username/);
  assert.match(bad({ ...mail, port: 0 }).join(), /notifications\[0\]\.port: must be 1-65535/);
  assert.match(bad({ ...hook, url: 'http://h/', secret: { ref: 'nothex' } }).join(), /notifications\[0\]\.secret: a secret/);
  assert.match(errorsOf({ version: 1, notifications: [{ ...hook, url: 'http://a/' }, { ...hook, url: 'http://b/' }] }).join(), /notifications\[1\]\.name: duplicate name/);
  assert.ok(isHostname('mail.example.org') && isHostname('10.0.0.2') && !isHostname('10.0.0.256') && !isHostname('-x.org'));
  assert.ok(isEmail('router+alerts@example.org') && !isEmail('a@10.0.0.1') && !isEmail('.a@example.org'));
  assert.ok(checkReceiverUrl('https://[fd00::1]:8443/x').ok);
});

test('quality and metered fields', () => {
  const up = (extra: Record<string, unknown>) => errorsOf({ version: 1, uplinks: [{ name: 'isp1', interface: 'wan1', ...extra }] });
  assert.deepEqual(up({ quality: { latencyWarnMs: 200, lossWarnPct: 10 }, metered: { capBytes: 1e9 } }), []);
  assert.match(up({ quality: { latencyWarnMs: 500, latencyDownMs: 200 } }).join(), /uplinks\[0\]\.quality\.latencyDownMs: must be above latencyWarnMs/);
  assert.match(up({ quality: {} }).join(), /uplinks\[0\]\.quality: give at least one threshold/);
  assert.match(up({ metered: { capBytes: 10, warnAt: [0.9, 0.5] } }).join(), /uplinks\[0\]\.metered\.warnAt\[1\]: thresholds must be ascending/);
  assert.match(up({ metered: { capBytes: 10, periodDay: 31 } }).join(), /uplinks\[0\]\.metered\.periodDay: must be 1-28/);
  assert.match(up({ metered: { capBytes: 10, onCap: 'throttle' } }).join(), /uplinks\[0\]\.metered\.onCap/);
});

test('secrets are write-only: stored as references, exported as {"set": true}, kept on re-import', async () => {
  freshDb();
  const doc = structuredClone(ISSUE_SHAPE) as { version: number; notifications: Record<string, unknown>[]; metrics?: unknown };
  doc.notifications[0].secret = 'hmac-key-0123';
  doc.notifications[1].username = 'router';
  doc.notifications[1].password = 'smtp-pass-4567';
  doc.notifications[2].token = 'tk_secret_89';
  doc.metrics = { token: 'scrape-token-abc', allow: ['192.168.1.0/24'] };
  const r1 = await saveConfig(doc, { author: 't', source: 'import' });
  assert.ok(r1.ok, r1.ok ? '' : r1.errors.join('; '));
  const db = openDb(process.env.LINKWARD_DB!);
  try {
    const stored = db.prepare('SELECT config FROM Revision').pluck().all() as string[];
    for (const s of ['hmac-key-0123', 'smtp-pass-4567', 'tk_secret_89', 'scrape-token-abc']) {
      assert.ok(!stored.some((c) => c.includes(s)), `${s} is not in any revision`);
    }
    const rev = (await latestRevision())!;
    const exported = JSON.stringify(redactSecrets(rev.config));
    assert.ok(!/hmac-key|smtp-pass|tk_secret|scrape-token|"ref"/.test(exported), exported);
    assert.equal((JSON.parse(exported) as { notifications: { password?: unknown }[] }).notifications[1].password && 'set', 'set');
    const mail = rev.config.notifications[1] as { password?: { ref: string } };
    assert.equal(resolveSecret(db, mail.password), 'smtp-pass-4567');
    // Re-importing the export keeps every secret: nothing changes, no new revision.
    const r2 = await saveConfig(JSON.parse(exported), { author: 't', source: 'import' });
    assert.ok(r2.ok && !r2.changed, JSON.stringify(r2));
    // The same clear value again: no change either (no new reference).
    const r3 = await saveConfig(doc, { author: 't', source: 'import' });
    assert.ok(r3.ok && !r3.changed, JSON.stringify(r3));
    // A new value: a new revision, and the new value is what resolves.
    doc.notifications[1].password = 'new-pass';
    const r4 = await saveConfig(doc, { author: 't', source: 'import' });
    assert.ok(r4.ok && r4.changed);
    assert.equal(resolveSecret(db, ((await latestRevision())!.config.notifications[1] as { password?: { ref: string } }).password), 'new-pass');
  } finally {
    db.close();
  }
  // On a box without that secret, {"set": true} is refused with the field named; nothing stored.
  freshDb();
  const r5 = await saveConfig({ version: 1, notifications: [{ name: 'mail', type: 'smtp', host: 'mx.example.org', from: 'a@example.org', to: ['b@example.org'], username: 'u', password: { set: true } }] }, { author: 't', source: 'import' });
  assert.ok(!r5.ok);
  assert.match(r5.errors.join(), /^notifications\[0\]\.password: no stored secret to keep/);
  assert.equal(await latestRevision(), null);
});
