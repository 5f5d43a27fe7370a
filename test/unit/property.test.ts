// Property tests of the configuration document (issue 12), generators in test/property/arbitraries.ts:
//  - 1 000 random valid documents (with matching facts) pass parseConfig, compile, render, keep
//    every enabled item in the ruleset, give each uplink the reason its facts call for, and
//    round-trip through `linkward export` (exportJson) and the canonical JSON (configJson);
//  - 1 000 random mutations of valid documents are either valid (and then compile too) or
//    refused with `path: message` errors that name the mutated field (or a documented cross-field
//    rule) — never a crash;
//  - a sample of those mutations through the real write path (saveConfig on a migrated temp
//    database): a refused one stores no revision and no audit row, an accepted one exactly one
//    revision that exports back to the same config.
// Deterministic: the seed is printed; FC_SEED=<n> reproduces or changes it, FC_RUNS=<n> the count.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { parseConfig, type Config } from '../../lib/validations/config';
import { familyOf } from '../../lib/validations/net';
import { compile, renderTransaction } from '../../lib/compile/index';
import type { Facts, Plan } from '../../lib/compile/types';
import {
  scenarioArb, mutationArb, intendedReasons, propertySeed, propertyRuns, type Scenario, type Mutation,
} from '../property/arbitraries';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-property-'));
process.env.LINKWARD_DB = path.join(dir, 'property.db');
const { saveConfig, latestRevision, configJson, exportJson } = await import('../../lib/store/revisions');
const { prisma, disconnect } = await import('../../lib/db/prisma');

