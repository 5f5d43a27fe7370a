// A stateful fake of the commands agent/system runs (ip, nft, sysctl, conntrack), for unit tests.
// It keeps routes, rules, links, an nft table per name, sysctls and conntrack entries; tests
// assert on resulting state (dump()) and on the commands that changed something (mutations()).
// Emulates only the subset linkward uses, with the kernel's observable quirks that matter
// (table comment fixed at creation, counters survive flush+redeclare, linkdown nexthop flags,
// gateway-less routes get scope link, `conntrack -D` exits 1 when nothing matched).
import { NFT_TABLE } from '../../lib/compile/constants';
import { CommandError, type RunOptions, type RunResult, type Runner, type SpawnedProcess, type SpawnOptions } from './runner';
import type { ConnEntry } from './conntrack';

export interface FakeLink {
  up: boolean;
  carrier: boolean;
  addresses: { address: string; prefix: number }[];
  addresses6?: { address: string; prefix: number; deprecated?: boolean }[];
}

export interface FakeRoute {
  table: number;
  type: string;
  dst: string;
  dev?: string;
  via?: string;
  src?: string;
  scope?: string;
  metric: number;
  protocol?: string;
  nexthops?: { via: string; dev: string; weight: number; onlink?: boolean }[];
  onlink?: boolean;
}

export interface FakeRule {
  priority: number;
  not?: boolean;
  from?: string;
  to?: string;
  fwmark?: string; // "0x100/0xff00"
  iif?: string;
  oif?: string;
  table: string;
  suppress?: number;
}

export interface FakeNftTable {
  comment?: string;
  chains: Record<string, string[]>; // chain → rule texts
  chainHeads: Record<string, string>; // chain → base chain spec line(s), '' for regular chains
  sets: Record<string, { kind: 'set' | 'map'; spec: string; elements: string[] }>;
  counters: Record<string, { packets: number; bytes: number }>;
  ctHelpers: Record<string, string>;
}

/** The subset of a conntrack entry the fake keeps (the real parser's type, narrowed). */
export type FakeConn = Pick<ConnEntry, 'proto' | 'src' | 'dst' | 'sport' | 'dport' | 'state' | 'mark' | 'replyDst'>;

export interface FakeCall {
  argv: string[];
  input?: string;
}

const MUTATING: ((a: string[]) => boolean)[] = [
  (a) => a[0] === 'ip' && a.includes('route') && (a.includes('replace') || a.includes('del') || a.includes('add')),
  (a) => a[0] === 'ip' && a.includes('rule') && (a.includes('add') || a.includes('del')),
  (a) => a[0] === 'nft' && a.includes('-f') && !a.includes('-c'),
  (a) => a[0] === 'sysctl' && a.includes('-w'),
  (a) => a[0] === 'conntrack' && a.includes('-D'),
];

function ok(stdout = '', stderr = ''): RunResult {
  return { stdout, stderr, exitCode: 0 };
}
function fail(stderr: string, exitCode = 1): RunResult {
  return { stdout: '', stderr: stderr.endsWith('\n') ? stderr : stderr + '\n', exitCode };
}
function clone<T>(v: T): T {
  return structuredClone(v);
}

const TABLE_NAMES: Record<string, number> = { main: 254, local: 255, default: 253 };
function tableId(s: string): number {
  return TABLE_NAMES[s] ?? Number(s);
}
function tableName(n: number): string {
  return n === 254 ? 'main' : n === 255 ? 'local' : n === 253 ? 'default' : String(n);
}

export class FakeSystem {
  links: Record<string, FakeLink> = {};
  routes: FakeRoute[] = [];
  rules: FakeRule[] = [
    { priority: 0, table: 'local' },
    { priority: 32766, table: 'main' },
    { priority: 32767, table: 'default' },
  ];
  /** IPv6 routes and rules (`ip -6 …`). */
  routes6: FakeRoute[] = [];
  rules6: FakeRule[] = [
    { priority: 0, table: 'local' },
    { priority: 32766, table: 'main' },
  ];
  nft: Record<string, FakeNftTable> = {};
  /** Kernel defaults of the keys linkward touches; per-interface keys appear with addLink. */
  sysctls: Record<string, string> = {
    'net.ipv4.ip_forward': '0',
    'net.ipv4.tcp_syncookies': '1',
    'net.ipv4.icmp_echo_ignore_broadcasts': '1',
    'net.ipv6.conf.all.forwarding': '0',
    'net.netfilter.nf_conntrack_acct': '0',
    ...Object.fromEntries(['all', 'default'].flatMap((i) => Object.entries(FakeSystem.ifSysctls(i)))),
  };
  static ifSysctls(i: string): Record<string, string> {
    const k = `net.ipv4.conf.${i.replace(/\./g, '/')}`;
    return {
      [`${k}.rp_filter`]: '0', [`${k}.log_martians`]: '0', [`${k}.accept_redirects`]: '1', [`${k}.send_redirects`]: '1', [`${k}.accept_source_route`]: '0',
      [`net.ipv6.conf.${i.replace(/\./g, '/')}.accept_ra`]: '1',
    };
  }
  conns: FakeConn[] = [];
  calls: FakeCall[] = [];
  /** Return an error message to make `nft -c` (and `nft -f`) reject a script. */
  nftRejects: ((script: string) => string | null) | null = null;
  /** Make `nft -f` (not -c) fail even though -c passed (kernel-side failure). */
  nftApplyFails: string | null = null;
  lastNftScript: string | null = null;
  private handle = 1;

