// Which code may import which (a small deptest, after tailscale's tstest/deptest): the Next.js
// routes in app/ use components/ and lib/; components/ and lib/ never import from app/ (server
// actions live in lib/web/actions). cli/ and lib/ never import the app either.
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
