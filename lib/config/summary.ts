import type { Config } from '../validations/config';

type Named = { name: string };
const SECTIONS: [keyof Config, string][] = [
  ['lan', 'LAN'],
  ['uplinks', 'uplink'],
  ['services', 'service'],
  ['rules', 'rule'],
  ['addressLists', 'address list'],
  ['portForwards', 'port forward'],
  ['policies', 'policy'],
];

const stable = (v: unknown) => JSON.stringify(v);

/** Plain-language one-line summary of what changes from a to b ("adds rule no-telnet; disables uplink lte"). */
export function summarizeChange(a: Config | null, b: Config): string {
  if (!a) return 'initial configuration';
  const parts: string[] = [];
  for (const [key, label] of SECTIONS) {
    const before = new Map((a[key] as Named[]).map((x) => [x.name, x]));
    const after = new Map((b[key] as Named[]).map((x) => [x.name, x]));
    for (const [name, item] of after) {
      const old = before.get(name);
      if (!old) parts.push(`adds ${label} ${name}`);
      else if (stable(old) !== stable(item)) {
        const o = old as Record<string, unknown>;
        const n = item as Record<string, unknown>;
        if (o.enabled !== n.enabled && typeof n.enabled === 'boolean') parts.push(`${n.enabled ? 'enables' : 'disables'} ${label} ${name}`);
        else if (o.drain !== n.drain && typeof n.drain === 'boolean') parts.push(`${n.drain ? 'drains' : 'undrains'} ${label} ${name}`);
        else if (key === 'uplinks' && o.priority !== n.priority) parts.push(`uplink ${name} moves to priority ${n.priority}`);
        else parts.push(`changes ${label} ${name}`);
      }
    }
    for (const name of before.keys()) if (!after.has(name)) parts.push(`removes ${label} ${name}`);
    if (key === 'rules') {
      const order = (c: Config) => c.rules.map((r) => r.name).filter((n) => before.has(n) && after.has(n));
      if (stable(order(a)) !== stable(order(b))) parts.push('reorders rules');
    }
  }
  if (stable(a.firewall) !== stable(b.firewall)) parts.push('changes firewall settings');
  if (stable(a.sysctl) !== stable(b.sysctl)) parts.push('changes sysctls');
  if (parts.length === 0) return 'no change';
  const line = parts.join('; ');
  return line.length > 300 ? `${parts.slice(0, 6).join('; ')}; and ${parts.length - 6} more changes` : line;
}
