// The packet tracer ("why did this happen?"), pure: which chain and rule decide a packet, which
// uplink it leaves by and why, and what NAT it gets — computed by evaluating the compiled plan's
// own nft text (plan.nftDeclaration: exactly what the kernel holds) for one packet, with the
// agent's facts (interfaces, addresses, which uplinks are active). No guessing from the config:
// if a rule carries an expression this evaluator does not know, the result says so (warnings)
// instead of pretending.
//
// Model: the first packet of a connection (ct state new) on its way through the hooks in kernel
// order — prerouting (mangle → dstnat → filter), routing, input or forward, postrouting (mangle →
// srcnat); router-originated: output (route/mangle → filter), postrouting. Sets the kernel fills at
// run time (bans, sticky pins, scan meters, drop records) are taken as empty: the packet is not
// banned, not pinned, and a single packet exceeds no rate.
import type { Config } from '../validations/config';
import { parseCidr, parseIPv4, cidrContains, maskOf, parsePortSpec } from '../validations/net';
import type { Facts, Plan, UplinkPlan } from './types';
import { CHAIN, COMMENT_PREFIX, MARK_MASK, uplinkIdOfMark } from './constants';

export type Proto = 'tcp' | 'udp' | 'icmp';

export interface PacketSpec {
  src: string;
  dst: string;
  proto: Proto;
  sport?: number;
  dport?: number;
  /** Where it enters: "lan" (a LAN interface), an uplink's name, or "router" (sent by the router). */
  in: string;
  /** For icmp: the type (default echo-request). */
  icmpType?: string;
}

export interface RuleHit {
  chain: string;
  /** 1-based position in the chain. */
  index: number;
  /** "lw:<kind>:<name>" */
  comment: string | null;
  counter: string | null;
  text: string;
  /** What the rule did: its verdict, a mark, NAT, or "continue". */
  effect: string;
}

export interface ChainVisit {
  chain: string;
  hook: string;
  /** Rules that matched, in order. */
  matched: RuleHit[];
  /** accept / drop / reject / return, or "policy accept|drop" when no rule decided. */
  verdict: string;
}

export type UplinkWhy = 'policy' | 'pin' | 'weighted' | 'inbound' | 'source' | 'lan' | 'local' | 'main-table';

export interface Explanation {
  packet: Required<Pick<PacketSpec, 'src' | 'dst' | 'proto' | 'in'>> & Pick<PacketSpec, 'sport' | 'dport'>;
  /** forward (through the router), input (to the router), output (from the router). */
  path: 'forward' | 'input' | 'output';
  iif: string | null;
  oif: string | null;
  visits: ChainVisit[];
  /** The filter decision: the rule (or policy) of input/forward/output that accepted or dropped it. */
  decision: { chain: string; verdict: 'accept' | 'drop' | 'reject'; rule: RuleHit | null; text: string };
  uplink: { name: string; why: UplinkWhy; detail: string; shares?: { uplink: string; share: number }[] } | null;
  nat: { dnat?: string; snat?: string };
  warnings: string[];
}

// ---------------------------------------------------------------------------
// The plan's nft text as chains of rule lines
// ---------------------------------------------------------------------------

interface ParsedChain {
  name: string;
  hook?: { type: string; hook: string; priority: string; policy: string };
  rules: string[];
}

export function parseDeclaration(text: string): Map<string, ParsedChain> {
  const out = new Map<string, ParsedChain>();
  let cur: ParsedChain | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^chain (\S+) \{$/.exec(line);
    if (m) {
      cur = { name: m[1], rules: [] };
      out.set(m[1], cur);
      continue;
    }
    if (!cur) continue;
    if (line === '}') {
      cur = null;
      continue;
    }
    const h = /^type (\S+) hook (\S+) priority (\S+); policy (\S+);$/.exec(line);
    if (h) cur.hook = { type: h[1], hook: h[2], priority: h[3], policy: h[4] };
    else if (line) cur.rules.push(line);
  }
  return out;
}

