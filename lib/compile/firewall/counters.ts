// Named counter objects: one per built-in rule, per uplink direction and per configured rule,
// service, port forward and policy (enabled or not, so a disable/enable cycle keeps the totals).
import {
  BUILTIN_COUNTERS, counterBuiltin, counterPolicy, counterPortForward, counterRule, counterService,
  counterUplinkIn, counterUplinkOut,
} from '../constants';
import type { FirewallContext } from './context';

/** Declaration order = this order. */
export function declareCounters(ctx: FirewallContext): void {
  const { config, counters } = ctx;
  for (const [k, d] of Object.entries(BUILTIN_COUNTERS)) counters.add(counterBuiltin(k), 'builtin', k, d);
  for (const u of ctx.uplinksById) {
    counters.add(counterUplinkIn(u.id), 'uplink', u.name, `bytes received on ${u.interface}`);
    counters.add(counterUplinkOut(u.id), 'uplink', u.name, `bytes sent on ${u.interface}`);
  }
  for (const r of config.rules) counters.add(counterRule(r.name), 'rule', r.name);
  for (const s of config.services) counters.add(counterService(s.name), 'service', s.name);
  for (const p of config.portForwards) counters.add(counterPortForward(p.name), 'portForward', p.name);
  for (const p of config.policies) counters.add(counterPolicy(p.name), 'policy', p.name);
}