  /** Long-running commands started through the runner (none is emulated: each exits at once). */
  spawned: string[][] = [];

  /** The Runner to hand to agent/system functions: run() is emulated; session() is not (callers
   *  fall back to run()); spawn() records the argv and the process exits at once with 127. */
  readonly runner: Runner = {
    run: async (argv: string[], opts: RunOptions = {}) => {
      this.calls.push({ argv: [...argv], input: opts.input });
      const r = this.dispatch(argv, opts.input ?? '');
      if (r.exitCode !== 0 && !opts.allowFail) throw new CommandError(argv, r.exitCode, r.stdout, r.stderr, false);
      return r;
    },
    session: (argv: string[]) => {
      throw new Error(`fake: sessions are not emulated (${argv.join(' ')})`);
    },
    spawn: (argv: string[], opts: SpawnOptions = {}): SpawnedProcess => {
      this.spawned.push([...argv]);
      const exited = new Promise<void>((resolve) =>
        setImmediate(() => {
          opts.onExit?.(127, null, new Error(`fake: long-running commands are not emulated: ${argv.join(' ')}`));
          resolve();
        }),
      );
      return { argv, pid: undefined, done: true, kill: () => undefined, exited };
    },
  };

  // ----- test setup helpers -----
  addLink(name: string, opts: Partial<FakeLink> = {}): this {
    this.links[name] = { up: opts.up ?? true, carrier: opts.carrier ?? true, addresses: opts.addresses ?? [] };
    for (const [k, v] of Object.entries(FakeSystem.ifSysctls(name))) this.sysctls[k] ??= v;
    for (const a of this.links[name].addresses) this.addConnected(name, a.address, a.prefix);
    return this;
  }
  private addConnected(dev: string, address: string, prefix: number): void {
    const parts = address.split('.').map(Number);
    const n = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const net = (n & mask) >>> 0;
    const dst = `${[net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join('.')}/${prefix}`;
    this.routes.push({ table: 254, type: 'unicast', dst, dev, src: address, scope: 'link', metric: 0, protocol: 'kernel' });
  }
  addRoute(r: Partial<FakeRoute> & { table: number; dst: string }): this {
    this.routes.push({ type: 'unicast', metric: 0, ...r });
    return this;
  }
  addRule(r: FakeRule): this {
    this.insertRule(r);
    return this;
  }
  setCounter(name: string, packets: number, bytes: number, table = NFT_TABLE): void {
    const t = this.nft[table];
    if (!t || !t.counters[name]) throw new Error(`fake: no counter ${name}`);
    t.counters[name] = { packets, bytes };
  }
  addSetElement(set: string, elem: string, table = NFT_TABLE): void {
    const s = this.nft[table]?.sets[set];
    if (!s) throw new Error(`fake: no set ${set}`);
    if (!s.elements.includes(elem)) s.elements.push(elem);
  }
  /** Commands that changed (or tried to change) state. */
  mutations(): string[][] {
    return this.calls.filter((c) => MUTATING.some((m) => m(c.argv))).map((c) => c.argv);
  }
  clearCalls(): void {
    this.calls = [];
  }
  /** The state as data (for assertions on one part). */
  state(): {
    links: Record<string, FakeLink>;
    routes: FakeRoute[];
    rules: FakeRule[];
    nft: Record<string, FakeNftTable>;
    sysctls: Record<string, string>;
    conns: FakeConn[];
  } {
    const routes = clone(this.routes).sort((a, b) => a.table - b.table || (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : a.metric - b.metric));
    return { links: clone(this.links), routes, rules: clone(this.rules), nft: clone(this.nft), sysctls: { ...this.sysctls }, conns: clone(this.conns) };
  }

  /** The whole state as text, the way the tools print it: every nft table as `nft list table`
   *  (counter values included), routes as `ip -4 route show table all`, rules as `ip rule show`,
   *  sysctls as `sysctl -a`, then conntrack. Tests compare dumps: the resulting state, not which
   *  commands got there. `tables` limits the nft part (default: all tables). */
  dump(opts: { tables?: string[] } = {}): string {
    const out: string[] = [];
    for (const name of Object.keys(this.nft).sort()) {
      if (opts.tables && !opts.tables.includes(name)) continue;
      out.push(...this.tableText(name, this.nft[name]));
    }
    out.push('# ip -4 route show table all');
    for (const r of this.state().routes) out.push(routeText(r));
    out.push('# ip -4 rule show');
    for (const r of [...this.rules].sort((a, b) => a.priority - b.priority)) out.push(ruleText(r));
    out.push('# ip -6 route show table all');
    const by = (a: FakeRoute, b: FakeRoute) => a.table - b.table || (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : a.metric - b.metric);
    for (const r of [...this.routes6].sort(by)) out.push(routeText(r));
    out.push('# ip -6 rule show');
    for (const r of [...this.rules6].sort((a, b) => a.priority - b.priority)) out.push(ruleText(r));
    out.push('# ip -6 addr (global)');
    for (const [n, l] of Object.entries(this.links).sort()) for (const a of l.addresses6 ?? []) out.push(`${n} ${a.address}/${a.prefix}${a.deprecated ? ' deprecated' : ''}`);
    out.push('# sysctl');
    for (const k of Object.keys(this.sysctls).sort()) out.push(`${k} = ${this.sysctls[k]}`);
    out.push('# conntrack -L');
    for (const c of this.conns) out.push(`${c.proto} ${c.state ?? ''} src=${c.src} dst=${c.dst} sport=${c.sport ?? ''} dport=${c.dport ?? ''} mark=${c.mark}`.replace(/  +/g, ' '));
    return out.join('\n') + '\n';
  }

