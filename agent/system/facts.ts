// Observed interface facts (links, IPv4 addresses, DHCP-style default gateways) for the compiler.
import { z } from 'zod';
import type { IfaceAddr, IfaceFacts } from '../../lib/compile/types';
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
): Record<string, IfaceFacts> {
  const links = parseJson(LinksJson, linksText, 'ip -j link show');
  const addrs = parseJson(AddrsJson, addrsText, 'ip -j -4 addr show');
  const routes = parseJson(MainRoutesJson, mainRoutesText, 'ip -j -4 route show table main');
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
    out[name] = f;
  }
  return out;
}

/** Read links, IPv4 addresses and main-table default gateways for the given interfaces. */
export async function gatherFacts(runner: Runner, ifnames: string[]): Promise<Record<string, IfaceFacts>> {
    const [links, addrs, routes] = await Promise.all([
    runner.run(['ip', '-j', 'link', 'show']),
    runner.run(['ip', '-j', '-4', 'addr', 'show']),
    runner.run(['ip', '-j', '-4', 'route', 'show', 'table', 'main']),
  ]);
  return factsFromJson(ifnames, links.stdout, addrs.stdout, routes.stdout);
}
