// Golden tests: compile every fixture (test/golden/NN_name) and every small case
// (test/golden/cases/NN_area/NN_case) and compare with the checked-in expected files.
// Regenerate after an intended change:  UPDATE_GOLDEN=1 node --import tsx --test test/golden/golden.test.ts
// and review the diff like code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { caseNames, fixtureNames, loadCase, loadFixture, renderCase, renderGolden } from './fixtures';

const update = process.env.UPDATE_GOLDEN === '1';
const names = fixtureNames();
const cases = caseNames();

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

test('golden cases exist and each has a description', () => {
  assert.ok(cases.length >= 14, `only ${cases.length} cases under test/golden/cases`);
  for (const c of cases) assert.ok(loadCase(c).description.length > 0, `${c}: description.txt missing or empty`);
});

for (const name of cases) {
  test(`golden case ${name}`, () => {
    const { dir, plan } = loadCase(name);
    for (const [file, actual] of Object.entries(renderCase(plan, dir))) {
      const path = join(dir, file);
      if (update) { writeFileSync(path, actual); continue; }
      assert.ok(existsSync(path), `${path} missing: run with UPDATE_GOLDEN=1`);
      assert.equal(actual, readFileSync(path, 'utf8'), `${name}/${file} differs (UPDATE_GOLDEN=1 regenerates)`);
    }
  });
}