  private tableText(name: string, t: FakeNftTable): string[] {
    const out = [`table inet ${name} {`];
    if (t.comment !== undefined) out.push(`\tcomment "${t.comment}"`);
    for (const c of Object.keys(t.counters).sort()) out.push(`\tcounter ${c} {`, `\t\tpackets ${t.counters[c].packets} bytes ${t.counters[c].bytes}`, '\t}');
    for (const h of Object.keys(t.ctHelpers).sort()) out.push(`\tct helper ${h} {`, ...t.ctHelpers[h].split('; ').filter(Boolean).map((l) => `\t\t${l}`), '\t}');
    for (const sn of Object.keys(t.sets).sort()) {
      const st = t.sets[sn];
      out.push(`\t${st.kind} ${sn} {`, ...st.spec.split('; ').filter(Boolean).map((l) => `\t\t${l}`));
      if (st.elements.length) out.push(`\t\telements = { ${[...st.elements].sort().join(', ')} }`);
      out.push('\t}');
    }
    for (const cn of Object.keys(t.chains).sort()) {
      out.push(`\tchain ${cn} {`);
      if (t.chainHeads[cn]) out.push(`\t\t${t.chainHeads[cn]}`);
      for (const r of t.chains[cn]) out.push(`\t\t${r}`);
      out.push('\t}');
    }
    out.push('}');
    return out;
  }

  // ----- dispatch -----
  private dispatch(argv: string[], input: string): RunResult {
    const [cmd, ...args] = argv;
    try {
      if (cmd === 'ip') return this.ip(args);
      if (cmd === 'nft') return this.nftCmd(args, input);
      if (cmd === 'sysctl') return this.sysctl(args);
      if (cmd === 'conntrack') return this.conntrack(args);
    } catch (e) {
      return fail(`fake ${cmd}: ${(e as Error).message}`, 2);
    }
    return fail(`fake: command not emulated: ${argv.join(' ')}`, 127);
  }

  // ----- ip -----
  /** The address family of the `ip` command running now (`ip -6 ...` works on the IPv6 stores). */
  private fam: 4 | 6 = 4;

  private ip(args: string[]): RunResult {
    const six = args.includes('-6') && args.indexOf('-6') < args.findIndex((x) => !x.startsWith('-'));
    if (!six) return this.ipFam(args);
    // IPv6 routes and rules live in their own stores, as in the kernel
    [this.routes, this.routes6] = [this.routes6, this.routes];
    [this.rules, this.rules6] = [this.rules6, this.rules];
    this.fam = 6;
    try {
      return this.ipFam(args);
    } finally {
      [this.routes, this.routes6] = [this.routes6, this.routes];
      [this.rules, this.rules6] = [this.rules6, this.rules];
      this.fam = 4;
    }
  }

  private ipFam(args: string[]): RunResult {
    let json = false;
    const a = [...args];
    while (a[0]?.startsWith('-')) {
      const f = a.shift()!;
      if (f === '-j') json = true;
    }
    const [obj, verb, ...rest] = a;
    if (obj === 'link' && verb === 'show' && json) return ok(JSON.stringify(this.linkJson()));
    if (obj === 'addr' && verb === 'show' && json) return ok(JSON.stringify(this.addrJson()));
    if ((obj === 'addr' || obj === 'address') && (verb === 'add' || verb === 'del' || verb === 'replace')) return this.addrChange(verb, rest);
    if (obj === 'route' && verb === 'show' && json) return ok(JSON.stringify(this.routeJson(rest)));
    if (obj === 'route' && (verb === 'replace' || verb === 'add')) return this.routeReplace(rest, verb === 'add');
    if (obj === 'route' && verb === 'del') return this.routeDel(rest);
    if (obj === 'rule' && verb === 'show' && json) return ok(JSON.stringify(this.ruleJson()));
    if (obj === 'rule' && verb === 'add') return this.ruleAdd(rest);
    if (obj === 'rule' && verb === 'del') return this.ruleDel(rest);
    return fail(`fake ip: not emulated: ${args.join(' ')}`, 255);
  }

  private linkJson(): unknown[] {
    return Object.entries(this.links).map(([ifname, l], i) => ({
      ifindex: i + 2,
      ifname,
      flags: ['BROADCAST', 'MULTICAST', ...(l.up ? ['UP'] : []), ...(l.up && l.carrier ? ['LOWER_UP'] : l.up ? ['NO-CARRIER'] : [])],
      mtu: 1500,
      operstate: l.up && l.carrier ? 'UP' : 'DOWN',
    }));
  }
  private addrJson(): unknown[] {
    return Object.entries(this.links).map(([ifname, l], i) => ({
      ifindex: i + 2,
      ifname,
      addr_info: [
        ...l.addresses.map((x, j) => ({ family: 'inet', local: x.address, prefixlen: x.prefix, scope: 'global', ...(j > 0 ? { secondary: true } : {}), label: ifname })),
        ...(l.addresses6 ?? []).map((x) => ({ family: 'inet6', local: x.address, prefixlen: x.prefix, scope: x.address.startsWith('fe80:') ? 'link' : 'global', ...(x.deprecated ? { deprecated: true } : {}) })),
      ],
    }));
  }

