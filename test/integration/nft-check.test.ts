// Kernel check of the compiler output (root): every golden transaction passes `nft -c` (the
// small cases of test/golden/cases in one batched invocation, each in a table of its own), and
// real applies A → B → A inside a private network namespace end equal to a fresh apply of A,
// keep named counter values and dynamic set elements (bans), and leave foreign tables alone.
// No traffic is sent anywhere. Namespaces: lwt<pid>n<rand>{a,b}, deleted in `finally`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { withNetns, realRunner } from '../../agent/system/runner';
import { NFT_FAMILY, NFT_TABLE_REF, renderTransaction } from '../../lib/compile/index';
import type { NftInventory, Plan } from '../../lib/compile/types';
import { compile } from '../../lib/compile/compile';
import { parseConfig } from '../../lib/validations/config';
import { fixtureConfig, FIXTURE_FACTS } from '../unit/system-fixtures';
import { caseNames, fixtureNames, loadCase, loadFixture, GOLDEN_DIR } from '../golden/fixtures';

const isRoot = process.getuid?.() === 0;
const PREFIX = `lwt${process.pid}n${Math.floor(Math.random() * 1e6).toString(36)}`;

async function inFreshNetns<T>(suffix: string, fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = `${PREFIX}${suffix}`;
  await realRunner.run(['ip', 'netns', 'add', ns]);
  try {
    return await fn(ns);
  } finally {
    await realRunner.run(['ip', 'netns', 'del', ns], { allowFail: true });
  }
}

const nft = (ns: string, args: string[], input?: string) => withNetns(realRunner, ns).run(['nft', ...args], { input, timeoutMs: 60000 });

type Obj = Record<string, Record<string, unknown>>;
async function listTable(ns: string, family = 'inet', table = 'linkward'): Promise<Obj[] | null> {
  const r = await withNetns(realRunner, ns).run(['nft', '-j', 'list', 'table', family, table], { allowFail: true, timeoutMs: 60000 });
  if (r.exitCode !== 0) return null;
  return (JSON.parse(r.stdout) as { nftables: Obj[] }).nftables.filter((o) => !('metainfo' in o));
}

async function inventory(ns: string): Promise<NftInventory | null> {
  const objs = await listTable(ns);
  if (!objs) return null;
  const inv: NftInventory = { chains: [], sets: [], maps: [], counters: [], ctHelpers: [] };
  for (const o of objs) {
    const [kind, v] = Object.entries(o)[0];
    const name = String(v.name);
    if (kind === 'chain') inv.chains.push(name);
    else if (kind === 'set') inv.sets.push(name);
    else if (kind === 'map') inv.maps.push(name);
    else if (kind === 'counter') inv.counters.push(name);
    else if (kind === 'ct helper') inv.ctHelpers.push(name);
  }
  return inv;
}

/** Table content without handles, counter values and dynamic set elements; objects sorted, rules in chain order. */
function normalize(objs: Obj[], dynamicSets: string[]): string {
  const others: string[] = [];
  const rules = new Map<string, string[]>();
  for (const o of objs) {
    const [kind, v0] = Object.entries(o)[0];
    const v = { ...v0 };
    delete v.handle;
    if (kind === 'counter') { delete v.packets; delete v.bytes; }
    if (kind === 'set' && dynamicSets.includes(String(v.name))) delete v.elem;
    if (kind === 'rule') {
      const c = String(v.chain);
      if (!rules.has(c)) rules.set(c, []);
      rules.get(c)!.push(JSON.stringify(v));
    } else others.push(`${kind} ${JSON.stringify(v)}`);
  }
  others.sort();
  const r = [...rules.keys()].sort().map((c) => `${c}:\n  ${rules.get(c)!.join('\n  ')}`);
  return [...others, ...r].join('\n');
}

async function apply(ns: string, plan: Plan): Promise<string> {
  const text = renderTransaction(plan, await inventory(ns));
  await nft(ns, ['-c', '-f', '-'], text);
  await nft(ns, ['-f', '-'], text);
  return text;
}

async function counterValue(ns: string, name: string): Promise<{ packets: number; bytes: number }> {
  const r = await nft(ns, ['-j', 'list', 'counter', 'inet', 'linkward', name]);
  const c = (JSON.parse(r.stdout) as { nftables: Obj[] }).nftables.find((o) => 'counter' in o)!.counter;
  return { packets: Number(c.packets), bytes: Number(c.bytes) };
}

