// Issue 12, "agent under faults", on the real kernel: the agent's database (on a small tmpfs of
// its own) fills up, is locked by another process for 30 s, becomes read-only, is corrupted, is
// deleted — each time DURING a failover (isp1 breaks, then comes back). The agent stays up, the
// kernel follows the failover within the usual time, no unhandled rejection happens, and once the
// database is back the outage is reported and the failover events written.
//   read-only: the agent's connection gets PRAGMA query_only (the engine then refuses every write
//   with SQLITE_READONLY, as for a read-only file): a mounted filesystem cannot be remounted
//   read-only while the agent holds the database open for writing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setupLab, type LabEnv } from '../helpers/lab';
import { labBreak, labRestore, tcpWhoAmI } from '../../lab/lab';
import { SERVER_ADDR } from '../../lab/plan';
import { openDb, type DB } from '../../lib/db/sqlite';
import { Agent } from '../../agent/agent';
import { realRunner } from '../../agent/system/runner';
import { waitUntil } from '../helpers/wait';

let L: LabEnv;
let agent: Agent;
let db: DB;
let mnt: string;
let dbFile: string;
const rejections: unknown[] = [];
const onRejection = (e: unknown) => rejections.push(e);
const logs: string[] = [];

const fallback = async () => JSON.parse((await L.runner.run(['ip', '-j', '-4', 'route', 'show', 'table', '200'])).stdout) as { gateway?: string; dev?: string; nexthops?: { dev: string }[] }[];
const onlyIsp2 = async () => { const r = await fallback(); return r.length === 1 && !r[0].nexthops && r[0].dev === 'wan2'; };
const both = async () => { const r = await fallback(); return r.length === 1 && (r[0].nexthops?.length ?? 0) === 2; };

/** Break isp1, measure until the kernel's fallback table carries only isp2 and a new LAN
 *  connection leaves by isp2; restore and wait for the failback. Returns the failover time. */
async function failoverRound(label: string): Promise<number> {
  const t0 = performance.now();
  await labBreak(L.prefix, 'isp1');
  await waitUntil(`${label}: failover to isp2`, onlyIsp2, 15000, 50);
  const ms = performance.now() - t0;
  const seen = await tcpWhoAmI(L.prefix, 'lan', SERVER_ADDR, 80, { timeoutMs: 2000 });
  assert.equal(seen?.ip, '100.64.2.2', `${label}: a new LAN connection leaves by isp2`);
  await labRestore(L.prefix, 'isp1');
  await waitUntil(`${label}: failback`, both, 20000, 100);
  process.stdout.write(`# ${label}: failover ${ms.toFixed(0)} ms while the database was faulty\n`);
  return ms;
}

/** Rows of the database the agent uses now (after a reopen, the restored file). */
const rows = (sql: string) => agent.database.prepare(sql).all() as { message: string }[];
const report = (re: RegExp) => rows("SELECT message FROM Event WHERE type = 'agent' AND message LIKE 'database unavailable%'").some((e) => re.test(e.message));
const downEvent = () => rows("SELECT message FROM Event WHERE type = 'uplink' AND message LIKE 'uplink isp1: up → down%'").length;

