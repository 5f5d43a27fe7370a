// Observed interface facts (links, IPv4 addresses, DHCP-style default gateways) for the compiler.
import { z } from 'zod';
import type { IfaceAddr, IfaceAddr6, IfaceFacts } from '../../lib/compile/types';
import { formatIPv6, parseIPv6 } from '../../lib/validations/net';
import type { Runner } from './runner';

const LinkSchema = z.object({
  ifname: z.string(),
  flags: z.array(z.string()).default([]),
  operstate: z.string().optional(),
});
const AddrInfoSchema = z.object({
  family: z.string(),
  local: z.string().optional(),
  prefixlen: z.number().int().optional(),
  secondary: z.boolean().optional(),
  scope: z.string().optional(),
  deprecated: z.boolean().optional(),
  tentative: z.boolean().optional(),
  dadfailed: z.boolean().optional(),
});
const AddrSchema = z.object({
  ifname: z.string(),
  addr_info: z.array(AddrInfoSchema).default([]),
});
const NexthopSchema = z.object({ gateway: z.string().optional(), dev: z.string().optional() });
const MainRouteSchema = z.object({
  dst: z.string(),
  gateway: z.string().optional(),
  dev: z.string().optional(),
  metric: z.number().optional(),
  type: z.string().optional(),
  nexthops: z.array(NexthopSchema).optional(),
});

export const LinksJson = z.array(LinkSchema);
export const AddrsJson = z.array(AddrSchema);
export const MainRoutesJson = z.array(MainRouteSchema);

function parseJson<T>(schema: z.ZodType<T>, text: string, what: string): T {
  let raw: unknown;
  try {
    raw = text.trim() === '' ? [] : JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: invalid JSON: ${(e as Error).message}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(`${what}: unexpected JSON shape: ${r.error.message}`);
  return r.data;
}

/** Pure part: build facts from the three JSON documents. Exported for unit tests. */
export function factsFromJson(
  ifnames: string[],
  linksText: string,
  addrsText: string,
  mainRoutesText: string,
  mainRoutes6Text?: string,
): Record<string, IfaceFacts> {
  const links = parseJson(LinksJson, linksText, 'ip -j link show');
  const addrs = parseJson(AddrsJson, addrsText, 'ip -j addr show');
  const routes = parseJson(MainRoutesJson, mainRoutesText, 'ip -j -4 route show table main');
  const routes6 = mainRoutes6Text === undefined ? null : parseJson(MainRoutesJson, mainRoutes6Text, 'ip -j -6 route show table main');
  const out: Record<string, IfaceFacts> = {};
  for (const name of ifnames) {
    const link = links.find((l) => l.ifname === name);
    if (!link) {
      out[name] = { name, exists: false, up: false, carrier: false, addresses: [] };
      continue;
    }
    const infos = addrs.find((a) => a.ifname === name)?.addr_info ?? [];
    const v4 = infos.filter((i) => i.family === 'inet' && i.local !== undefined);
    // primary first, kernel order otherwise
    const sorted = [...v4.filter((i) => !i.secondary), ...v4.filter((i) => i.secondary)];
    const addresses: IfaceAddr[] = sorted.map((i) => ({ address: i.local as string, prefix: i.prefixlen ?? 32 }));
    let best: { gw: string; metric: number } | undefined;
    for (const r of routes) {
      if (r.dst !== 'default' || (r.type !== undefined && r.type !== 'unicast')) continue;
      const metric = r.metric ?? 0;
      const cands: { gateway?: string; dev?: string }[] = r.nexthops ?? [{ gateway: r.gateway, dev: r.dev }];
      for (const nh of cands) {
        if (nh.dev === name && nh.gateway && (!best || metric < best.metric)) best = { gw: nh.gateway, metric };
      }
    }
    const f: IfaceFacts = {
      name,
      exists: true,
      up: link.flags.includes('UP'),
      carrier: link.flags.includes('LOWER_UP'),
      addresses,
    };
    if (best) f.gateway = best.gw;
    if (routes6) {
      const v6 = infos.filter((i) => i.family === 'inet6' && i.local !== undefined && parseIPv6(i.local) !== null && !i.dadfailed);
      const scoped = (i: (typeof v6)[number]): IfaceAddr6 => {
        const a: IfaceAddr6 = { address: formatIPv6(parseIPv6(i.local as string)!), prefix: i.prefixlen ?? 128, scope: i.scope === 'link' ? 'link' : 'global' };
        if (i.deprecated) a.deprecated = true;
        if (i.tentative) a.tentative = true;
        return a;
      };
      f.addresses6 = [...v6.filter((i) => i.scope !== 'link' && i.scope !== 'host'), ...v6.filter((i) => i.scope === 'link')].map(scoped);
      const gw6 = bestDefault(routes6, name);
      if (gw6 && parseIPv6(gw6) !== null) f.gateway6 = formatIPv6(parseIPv6(gw6)!);
    }
    out[name] = f;
  }
  return out;
}

function bestDefault(routes: z.infer<typeof MainRoutesJson>, dev: string): string | undefined {
  let best: { gw: string; metric: number } | undefined;
  for (const r of routes) {
    if (r.dst !== 'default' || (r.type !== undefined && r.type !== 'unicast')) continue;
    const metric = r.metric ?? 0;
    for (const nh of r.nexthops ?? [{ gateway: r.gateway, dev: r.dev }]) {
      if (nh.dev === dev && nh.gateway && (!best || metric < best.metric)) best = { gw: nh.gateway, metric };
    }
  }
  return best?.gw;
}

/** The raw `ip -j` documents facts are made of (links, addresses, IPv4 and IPv6 main routes). */
export interface FactsDocs {
  links: string;
  addrs: string;
  routes: string;
  /** null: the kernel has no IPv6 (the -6 read failed). */
  routes6: string | null;
}

/** Run the four `ip -j` reads (in parallel). Independent of the config: the agent starts them
 *  before it validates the revision, which then runs while they do. */
export async function readFactsDocs(runner: Runner): Promise<FactsDocs> {
  const [links, addrs, routes, routes6] = await Promise.all([
    runner.run(['ip', '-j', 'link', 'show']),
    runner.run(['ip', '-j', 'addr', 'show']),
    runner.run(['ip', '-j', '-4', 'route', 'show', 'table', 'main']),
    runner.run(['ip', '-j', '-6', 'route', 'show', 'table', 'main'], { allowFail: true }),
  ]);
  return { links: links.stdout, addrs: addrs.stdout, routes: routes.stdout, routes6: routes6.exitCode === 0 ? routes6.stdout : null };
}

/** Pure: facts of the given interfaces from the documents of readFactsDocs. */
export function factsFromDocs(ifnames: string[], d: FactsDocs): { interfaces: Record<string, IfaceFacts>; ipv6: boolean } {
  return { interfaces: factsFromJson(ifnames, d.links, d.addrs, d.routes, d.routes6 ?? undefined), ipv6: d.routes6 !== null };
}

/** Read links, addresses of both families and main-table default gateways (IPv4 and IPv6) for
 *  the given interfaces; `ipv6` is false when the kernel has no IPv6 (the -6 read fails). */
export async function gatherFactsFull(runner: Runner, ifnames: string[]): Promise<{ interfaces: Record<string, IfaceFacts>; ipv6: boolean }> {
  return factsFromDocs(ifnames, await readFactsDocs(runner));
}

/** Read links, addresses and main-table default gateways for the given interfaces. */
export async function gatherFacts(runner: Runner, ifnames: string[]): Promise<Record<string, IfaceFacts>> {
  return (await gatherFactsFull(runner, ifnames)).interfaces;
}
