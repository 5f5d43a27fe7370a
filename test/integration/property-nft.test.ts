// Kernel property test (root; issue 12): the transactions of 1 000 random valid documents
// (test/property/arbitraries.ts, the same seed and the same documents as test/unit/property.test.ts),
// and of the random mutations of test/unit/property.test.ts that are still valid, each pass
// `nft -c` in a private network namespace. Each transaction is moved into a table of
// its own (inet lwp<i>, as nft-check.test.ts does for the golden cases) and BATCH tables go into
// one `nft -c` invocation; a failing batch is bisected down to the documents the kernel refuses,
// and the first of them is shrunk by fast-check to a minimal document (printed with its facts,
// the seed and the run index). A kernel-refused plan is a bug of ours, not of the user.
// FC_SEED / FC_RUNS / FC_NFT_BATCH override seed, count and batch size.
// No traffic is sent. Namespace: lwp<pid>n<rand>, deleted in `finally`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { withNetns, realRunner } from '../../agent/system/runner';
import { NFT_FAMILY, NFT_TABLE_REF, compile, renderTransaction } from '../../lib/compile/index';
import { parseConfig } from '../../lib/validations/config';
import { scenarioArb, mutationArb, propertySeed, propertyRuns } from '../property/arbitraries';
import type { Facts } from '../../lib/compile/types';

const isRoot = process.getuid?.() === 0;
const SEED = propertySeed();
const RUNS = propertyRuns(1000);
const BATCH = Math.max(1, Number(process.env.FC_NFT_BATCH ?? 25));
const NS = `lwp${process.pid}n${Math.floor(Math.random() * 1e6).toString(36)}`;

/** The transaction with every reference to table inet linkward moved to inet <table>. */
const inTable = (text: string, table: string) => text.replace(new RegExp(`\\b${NFT_TABLE_REF}\\b`, 'g'), `${NFT_FAMILY} ${table}`);

/** The transaction of a valid document in table inet <table>, or null for an invalid document. */
function script(s: { doc: unknown; facts: Facts }, table: string): string | null {
  const p = parseConfig(s.doc);
  if (!p.ok) return null;
  const moved = inTable(renderTransaction(compile(p.value, s.facts), null), table);
  if (moved.includes(NFT_TABLE_REF)) throw new Error(`a reference to ${NFT_TABLE_REF} was not moved to ${table}`);
  return moved;
}

const check = (input: string) => withNetns(realRunner, NS).run(['nft', '-c', '-f', '-'], { input, allowFail: true, timeoutMs: 120000 });

/** Indices (into `scripts`) of the scripts nft -c refuses, given that the batch `idx` fails. */
async function bisect(scripts: string[], idx: number[]): Promise<number[]> {
  if (idx.length === 1) return idx;
  const halves = [idx.slice(0, idx.length >> 1), idx.slice(idx.length >> 1)];
  const out: number[] = [];
  for (const h of halves) {
    if ((await check(h.map((i) => scripts[i]).join(''))).exitCode !== 0) out.push(...(await bisect(scripts, h)));
  }
  return out; // empty: only the combination fails (reported by the caller)
}

test(`${RUNS} random valid documents: every transaction passes nft -c (batched)`, { skip: !isRoot && 'needs root' }, async (t) => {
  t.diagnostic(`seed ${SEED} (FC_SEED=${SEED} reproduces), batches of ${BATCH}`);
  const t0 = performance.now();
  // every generated document (they are valid by construction), then the mutations that stayed valid
  const items: { label: string; arb: fc.Arbitrary<{ doc: unknown; facts: Facts }>; run: number; doc: unknown; facts: Facts; text: string }[] = [];
  fc.sample(scenarioArb, { seed: SEED, numRuns: RUNS }).forEach((s, run) => {
    const text = script(s, `lwp${items.length}`);
    if (text === null) throw new Error(`generated document ${run} is invalid: ${JSON.stringify(parseConfig(s.doc))}`);
    items.push({ label: `document ${run}`, arb: scenarioArb, run, doc: s.doc, facts: s.facts, text });
  });
  let validMutations = 0;
  fc.sample(mutationArb, { seed: SEED, numRuns: RUNS }).forEach((m, run) => {
    const text = script(m, `lwp${items.length}`);
    if (text === null) return;
    validMutations++;
    items.push({ label: `mutation ${run} (${m.kind} ${m.path})`, arb: mutationArb, run, doc: m.doc, facts: m.facts, text });
  });
  const scripts = items.map((x) => x.text);
  const t1 = performance.now();
  const bytes = scripts.reduce((n, s) => n + s.length, 0);
  await realRunner.run(['ip', 'netns', 'add', NS]);
  try {
    // the check can fail: a script referring to a set that does not exist is refused
    assert.notEqual((await check('table inet lwbad {\n\tchain c {\n\t\tip saddr @nope drop\n\t}\n}\n')).exitCode, 0);
    const failing: number[] = [];
    const comboOnly: string[] = [];
    for (let b = 0; b < scripts.length; b += BATCH) {
      const idx = scripts.slice(b, b + BATCH).map((_, j) => b + j);
      const r = await check(idx.map((i) => scripts[i]).join(''));
      if (r.exitCode === 0) continue;
      const bad = await bisect(scripts, idx);
      if (bad.length === 0) comboOnly.push(`batch ${b}..${b + idx.length - 1}: ${r.stderr.slice(0, 2000)}`);
      failing.push(...bad);
    }
    const t2 = performance.now();
    t.diagnostic(`${items.length} transactions (${RUNS} documents + ${validMutations} valid mutations, ${Math.round(bytes / 1024)} KiB): generate+compile+render ${Math.round(t1 - t0)} ms, nft -c ${Math.round(t2 - t1)} ms`);
    if (failing.length === 0 && comboOnly.length === 0) return;

    const report: string[] = [`nft -c refused ${failing.length} of ${items.length} transactions (seed ${SEED}): ${failing.map((i) => items[i].label).join(', ')}`, ...comboOnly];
    for (const i of failing.slice(0, 3)) {
      const alone = await check(scripts[i]);
      report.push(`--- ${items[i].label} (FC_SEED=${SEED}), nft -c:\n${alone.stderr.slice(0, 3000)}`);
      report.push(`document:\n${JSON.stringify(items[i].doc)}\nfacts:\n${JSON.stringify(items[i].facts)}`);
    }
    // shrink the first failure to a minimal document (fast-check replays run `path` and shrinks it;
    // shrinking keeps to valid documents: an invalid candidate counts as passing)
    const first = items[failing[0] ?? 0];
    const accepted = async (s: { doc: unknown; facts: Facts }) => {
      const text = script(s, 'lwshrink');
      return text === null || (await check(text)).exitCode === 0;
    };
    const shrunk = await fc.check(fc.asyncProperty(first.arb, accepted), { seed: SEED, path: String(first.run), numRuns: RUNS });
    if (shrunk.failed && shrunk.counterexample) {
      const [s] = shrunk.counterexample;
      const r = await check(script(s, 'lwshrink')!);
      report.push(`--- minimal counterexample (shrunk ${shrunk.numShrinks} times, path ${shrunk.counterexamplePath}):\n${JSON.stringify(s.doc, null, 1)}\nfacts:\n${JSON.stringify(s.facts)}\nnft -c:\n${r.stderr.slice(0, 3000)}`);
    }
    assert.fail(report.join('\n'));
  } finally {
    await realRunner.run(['ip', 'netns', 'del', NS], { allowFail: true });
  }
});