/** Split a rule line into tokens: words, "quoted strings", and { … } groups as one token. */
export function tokenize(rule: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < rule.length) {
    const c = rule[i];
    if (c === ' ') {
      i++;
      continue;
    }
    if (c === '"') {
      const j = rule.indexOf('"', i + 1);
      out.push(rule.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === '{') {
      let depth = 0;
      let j = i;
      for (; j < rule.length; j++) {
        if (rule[j] === '{') depth++;
        else if (rule[j] === '}' && --depth === 0) break;
      }
      out.push(rule.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < rule.length && rule[j] !== ' ') j++;
    out.push(rule.slice(i, j));
    i = j;
  }
  return out;
}

const unquote = (t: string) => (t.startsWith('"') ? t.slice(1, -1) : t);
const items = (t: string): string[] => (t.startsWith('{') ? t.slice(1, -1).split(',').map((x) => unquote(x.trim())).filter(Boolean) : [unquote(t)]);

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

interface Pkt {
  iif: string | null;
  oif: string | null;
  saddr: string;
  daddr: string;
  proto: Proto;
  sport?: number;
  dport?: number;
  icmpType: string;
  ctmark: number;
  mark: number;
  dnat: boolean;
  local: boolean;
}

interface Env {
  sets: Plan['staticSets'];
  dynamicSets: ReadonlySet<string>;
  warnings: Set<string>;
}

function inAddrSet(env: Env, name: string, addr: string): boolean {
  if (env.dynamicSets.has(name)) return false;
  const s = env.sets[name];
  if (!s) {
    env.warnings.add(`set @${name} is not in the plan; taken as empty`);
    return false;
  }
  return s.elements.some((e) => addrMatches(e, addr));
}

function addrMatches(spec: string, addr: string): boolean {
  const a = parseIPv4(addr);
  if (a === null) return false;
  const dash = spec.indexOf('-');
  if (dash > 0) {
    const lo = parseIPv4(spec.slice(0, dash).trim());
    const hi = parseIPv4(spec.slice(dash + 1).trim());
    return lo !== null && hi !== null && a >= lo && a <= hi;
  }
  const c = parseCidr(spec);
  return c !== null && cidrContains(c, a);
}

function portIn(spec: string, p: number | undefined): boolean {
  if (p === undefined) return false;
  return items(spec).some((x) => {
    const r = parsePortSpec(x);
    return r !== null && p >= r[0] && p <= r[1];
  });
}

const num = (t: string) => (t.startsWith('0x') ? parseInt(t, 16) : Number(t));

interface RuleResult {
  matched: boolean;
  /** Terminal verdict (accept/drop/reject/return/jump X/dnat/masquerade) or null (continue). */
  verdict: string | null;
  effects: string[];
  counter: string | null;
  comment: string | null;
}

/** Evaluate one rule against the packet; statements (marks, NAT) change `p` only when it matches. */
function evalRule(rule: string, p: Pkt, env: Env): RuleResult {
  const t = tokenize(rule);
  const res: RuleResult = { matched: true, verdict: null, effects: [], counter: null, comment: null };
  const deferred: (() => void)[] = [];
  let i = 0;
  const fail = () => {
    res.matched = false;
  };
  while (i < t.length && res.matched) {
    const w = t[i];
    const next = (k = 1) => t[i + k];
    switch (w) {
      case 'iifname':
      case 'oifname': {
        const neg = next() === '!=';
        const v = neg ? next(2) : next();
        const have = w === 'iifname' ? p.iif : p.oif;
        const hit = have !== null && items(v).includes(have);
        if (hit === neg) fail();
        i += neg ? 3 : 2;
        break;
      }
      case 'iif': {
        if (unquote(next()) !== (p.iif === null ? 'lo' : p.iif)) fail();
        i += 2;
        break;
      }
      case 'ip': {
        const field = next();
        if (field === 'saddr' || field === 'daddr') {
          const neg = next(2) === '!=';
          const v = neg ? next(3) : next(2);
          const addr = field === 'saddr' ? p.saddr : p.daddr;
          const hit = v.startsWith('@') ? inAddrSet(env, v.slice(1), addr) : items(v).some((x) => addrMatches(x, addr));
          if (hit === neg) fail();
          i += neg ? 4 : 3;
        } else if (field === 'dscp' && next(2) === 'set') {
          const dscp = next(3);
          deferred.push(() => res.effects.push(`dscp ${dscp}`));
          i += 4;
        } else {
          env.warnings.add(`unknown expression "ip ${field}" in: ${rule}`);
          fail();
        }
        break;
      }
      case 'tcp':
      case 'udp':
      case 'th': {
        const dir = next();
        if (w !== 'th' && p.proto !== w) fail();
        else if (w === 'th' && p.proto === 'icmp') fail();
        else {
          const neg = next(2) === '!=';
          const v = neg ? next(3) : next(2);
          const hit = portIn(v, dir === 'dport' ? p.dport : p.sport);
          if (hit === neg) fail();
        }
        i += next(2) === '!=' ? 4 : 3;
        break;
      }
      case 'meta': {
        const k = next();
        if (k === 'l4proto') {
          const neg = next(2) === '!=';
          const v = neg ? next(3) : next(2);
          const hit = items(v).includes(p.proto);
          if (hit === neg) fail();
          i += neg ? 4 : 3;
        } else if (k === 'mark' && next(2) === 'and') {
          // meta mark and M ==|!= V
          const val = p.mark & num(next(3));
          const hit = val === num(next(5));
          if (hit !== (next(4) === '==')) fail();
          i += 6;
        } else if (k === 'mark' && next(2) === 'set') {
          // meta mark set ct mark and M
          const m = num(next(6));
          deferred.push(() => {
            p.mark = p.ctmark & m;
          });
          i += 7;
        } else if (k === 'nfproto') {
          if (!items(next(2)).includes('ipv4')) fail();
          i += 3;
        } else if (k === 'nftrace') {
          i += 4;
        } else {
          env.warnings.add(`unknown expression "meta ${k}" in: ${rule}`);
          fail();
        }
        break;
      }
      case 'ip6':
      case 'icmpv6':
        // The tracer follows IPv4 packets: an IPv6-only match never matches them.
        fail();
        break;
      case 'icmp': {
        if (p.proto !== 'icmp') fail();
        const neg = next(2) === '!=';
        const v = neg ? next(3) : next(2);
        if (p.proto === 'icmp' && items(v).includes(p.icmpType) === neg) fail();
        i += neg ? 4 : 3;
        break;
      }
      case 'ct': {
        const k = next();
        if (k === 'state') {
          if (!next(2).split(',').includes('new')) fail();
          i += 3;
        } else if (k === 'status') {
          if ((next(2) === 'dnat') !== p.dnat) fail();
          i += 3;
        } else if (k === 'mark' && next(2) === 'and') {
          const val = p.ctmark & num(next(3));
          const hit = val === num(next(5));
          if (hit !== (next(4) === '==')) fail();
          i += 6;
        } else if (k === 'mark' && next(2) === 'set') {
          if (next(3) === 'numgen') {
            // ct mark set numgen random mod N map { a-b : M, ... }
            const map = next(8);
            const entries = map.slice(1, -1).split(',').map((e) => {
              const [range, mark] = e.split(':').map((x) => x.trim());
              const [lo, hi] = range.split('-').map(Number);
              return { span: (hi ?? lo) - lo + 1, mark: num(mark) };
            });
            const total = Number(next(6));
            deferred.push(() => {
              res.effects.push(`weighted:${entries.map((e) => `${e.mark}/${e.span}/${total}`).join(';')}`);
              p.ctmark = entries[0].mark; // one of them; the explanation lists the shares
            });
            i += 9;
          } else if (next(3) === 'meta') {
            const m = num(next(6));
            deferred.push(() => {
              p.ctmark = p.mark & m;
            });
            i += 7;
          } else {
            const m = num(next(3));
            const shown = next(3);
            deferred.push(() => {
              p.ctmark = m;
              res.effects.push(`ct mark ${shown}`);
            });
            i += 4;
          }
        } else if (k === 'helper' && next(2) === 'set') {
          const helper = unquote(next(3));
          deferred.push(() => res.effects.push(`helper ${helper}`));
          i += 4;
        } else {
          env.warnings.add(`unknown expression "ct ${k}" in: ${rule}`);
          fail();
        }
        break;
      }
      case 'fib': {
        // fib daddr type [!=] local
        const neg = next(3) === '!=';
        const v = neg ? next(4) : next(3);
        if ((v === 'local') === neg ? p.local : !p.local) fail();
        i += neg ? 5 : 4;
        break;
      }
      case 'update':
      case 'add': {
        // update @set { key [limit rate over …] } [add @banned {…}]: a single packet exceeds no rate
        const body = next(2) ?? '';
        if (/limit rate over/.test(body)) fail();
        i += 3;
        break;
      }
      case 'limit':
        // limit rate N/unit [burst …]: the first packet is under any rate
        i += 3;
        if (t[i] === 'burst') i += 3;
        break;
      case 'counter':
        if (next() === 'name') {
          const counter = unquote(next(2));
          deferred.push(() => {
            res.counter = counter;
          });
          i += 3;
        } else i += 1;
        break;
      case 'log':
        i += next() === 'prefix' ? 3 : 1;
        break;
      case 'comment':
        res.comment = unquote(next());
        i += 2;
        break;
      case 'accept':
      case 'drop':
      case 'return':
        res.verdict = w;
        i += 1;
        break;
      case 'reject':
        res.verdict = 'reject';
        i += 1;
        if (t[i] === 'with') i += 3;
        break;
      case 'jump':
      case 'goto':
        res.verdict = `jump ${next()}`;
        i += 2;
        break;
      case 'dnat': {
        // dnat ip to A[:P]
        const to = next(3);
        deferred.push(() => res.effects.push(`dnat ${to}`));
        res.verdict = res.verdict ?? 'nat';
        i += 4;
        break;
      }
      case 'masquerade':
        deferred.push(() => res.effects.push('masquerade'));
        res.verdict = res.verdict ?? 'nat';
        i += 1;
        break;
      default:
        env.warnings.add(`unknown expression "${w}" in: ${rule}`);
        fail();
    }
  }
  if (res.matched) for (const d of deferred) d();
  return res;
}

// ---------------------------------------------------------------------------
// The walk
// ---------------------------------------------------------------------------

function ruleHit(chain: string, index: number, text: string, r: RuleResult, effect: string): RuleHit {
  return { chain, index, comment: r.comment, counter: r.counter, text, effect };
}

/** Run one chain (and the chains it jumps to); returns the verdict and fills `visits`. */
function runChain(chains: Map<string, ParsedChain>, name: string, p: Pkt, env: Env, visits: ChainVisit[], hook: string, effects: string[]): string {
  const c = chains.get(name);
  if (!c) return 'continue';
  const visit: ChainVisit = { chain: name, hook, matched: [], verdict: '' };
  visits.push(visit);
  for (let i = 0; i < c.rules.length; i++) {
    const text = c.rules[i];
    const r = evalRule(text, p, env);
    if (!r.matched) continue;
    effects.push(...r.effects);
    if (r.verdict?.startsWith('jump ')) {
      const target = r.verdict.slice(5);
      visit.matched.push(ruleHit(name, i + 1, text, r, `jump ${target}`));
      const v = runChain(chains, target, p, env, visits, hook, effects);
      if (v === 'accept' || v === 'drop' || v === 'reject') {
        visit.verdict = v;
        return v;
      }
      continue;
    }
    const eff = r.verdict ?? (r.effects.length ? r.effects.join(', ') : 'continue');
    visit.matched.push(ruleHit(name, i + 1, text, r, eff));
    if (r.verdict === 'accept' || r.verdict === 'drop' || r.verdict === 'reject') {
      visit.verdict = r.verdict;
      return r.verdict;
    }
    if (r.verdict === 'return' || r.verdict === 'nat') {
      visit.verdict = r.verdict === 'nat' ? 'accept (nat)' : 'return';
      return r.verdict === 'nat' ? 'nat' : 'return';
    }
  }
  const policy = c.hook ? c.hook.policy : 'return';
  visit.verdict = c.hook ? `policy ${policy}` : 'return';
  return c.hook ? policy : 'return';
}

/** Validate and normalize a packet spec; throws with the field named. */
export function checkPacket(config: Config, s: PacketSpec): Explanation['packet'] {
  if (parseIPv4(s.src) === null) throw new Error(`--src: not an IPv4 address: ${JSON.stringify(s.src)}`);
  if (parseIPv4(s.dst) === null) throw new Error(`--dst: not an IPv4 address: ${JSON.stringify(s.dst)}`);
  if (!['tcp', 'udp', 'icmp'].includes(s.proto)) throw new Error('--proto: must be tcp, udp or icmp');
  for (const k of ['sport', 'dport'] as const) {
    const v = s[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 65535)) throw new Error(`--${k}: must be a port 1-65535`);
    if (v !== undefined && s.proto === 'icmp') throw new Error(`--${k}: ports need --proto tcp or udp`);
  }
  if (s.in !== 'lan' && s.in !== 'router' && !config.uplinks.some((u) => u.name === s.in)) {
    throw new Error(`--in: must be lan, router or an uplink name (${config.uplinks.map((u) => u.name).join(', ') || 'none configured'})`);
  }
  const out: Explanation['packet'] = { src: s.src, dst: s.dst, proto: s.proto, in: s.in };
  if (s.proto !== 'icmp') {
    out.sport = s.sport ?? 40000;
    out.dport = s.dport ?? (s.proto === 'tcp' ? 443 : 53);
  }
  return out;
}

