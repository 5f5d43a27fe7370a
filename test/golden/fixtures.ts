// Golden fixtures: test/golden/<NN_name>/{config.json,facts.json} → expected.* files.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../lib/validations/config';
import { compile, renderTransaction } from '../../lib/compile/index';
import type { Facts, Plan } from '../../lib/compile/types';

export const GOLDEN_DIR = dirname(fileURLToPath(import.meta.url));

export interface Fixture {
  name: string;
  dir: string;
  plan: Plan;
}

export function fixtureNames(): string[] {
  return readdirSync(GOLDEN_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d\d_/.test(d.name) && existsSync(join(GOLDEN_DIR, d.name, 'config.json')))
    .map((d) => d.name)
    .sort();
}

export function loadFixture(name: string): Fixture {
  const dir = join(GOLDEN_DIR, name);
  const parsed = parseConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  if (!parsed.ok) throw new Error(`${name}: invalid config:\n${parsed.errors.join('\n')}`);
  const facts = JSON.parse(readFileSync(join(dir, 'facts.json'), 'utf8')) as Facts;
  return { name, dir, plan: compile(parsed.value, facts) };
}

/** The three rendered golden outputs of a plan. */
export function renderGolden(plan: Plan): Record<string, string> {
  const routes = {
    uplinks: plan.uplinks, routes: plan.routes, rules: plan.rules, sysctls: plan.sysctls,
    unresolved: plan.unresolved, warnings: plan.warnings,
  };
  return {
    'expected.nft': plan.nftDeclaration,
    'expected.transaction.nft': renderTransaction(plan, null),
    'expected.routes.json': JSON.stringify(routes, null, 2) + '\n',
  };
}
