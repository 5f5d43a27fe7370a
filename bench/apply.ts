// Apply latency: from a new desired revision committed to SQLite (t0) to the kernel carrying the
// plan's marker (lw_meta rule comment = "lw:" + planHash of the expected plan), with the real agent
// running in the lab's router namespace. The kernel is polled; the agent's own report is only shown
// next to it.
import { saveConfig } from '../lib/store/revisions';
import type { ConfigInput } from '../lib/validations/config';
import { benchConfig, blocklistEntries, percentile, median, round, linearFit } from './stats';
import { type BenchLab, expectedMarker, MarkerWatch, BACKSTOP_MS, QUIET_BACKSTOP_MS, agentReport, sleep, startAgent, stopAgent } from './env';

export interface SeriesResult {
  name: string;
  size: number;
  kind: 'rules' | 'rules-load' | 'rules-full' | 'set-load' | 'set-unload' | 'set-one-entry';
  changes: number;
  ok: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
  agentApplyP50: number | null;
  writeP50: number | null;
}

async function save(doc: ConfigInput, summary: string): Promise<void> {
  const r = await saveConfig(doc, { author: 'bench', source: 'cli', summary });
  if (!r.ok) throw new Error(`bench: config rejected: ${r.errors.slice(0, 3).join('; ')}`);
}

interface Raw { lat: number[]; agentMs: number[]; writeMs: number[]; changes: number; ok: number }

/** Write each doc in turn, measure commit → kernel. `label(i)` files change i under a series (null =
 *  preparatory, not counted). Random 100-400 ms gaps so changes land at a random phase of the agent's poll. */
async function measure(L: BenchLab, watch: MarkerWatch, name: string, docs: ConfigInput[], timeoutMs: number, label: (i: number) => string | null): Promise<Map<string, Raw>> {
  const out = new Map<string, Raw>();
  for (let i = 0; i < docs.length; i++) {
    const marker = await expectedMarker(L, docs[i]);
    watch.reset();
    const w0 = performance.now();
    await save(docs[i], `${name} ${i}`);
    const t0 = performance.now();
    const ms = await watch.wait(marker, t0, timeoutMs);
    const key = label(i);
    if (key === null) {
      if (ms === null) throw new Error(`${name}: preparatory change ${i} did not reach the kernel in ${timeoutMs} ms`);
      await sleep(150);
      continue;
    }
    const r = out.get(key) ?? { lat: [], agentMs: [], writeMs: [], changes: 0, ok: 0 };
    out.set(key, r);
    r.changes++;
    r.writeMs.push(t0 - w0);
    if (ms !== null) {
      r.ok++;
      r.lat.push(ms);
      // the agent records applyMs right after its apply; give it a moment
      for (let k = 0; k < 40; k++) {
        const rep = agentReport(L);
        const latest = (L.db.prepare('SELECT MAX(id) AS id FROM Revision').get() as { id: number }).id;
        if (rep.appliedRevision === latest && rep.applyMs !== null) {
          r.agentMs.push(rep.applyMs);
          break;
        }
        await sleep(10);
      }
    }
    await sleep(100 + Math.random() * 300);
  }
  return out;
}

function summarize(name: string, size: number, kind: SeriesResult['kind'], r: Raw | undefined): SeriesResult {
  const x = r ?? { lat: [], agentMs: [], writeMs: [], changes: 0, ok: 0 };
  return {
    name, size, kind, changes: x.changes, ok: x.ok,
    p50: round(percentile(x.lat, 50)), p95: round(percentile(x.lat, 95)), max: x.lat.length ? round(Math.max(...x.lat)) : null,
    agentApplyP50: round(median(x.agentMs)), writeP50: round(median(x.writeMs)),
  };
}

export interface ApplyBenchOptions {
  ruleSizes: number[];
  changes: number;
  setSize: number;
  setChanges: number;
  log: (s: string) => void;
}

export interface ApplyBenchResult {
  series: SeriesResult[];
  /** ms per 1 000 rules (least squares over the rules series p50). */
  slopeMsPer1000Rules: number | null;
  interceptMs: number | null;
}

