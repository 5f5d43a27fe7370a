// The agent persists each newly applied plan for the next boot (agent/bootstate.ts): written
// atomically after a successful apply, only when the plan changed, never on a failed apply; the
// sysctl values from before linkward's first change are kept for `linkward uninstall`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { FakeSystem } from '../../agent/system/fake';
import { openDb } from '../../lib/db/sqlite';
import { Agent } from '../../agent/agent';
import { BootState, BOOT_PLAN, BOOT_RULESET, SYSCTL_BEFORE, writeFileAtomic } from '../../agent/bootstate';
import { parseConfig } from '../../lib/validations/config';
import { compile } from '../../lib/compile/compile';
import { planMarker } from '../../lib/compile/transaction';

const CONFIG = {
  version: 1,
  lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
  uplinks: [{ name: 'isp1', interface: 'wan1', gateway: '100.64.1.1' }, { name: 'isp2', interface: 'wan2', gateway: '100.64.2.1' }],
};

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-boot-'));
  const db = openDb(path.join(dir, 'a.db'));
  const fake = new FakeSystem();
  fake.addLink('lan0', { addresses: [{ address: '192.168.1.1', prefix: 24 }] });
  fake.addLink('wan1', { addresses: [{ address: '100.64.1.2', prefix: 24 }] });
  fake.addLink('wan2', { addresses: [{ address: '100.64.2.2', prefix: 24 }] });
  const parsed = parseConfig(CONFIG);
  assert.ok(parsed.ok);
  for (const k of Object.keys(compile(parsed.value, { interfaces: {}, health: {} }).sysctls)) fake.sysctls[k] = '0';
  const save = (doc: unknown) => {
    const p = parseConfig(doc);
    assert.ok(p.ok);
    return Number(db.prepare('INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, ?, ?, ?, ?)').run(Date.now(), 't', 'cli', 's', JSON.stringify(p.value)).lastInsertRowid);
  };
  const bootDir = path.join(dir, 'boot');
  const agent = new Agent({ db, runner: fake.runner, health: false, watchLinks: false, log: () => undefined, bootStateDir: bootDir });
  return { dir, bootDir, db, fake, agent, save, cleanup: () => { db.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

test('a successful apply writes the boot ruleset and plan; the same plan again writes nothing', async () => {
  const s = setup();
  try {
    const rev = s.save(CONFIG);
    const r = await s.agent.reconcile('test');
    assert.ok(r.ok, r.error);
    const ruleset = fs.readFileSync(path.join(s.bootDir, BOOT_RULESET), 'utf8');
    const plan = JSON.parse(fs.readFileSync(path.join(s.bootDir, BOOT_PLAN), 'utf8'));
    // what the kernel (fake) carries now is what the file declares
    const marker = /lw:[0-9a-f]{16}/.exec(s.fake.dump())?.[0];
    assert.ok(marker, 'the fake kernel carries a plan marker');
    assert.equal(plan.marker, marker);
    assert.equal(plan.revision, rev);
    assert.match(ruleset, /^# linkward boot ruleset: revision \d+/);
    assert.ok(ruleset.includes('table inet linkward\ndelete table inet linkward\ntable inet linkward\n'), 'self-contained: deletes any earlier table in the same transaction');
    assert.ok(ruleset.includes(`comment "${marker}"`));
    assert.ok(plan.rules.some((x: { fwmark?: unknown }) => x.fwmark), 'route plan carries the fwmark rules');
    assert.deepEqual(fs.readdirSync(s.bootDir).filter((f) => f.includes('.tmp-')), [], 'no temp file left');
    assert.equal(fs.statSync(s.bootDir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(s.bootDir, BOOT_RULESET)).mode & 0o777, 0o600);
    const ino = fs.statSync(path.join(s.bootDir, BOOT_RULESET)).ino;
    assert.ok((await s.agent.reconcile('again')).ok);
    assert.equal(fs.statSync(path.join(s.bootDir, BOOT_RULESET)).ino, ino, 'unchanged plan: file not rewritten');
    // a new revision with a different plan replaces it (rename: a new inode)
    s.save({ ...CONFIG, uplinks: [CONFIG.uplinks[0]] });
    assert.ok((await s.agent.reconcile('new')).ok);
    assert.notEqual(fs.statSync(path.join(s.bootDir, BOOT_RULESET)).ino, ino);
    assert.notEqual(JSON.parse(fs.readFileSync(path.join(s.bootDir, BOOT_PLAN), 'utf8')).marker, marker);
    // sysctls: the values before the first change (the fake started with every key at 0)
    const before = JSON.parse(fs.readFileSync(path.join(s.bootDir, SYSCTL_BEFORE), 'utf8'));
    assert.equal(before['net.ipv4.ip_forward'], '0');
  } finally {
    s.cleanup();
  }
});

test('a failed apply leaves the previous boot ruleset in place', async () => {
  const s = setup();
  try {
    s.save(CONFIG);
    assert.ok((await s.agent.reconcile('first')).ok);
    const before = fs.readFileSync(path.join(s.bootDir, BOOT_RULESET), 'utf8');
    s.fake.nftApplyFails = 'Error: boom';
    s.save({ ...CONFIG, uplinks: [CONFIG.uplinks[1]] });
    const r = await s.agent.reconcile('second');
    assert.equal(r.ok, false);
    assert.equal(fs.readFileSync(path.join(s.bootDir, BOOT_RULESET), 'utf8'), before);
  } finally {
    s.cleanup();
  }
});

test('sysctl-before keeps the first value ever seen; plan files are replaced whole', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-boot-'));
  try {
    const b = new BootState(path.join(dir, 'boot'));
    b.recordSysctlsBefore([{ key: 'net.ipv4.ip_forward', from: '0', to: '1' }]);
    b.recordSysctlsBefore([{ key: 'net.ipv4.ip_forward', from: '1', to: '0' }, { key: 'net.ipv4.conf.all.rp_filter', from: '1', to: '2' }]);
    assert.deepEqual(b.sysctlsBefore(), { 'net.ipv4.ip_forward': '0', 'net.ipv4.conf.all.rp_filter': '1' });
    const f = path.join(dir, 'x');
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, 'two');
    assert.equal(fs.readFileSync(f, 'utf8'), 'two');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['boot', 'x']);
    assert.equal(planMarker({ nftDeclaration: 'x' }).startsWith('lw:'), true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
