// Pure: the state and reason of an uplink's status row (UplinkStatus, the dashboard and
// `linkward status`) from its config switches, its plan entry and its health view.
// Precedence: admin switches (disabled, draining), then the prober's verdict, then the plan's
// typed reason (an uplink the compiler could not route is down), else unknown.
import type { UplinkPlan, UplinkReasonCode } from '../lib/compile/types';

export type UplinkStatusState = 'up' | 'degraded' | 'down' | 'disabled' | 'draining' | 'unknown';

/** Plan reasons that mean the uplink cannot carry traffic, whatever the prober says (or before it has). */
export const DOWN_REASONS: ReadonlySet<UplinkReasonCode> = new Set<UplinkReasonCode>(['no-interface', 'interface-down', 'no-address', 'no-gateway', 'health-down', 'cap-reached']);

export function uplinkStatus(
  u: { enabled: boolean; drain: boolean },
  plan: Pick<UplinkPlan, 'active' | 'reason'> | undefined,
  health: { state: string; reason?: string } | undefined,
  probing: boolean,
): { state: UplinkStatusState; reason: string } {
  if (!u.enabled) return { state: 'disabled', reason: 'disabled by admin' };
  if (u.drain) return { state: 'draining', reason: 'draining: no new connections' };
  // The plan's "down by health" is stale once the prober says otherwise (the uplink recovered and
  // the reconcile that follows has not run yet): its word then, not the plan's "down".
  const planWhy = plan && !plan.active ? plan.reason : null;
  const why = planWhy?.code === 'health-down' && health && health.state !== 'down' && health.state !== 'unknown' ? null : planWhy;
  // Over the data cap with onCap disable: out, whatever the prober says.
  if (why?.code === 'cap-reached') return { state: 'down', reason: why.detail };
  if (health && (health.state === 'up' || health.state === 'down' || health.state === 'degraded')) {
    // up but not active: say why (e.g. backup tier); degraded: the prober's sentence, plus why
    // it takes no new connections when so
    const reason = health.state === 'up' && why ? why.detail
      : health.state === 'degraded' && why ? `${health.reason ?? ''}; ${why.detail}`
      : (health.reason ?? '');
    return { state: health.state, reason };
  }
  if (why && DOWN_REASONS.has(why.code)) return { state: 'down', reason: why.detail };
  return { state: 'unknown', reason: probing ? 'waiting for probes' : 'not probed (agent --once)' };
}
