// Which code may import which (a small deptest, after tailscale's tstest/deptest). The arrows:
//   app → components → lib;  cli → agent → lib;  cli → lab → agent/system → lib;  bench → all
// lib is pure and shared (schemas, compiler, store, web helpers) and imports none of the others;
// the agent never imports the CLI or the lab; agent/system (the seam to the kernel) imports only
// lib and itself; only agent/system/runner.ts starts processes (node:child_process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function* sources(dir: string): Generator<string> {
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'generated' && e.name !== 'node_modules') yield* sources(rel);
    } else if (/\.(ts|tsx|mts|mjs|js)$/.test(e.name)) yield rel;
  }
}

const IMPORT = /(?:^|\s)(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2]);
}

/** Does `spec`, imported from `file`, resolve into `dir` of the repository? */
function into(file: string, spec: string, dir: string): boolean {
  if (spec.startsWith('@/')) return spec.slice(2).split('/')[0] === dir;
  if (!spec.startsWith('.')) return false;
  const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec));
  return target.split(path.sep)[0] === dir;
}

test('components/, lib/ and cli/ never import from app/', () => {
  const bad: string[] = [];
  for (const dir of ['components', 'lib', 'cli']) {
    for (const f of sources(dir)) for (const s of importsOf(f)) if (into(f, s, 'app')) bad.push(`${f} imports ${s}`);
  }
  assert.deepEqual(bad, []);
});

const RULES: { from: string; never: string[] }[] = [
  { from: 'components', never: ['app', 'agent', 'cli', 'lab'] },
  { from: 'lib', never: ['app', 'components', 'agent', 'cli', 'lab', 'bench', 'test'] },
  { from: 'agent', never: ['app', 'components', 'cli', 'lab', 'bench', 'test'] },
  { from: 'cli', never: ['app', 'components', 'bench', 'test'] },
  { from: 'lab', never: ['app', 'components', 'bench', 'test'] },
  { from: 'app', never: ['agent', 'cli', 'lab', 'bench', 'test'] },
];

test('the arrows: lib, agent, cli, lab, app and components import only what they may', () => {
  const bad: string[] = [];
  for (const r of RULES) {
    for (const f of sources(r.from)) for (const s of importsOf(f)) for (const d of r.never) if (into(f, s, d)) bad.push(`${f} imports ${s} (${r.from} → ${d})`);
  }
  assert.deepEqual(bad, []);
});

test('agent/system (the seam to the kernel) imports only lib/ and itself', () => {
  const bad: string[] = [];
  for (const f of sources('agent/system')) {
    for (const s of importsOf(f)) {
      if (!s.startsWith('.')) continue;
      const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(f), s));
      if (!target.startsWith(`agent${path.sep}system${path.sep}`) && target.split(path.sep)[0] !== 'lib') bad.push(`${f} imports ${s}`);
    }
  }
  assert.deepEqual(bad, []);
});

/** The one exception: the benchmark that measures the runner against bare child_process. */
const CHILD_PROCESS_ALLOWED = new Set([path.join('agent', 'system', 'runner.ts'), path.join('bench', 'runner-cost.ts')]);

test('only the runner starts processes: nothing else imports node:child_process', () => {
  const bad: string[] = [];
  for (const dir of ['agent', 'lib', 'cli', 'lab', 'app', 'components', 'bench', 'bin']) {
    for (const f of sources(dir)) {
      if (CHILD_PROCESS_ALLOWED.has(f)) continue;
      if (importsOf(f).some((s) => s === 'node:child_process' || s === 'child_process' || s === 'execa')) bad.push(f);
    }
  }
  assert.deepEqual(bad, []);
  // the check can fail: the runner itself is found by the same scan
  assert.ok(importsOf(path.join('agent', 'system', 'runner.ts')).includes('execa'));
});

/** Value imports (not `import type`) of a file. */
function valueImportsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)].filter((m) => !/^\s*(?:import|export)\s+type\s/.test(m[0])).map((m) => m[1] ?? m[2]);
}

/** Does `spec` (from `file`) resolve to the repository path `target` (a file without extension or a folder)? */
function resolvesTo(file: string, spec: string, target: string): boolean {
  let rel: string;
  if (spec.startsWith('@/')) rel = spec.slice(2);
  else if (spec.startsWith('.')) rel = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec));
  else return false;
  rel = rel.split(path.sep).join('/');
  return rel === target || rel.startsWith(target + '/');
}