test('every golden transaction passes nft -c in a fresh namespace', { skip: !isRoot && 'needs root' }, async () => {
  const names = fixtureNames();
  assert.ok(names.length >= 6);
  await inFreshNetns('c', async (ns) => {
    for (const name of names) {
      const checkedIn = readFileSync(join(GOLDEN_DIR, name, 'expected.transaction.nft'), 'utf8');
      assert.equal(renderTransaction(loadFixture(name).plan, null), checkedIn, `${name}: golden is stale`);
      const r = await withNetns(realRunner, ns).run(['nft', '-c', '-f', '-'], { input: checkedIn, allowFail: true, timeoutMs: 60000 });
      assert.equal(r.exitCode, 0, `${name}: nft -c failed:\n${r.stderr}`);
    }
    // a broken script really fails (the check can fail)
    const bad = await withNetns(realRunner, ns).run(['nft', '-c', '-f', '-'], { input: 'table inet linkward {\n\tchain input {\n\t\tip saddr @nope drop\n\t}\n}\n', allowFail: true });
    assert.notEqual(bad.exitCode, 0);
  });
});

/** The transaction with every reference to table inet linkward moved to inet <table>. */
const inTable = (text: string, table: string) => text.replace(new RegExp(`\\b${NFT_TABLE_REF}\\b`, 'g'), `${NFT_FAMILY} ${table}`);

test('every golden case transaction passes nft -c, batched in one invocation', { skip: !isRoot && 'needs root' }, async () => {
  const cases = caseNames();
  assert.ok(cases.length >= 14, `only ${cases.length} cases`);
  const scripts = cases.map((name, i) => {
    const { dir, plan } = loadCase(name);
    const text = renderTransaction(plan, null);
    const declared = readFileSync(join(dir, 'expected.nft'), 'utf8').trimEnd();
    assert.ok(text.includes(declared), `${name}: expected.nft is stale or not in the transaction`);
    const moved = inTable(text, `lwcase${i}`);
    assert.ok(!moved.includes(NFT_TABLE_REF), `${name}: a reference to ${NFT_TABLE_REF} was not moved`);
    return { name, text: moved };
  });
  await inFreshNetns('k', async (ns) => {
    const check = (input: string) => withNetns(realRunner, ns).run(['nft', '-c', '-f', '-'], { input, allowFail: true, timeoutMs: 60000 });
    const all = await check(scripts.map((s) => s.text).join(''));
    if (all.exitCode === 0) return;
    // name the failing cases: check them one by one
    const failed: string[] = [];
    for (const s of scripts) {
      const r = await check(s.text);
      if (r.exitCode !== 0) failed.push(`${s.name}:\n${r.stderr}`);
    }
    assert.fail(`nft -c failed for the batch of ${scripts.length} cases:\n${all.stderr}\n${failed.join('\n') || '(each case alone passes)'}`);
  });
});

test('apply A → B → A equals a fresh A; counters, bans and foreign tables survive', { skip: !isRoot && 'needs root' }, async () => {
  const A = loadFixture('02_example').plan;
  const B = loadFixture('04_two_uplinks').plan;
  const C = loadFixture('03_many_rules').plan;
  const fresh = await inFreshNetns('f', async (ns) => {
    await apply(ns, A);
    return normalize((await listTable(ns))!, A.dynamicSets);
  });
  await inFreshNetns('a', async (ns) => {
    // a foreign table that must stay untouched
    await nft(ns, ['-f', '-'], 'table ip docker-like {\n\tcounter dk_count { packets 7 bytes 700 }\n\tchain docker_user {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tcounter name "dk_count" accept\n\t}\n}\n');
    const foreignBefore = JSON.stringify(await listTable(ns, 'ip', 'docker-like'));
    // a pre-existing counter value (as if traffic had been counted) in a table we will take over
    await nft(ns, ['-f', '-'], 'table inet linkward {\n\tcounter lw_b_drop_input { packets 42 bytes 4242 }\n\tcounter lw_u_2_in { packets 5 bytes 500 }\n}\n');

    await apply(ns, A);
    assert.equal(normalize((await listTable(ns))!, A.dynamicSets), fresh, 'first apply of A over a partial table differs from fresh A');
    assert.deepEqual(await counterValue(ns, 'lw_b_drop_input'), { packets: 42, bytes: 4242 });
    await nft(ns, ['add', 'element', 'inet', 'linkward', 'lw_banned', '{ 203.0.113.99 timeout 3600s }']);

    await apply(ns, B);
    const invB = (await inventory(ns))!;
    assert.deepEqual([...invB.counters].sort(), [...B.inventory.counters].sort(), 'stale counters of A were not deleted');
    assert.deepEqual(invB.ctHelpers, [], 'ftp helper of A not deleted');
    assert.deepEqual(invB.chains.filter((c) => c !== 'lw_meta').sort(), [...B.inventory.chains].sort());
    await apply(ns, C); // portScan disabled: lw_banned/lw_scan deleted, 1200-entry list added
    assert.ok(!(await inventory(ns))!.sets.includes('lw_banned'));
    await apply(ns, B);
    await nft(ns, ['add', 'element', 'inet', 'linkward', 'lw_banned', '{ 203.0.113.99 timeout 3600s }']);
    await apply(ns, A);
    await apply(ns, A); // twice: idempotent

    assert.equal(normalize((await listTable(ns))!, A.dynamicSets), fresh, 'A → B → C → B → A differs from a fresh A');
    assert.deepEqual(await counterValue(ns, 'lw_b_drop_input'), { packets: 42, bytes: 4242 }, 'named counter lost its value');
    assert.deepEqual(await counterValue(ns, 'lw_u_2_in'), { packets: 5, bytes: 500 });
    const banned = await nft(ns, ['-j', 'list', 'set', 'inet', 'linkward', 'lw_banned']);
    assert.match(banned.stdout, /203\.0\.113\.99/, 'ban did not survive re-apply');
    const meta = await nft(ns, ['-j', 'list', 'chain', 'inet', 'linkward', 'lw_meta']);
    assert.match(meta.stdout, /"comment": "lw:[0-9a-f]{16}"/);
    assert.equal(JSON.stringify(await listTable(ns, 'ip', 'docker-like')), foreignBefore, 'foreign table changed');
  });
});

