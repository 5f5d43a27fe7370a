// Plans for agent/system tests, built by the real compiler from a small config (two uplinks u1
// 10.1.0.2/24 via 10.1.0.1 weight 3, u2 10.2.0.2/24 via 10.2.0.1 weight 1, LAN lan0) and fixed
// facts, so the agent side is tested against exactly what compile() produces.
import { compile } from '../../lib/compile/compile';
import { parseConfig } from '../../lib/validations/config';
import type { Facts, Plan } from '../../lib/compile/types';

export const FIXTURE_FACTS: Facts = {
  interfaces: {
    u1: { name: 'u1', exists: true, up: true, carrier: true, addresses: [{ address: '10.1.0.2', prefix: 24 }] },
    u2: { name: 'u2', exists: true, up: true, carrier: true, addresses: [{ address: '10.2.0.2', prefix: 24 }] },
    lan0: { name: 'lan0', exists: true, up: true, carrier: true, addresses: [{ address: '192.168.1.1', prefix: 24 }] },
  },
  health: {},
};

/** The fixture config; every name in `rules` becomes an output rule accepting ICMP (counter lw_r_<name>). */
export function fixtureConfig(rules: string[]): unknown {
  return {
    version: 1,
    lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
    uplinks: [
      { name: 'one', interface: 'u1', gateway: '10.1.0.1', weight: 3 },
      { name: 'two', interface: 'u2', gateway: '10.2.0.1', weight: 1 },
    ],
    rules: rules.map((name) => ({ name, chain: 'output', action: 'accept', protocol: 'icmp' })),
  };
}

/** compile() of the fixture config with rule counters `counters` (names lw_r_<rule>), then `over`. */
export function makePlan(over: Partial<Plan> = {}, counters = ['lw_r_a', 'lw_r_b']): Plan {
  const parsed = parseConfig(fixtureConfig(counters.map((c) => c.replace(/^lw_r_/, ''))));
  if (!parsed.ok) throw new Error(`fixture config invalid: ${parsed.errors.join('; ')}`);
  return { ...compile(parsed.value, FIXTURE_FACTS), ...over };
}

/** The plan's declaration with one more rule line at the top of chain `chain` (e.g. a broken one). */
export function withRule(plan: Plan, rule: string, chain = 'output'): string {
  const head = `\tchain ${chain} {\n`;
  const at = plan.nftDeclaration.indexOf(head);
  if (at < 0) throw new Error(`no chain ${chain}`);
  const hook = plan.nftDeclaration.indexOf('\n', at + head.length) + 1; // after the hook line
  return plan.nftDeclaration.slice(0, hook) + `\t\t${rule}\n` + plan.nftDeclaration.slice(hook);
}

/** Rule counters only (lw_r_*), sorted. */
export const ruleCounters = (names: string[] | undefined): string[] => (names ?? []).filter((n) => n.startsWith('lw_r_')).sort();