function routerAddresses(facts: Facts): string[] {
  return Object.values(facts.interfaces).flatMap((f) => f.addresses.map((a) => a.address));
}

/** The LAN interface whose network holds `addr`, or null. */
function lanIfOf(config: Config, addr: string): string | null {
  const a = parseIPv4(addr);
  if (a === null) return null;
  for (const l of config.lan) {
    const c = parseCidr(l.address, false);
    if (c && ((a & maskOf(c.prefix)) >>> 0) === ((c.address & maskOf(c.prefix)) >>> 0)) return l.interface;
  }
  return null;
}

export function explain(config: Config, facts: Facts, plan: Plan, spec: PacketSpec): Explanation {
  const packet = checkPacket(config, spec);
  const chains = parseDeclaration(plan.nftDeclaration);
  const env: Env = { sets: plan.staticSets, dynamicSets: new Set(plan.dynamicSets), warnings: new Set() };
  const byId = new Map(plan.uplinks.map((u) => [u.id, u]));
  const local = routerAddresses(facts);
  const uplinkIn = plan.uplinks.find((u) => u.name === spec.in);
  const lanIf = lanIfOf(config, spec.src) ?? config.lan[0]?.interface ?? null;
  const iif = spec.in === 'router' ? null : spec.in === 'lan' ? lanIf : (uplinkIn?.interface ?? null);
  const p: Pkt = {
    iif, oif: null, saddr: spec.src, daddr: spec.dst, proto: spec.proto, sport: packet.sport, dport: packet.dport,
    icmpType: spec.icmpType ?? 'echo-request', ctmark: 0, mark: 0, dnat: false, local: local.includes(spec.dst),
  };
  const visits: ChainVisit[] = [];
  const effects: string[] = [];
  const nat: Explanation['nat'] = {};
  let path: Explanation['path'];
  let verdict = 'accept';
  let decisionChain: string = CHAIN.forward;

  const nextEffects = () => effects.splice(0, effects.length);
  const applyDnat = (es: string[]) => {
    const d = es.find((e) => e.startsWith('dnat '));
    if (!d) return;
    const to = d.slice(5);
    nat.dnat = to;
    const [addr, port] = to.split(':');
    p.daddr = addr;
    if (port) p.dport = Number(port);
    p.dnat = true;
    p.local = local.includes(addr);
  };
  let weighted: string | undefined;
  const noteWeighted = (es: string[]) => {
    weighted = es.find((e) => e.startsWith('weighted:')) ?? weighted;
  };

  if (spec.in === 'router') {
    path = 'output';
    // Routing first (the output path routes, then output_route may re-route by mark).
    verdict = runChain(chains, CHAIN.outputRoute, p, env, visits, 'output', effects);
    noteWeighted(nextEffects());
    p.oif = routeOif(config, plan, p, byId);
    decisionChain = CHAIN.output;
    verdict = runChain(chains, CHAIN.output, p, env, visits, 'output', effects);
  } else {
    verdict = runChain(chains, CHAIN.preroutingMangle, p, env, visits, 'prerouting', effects);
    noteWeighted(nextEffects());
    runChain(chains, CHAIN.preroutingNat, p, env, visits, 'prerouting', effects);
    applyDnat(nextEffects());
    runChain(chains, CHAIN.preroutingHelper, p, env, visits, 'prerouting', effects);
    nextEffects();
    if (p.local) {
      path = 'input';
      decisionChain = CHAIN.input;
      verdict = runChain(chains, CHAIN.input, p, env, visits, 'input', effects);
    } else {
      path = 'forward';
      p.oif = routeOif(config, plan, p, byId);
      decisionChain = CHAIN.forward;
      verdict = runChain(chains, CHAIN.forward, p, env, visits, 'forward', effects);
    }
  }
  nextEffects();
  const filterVisit = [...visits].reverse().find((v) => v.hook === (path === 'output' ? 'output' : path) && !['select', CHAIN.outputRoute].includes(v.chain));
  const decidingRule = filterVisit ? filterVisit.matched.find((m) => ['accept', 'drop', 'reject'].includes(m.effect)) ?? null : null;
  const v: 'accept' | 'drop' | 'reject' = verdict === 'drop' ? 'drop' : verdict === 'reject' ? 'reject' : 'accept';
  if (v === 'accept' && path !== 'input') {
    runChain(chains, CHAIN.postroutingMangle, p, env, visits, 'postrouting', effects);
    nextEffects();
    runChain(chains, CHAIN.postroutingNat, p, env, visits, 'postrouting', effects);
    if (nextEffects().includes('masquerade')) {
      const u = plan.uplinks.find((x) => x.interface === p.oif);
      nat.snat = `${u?.address ?? 'the address of ' + p.oif} (masquerade on ${p.oif})`;
    }
  }
  const decision = {
    chain: decisionChain,
    verdict: v,
    rule: decidingRule,
    text: decidingRule
      ? `${v} by ${decidingRule.comment ?? `rule ${decidingRule.index}`} in chain ${decisionChain}${decidingRule.counter ? ` (counter ${decidingRule.counter})` : ''}`
      : `${v} by the policy of chain ${decisionChain}`,
  };
  // Readable weighted-pick effects: "weighted pick: isp1 3/4, isp2 1/4".
  for (const vis of visits) {
    for (const m of vis.matched) {
      if (!m.effect.startsWith('weighted:')) continue;
      m.effect = `weighted pick: ${m.effect.slice('weighted:'.length).split(';').map((x) => {
        const [mark, span, total] = x.split('/').map(Number);
        return `${byId.get(uplinkIdOfMark(mark))?.name ?? mark} ${span}/${total}`;
      }).join(', ')}`;
    }
  }
  const uplink = v === 'drop' || v === 'reject' ? null : uplinkOf(config, plan, p, visits, weighted, path, byId);
  let oif = p.oif;
  if (uplink?.shares && uplink.shares.length > 1) {
    // A random pick: the walk followed the first share; say what holds for every pick instead.
    const picks = uplink.shares.map((x) => plan.uplinks.find((u) => u.name === x.uplink)).filter((u): u is UplinkPlan => u !== undefined);
    oif = null;
    if (nat.snat) nat.snat = `the picked uplink's address (masquerade: ${picks.map((u) => `${u.address ?? '?'} on ${u.interface}`).join(' or ')})`;
  }
  return { packet, path, iif, oif, visits, decision, uplink, nat, warnings: [...env.warnings] };
}