test('changing portScan.seconds re-declares lw_scan with the new timeout; bans survive', { skip: !isRoot && 'needs root' }, async () => {
  const planWith = (seconds: number): Plan => {
    const doc = fixtureConfig(['a']) as Record<string, unknown>;
    doc.firewall = { portScan: { enabled: true, ports: 10, seconds, banSeconds: 600 } };
    const p = parseConfig(doc);
    assert.ok(p.ok, JSON.stringify(p));
    return compile(p.value, FIXTURE_FACTS);
  };
  await inFreshNetns('t', async (ns) => {
    await apply(ns, planWith(30));
    await nft(ns, ['add', 'element', 'inet', 'linkward', 'lw_banned', '{ 203.0.113.9 timeout 600s }']);
    await apply(ns, planWith(90));
    const sets = (await listTable(ns))!.filter((o) => 'set' in o).map((o) => o.set);
    assert.equal(sets.find((s) => s.name === 'lw_scan')?.timeout, 90);
    const banned = sets.find((s) => s.name === 'lw_banned');
    assert.ok(JSON.stringify(banned?.elem ?? []).includes('203.0.113.9'), 'the ban survived the re-declaration');
  });
});

test('every golden transaction passes nft -c without /etc/protocols (a minimal Debian has no netbase)', { skip: !isRoot && 'needs root' }, async () => {
  // Found by the boot test on Debian 13: `meta l4proto ipv6-icmp` needs /etc/protocols to resolve
  // the name ("Could not resolve protocol name"), so the whole apply failed there. `ip netns exec`
  // bind-mounts /etc/netns/<ns>/protocols over /etc/protocols: an empty one is a machine without it.
  const scripts = caseNames().map((name, i) => inTable(renderTransaction(loadCase(name).plan, null), `lwnp${i}`));
  scripts.push(...fixtureNames().map((name) => renderTransaction(loadFixture(name).plan, null)));
  await inFreshNetns('np', async (ns) => {
    const etc = join('/etc/netns', ns);
    mkdirSync(etc, { recursive: true });
    try {
      writeFileSync(join(etc, 'protocols'), '');
      const check = (input: string) => withNetns(realRunner, ns).run(['nft', '-c', '-f', '-'], { input, allowFail: true, timeoutMs: 60000 });
      // the control: there, a protocol name from /etc/protocols does not resolve
      const control = await check('table inet lwnpctl {\n\tchain c {\n\t\tmeta l4proto ipv6-icmp accept\n\t}\n}\n');
      assert.notEqual(control.exitCode, 0, 'the masked /etc/protocols is in effect');
      assert.match(control.stderr, /Could not resolve protocol name/);
      for (const text of scripts) {
        const r = await check(text);
        assert.equal(r.exitCode, 0, r.stderr);
      }
    } finally {
      rmSync(etc, { recursive: true, force: true });
    }
  });
});
