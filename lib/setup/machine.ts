// What a machine looks like before linkward configures it: interfaces, addresses, main-table
// routes, DNS servers and other firewalls' tables. Parsed from `ip -j -d link`, `ip -j addr`,
// `ip -j route show table main` (both families), `nft -j list tables`, /proc/net/ip_tables_names
// and /etc/resolv.conf (agent/system/machine.ts reads them; lib/setup/propose.ts is the pure
// proposal over this). Every string that later reaches a config is re-validated by the config schema.
import { z } from 'zod';

export interface MachineAddr {
  family: 4 | 6;
  address: string;
  prefix: number;
  /** Point-to-point peer (PPP: "inet 100.64.9.2 peer 100.64.9.1/32"). */
  peer?: string;
  /** Lease from DHCP/SLAAC (the kernel's "dynamic" flag: a finite valid lifetime). */
  dynamic: boolean;
  scope: string;
}

export interface MachineIface {
  name: string;
  /** link_type: ether, ppp, loopback, none (tun, wireguard), ... */
  linkType: string;
  /** linkinfo.info_kind: veth, bridge, wireguard, tun, dummy, vlan... ('' for plain hardware). */
  kind: string;
  /** Bridge/bond this interface is a port of. */
  master?: string;
  up: boolean;
  carrier: boolean;
  addresses: MachineAddr[];
}

export interface MachineRoute {
  family: 4 | 6;
  dst: string;
  gateway?: string;
  dev?: string;
  /** proto: kernel, boot, static, dhcp, ra... */
  protocol?: string;
  metric?: number;
}

export interface MachineFacts {
  hostname: string;
  interfaces: MachineIface[];
  routes: MachineRoute[];
  dns: string[];
  /** nft tables other than ours ("inet filter", "ip nat", ...). */
  nftTables: string[];
  /** Legacy iptables tables loaded in the kernel (/proc/net/ip_tables_names). */
  iptablesTables: string[];
}

const Link = z.object({
  ifname: z.string(),
  flags: z.array(z.string()).default([]),
  link_type: z.string().default(''),
  master: z.string().optional(),
  linkinfo: z.object({ info_kind: z.string().optional(), info_slave_kind: z.string().optional() }).passthrough().optional(),
}).passthrough();
const AddrInfo = z.object({
  family: z.string(),
  local: z.string().optional(),
  address: z.string().optional(),
  prefixlen: z.number().int().optional(),
  scope: z.string().optional(),
  dynamic: z.boolean().optional(),
  valid_life_time: z.number().optional(),
}).passthrough();
const Addr = z.object({ ifname: z.string(), addr_info: z.array(AddrInfo).default([]) }).passthrough();
const Route = z.object({
  dst: z.string(),
  gateway: z.string().optional(),
  dev: z.string().optional(),
  protocol: z.string().optional(),
  metric: z.number().optional(),
  type: z.string().optional(),
  nexthops: z.array(z.object({ gateway: z.string().optional(), dev: z.string().optional() }).passthrough()).optional(),
}).passthrough();
const NftTables = z.object({ nftables: z.array(z.record(z.string(), z.unknown())) });

function json<T>(schema: z.ZodType<T>, text: string, what: string): T {
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

export interface MachineTexts {
  hostname: string;
  links: string;
  addrs: string;
  routes4: string;
  routes6: string;
  nftTables: string;
  iptablesNames: string;
  resolvConf: string;
}

const FOREVER = 4294967295;

/** Pure: the facts of a machine from the raw command outputs and files. */
export function machineFromTexts(t: MachineTexts): MachineFacts {
  const links = json(z.array(Link), t.links, 'ip -j -d link show');
  const addrs = json(z.array(Addr), t.addrs, 'ip -j addr show');
  const interfaces: MachineIface[] = links.map((l) => {
    const infos = addrs.find((a) => a.ifname === l.ifname)?.addr_info ?? [];
    const addresses: MachineAddr[] = [];
    for (const i of infos) {
      if ((i.family !== 'inet' && i.family !== 'inet6') || !i.local) continue;
      const a: MachineAddr = {
        family: i.family === 'inet' ? 4 : 6,
        address: i.local,
        prefix: i.prefixlen ?? (i.family === 'inet' ? 32 : 128),
        dynamic: i.dynamic === true || (i.valid_life_time !== undefined && i.valid_life_time !== FOREVER),
        scope: i.scope ?? 'global',
      };
      if (i.address && i.address !== i.local) a.peer = i.address;
      addresses.push(a);
    }
    const f: MachineIface = {
      name: l.ifname,
      linkType: l.link_type,
      kind: l.linkinfo?.info_kind ?? '',
      up: l.flags.includes('UP'),
      carrier: l.flags.includes('LOWER_UP'),
      addresses,
    };
    if (l.master) f.master = l.master;
    return f;
  });
  const routes: MachineRoute[] = [];
  for (const [fam, text] of [[4, t.routes4], [6, t.routes6]] as const) {
    for (const r of json(z.array(Route), text, `ip -j -${fam} route show table main`)) {
      if (r.type !== undefined && r.type !== 'unicast') continue;
      const hops = r.nexthops?.length ? r.nexthops : [{ gateway: r.gateway, dev: r.dev }];
      for (const h of hops) {
        const m: MachineRoute = { family: fam, dst: r.dst };
        if (h.gateway) m.gateway = h.gateway;
        if (h.dev) m.dev = h.dev;
        if (r.protocol) m.protocol = r.protocol;
        if (r.metric !== undefined) m.metric = r.metric;
        routes.push(m);
      }
    }
  }
  const nftTables: string[] = [];
  for (const item of json(NftTables, t.nftTables || '{"nftables":[]}', 'nft -j list tables').nftables) {
    const tb = item.table as { family?: unknown; name?: unknown } | undefined;
    if (tb && typeof tb.family === 'string' && typeof tb.name === 'string' && !(tb.family === 'inet' && tb.name === 'linkward')) nftTables.push(`${tb.family} ${tb.name}`);
  }
  const iptablesTables = t.iptablesNames.split(/\s+/).filter((x) => /^[a-z_]{1,32}$/.test(x));
  const dns = t.resolvConf
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((x): x is string => Boolean(x) && /^[0-9a-fA-F:.]{2,45}$/.test(x!));
  return { hostname: t.hostname, interfaces, routes, dns, nftTables, iptablesTables };
}