export async function applyBench(L: BenchLab, o: ApplyBenchOptions): Promise<ApplyBenchResult> {
  const series: SeriesResult[] = [];
  const base = L.baseConfig;
  const watch = new MarkerWatch(L);
  await sleep(500); // let `nft monitor` subscribe
  try {
  for (const n of o.ruleSizes) {
    o.log(`apply: ${n} rules × ${o.changes} one-rule changes`);
    const docs = [benchConfig(base, { rules: n, flip: 0 })];
    for (let i = 1; i <= o.changes; i++) docs.push(benchConfig(base, { rules: n, flip: i }));
    const m = await measure(L, watch, `rules-${n}`, docs, 60000, (i) => (i > 0 ? 'x' : null));
    series.push(summarize(`rules-${n}`, n, 'rules', m.get('x')));
  }
  // Blocklist of setSize entries: load it (the previous revision had none), unload it, alternately.
  const big = blocklistEntries(o.setSize);
  o.log(`apply: ${o.setSize}-entry blocklist load/unload × ${o.setChanges}`);
  const without = benchConfig(base, { rules: 10, flip: 0 });
  const withList = benchConfig(base, { rules: 10, flip: 0, blocklist: big });
  const alt: ConfigInput[] = [without];
  // a distinct plan each time (flip), like the loads below: no stale monitor line can match
  for (let i = 0; i < 2 * o.setChanges; i++) alt.push(i % 2 === 0 ? benchConfig(base, { rules: 10, flip: 2000 + i, blocklist: big }) : benchConfig(base, { rules: 10, flip: 2000 + i }));
  const m = await measure(L, watch, `set-${o.setSize}`, alt, 60000, (i) => (i === 0 ? null : i % 2 === 1 ? 'load' : 'unload'));
  series.push(summarize(`set-${o.setSize}-load`, o.setSize, 'set-load', m.get('load')));
  series.push(summarize(`set-${o.setSize}-unload`, o.setSize, 'set-unload', m.get('unload')));
  // One-entry change to the big list: a different first address each time.
  o.log(`apply: one-entry change to a ${o.setSize}-entry list × ${o.setChanges * 2}`);
  const one: ConfigInput[] = [withList];
  for (let i = 1; i <= o.setChanges * 2; i++) {
    const entries = [...big];
    entries[0] = `10.255.${(i >> 8) & 255}.${i & 255}/32`;
    one.push(benchConfig(base, { rules: 10, flip: 0, blocklist: entries }));
  }
  const m1 = await measure(L, watch, `set-${o.setSize}-one`, one, 60000, (i) => (i > 0 ? 'x' : null));
  series.push(summarize(`set-${o.setSize}-one-entry`, o.setSize, 'set-one-entry', m1.get('x')));
  // The biggest rule set: loading it (from 10 rules) and, side by side, one-rule changes with the
  // agent's partial sync switched off (LINKWARD_NFT_PARTIAL=0: every chain flushed and refilled).
  const n = Math.max(...o.ruleSizes);
  if (n >= 1000) {
    o.log(`apply: ${n} rules loaded from 10 × ${Math.ceil(o.changes / 2)}`);
    const loads: ConfigInput[] = [benchConfig(base, { rules: 10, flip: 0 })];
    // every load and unload its own plan marker (flip): a late monitor line of an earlier load of
    // the same plan must not count as this one's (nft monitor prints 10 000 rules for a while)
    for (let i = 0; i < 2 * Math.ceil(o.changes / 2); i++) loads.push(i % 2 === 0 ? benchConfig(base, { rules: n, flip: 1000 + i }) : benchConfig(base, { rules: 10, flip: 1000 + i }));
    const ml = await measure(L, watch, `rules-${n}-load`, loads, 60000, (i) => (i === 0 ? null : i % 2 === 1 ? 'load' : null));
    series.push(summarize(`rules-${n}-load`, n, 'rules-load', ml.get('load')));
    o.log(`apply: ${n} rules × ${o.changes} one-rule changes, partial sync off`);
    await stopAgent(L);
    startAgent(L, [], [], undefined, { LINKWARD_NFT_PARTIAL: '0' });
    const docs = [benchConfig(base, { rules: n, flip: 100 })];
    for (let i = 1; i <= o.changes; i++) docs.push(benchConfig(base, { rules: n, flip: 100 + i }));
    const mf = await measure(L, watch, `rules-${n}-full`, docs, 60000, (i) => (i > 0 ? 'x' : null));
    series.push(summarize(`rules-${n}-full`, n, 'rules-full', mf.get('x')));
    await stopAgent(L);
    startAgent(L);
  }
  } finally {
    watch.stop();
  }
  o.log(`apply: marker detection: ${watch.stats.monitor} by nft monitor event, ${watch.stats.poll} by the backstop poll (${BACKSTOP_MS} ms once the monitor printed or lost anything, else ${QUIET_BACKSTOP_MS} ms), ${watch.stats.restarts} monitor restarts ${watch.stats.errors.join(' | ')}`);
  const rs = series.filter((s) => s.kind === 'rules' && s.p50 !== null);
  const fit = linearFit(rs.map((s) => s.size), rs.map((s) => s.p50 as number));
  return { series, slopeMsPer1000Rules: round(fit.slope * 1000), interceptMs: round(fit.intercept) };
}