before(async () => {
  process.on('unhandledRejection', onRejection);
  L = await setupLab('df', 2);
  mnt = fs.mkdtempSync(path.join(L.dir, 'tmpfs-'));
  await realRunner.run(['mount', '-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt]);
  dbFile = path.join(mnt, 'linkward.db');
  db = openDb(dbFile);
  const doc = fs.readFileSync(L.lab.configPath, 'utf8');
  db.prepare("INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, 'test', 'cli', 'lab', ?)").run(Date.now(), JSON.stringify(JSON.parse(doc)));
  agent = new Agent({ db, runner: L.runner, health: true, watchLinks: true, log: (m) => logs.push(m) });
  await agent.start();
  await waitUntil('both uplinks in the fallback table', both, 20000, 100);
});

after(async () => {
  process.off('unhandledRejection', onRejection);
  await agent?.stop();
  try { agent?.database.close(); } catch { /* closed */ }
  if (mnt) await realRunner.run(['umount', '-l', mnt], { allowFail: true });
  await L?.cleanup();
});

test('disk full during a failover', async () => {
  const before = downEvent();
  // fill the filesystem under the database
  await realRunner.run(['sh', '-c', `dd if=/dev/zero of=${path.join(mnt, 'fill')} bs=64k 2>/dev/null; true`], { timeoutMs: 20000 });
  await failoverRound('disk full');
  assert.ok(agent.store.dbOutage, 'the agent noticed the full disk');
  assert.match(agent.store.dbOutage.error, /SQLITE_FULL|disk is full|SQLITE_IOERR/);
  fs.rmSync(path.join(mnt, 'fill'));
  await waitUntil('outage reported once the disk has room', () => report(/SQLITE_FULL|disk is full|SQLITE_IOERR/), 10000, 200);
  assert.ok(downEvent() > before, 'the failover event was written late, not lost');
});

test('the database locked by another process for 30 s during a failover', async () => {
  const before = downEvent();
  const mod = path.join(process.cwd(), 'node_modules', 'better-sqlite3');
  const holder = realRunner.spawn([process.execPath, '-e', `const D=require(${JSON.stringify(mod)});const db=new D(${JSON.stringify(dbFile)});db.exec('BEGIN EXCLUSIVE');console.log('locked');setTimeout(()=>{db.exec('COMMIT');db.close();},30000);`], {
    onStdoutLine: () => undefined,
  });
  try {
    await waitUntil('lock taken', () => { try { db.exec('BEGIN IMMEDIATE'); db.exec('ROLLBACK'); return false; } catch { return true; } }, 5000, 50);
    await failoverRound('locked');
    assert.match(agent.store.dbOutage?.error ?? '', /SQLITE_BUSY/);
    await holder.exited;
  } finally {
    holder.kill('SIGKILL');
  }
  await waitUntil('outage reported after the lock is released', () => report(/SQLITE_BUSY/), 10000, 200);
  assert.ok(downEvent() > before);
});

test('a read-only database during a failover', async () => {
  const before = downEvent();
  agent.database.pragma('query_only = 1');
  try {
    await failoverRound('read-only');
    assert.match(agent.store.dbOutage?.error ?? '', /SQLITE_READONLY/);
  } finally {
    agent.database.pragma('query_only = 0');
  }
  await waitUntil('outage reported once writable', () => report(/SQLITE_READONLY/), 10000, 200);
  assert.ok(downEvent() > before);
});

test('a corrupted database during a failover; the admin restores a backup', async () => {
  const backup = path.join(L.dir, 'backup.db');
  agent.database.exec(`VACUUM INTO '${backup}'`);
  // garbage over the database file and its write-ahead log
  for (const f of [dbFile, `${dbFile}-wal`]) if (fs.existsSync(f)) fs.writeFileSync(f, Buffer.alloc(fs.statSync(f).size || 4096, 0x5a));
  await failoverRound('corrupted');
  // restore: a good copy replaces the file (new inode); the agent reopens it
  fs.copyFileSync(backup, `${dbFile}.new`);
  for (const f of ['-wal', '-shm']) fs.rmSync(dbFile + f, { force: true });
  fs.renameSync(`${dbFile}.new`, dbFile);
  await waitUntil('agent reopened the restored file', () => logs.some((m) => /replaced: reopened/.test(m)), 10000, 200);
  await waitUntil('agent writes to the restored file', () => agent.database.prepare('SELECT heartbeatAt FROM AgentState WHERE id = 1').pluck().get() as number > Date.now() - 5000, 10000, 200);
});

test('the database file deleted during a failover; a backup put back later', async () => {
  const backup = path.join(L.dir, 'backup2.db');
  agent.database.exec(`VACUUM INTO '${backup}'`);
  for (const f of ['', '-wal', '-shm']) fs.rmSync(dbFile + f, { force: true });
  await failoverRound('deleted');
  assert.match(agent.store.dbOutage?.error ?? '', /was deleted/);
  fs.copyFileSync(backup, dbFile);
  await waitUntil('outage reported in the restored database', () => report(/was deleted/), 10000, 200);
  assert.ok(downEvent() >= 1, 'the failover while the file was gone is in the restored database');
});

test('no unhandled rejection, and the agent kept running', () => {
  assert.deepEqual(rejections, []);
  assert.ok(!logs.some((m) => /reconcile failed unexpectedly/.test(m)), logs.filter((m) => /unexpectedly/.test(m)).join('\n'));
});
