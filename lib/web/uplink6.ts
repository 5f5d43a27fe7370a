// The IPv6 side of an uplink as the agent writes it (UplinkStatus.ipv6, JSON): parsed the same way
// for the server-rendered card (lib/web/queries.ts) and the live update (components/UplinkLive.tsx).
export type Ipv6Side = { state: string; reason: string; address: string | null; gateway: string | null; prefix: string | null; latencyMs: number | null; lossPct: number | null };

/** The IPv6 side from its JSON, or null when absent or unreadable (fields of the wrong type are null). */
export function parseIpv6Side(json: string | null): Ipv6Side | null {
  if (!json) return null;
  try {
    const v = JSON.parse(json) as Record<string, unknown>;
    const str = (x: unknown) => (typeof x === 'string' ? x : null);
    const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
    return { state: str(v.state) ?? 'unknown', reason: str(v.reason) ?? '', address: str(v.address), gateway: str(v.gateway), prefix: str(v.prefix), latencyMs: num(v.latencyMs), lossPct: num(v.lossPct) };
  } catch {
    return null;
  }
}
