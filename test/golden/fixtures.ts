// Golden fixtures: test/golden/<NN_name>/{config.json,facts.json} → expected.* files (whole
// configurations), and small per-feature cases in fw4's tests/NN_area/NN_case layout:
// test/golden/cases/<NN_area>/<NN_case>/{description.txt,config.json,facts.json} → expected.nft
// (always) and expected.routes.json (when the case has one: create it empty, then regenerate).
import { readdirSync, readFileSync, existsSync, type Dirent } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../lib/validations/config';
import { compile, renderTransaction } from '../../lib/compile/index';
import type { Facts, Plan } from '../../lib/compile/types';

export const GOLDEN_DIR = dirname(fileURLToPath(import.meta.url));
export const CASES_DIR = join(GOLDEN_DIR, 'cases');

export interface Fixture {
  name: string;
  dir: string;
  plan: Plan;
}

const numbered = (dir: string): Dirent[] =>
  readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && /^\d\d_/.test(d.name));

export function fixtureNames(): string[] {
  return numbered(GOLDEN_DIR)
    .filter((d) => existsSync(join(GOLDEN_DIR, d.name, 'config.json')))
    .map((d) => d.name)
    .sort();
}

/** "NN_area/NN_case" of every case under test/golden/cases. */
export function caseNames(): string[] {
  if (!existsSync(CASES_DIR)) return [];
  return numbered(CASES_DIR)
    .flatMap((area) => numbered(join(CASES_DIR, area.name)).map((c) => `${area.name}/${c.name}`))
    .filter((n) => existsSync(join(CASES_DIR, n, 'config.json')))
    .sort();
}

function loadDir(name: string, dir: string): Fixture {
  const parsed = parseConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  if (!parsed.ok) throw new Error(`${name}: invalid config:\n${parsed.errors.join('\n')}`);
  const facts = JSON.parse(readFileSync(join(dir, 'facts.json'), 'utf8')) as Facts;
  return { name, dir, plan: compile(parsed.value, facts) };
}

export const loadFixture = (name: string): Fixture => loadDir(name, join(GOLDEN_DIR, name));

/** A case, with its one-paragraph description. */
export function loadCase(name: string): Fixture & { description: string } {
  const dir = join(CASES_DIR, name);
  const description = existsSync(join(dir, 'description.txt')) ? readFileSync(join(dir, 'description.txt'), 'utf8').trim() : '';
  return { ...loadDir(name, dir), description };
}

function routesJson(plan: Plan): string {
  const routes = {
    uplinks: plan.uplinks, routes: plan.routes, rules: plan.rules, sysctls: plan.sysctls,
    unresolved: plan.unresolved, warnings: plan.warnings,
  };
  return JSON.stringify(routes, null, 2) + '\n';
}

/** The three rendered golden outputs of a plan. */
export function renderGolden(plan: Plan): Record<string, string> {
  return {
    'expected.nft': plan.nftDeclaration,
    'expected.transaction.nft': renderTransaction(plan, null),
    'expected.routes.json': routesJson(plan),
  };
}

/** The outputs a case compares: the declaration, and the route plan if the case has that file. */
export function renderCase(plan: Plan, dir: string): Record<string, string> {
  const out: Record<string, string> = { 'expected.nft': plan.nftDeclaration };
  if (existsSync(join(dir, 'expected.routes.json'))) out['expected.routes.json'] = routesJson(plan);
  return out;
}
