// Hand-written plans for agent/system tests (the compiler is developed in parallel).
import type { Plan, RouteSpec, RuleSpec } from '../../lib/compile/types';

export function nftDecl(opts: { counters: string[]; extraRule?: string; sets?: string[] }): string {
  const lines = ['table inet linkward {'];
  for (const c of opts.counters) lines.push(`\tcounter ${c} {`, '\t}');
  for (const s of opts.sets ?? []) lines.push(`\tset ${s} {`, '\t\ttype ipv4_addr', '\t}');
  lines.push('\tchain input {', '\t\ttype filter hook input priority 0; policy accept;');
  for (const c of opts.counters) lines.push(`\t\tiifname "lo" counter name "${c}" accept comment "lw:${c}"`);
  if (opts.extraRule) lines.push(`\t\t${opts.extraRule}`);
  lines.push('\t}', '}');
  return lines.join('\n') + '\n';
}

export function makePlan(over: Partial<Plan> = {}, counters = ['lw_r_a', 'lw_r_b']): Plan {
  const routes: RouteSpec[] = [
    { table: 200, dst: 'default', dev: 'u1', nexthops: [{ via: '10.1.0.1', dev: 'u1', weight: 3 }, { via: '10.2.0.1', dev: 'u2', weight: 1 }] },
    { table: 201, dst: 'default', dev: 'u1', via: '10.1.0.1' },
    { table: 201, dst: '10.1.0.0/24', dev: 'u1', src: '10.1.0.2', scope: 'link' },
    { table: 202, dst: 'default', dev: 'u2', via: '10.2.0.1' },
    { table: 202, dst: '10.2.0.0/24', dev: 'u2', src: '10.2.0.2' },
  ];
  const rules: RuleSpec[] = [
    { priority: 10000, table: 'main', suppressPrefixlength: 0 },
    { priority: 10101, table: 201, fwmark: { value: 0x100, mask: 0xff00 } },
    { priority: 10102, table: 202, fwmark: { value: 0x200, mask: 0xff00 } },
    { priority: 10201, table: 201, from: '10.1.0.2' },
    { priority: 10202, table: 202, from: '10.2.0.2/32' },
    { priority: 10900, table: 200 },
  ];
  return {
    nftDeclaration: nftDecl({ counters }),
    inventory: { chains: ['input'], sets: [], maps: [], counters: [...counters].sort(), ctHelpers: [] },
    dynamicSets: [],
    routes,
    rules,
    sysctls: { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.u1.rp_filter': '2', 'net.ipv4.conf.u2.rp_filter': '2' },
    counters: counters.map((name) => ({ name, kind: 'rule' as const, ref: name })),
    uplinks: [],
    unresolved: [],
    warnings: [],
    ...over,
  };
}
