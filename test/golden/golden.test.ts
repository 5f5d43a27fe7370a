// Golden tests: compile every fixture and compare with the checked-in expected files.
// Regenerate after an intended change:  UPDATE_GOLDEN=1 node --import tsx --test test/golden/golden.test.ts
// and review the diff like code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureNames, loadFixture, renderGolden } from './fixtures';

const update = process.env.UPDATE_GOLDEN === '1';
const names = fixtureNames();

test('golden fixtures exist', () => {
  for (const n of ['01_minimal', '02_example', '03_many_rules', '04_two_uplinks', '05_four_uplinks_tiers', '06_sticky_policies']) {
    assert.ok(names.includes(n), `missing fixture ${n}`);
  }
});

for (const name of names) {
  test(`golden ${name}`, () => {
    const { dir, plan } = loadFixture(name);
    for (const [file, actual] of Object.entries(renderGolden(plan))) {
      const path = join(dir, file);
      if (update) { writeFileSync(path, actual); continue; }
      assert.ok(existsSync(path), `${path} missing: run with UPDATE_GOLDEN=1`);
      assert.equal(actual, readFileSync(path, 'utf8'), `${name}/${file} differs (UPDATE_GOLDEN=1 regenerates)`);
    }
  });
}