/** The output interface: LAN destinations by the main table's connected routes (the
 *  suppress_prefixlength rule lets them win), else the uplink of the mark, else the fallback
 *  table 200 (active uplinks). */
function routeOif(config: Config, plan: Plan, p: Pkt, byId: Map<number, UplinkPlan>): string | null {
  const lan = lanIfOf(config, p.daddr);
  if (lan) return lan;
  const id = uplinkIdOfMark(p.mark & MARK_MASK) || uplinkIdOfMark(p.ctmark & MARK_MASK);
  const u = id ? byId.get(id) : undefined;
  if (u) return u.interface;
  const fromUplink = plan.uplinks.find((x) => x.address === p.saddr);
  if (fromUplink) return fromUplink.interface;
  const active = plan.uplinks.filter((x) => x.active);
  return active[0]?.interface ?? null;
}

function uplinkOf(config: Config, plan: Plan, p: Pkt, visits: ChainVisit[], weighted: string | undefined, path: Explanation['path'], byId: Map<number, UplinkPlan>): Explanation['uplink'] {
  if (path === 'input') return { name: '', why: 'local', detail: 'delivered to the router itself' };
  if (p.oif && config.lan.some((l) => l.interface === p.oif)) return { name: '', why: 'lan', detail: `to the LAN on ${p.oif}` };
  const marked = visits.flatMap((v) => v.matched).filter((m) => m.comment?.startsWith(COMMENT_PREFIX));
  const by = (kind: string) => marked.find((m) => m.comment!.startsWith(`${COMMENT_PREFIX}${kind}:`));
  const u = plan.uplinks.find((x) => x.interface === p.oif);
  const name = u?.name ?? '';
  const tier = (x: UplinkPlan | undefined) => (x ? ` (tier ${x.priority}${x.degraded ? ', degraded' : ''})` : '');
  const pol = by('policy');
  if (pol) return { name, why: 'policy', detail: `policy ${pol.comment!.split(':')[2]} sends it to ${name}${tier(u)} (counter ${pol.counter})` };
  const pin = by('pin');
  if (pin) return { name, why: 'pin', detail: `source pinned to ${name} (sticky)` };
  const inbound = by('inbound');
  if (inbound) return { name, why: 'inbound', detail: `arrived on ${inbound.comment!.split(':')[2]}: replies and forwards leave where they came in` };
  const src = by('source');
  if (src) return { name, why: 'source', detail: `the router's own address on ${name} as source` };
  if (weighted) {
    const parts = weighted.slice('weighted:'.length).split(';').map((s) => s.split('/').map(Number));
    const shares = parts.map(([mark, span, total]) => ({ uplink: byId.get(uplinkIdOfMark(mark))?.name ?? String(mark), share: span / total }));
    const inactive = plan.uplinks.filter((x) => !x.active).map((x) => `${x.name}: ${x.reason?.detail ?? 'inactive'}`);
    return {
      name: shares.length === 1 ? shares[0].uplink : '',
      why: 'weighted',
      detail: `weighted pick among the active uplinks: ${shares.map((s) => `${s.uplink} ${Math.round(s.share * 100)} %`).join(', ')}${inactive.length ? `; not in the pick: ${inactive.join('; ')}` : ''}`,
      shares,
    };
  }
  if (marked.some((m) => m.comment === `${COMMENT_PREFIX}select:weighted`)) {
    return { name, why: 'weighted', detail: `the only active uplink${tier(u)}` };
  }
  return { name, why: 'main-table', detail: name ? `no mark: the main routing table sends it to ${name}` : 'no uplink chosen: the main routing table decides' };
}