  /** `ip -6 addr add|del|replace A/N dev D [preferred_lft P] [valid_lft V] [nodad]` (IPv6 only). */
  private addrChange(verb: string, rest: string[]): RunResult {
    const [cidr, ...more] = rest;
    const dev = more[more.indexOf('dev') + 1];
    const l = this.links[dev];
    if (!l || more.indexOf('dev') < 0) return fail(`Cannot find device "${dev}"`, 1);
    if (!/^[0-9a-f:]+\/\d+$/.test(cidr)) return fail(`fake ip addr: not emulated: ${rest.join(' ')}`, 255);
    const [address, p] = cidr.split('/');
    const list = (l.addresses6 ??= []);
    const i = list.findIndex((x) => x.address === address);
    if (verb === 'del') {
      if (i < 0) return fail('RTNETLINK answers: Cannot assign requested address', 2);
      list.splice(i, 1);
      return ok();
    }
    if (verb === 'add' && i >= 0) return fail('RTNETLINK answers: File exists', 2);
    const pl = more.indexOf('preferred_lft');
    const entry = { address, prefix: Number(p), ...(pl >= 0 && more[pl + 1] === '0' ? { deprecated: true } : {}) };
    if (i >= 0) list[i] = entry;
    else list.push(entry);
    return ok();
  }
  private routeJson(rest: string[]): unknown[] {
    const ti = rest.indexOf('table');
    const t = ti >= 0 ? rest[ti + 1] : 'main';
    const sel = t === 'all' ? this.routes : this.routes.filter((r) => r.table === tableId(t));
    return sel.map((r) => {
      const o: Record<string, unknown> = {};
      if (r.type !== 'unicast') o.type = r.type;
      o.dst = r.dst === '0.0.0.0/0' ? 'default' : r.dst.endsWith('/32') ? r.dst.slice(0, -3) : r.dst;
      if (r.via && !r.nexthops) o.gateway = r.via;
      if (r.dev && !r.nexthops) o.dev = r.dev;
      if (t === 'all' && r.table !== 254) o.table = tableName(r.table);
      if (r.protocol) o.protocol = r.protocol;
      if (r.scope && r.scope !== 'global') o.scope = r.scope;
      if (r.src) o.prefsrc = r.src;
      if (r.metric) o.metric = r.metric;
      const down = (d?: string) => (d && this.links[d] && !(this.links[d].up && this.links[d].carrier) ? ['linkdown'] : []);
      o.flags = r.nexthops ? [] : [...(r.onlink ? ['onlink'] : []), ...down(r.dev)];
      if (r.nexthops) o.nexthops = r.nexthops.map((n) => ({ gateway: n.via, dev: n.dev, weight: n.weight, flags: [...(n.onlink ? ['onlink'] : []), ...down(n.dev)] }));
      return o;
    });
  }
  /** Is `gw` inside one of the connected prefixes of link `dev`? */
  private onLink(dev: string, gw: string): boolean {
    const num = (a: string) => a.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
    return (this.links[dev]?.addresses ?? []).some((x) => {
      const mask = x.prefix === 0 ? 0 : (0xffffffff << (32 - x.prefix)) >>> 0;
      return ((num(x.address) & mask) >>> 0) === ((num(gw) & mask) >>> 0);
    });
  }
  private routeReplace(rest: string[], exclusive: boolean): RunResult {
    const r: FakeRoute = { table: 254, type: 'unicast', dst: '', metric: 0 };
    const a = [...rest];
    if (['unreachable', 'blackhole', 'prohibit'].includes(a[0])) r.type = a.shift()!;
    const dst = a.shift()!;
    r.dst = dst === 'default' ? 'default' : dst.includes('/') ? dst : `${dst}/${this.fam === 6 ? 128 : 32}`;
    while (a.length > 0) {
      const k = a.shift()!;
      if (k === 'table') r.table = tableId(a.shift()!);
      else if (k === 'via') r.via = a.shift();
      else if (k === 'dev') r.dev = a.shift();
      else if (k === 'src') r.src = a.shift();
      else if (k === 'scope') r.scope = a.shift();
      else if (k === 'metric') r.metric = Number(a.shift());
      else if (k === 'onlink') r.onlink = true;
      else if (k === 'nexthop') {
        const nh: { via: string; dev: string; weight: number; onlink?: boolean } = { via: '', dev: '', weight: 1 };
        while (a.length > 0 && a[0] !== 'nexthop' && ['via', 'dev', 'weight', 'onlink'].includes(a[0])) {
          const kk = a.shift()!;
          if (kk === 'onlink') {
            nh.onlink = true;
            continue;
          }
          const v = a.shift()!;
          if (kk === 'via') nh.via = v;
          else if (kk === 'dev') nh.dev = v;
          else nh.weight = Number(v);
        }
        (r.nexthops ??= []).push(nh);
      } else return fail(`Error: either "to" is duplicate, or "${k}" is a garbage.`, 255);
    }
    for (const d of [r.dev, ...(r.nexthops ?? []).map((n) => n.dev)]) {
      if (d !== undefined && !this.links[d]) return fail(`Cannot find device "${d}"`, 1);
    }
    if (r.type === 'unicast' && !r.dev && !r.nexthops) return fail('Error: Device for nexthop is not up.', 2);
    // As the kernel: a gateway must be inside a connected prefix of its device unless `onlink`.
    for (const nh of r.nexthops ?? (r.via && r.dev ? [{ via: r.via, dev: r.dev, onlink: r.onlink }] : [])) {
      if (this.fam === 4 && !nh.onlink && !this.onLink(nh.dev, nh.via)) return fail('Error: Nexthop has invalid gateway.', 2);
    }
    if (!r.scope && r.type === 'unicast' && !r.via && !r.nexthops) r.scope = 'link';
    if (r.src && !Object.values(this.links).some((l) => [...l.addresses, ...(l.addresses6 ?? [])].some((x) => x.address === r.src))) {
      return fail('Error: Invalid prefsrc address.', 2);
    }
    const i = this.routes.findIndex((x) => x.table === r.table && x.dst === r.dst && x.metric === r.metric);
    if (i >= 0) {
      if (exclusive) return fail('RTNETLINK answers: File exists', 2);
      this.routes[i] = r;
    } else this.routes.push(r);
    return ok();
  }
  private routeDel(rest: string[]): RunResult {
    const a = [...rest];
    let type: string | undefined;
    if (['unreachable', 'blackhole', 'prohibit', 'unicast'].includes(a[0])) type = a.shift();
    const d = a.shift()!;
    const dst = d === 'default' ? 'default' : d.includes('/') ? d : `${d}/${this.fam === 6 ? 128 : 32}`;
    let table = 254;
    let metric: number | undefined;
    let via: string | undefined;
    let dev: string | undefined;
    while (a.length > 0) {
      const k = a.shift()!;
      const v = a.shift()!;
      if (k === 'table') table = tableId(v);
      else if (k === 'metric') metric = Number(v);
      else if (k === 'via') via = v;
      else if (k === 'dev') dev = v;
    }
    const i = this.routes.findIndex(
      (r) =>
        r.table === table &&
        r.dst === dst &&
        (type === undefined || r.type === type) &&
        (metric === undefined || r.metric === metric) &&
        (via === undefined || r.via === via) &&
        (dev === undefined || r.dev === dev),
    );
    if (i < 0) return fail('RTNETLINK answers: No such process', 2);
    this.routes.splice(i, 1);
    return ok();
  }

