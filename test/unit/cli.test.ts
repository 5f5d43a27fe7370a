import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cli, tmpDb, ROOT } from '../helpers/cli';

const EXAMPLE = path.join(ROOT, 'docs', 'example.json');
const exampleDoc = () => JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));

test('import → export round-trips and re-import is a no-op', () => {
  const t = tmpDb();
  try {
    const env = { LINKWARD_DB: t.db };
    const a = cli(['import', EXAMPLE], env);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /stored revision 1/);
    const ex = cli(['export'], env);
    assert.equal(ex.code, 0, ex.stderr);
    const exported = JSON.parse(ex.stdout);
    assert.equal(exported.uplinks.length, 3);
    assert.deepEqual(exported.uplinks.map((u: { id: number }) => u.id), [1, 2, 3]);
    const again = cli(['import', '-'], env, ex.stdout);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /unchanged: desired revision is still 1/);
    assert.equal(cli(['export'], env).stdout, ex.stdout);
  } finally {
    t.cleanup();
  }
});

test('bad documents are rejected with path: message and nothing is stored', () => {
  const t = tmpDb();
  try {
    const env = { LINKWARD_DB: t.db };
    const doc = exampleDoc();
    doc.uplinks[1].gateway = '198.51.100.300';
    doc.services[0].uplinks = ['dsl', 'nope'];
    doc.rules[0].name = 'x;drop';
    const r = cli(['import', '-'], env, JSON.stringify(doc));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /uplinks\[1\]\.gateway: not an IPv4 address/);
    assert.match(r.stderr, /services\[0\]\.uplinks\[1\]: unknown uplink "nope"/);
    assert.match(r.stderr, /rules\[0\]\.name: /);
    assert.match(r.stderr, /nothing stored/);
    const notJson = cli(['import', '-'], env, '{"version":1,');
    assert.equal(notJson.code, 1);
    assert.match(notJson.stderr, /not valid JSON/);
    // Validation happens before the database is touched: either no file or no revision.
    if (fs.existsSync(t.db)) {
      const db = new Database(t.db, { readonly: true });
      const n = db.prepare('SELECT COUNT(*) AS n FROM Revision').get() as { n: number };
      db.close();
      assert.equal(n.n, 0);
    }
    assert.equal(cli(['export'], env).code, 1, 'export finds nothing stored');
  } finally {
    t.cleanup();
  }
});

test('uplink disable/enable/drain store new revisions; unknown names are errors', () => {
  const t = tmpDb();
  try {
    const env = { LINKWARD_DB: t.db };
    assert.equal(cli(['import', EXAMPLE], env).code, 0);
    const d = cli(['uplink', 'disable', 'lte'], env);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /revision 2: disables uplink lte/);
    const dr = cli(['uplink', 'drain', 'cable'], env);
    assert.match(dr.stdout, /revision 3: drains uplink cable/);
    const exported = JSON.parse(cli(['export'], env).stdout);
    assert.equal(exported.uplinks[2].enabled, false);
    assert.equal(exported.uplinks[1].drain, true);
    const bad = cli(['uplink', 'disable', 'nope'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no uplink named "nope"/);
    const st = JSON.parse(cli(['status', '--json'], env).stdout);
    assert.equal(st.desiredRevision, 3);
    assert.equal(st.appliedRevision, null);
    assert.equal(st.appliedAt, null, 'no agent ran: no apply time');
    assert.equal(st.agentHeartbeat, null, 'and no heartbeat');
    assert.equal(st.uplinks.find((u: { name: string }) => u.name === 'lte').state, 'disabled');
  } finally {
    t.cleanup();
  }
});

test('usage errors exit 2 in every command (unknown flag, missing value, bad integer); nothing is touched', () => {
  const t = tmpDb();
  try {
    const env = { LINKWARD_DB: t.db };
    const cases: [string[], RegExp][] = [
      [['lab', 'up', '--bogus'], /linkward lab: unknown option --bogus/],
      [['lab', 'status', '--prefix'], /linkward lab: --prefix needs a value/],
      [['lab', 'whoami', '--count', 'many'], /linkward lab: --count must be an integer/],
      [['lab', 'exec', 'lan', '--timeout', '0', '--', 'true'], /linkward lab: --timeout must be between 1 and 86400/],
      [['admin', 'reset-password', 'alice', '--bogus'], /linkward admin: unknown option --bogus/],
      [['admin', 'setup-token', '--password-stdin=yes'], /linkward admin: --password-stdin takes no value/],
      [['admin', 'frobnicate'], /linkward admin: unknown subcommand "frobnicate"/],
      [['import', '-', '--confirm-within'], /linkward import: --confirm-within needs a value/],
      [['import', '-', '--confirm-within', '1m'], /linkward import: --confirm-within must be an integer/],
      [['history', '--limit', 'x'], /linkward history: --limit must be an integer/],
      [['web', '--port', 'http'], /linkward web: --port must be an integer/],
      [['uplink', 'drain'], /linkward uplink: expects one uplink NAME/],
    ];
    for (const [args, re] of cases) {
      const r = cli(args, env, '');
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
      assert.match(r.stderr, /usage:/, `${args.join(' ')} prints the usage`);
    }
    assert.equal(fs.existsSync(t.db), false, 'a usage error never opens the database');
    const help = cli(['admin', '--help'], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /linkward admin reset-password USER/);
  } finally {
    t.cleanup();
  }
});

test('status on a missing database says so and creates nothing; on an empty one it says it has no revisions; the demo uses the CLI default', () => {
  const t = tmpDb();
  try {
    const env = { LINKWARD_DB: t.db };
    const r = cli(['status'], env);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`no database at ${t.db}`), r.stderr);
    assert.equal(fs.existsSync(t.db), false, 'status did not create the database');
    for (const cmd of [['export'], ['history'], ['metrics']]) {
      assert.equal(cli(cmd, env).code, 1, cmd.join(' '));
      assert.equal(fs.existsSync(t.db), false, `${cmd.join(' ')} did not create the database`);
    }
    assert.equal(cli(['db', 'migrate'], env).code, 0);
    const e = cli(['status'], env);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /has no configuration revisions/);
    assert.ok(e.stdout.startsWith(`database ${t.db}\n`), e.stdout);
    const j = JSON.parse(cli(['status', '--json'], env).stdout);
    assert.equal(j.database, t.db);
    assert.match(j.note, /no configuration revisions/);
    // scripts/demo.sh takes its database from `linkward db path` without LINKWARD_DB, the file
    // every other command opens by default.
    const demo = fs.readFileSync(path.join(ROOT, 'scripts', 'demo.sh'), 'utf8');
    assert.match(demo, /DB_DEFAULT="\$\(env -u LINKWARD_DB node bin\/linkward\.js db path\)"/);
    assert.match(demo, /export LINKWARD_DB="\$\{LINKWARD_DB:-\$DB_DEFAULT\}"/);
    assert.equal(cli(['db', 'path'], { LINKWARD_DB: '' }).stdout.trim(), path.join(ROOT, 'data', 'linkward.db'));
  } finally {
    t.cleanup();
  }
});
