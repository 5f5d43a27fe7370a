// The query and the answer of the Connections page and GET /api/connections: pure (no database),
// shared by the server (lib/web/connections.ts) and the page's client component.
import { z } from 'zod';

/** How long one read keeps the agent reading bytes (the page polls every 2 s). */
export { WATCH_MS } from './watch';

export const SORTS = ['bytes', 'rate', 'newest', 'oldest', 'src', 'dst'] as const;

/** The query of the page and the API (URL search parameters), parsed strictly. */
export const connQuerySchema = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
  sort: z.enum(SORTS).default('bytes'),
  /** Uplink name; "-" = flows of no uplink (the router's own, unmarked). */
  uplink: z.string().regex(/^(-|[a-z][a-z0-9-]{0,23})$/).optional(),
  host: z.string().regex(/^[0-9a-fA-F.:]{2,45}$/).optional(),
  family: z.coerce.number().pipe(z.union([z.literal(4), z.literal(6)])).optional(),
  /** Words that must all appear in "proto src:sport dst:dport state uplink". */
  q: z.string().max(200).optional(),
});
export type ConnQuery = z.input<typeof connQuerySchema>;

/** A query from URL search parameters (empty values ignored); invalid → the defaults plus an error. */
export function parseConnQuery(sp: URLSearchParams | Record<string, string | string[] | undefined>): { query: z.output<typeof connQuerySchema>; error: string | null } {
  const obj: Record<string, string> = {};
  const entries = sp instanceof URLSearchParams ? [...sp.entries()] : Object.entries(sp).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v] as const);
  for (const [k, v] of entries) if (typeof v === 'string' && v.trim() !== '') obj[k] = v.trim();
  const r = connQuerySchema.safeParse(obj);
  if (r.success) return { query: r.data, error: null };
  const good: Record<string, string> = {};
  const badKeys = new Set(r.error.issues.map((i) => String(i.path[0])));
  for (const [k, v] of Object.entries(obj)) if (!badKeys.has(k)) good[k] = v;
  return { query: connQuerySchema.parse(good), error: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
}

export interface ConnRowView {
  id: number;
  family: number;
  proto: string;
  src: string;
  dst: string;
  sport: number | null;
  dport: number | null;
  state: string | null;
  uplink: string | null;
  host: string | null;
  local: boolean;
  packets: number;
  bytes: number;
  /** bytes/s between the agent's last two readings; null until read twice. */
  rate: number | null;
  firstSeen: number;
  /** When bytes were last read (0: not yet). */
  ts: number;
}

export interface ConnAggregate {
  count: number;
  bytes: number;
  rate: number;
}

export interface ConnectionsPage {
  t: number;
  query: z.output<typeof connQuerySchema>;
  /** Flows matching the filters (all pages). */
  total: number;
  /** Every tracked flow. */
  all: number;
  rows: ConnRowView[];
  /** Over every flow (not the filter): per uplink ("" = none), per LAN host (top 10 by bytes). */
  perUplink: (ConnAggregate & { uplink: string; /** of `count`, the router's own flows (health probes, its DNS queries): the uplink cards leave them out */ own: number })[];
  topHosts: (ConnAggregate & { host: string })[];
  /** Top 10 flows by rate (top talkers now). */
  topFlows: ConnRowView[];
  /** When the agent last read bytes (max ts), null: never (nobody watched yet, or no agent). */
  bytesAt: number | null;
}