  private ruleJson(): unknown[] {
    return this.rules.map((r) => {
      const o: Record<string, unknown> = { priority: r.priority };
      if (r.not) o.not = null;
      if (r.from) {
        const [s, l] = r.from.split('/');
        o.src = s;
        if (l !== undefined && l !== '32') o.srclen = Number(l);
      } else o.src = 'all';
      if (r.to) {
        const [s, l] = r.to.split('/');
        o.dst = s;
        if (l !== undefined && l !== '32') o.dstlen = Number(l);
      }
      if (r.fwmark) {
        const [v, m] = r.fwmark.split('/');
        o.fwmark = `0x${Number(v).toString(16)}`;
        if (m !== undefined && Number(m) >>> 0 !== 0xffffffff) o.fwmask = `0x${Number(m).toString(16)}`;
      }
      if (r.iif) o.iif = r.iif;
      if (r.oif) o.oif = r.oif;
      o.table = r.table;
      if (r.suppress !== undefined) o.suppress_prefixlen = r.suppress;
      return o;
    });
  }
  private parseRule(rest: string[]): FakeRule & { hasPriority: boolean; hasTable: boolean } {
    const r: FakeRule & { hasPriority: boolean; hasTable: boolean } = { priority: 0, table: 'main', hasPriority: false, hasTable: false };
    const a = [...rest];
    while (a.length > 0) {
      const k = a.shift()!;
      if (k === 'not') {
        r.not = true;
        continue;
      }
      const v = a.shift()!;
      if (k === 'priority' || k === 'pref' || k === 'preference') {
        r.priority = Number(v);
        r.hasPriority = true;
      } else if (k === 'from') r.from = v === 'all' ? undefined : v.includes('/') ? v : `${v}/32`;
      else if (k === 'to') r.to = v.includes('/') ? v : `${v}/32`;
      else if (k === 'fwmark') {
        const [val, m] = v.split('/');
        r.fwmark = `${Number(val) >>> 0}/${m === undefined ? 0xffffffff : Number(m) >>> 0}`;
      } else if (k === 'iif') r.iif = v;
      else if (k === 'oif') r.oif = v;
      else if (k === 'lookup' || k === 'table') {
        r.table = tableName(tableId(v));
        r.hasTable = true;
      } else if (k === 'suppress_prefixlength') r.suppress = Number(v);
      else throw new Error(`rule selector not emulated: ${k}`);
    }
    return r;
  }
  private insertRule(r: FakeRule): void {
    const i = this.rules.findIndex((x) => x.priority > r.priority);
    if (i < 0) this.rules.push(r);
    else this.rules.splice(i, 0, r);
  }
  private ruleAdd(rest: string[]): RunResult {
    const { hasPriority, hasTable, ...r } = this.parseRule(rest);
    void hasTable;
    if (!hasPriority) return fail('fake: rule add without priority is not emulated', 2);
    const canon = (x: object) => JSON.stringify(Object.entries(x).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)));
    const same = (x: FakeRule) => canon(x) === canon(r);
    if (this.rules.some(same)) return fail('RTNETLINK answers: File exists', 2);
    const clean: FakeRule = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as FakeRule;
    this.insertRule(clean);
    return ok();
  }
  private ruleDel(rest: string[]): RunResult {
    const q = this.parseRule(rest);
    const i = this.rules.findIndex(
      (x) =>
        (!q.hasPriority || x.priority === q.priority) &&
        (!q.hasTable || x.table === q.table) &&
        (q.from === undefined || x.from === q.from) &&
        (q.to === undefined || x.to === q.to) &&
        (q.fwmark === undefined || x.fwmark === q.fwmark) &&
        (q.iif === undefined || x.iif === q.iif) &&
        (q.oif === undefined || x.oif === q.oif) &&
        (!q.not || x.not === true) &&
        (q.suppress === undefined || x.suppress === q.suppress),
    );
    if (i < 0) return fail('RTNETLINK answers: No such file or directory', 2);
    this.rules.splice(i, 1);
    return ok();
  }

  // ----- nft -----
  private nftCmd(args: string[], input: string): RunResult {
    const a = [...args];
    let json = false;
    let terse = false;
    let check = false;
    while (a[0]?.startsWith('-')) {
      const f = a.shift()!;
      if (f === '-j') json = true;
      else if (f === '-t') terse = true;
      else if (f === '-c') check = true;
      else if (f === '-f') {
        a.shift(); // '-'
        return this.nftScript(input, check);
      }
    }
    if (a[0] === 'list' && a[1] === 'table' && a[2] === 'inet') return this.nftListTable(a[3], json, terse);
    if (a[0] === 'list' && a[1] === 'counters' && a[2] === 'table' && a[3] === 'inet') {
      const t = this.nft[a[4]];
      if (!t) return fail('Error: No such file or directory', 1);
      return ok(JSON.stringify({ nftables: [this.meta(), ...this.counterItems(a[4], t)] }));
    }
    if (a[0] === 'list' && a[1] === 'chain' && a[2] === 'inet') {
      const t = this.nft[a[3]];
      if (!t || !(a[4] in t.chains)) return fail('Error: No such file or directory', 1);
      return ok(JSON.stringify({ nftables: [this.meta(), { chain: { family: 'inet', table: a[3], name: a[4], handle: 1 } }, ...this.ruleItems(a[3], a[4], t)] }));
    }
    return fail(`fake nft: not emulated: ${args.join(' ')}`, 1);
  }
  private meta(): unknown {
    return { metainfo: { version: '1.0.6', release_name: 'fake', json_schema_version: 1 } };
  }
  private counterItems(table: string, t: FakeNftTable): unknown[] {
    return Object.entries(t.counters).map(([name, c]) => ({ counter: { family: 'inet', name, table, handle: this.handle++, packets: c.packets, bytes: c.bytes } }));
  }
  private ruleItems(table: string, chain: string, t: FakeNftTable): unknown[] {
    return t.chains[chain].map((text) => {
      const m = /comment "([^"]*)"\s*$/.exec(text);
      return { rule: { family: 'inet', table, chain, handle: this.handle++, ...(m ? { comment: m[1] } : {}), expr: [{ fake: text }] } };
    });
  }
  private nftListTable(name: string, json: boolean, terse: boolean): RunResult {
    const t = this.nft[name];
    if (!t) return fail(`Error: No such file or directory\nlist table inet ${name}`, 1);
    if (!json) {
      const lines = [`table inet ${name} {`];
      if (t.comment !== undefined) lines.push(`\tcomment "${t.comment}"`);
      for (const c of Object.keys(t.chains)) lines.push(`\tchain ${c} {`, ...t.chains[c].map((r) => `\t\t${r}`), '\t}');
      lines.push('}');
      return ok(lines.join('\n') + '\n');
    }
    const items: unknown[] = [this.meta(), { table: { family: 'inet', name, handle: 1 } }, ...this.counterItems(name, t)];
    for (const [sn, s] of Object.entries(t.sets)) {
      items.push({ [s.kind]: { family: 'inet', name: sn, table: name, handle: this.handle++, spec: s.spec, ...(terse || s.elements.length === 0 ? {} : { elem: [...s.elements] }) } });
    }
    for (const [hn, h] of Object.entries(t.ctHelpers)) items.push({ 'ct helper': { family: 'inet', name: hn, table: name, handle: this.handle++, spec: h } });
    for (const c of Object.keys(t.chains)) {
      items.push({ chain: { family: 'inet', table: name, name: c, handle: this.handle++, ...(t.chainHeads[c] ? { head: t.chainHeads[c] } : {}) } });
      items.push(...this.ruleItems(name, c, t));
    }
    return ok(JSON.stringify({ nftables: items }));
  }

  /** A small nft transaction interpreter: applies to a copy, commits only if every line worked. */
  private nftScript(script: string, check: boolean): RunResult {
    const rej = this.nftRejects?.(script);
    if (rej) return fail(`/dev/stdin:1:1-1: Error: ${rej}`, 1);
    if (!check && this.nftApplyFails) return fail(`Error: ${this.nftApplyFails}`, 1);
    const state = clone(this.nft);
    const lines = script.split('\n');
    const err = (i: number, msg: string) => fail(`/dev/stdin:${i + 1}:1-1: Error: ${msg}\n${lines[i] ?? ''}`, 1);
    const tbl = (name: string) => (state[name] ??= { chains: {}, chainHeads: {}, sets: {}, counters: {}, ctHelpers: {} });
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '' || line.startsWith('#')) continue;
      let m: RegExpExecArray | null;
      if ((m = /^(?:add )?table inet ([A-Za-z0-9_]+)$/.exec(line))) {
        tbl(m[1]);
      } else if ((m = /^(?:add )?table inet ([A-Za-z0-9_]+) \{$/.exec(line))) {
        const isNew = !state[m[1]];
        const t = tbl(m[1]);
        const end = this.parseTableBlock(lines, i + 1, t, isNew);
        if (typeof end === 'string') return err(i, end);
        i = end;
      } else if ((m = /^flush table inet ([A-Za-z0-9_]+)$/.exec(line))) {
        const t = state[m[1]];
        if (!t) return err(i, 'No such file or directory');
        for (const c of Object.keys(t.chains)) t.chains[c] = [];
      } else if ((m = /^delete table inet ([A-Za-z0-9_]+)$/.exec(line))) {
        if (!state[m[1]]) return err(i, 'No such file or directory');
        delete state[m[1]];
      } else if ((m = /^(add|flush|delete) (chain|set|map|counter|ct helper) inet ([A-Za-z0-9_]+) ([A-Za-z0-9_.-]+)$/.exec(line))) {
        const [, verb, kind, tn, name] = m;
        const t = state[tn];
        if (!t) return err(i, 'No such file or directory');
        const bag: Record<string, unknown> = kind === 'chain' ? t.chains : kind === 'counter' ? t.counters : kind === 'ct helper' ? t.ctHelpers : t.sets;
        if (verb === 'add') {
          if (kind === 'chain' && !(name in t.chains)) {
            t.chains[name] = [];
            t.chainHeads[name] = '';
          } else if (kind === 'counter' && !(name in t.counters)) t.counters[name] = { packets: 0, bytes: 0 };
          else if (kind !== 'chain' && kind !== 'counter') return err(i, `fake: add ${kind} not emulated`);
        } else if (!(name in bag)) return err(i, 'No such file or directory');
        else if (verb === 'flush') {
          if (kind === 'chain') t.chains[name] = [];
          else if (kind === 'set' || kind === 'map') t.sets[name].elements = [];
          else return err(i, `syntax error, unexpected ${kind}`);
        } else {
          if (kind === 'chain') {
            if (t.chains[name].length > 0) return err(i, 'Device or resource busy');
            delete t.chainHeads[name];
          }
          delete bag[name];
        }
      } else if ((m = /^(add|delete) element inet ([A-Za-z0-9_]+) ([A-Za-z0-9_.-]+) \{ (.*) \}$/.exec(line))) {
        const [, verb, tn, name, inner] = m;
        const set = state[tn]?.sets[name];
        if (!set) return err(i, 'No such file or directory');
        for (const e of inner.split(',').map((x) => x.trim()).filter(Boolean)) {
          const at = set.elements.indexOf(e);
          if (verb === 'add' && at < 0) set.elements.push(e);
          else if (verb === 'delete') {
            if (at < 0) return err(i, 'Could not process rule: No such file or directory');
            set.elements.splice(at, 1);
          }
        }
      } else if ((m = /^add rule inet ([A-Za-z0-9_]+) ([A-Za-z0-9_.-]+) (.+)$/.exec(line))) {
        const t = state[m[1]];
        if (!t || !(m[2] in t.chains)) return err(i, 'No such file or directory');
        t.chains[m[2]].push(m[3]);
      } else {
        return err(i, 'syntax error, unexpected junk');
      }
    }
    if (!check) {
      this.nft = state;
      this.lastNftScript = script;
    }
    return ok();
  }

  /** Parse the body of `table inet X {` starting at line `start`; returns the index of the closing line. */
  private parseTableBlock(lines: string[], start: number, t: FakeNftTable, isNew: boolean): number | string {
    for (let i = start; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line === '}') return i;
      let m: RegExpExecArray | null;
      if ((m = /^comment "([^"]*)"$/.exec(line))) {
        if (isNew) t.comment = m[1]; // the kernel keeps a table comment from creation
        continue;
      }
      if ((m = /^(chain|set|map|counter|ct helper) ([A-Za-z0-9_.-]+) \{\s*(\})?$/.exec(line))) {
        const [, kind, name, closed] = m;
        const body: string[] = [];
        if (!closed) {
          let j = i + 1;
          for (; j < lines.length && lines[j].trim() !== '}'; j++) body.push(lines[j].trim());
          if (j >= lines.length) return 'syntax error, unexpected end of file';
          i = j;
        }
        // a multi-line `elements = { a,\n b }` block is one logical line
        const content: string[] = [];
        for (const b of body.filter((x) => x !== '')) {
          const last = content[content.length - 1];
          if (last !== undefined && last.startsWith('elements = {') && !last.includes('}')) content[content.length - 1] = `${last} ${b}`;
          else content.push(b);
        }
        if (kind === 'chain') {
          if (!(name in t.chains)) t.chains[name] = [];
          const head = content.filter((b) => /^(type |policy )/.test(b));
          t.chainHeads[name] = head.join('; ');
          t.chains[name].push(...content.filter((b) => !/^(type |policy )/.test(b)));
        } else if (kind === 'counter') {
          if (!(name in t.counters)) t.counters[name] = { packets: 0, bytes: 0 };
        } else if (kind === 'ct helper') {
          t.ctHelpers[name] = content.join('; ');
        } else {
          const elemLine = content.find((b) => b.startsWith('elements = {'));
          const spec = content.filter((b) => !b.startsWith('elements = {')).join('; ');
          const s = (t.sets[name] ??= { kind: kind as 'set' | 'map', spec, elements: [] });
          // As the kernel (6.x): a redeclaration may change a set's default timeout and size (the
          // elements keep theirs); any other difference (type, flags, ...) is refused.
          const fixed = (x: string) => x.split('; ').filter((p) => !/^(timeout|size) /.test(p)).join('; ');
          if (s.kind !== kind || fixed(s.spec) !== fixed(spec)) return `Could not process rule: File exists (${kind} ${name} redeclared differently)`;
          s.spec = spec;
          if (elemLine) {
            const inner = elemLine.replace(/^elements = \{/, '').replace(/\}\s*;?$/, '');
            for (const e of inner.split(',').map((x) => x.trim()).filter(Boolean)) if (!s.elements.includes(e)) s.elements.push(e);
          }
        }
        continue;
      }
      return `syntax error, unexpected ${line.split(' ')[0]}`;
    }
    return 'syntax error, unexpected end of file';
  }

  // ----- sysctl -----
  private sysctl(args: string[]): RunResult {
    const a = args.filter((x) => x !== '-q');
    if (a[0] === '-n') {
      const out: string[] = [];
      let missing = '';
      for (const k of a.slice(1)) {
        if (k in this.sysctls) out.push(this.sysctls[k]);
        else missing += `sysctl: cannot stat /proc/sys/${k.replace(/\./g, '/')}: No such file or directory\n`;
      }
      return { stdout: out.map((x) => x + '\n').join(''), stderr: missing, exitCode: missing ? 1 : 0 };
    }
    if (a[0] === '-w') {
      for (const kv of a.slice(1)) {
        const eq = kv.indexOf('=');
        const k = kv.slice(0, eq);
        if (!(k in this.sysctls)) return fail(`sysctl: cannot stat /proc/sys/${k.replace(/\./g, '/')}: No such file or directory`, 255);
        this.sysctls[k] = kv.slice(eq + 1).trim().split(/\s+/).join('\t');
      }
      return ok();
    }
    return fail('fake sysctl: not emulated', 1);
  }

  // ----- conntrack -----
  private conntrack(args: string[]): RunResult {
    if (args[0] === '-L') {
      const lines = this.conns.map((c) => {
        const ports = (s?: number, d?: number) => (s !== undefined && d !== undefined ? ` sport=${s} dport=${d}` : '');
        return `ipv4     2 ${c.proto} ${c.proto === 'tcp' ? 6 : c.proto === 'udp' ? 17 : 1} 100 ${c.state ? c.state + ' ' : ''}src=${c.src} dst=${c.dst}${ports(c.sport, c.dport)} src=${c.dst} dst=${c.replyDst ?? c.src}${ports(c.dport, c.sport)} [ASSURED] mark=${c.mark} use=1`;
      });
      return ok(lines.map((l) => l + '\n').join(''), `conntrack v1.4.7 (conntrack-tools): ${lines.length} flow entries have been shown.\n`);
    }
    if (args[0] === '-D' && args[1] === '-m') {
      const [v, m] = args[2].split('/');
      const val = Number(v) >>> 0;
      const mask = m === undefined ? 0xffffffff : Number(m) >>> 0;
      const before = this.conns.length;
      this.conns = this.conns.filter((c) => ((c.mark & mask) >>> 0) !== ((val & mask) >>> 0));
      const n = before - this.conns.length;
      return { stdout: '', stderr: `conntrack v1.4.7 (conntrack-tools): ${n} flow entries have been deleted.\n`, exitCode: n === 0 ? 1 : 0 };
    }
    return fail('fake conntrack: not emulated', 1);
  }
}