after(async () => {
  await disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

const SEED = propertySeed();
const RUNS = propertyRuns(1000);
/** Mutations through saveConfig (each one a write transaction on SQLite). */
const SAVE_RUNS = Number(process.env.FC_SAVE_RUNS ?? RUNS);

/** Every byte nft gets is printable ASCII, tab or newline: no free text reaches the kernel. */
const NFT_TEXT = /^[\x20-\x7e\t\n]*$/;
/** An error path as formatPath writes it, or the document-level marker. */
const PATH_RE = /^(\(document\)|[A-Za-z][A-Za-z0-9]*(?:\[\d+\]|\.[A-Za-z][A-Za-z0-9]*)*)$/;
/** Cross-field rules: their error lands on the referring/conflicting field, not on the mutated one. */
const CROSS_FIELD = /needs protocol|unknown uplink|unknown address list|duplicate name|is already used by|would block|not inside any LAN|number of targets|targets must be distinct|removes every LAN/;

function mustParse(doc: unknown): Config {
  const r = parseConfig(doc);
  if (!r.ok) assert.fail(`valid document refused:\n${r.errors.join('\n')}`);
  return r.value;
}

function compileAndRender(config: Config, facts: Facts): { plan: Plan; tx: string } {
  const plan = compile(config, facts);
  const tx = renderTransaction(plan, null);
  assert.match(tx, NFT_TEXT, 'the transaction carries a byte that is not printable ASCII');
  return { plan, tx };
}

/** The config as JSON carries it. (zod keeps an optional key given as `undefined`, e.g. from a
 *  mutation; JSON drops it: that is the only difference JSON makes to a parsed config.) */
const asJson = (c: Config): Config => JSON.parse(configJson(c));

/** `linkward export` output and the canonical JSON both re-parse to the same config, byte for byte. */
function roundTrip(config: Config): void {
  const exported = exportJson(config);
  const back = mustParse(JSON.parse(exported));
  assert.deepStrictEqual(back, asJson(config), 'export → import changed the config');
  assert.equal(exportJson(back), exported, 'export is not a fixpoint');
  const canon = configJson(config);
  const again = mustParse(JSON.parse(canon));
  assert.equal(configJson(again), canon, 'the canonical JSON changed on a re-parse');
}

/** Nothing enabled is silently left out of the ruleset, nothing disabled is in it. */
function checkItems(config: Config, plan: Plan): void {
  const decl = plan.nftDeclaration;
  const has = (kind: string, name: string) => decl.includes(`comment "lw:${kind}:${name}"`);
  const lanIfs = config.lan.length;
  // A rule whose addresses and lists share no family is left out with a warning, never silently.
  const contradiction = (name: string) => plan.warnings.some((w) => w.startsWith(`rule ${name}: its addresses and lists share no address family`));
  for (const r of config.rules) assert.equal(has('rule', r.name), r.enabled && !contradiction(r.name), `rule ${r.name} (enabled ${r.enabled})`);
  for (const s of config.services) {
    const listens = (s.uplinks ?? config.uplinks).length > 0 || (s.lan && lanIfs > 0);
    assert.equal(has('service', s.name), s.enabled && listens, `service ${s.name}`);
  }
  for (const f of config.portForwards) {
    const kind = familyOf(f.to) === 6 ? 'pinhole' : 'forward';
    assert.equal(has(kind, f.name), f.enabled && (f.uplinks ?? config.uplinks).length > 0, `port forward ${f.name} (${kind})`);
  }
  const usable = new Set(plan.uplinks.filter((u) => u.active || u.reason?.code === 'backup').map((u) => u.name));
  // An IPv6 policy also needs its uplink's IPv6 usable (else skipped, with a warning).
  const usable6 = new Set(plan.uplinks.filter((u) => u.v6 && (u.v6.active || u.v6.reason?.code === 'backup')).map((u) => u.name));
  for (const p of config.policies) {
    const six = [p.source, p.destination].some((a) => a !== undefined && familyOf(a) === 6);
    const expected = p.enabled && usable.has(p.uplink) && (!six || usable6.has(p.uplink));
    assert.equal(has('policy', p.name), expected, `policy ${p.name}`);
    if (p.enabled && usable.has(p.uplink) && !expected) assert.ok(plan.warnings.some((w) => w.startsWith(`policy ${p.name}: uplink ${p.uplink} has no usable IPv6`)), `policy ${p.name}: skipped without a warning`);
  }
  for (const u of config.uplinks) assert.ok(decl.includes(`oifname "${u.interface}" masquerade`), `masquerade on ${u.interface}`);
}

function checkValidScenario(s: Scenario): void {
  const config = mustParse(s.doc);
  const { plan } = compileAndRender(config, s.facts);
  const intended = intendedReasons(s);
  for (const u of plan.uplinks) assert.equal(u.reason?.code ?? null, intended[u.name], `uplink ${u.name}: ${u.reason?.detail ?? 'active'}`);
  checkItems(config, plan);
  roundTrip(config);
}

const related = (a: string, b: string) =>
  a === b || a === '(document)' || b === '(document)' || a.startsWith(`${b}.`) || a.startsWith(`${b}[`) || b.startsWith(`${a}.`) || b.startsWith(`${a}[`);

/** Every error is "path: message" with a well-formed path and a bounded length (junk is never
 *  echoed whole); one of them names the mutated field or is a documented cross-field rule. */
function checkRefusal(errors: string[], m: Pick<Mutation, 'path'> | null): void {
  assert.ok(errors.length > 0, 'refused without an error');
  const paths = errors.map((e) => {
    const i = e.indexOf(': ');
    assert.ok(i > 0, `error without a path: ${JSON.stringify(e.slice(0, 200))}`);
    const p = e.slice(0, i);
    assert.match(p, PATH_RE, `malformed error path in ${JSON.stringify(e.slice(0, 200))}`);
    assert.ok(e.length > i + 2, `error without a message: ${e}`);
    assert.ok(e.length <= 500, `error of ${e.length} characters (junk echoed?): ${JSON.stringify(e.slice(0, 200))}…`);
    return p;
  });
  if (m) {
    assert.ok(
      paths.some((p) => related(p, m.path)) || errors.some((e) => CROSS_FIELD.test(e)),
      `no error names ${m.path}:\n${errors.map((e) => e.slice(0, 300)).join('\n')}`,
    );
  }
}

function checkMutation(m: Mutation): void {
  const r = parseConfig(m.doc);
  if (r.ok) {
    compileAndRender(r.value, m.facts);
    roundTrip(r.value);
  } else checkRefusal(r.errors, m);
}

test(`${RUNS} random valid documents: parse, compile, render, export round trip`, (t) => {
  t.diagnostic(`seed ${SEED} (FC_SEED=${SEED} reproduces)`);
  const t0 = performance.now();
  fc.assert(fc.property(scenarioArb, (s) => checkValidScenario(s)), { seed: SEED, numRuns: RUNS, includeErrorInReport: true });
  t.diagnostic(`${RUNS} documents in ${Math.round(performance.now() - t0)} ms`);
});

test(`${RUNS} random mutations: valid, or refused with field paths; never a crash`, (t) => {
  t.diagnostic(`seed ${SEED}`);
  const kinds = new Map<string, { valid: number; refused: number }>();
  const t0 = performance.now();
  fc.assert(
    fc.property(mutationArb, (m) => {
      checkMutation(m);
      const k = kinds.get(m.kind) ?? { valid: 0, refused: 0 };
      if (parseConfig(m.doc).ok) k.valid++;
      else k.refused++;
      kinds.set(m.kind, k);
    }),
    { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
  );
  t.diagnostic(`${RUNS} mutations in ${Math.round(performance.now() - t0)} ms: ${[...kinds].map(([k, v]) => `${k} ${v.refused} refused/${v.valid} valid`).join(', ')}`);
  // the generator really produces both outcomes (else the property above proves little)
  const total = [...kinds.values()].reduce((a, v) => ({ valid: a.valid + v.valid, refused: a.refused + v.refused }), { valid: 0, refused: 0 });
  if (RUNS >= 200) {
    assert.ok(total.refused > RUNS / 2, `only ${total.refused} of ${RUNS} mutations refused`);
    assert.ok(total.valid > 0, 'no mutation stayed valid');
  }
});

const count = async () => ({ revisions: await prisma().revision.count(), audit: await prisma().auditLog.count() });

test(`${SAVE_RUNS} mutations through saveConfig: a refused one stores nothing`, async (t) => {
  t.diagnostic(`seed ${SEED}, database ${process.env.LINKWARD_DB}`);
  let stored = 0;
  let refused = 0;
  const t0 = performance.now();
  await fc.assert(
    fc.asyncProperty(mutationArb, async (m) => {
      const before = await count();
      const r = await saveConfig(m.doc, { author: 'property', source: 'import' });
      const afterCount = await count();
      if (!r.ok) {
        refused++;
        assert.deepEqual(afterCount, before, `refused (${r.errors[0]?.slice(0, 200)}) but something was stored`);
        checkRefusal(r.errors, null);
        return;
      }
      const expected = mustParse(m.doc);
      const n = r.changed ? 1 : 0;
      stored += n;
      assert.deepEqual(afterCount, { revisions: before.revisions + n, audit: before.audit + n });
      const latest = await latestRevision();
      assert.ok(latest && latest.id === r.revision);
      assert.deepStrictEqual(latest.config, asJson(expected), 'the stored revision differs from the validated document');
      roundTrip(latest.config);
    }),
    { seed: SEED, numRuns: SAVE_RUNS, includeErrorInReport: true },
  );
  t.diagnostic(`${SAVE_RUNS} saves in ${Math.round(performance.now() - t0)} ms: ${refused} refused, ${stored} stored`);
  assert.ok(refused > 0 && (SAVE_RUNS < 50 || stored > 0), `refused ${refused}, stored ${stored}`);
});
