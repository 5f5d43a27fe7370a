// The probe period of one target (the health monitor's rule, agent/health/state.ts, shared here so
// the dashboard can state the probe cost without importing the agent).
export const MIN_PROBE_INTERVAL_MS = 40;

/** At least two probes per round and three per timeout, not below MIN_PROBE_INTERVAL_MS unless the
 *  round interval itself is shorter; probeEveryMs (metered uplinks) sets it explicitly. */
export function probeIntervalMs(s: { intervalMs: number; timeoutMs: number; probeEveryMs?: number }): number {
  if (s.probeEveryMs !== undefined) return Math.max(MIN_PROBE_INTERVAL_MS, Math.round(s.probeEveryMs));
  return Math.max(Math.min(MIN_PROBE_INTERVAL_MS, s.intervalMs), Math.round(Math.min(s.intervalMs / 2, s.timeoutMs / 3)));
}