function routeText(r: FakeRoute): string {
  const p: string[] = [];
  if (r.type !== 'unicast') p.push(r.type);
  p.push(r.dst === '0.0.0.0/0' ? 'default' : r.dst);
  if (r.via && !r.nexthops) p.push('via', r.via);
  if (r.dev && !r.nexthops) p.push('dev', r.dev);
  if (r.table !== 254) p.push('table', tableName(r.table));
  if (r.protocol) p.push('proto', r.protocol);
  if (r.scope && r.scope !== 'global') p.push('scope', r.scope);
  if (r.src) p.push('src', r.src);
  if (r.metric) p.push('metric', String(r.metric));
  if (r.onlink) p.push('onlink');
  let text = p.join(' ');
  for (const n of r.nexthops ?? []) text += `\n\tnexthop via ${n.via} dev ${n.dev} weight ${n.weight}${n.onlink ? ' onlink' : ''}`;
  return text;
}

function ruleText(r: FakeRule): string {
  const p = [`${r.priority}:`];
  if (r.not) p.push('not');
  p.push('from', r.from ?? 'all');
  if (r.to) p.push('to', r.to);
  if (r.fwmark) {
    const [v, m] = r.fwmark.split('/');
    p.push('fwmark', `0x${Number(v).toString(16)}${m !== undefined ? `/0x${Number(m).toString(16)}` : ''}`);
  }
  if (r.iif) p.push('iif', r.iif);
  if (r.oif) p.push('oif', r.oif);
  p.push('lookup', r.table);
  if (r.suppress !== undefined) p.push('suppress_prefixlength', String(r.suppress));
  return p.join(' ');
}