test('pages, components and route handlers read data only through the session-checked layer (lib/web/data)', () => {
  // lib/web/data.ts checks the session in every function; these modules do not.
  const UNGUARDED = ['lib/store', 'lib/db', 'lib/web/queries', 'lib/web/connections'];
  const bad: string[] = [];
  // GET /metrics is the one route that admits a scraper without a session (a bearer token or an
  // allowed source address, lib/metrics/access.ts); it checks that itself, before any read.
  const SELF_CHECKED = new Set([path.join('app', 'metrics', 'route.ts')]);
  for (const dir of ['app', 'components']) {
    for (const f of sources(dir)) {
      if (SELF_CHECKED.has(f)) continue;
      for (const s of valueImportsOf(f)) {
        for (const t of UNGUARDED) if (resolvesTo(f, s, t)) bad.push(`${f} imports ${s}`);
        // Only the sign-in pages (no session yet) use the auth modules directly.
        if (resolvesTo(f, s, 'lib/auth') && !f.startsWith(path.join('app', '(auth)'))) bad.push(`${f} imports ${s}`);
      }
    }
  }
  assert.deepEqual(bad, []);
  // The check can fail: the data layer itself imports the unguarded modules.
  assert.ok(valueImportsOf(path.join('lib', 'web', 'data.ts')).some((s) => resolvesTo(path.join('lib', 'web', 'data.ts'), s, 'lib/web/queries')));
});

test('every function lib/web/data exports is behind the session check or reads nothing', () => {
  const text = fs.readFileSync(path.join(ROOT, 'lib', 'web', 'data.ts'), 'utf8');
  const consts = [...text.matchAll(/^export const (\w+)[^=]*=\s*(\w+)\(/gm)].map((m) => [m[1], m[2]]);
  assert.ok(consts.length >= 20, `found ${consts.length} exports`);
  assert.deepEqual(consts.filter(([name, how]) => how !== 'guarded' && !(name === 'sessionUser' && how === 'cache')), []);
  assert.doesNotMatch(text, /^export (async )?function/m, 'no unguarded exported functions');
  // Re-exports: only pure helpers (no database access) from these modules.
  const reexports = [...text.matchAll(/^export \{([^}]*)\} from '([^']+)'/gm)].map((m) => `${m[2]}: ${m[1].trim()}`);
  assert.deepEqual(reexports, [
    './queries: isDemo, uplinkCounterNames, AGENT_STALE_MS',
    '../store/revisions: emptyConfig, invalidMessage',
    '../store/audit: auditFilterFrom, auditCsv',
    '../store/secrets: redactSecrets',
  ]);
});

/** The repository file a relative or "@/" import resolves to (null for packages). */
function resolveFile(file: string, spec: string): string | null {
  let base: string;
  if (spec.startsWith('@/')) base = spec.slice(2);
  else if (spec.startsWith('.')) base = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec));
  else return null;
  for (const cand of [base, `${base}.ts`, `${base}.tsx`, `${base}.mjs`, `${base}.js`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(path.join(ROOT, cand)) && fs.statSync(path.join(ROOT, cand)).isFile()) return cand;
  }
  return null;
}

test('client components pull no zod into the browser (its JIT probe is an eval the CSP refuses)', () => {
  const isDirective = (f: string, d: string) => new RegExp(`^\\s*(?://[^\\n]*\\n\\s*)*['"]${d}['"]`).test(fs.readFileSync(path.join(ROOT, f), 'utf8'));
  const bad: string[] = [];
  let clients = 0;
  for (const dir of ['app', 'components']) {
    for (const f of sources(dir)) {
      if (!isDirective(f, 'use client')) continue;
      clients++;
      const seen = new Set<string>();
      const walk = (file: string, chain: string[]) => {
        if (seen.has(file)) return;
        seen.add(file);
        for (const s of valueImportsOf(file)) {
          if (s === 'zod' || s.startsWith('zod/')) bad.push([...chain, file, s].join(' → '));
          const next = resolveFile(file, s);
          // A 'use server' module reaches the browser as references only.
          if (next && !isDirective(next, 'use server')) walk(next, [...chain, file]);
        }
      };
      walk(f, []);
    }
  }
  assert.ok(clients >= 10, `found ${clients} client components`);
  assert.deepEqual(bad, []);
});
