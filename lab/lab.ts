// The lab: a virtual multi-ISP network in network namespaces (see docs/lab.md).
// Every command goes through the one Runner (agent/system/runner.ts) as an argv array; every name and address that reaches
// ip/nft comes from lab-plan.ts (fixed plan) or is validated first.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { realRunner, withNetns, type RunOptions, type RunResult } from '../agent/system/runner';
import { isIPv4, isIfname } from '../lib/validations/net';
import { parseConfig } from '../lib/validations/config';
import {
  labPlan, labConfig, nsName, parseRole, ispIndex, validatePrefix, validateUplinkCount, parseBreakMode,
  formatBreakMode, breakScript, bcp38Script, keaConfig, targetsTableScript, parseWhoAmI, parseLabIpv6, parseLabConfigIpv6, isLabIPv6,
  BREAK_TABLE, BCP38_TABLE, TARGETS_TABLE, DEFAULT_PREFIX, DEFAULT_UPLINKS,
  MAX_UPLINKS, ECHO_TCP_PORTS, ECHO_UDP_PORTS, LAN_SERVER_PORT, LAN_ROUTER_MAC, LAN_HOST_MAC,
  parseAddrs6, type LabPlan, type LabRole, type BreakMode, type LabIpv6, type LabConfigIpv6, type WhoAmI, type Addr6,
} from './plan';

export {
  nsName, labPlan, labConfig, parseRole, parseBreakMode, parseWhoAmI, parseAddrs6,
  type LabPlan, type LabRole, type BreakMode, type LabIpv6, type LabConfigIpv6, type WhoAmI, type Addr6,
} from './plan';

const run = (argv: string[], opts?: RunOptions): Promise<RunResult> => realRunner.run(argv, opts);
/** `run` inside namespace `ns`. */
const runIn = (ns: string, argv: string[], opts?: RunOptions): Promise<RunResult> => withNetns(realRunner, ns).run(argv, opts);

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = process.env.LINKWARD_ROOT ?? path.resolve(HERE, '..');
const SERVER_SCRIPT = path.join(ROOT, 'lab', 'echo-server.ts');
const CLIENT_SCRIPT = path.join(ROOT, 'lab', 'client.ts');
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const NODE = process.execPath;

/** Where pid files, logs and the generated config live: `.lab/<P>/` in the checkout. */
export function labStateDir(prefix: string): string {
  return path.join(ROOT, '.lab', validatePrefix(prefix));
}

// ---------------------------------------------------------------------------
// Small kernel helpers
// ---------------------------------------------------------------------------

const ip = (ns: string, args: string[], opts: RunOptions = {}) => run(['ip', '-n', ns, ...args], opts);

/** All namespace names (from /run/netns, what `ip netns list` reads). */
export async function listNamespaces(): Promise<string[]> {
  const r = await run(['ip', '-j', 'netns', 'list'], { allowFail: true });
  if (r.exitCode !== 0 || !r.stdout.trim()) return [];
  const parsed: unknown = JSON.parse(r.stdout);
  if (!Array.isArray(parsed)) return [];
  return parsed.map((x) => (x && typeof x === 'object' && 'name' in x ? String((x as { name: unknown }).name) : '')).filter(Boolean);
}

/** Namespaces that belong to the lab with this prefix (exact role names only). */
export async function labNamespaces(prefix: string): Promise<string[]> {
  validatePrefix(prefix);
  const re = new RegExp(`^${prefix}-(lan|rtr|net|isp[1-${MAX_UPLINKS}])$`);
  return (await listNamespaces()).filter((n) => re.test(n));
}

async function ensureNs(ns: string, existing: Set<string>): Promise<void> {
  if (existing.has(ns)) return;
  const r = await run(['ip', 'netns', 'add', ns], { allowFail: true });
  if (r.exitCode !== 0 && !/File exists/.test(r.stderr)) throw new Error(`ip netns add ${ns}: ${r.stderr.trim()}`);
  existing.add(ns);
}

async function linkExists(ns: string, dev: string): Promise<boolean> {
  const r = await ip(ns, ['link', 'show', 'dev', dev], { allowFail: true });
  return r.exitCode === 0;
}

/** A veth pair nsA:ifA <-> nsB:ifB (optionally with fixed MACs); recreated if either end is missing. */
async function ensureVeth(nsA: string, ifA: string, nsB: string, ifB: string, macs?: [string, string]): Promise<void> {
  const [a, b] = await Promise.all([linkExists(nsA, ifA), linkExists(nsB, ifB)]);
  if (a && b) return;
  if (a) await ip(nsA, ['link', 'del', 'dev', ifA], { allowFail: true });
  if (b) await ip(nsB, ['link', 'del', 'dev', ifB], { allowFail: true });
  const mac = (m: string | undefined) => (m === undefined ? [] : ['address', m]);
  await ip(nsA, ['link', 'add', 'name', ifA, ...mac(macs?.[0]), 'type', 'veth', 'peer', 'name', ifB, ...mac(macs?.[1]), 'netns', nsB]);
}

async function addrUp(ns: string, dev: string, cidrs: string[]): Promise<void> {
  for (const c of cidrs) await ip(ns, ['addr', 'replace', c, 'dev', dev]);
  await ip(ns, ['link', 'set', 'dev', dev, 'up']);
}

async function sysctl(ns: string, key: string, value: string): Promise<void> {
  await runIn(ns, ['sysctl', '-q', '-w', `${key}=${value}`]);
}

/** Several sysctls in one command. */
async function sysctls(ns: string, kv: Record<string, string>): Promise<void> {
  const args = Object.entries(kv).map(([k, v]) => `${k}=${v}`);
  if (args.length) await runIn(ns, ['sysctl', '-q', '-w', ...args]);
}

// ---------------------------------------------------------------------------
// Background servers (echo server, LAN server, iperf3)
// ---------------------------------------------------------------------------

/** dhcp6-<k>: ISP k's DHCPv6 server (kea-dhcp6, prefix delegation; 'slaac' labs). */
type ServerName = 'echo' | 'lan-server' | 'iperf3' | `dhcp6-${number}`;

function nsInode(file: string): number | null {
  try {
    return fs.statSync(file).ino;
  } catch {
    return null;
  }
}

function readPid(file: string): number | null {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 1 ? n : null;
  } catch {
    return null;
  }
}

function argvOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

const MARKERS: Record<string, string> = { echo: 'echo-server.ts', 'lan-server': 'echo-server.ts', iperf3: 'iperf3' };

/** Whether `argv` is our server `name`. kea is started through `ip netns exec ns kea-dhcp6 …`,
 *  whose own command line names kea too: only kea's argv[0] counts (before the exec, or during
 *  it, when the command line can read empty, the check said "running" once and "not running" a
 *  moment later). */
const isServer = (name: ServerName, argv: string[]): boolean =>
  name.startsWith('dhcp6-') ? path.basename(argv[0] ?? '') === 'kea-dhcp6' : argv.join(' ').includes(MARKERS[name]);

/** Pid of our server if it runs and is inside namespace `ns` (when given). */
function serverPid(prefix: string, name: ServerName, ns?: string): number | null {
  const pid = readPid(path.join(labStateDir(prefix), `${name}.pid`));
  if (pid === null || !isServer(name, argvOf(pid))) return null;
  if (ns !== undefined) {
    const want = nsInode(`/run/netns/${ns}`);
    if (want === null || nsInode(`/proc/${pid}/ns/net`) !== want) return null;
  }
  return pid;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 40; i++) {
    await sleep(50);
    if (!fs.existsSync(`/proc/${pid}`) || /^Z/m.test(procState(pid))) return;
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

function procState(pid: number): string {
  try {
    return /State:\s+(\S)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
  } catch {
    return '';
  }
}

/** Stop our server `name` (only a process whose pid file we wrote and whose cmdline matches). */
async function stopServer(prefix: string, name: ServerName): Promise<void> {
  const pid = serverPid(prefix, name);
  if (pid !== null) await stopPid(pid);
  fs.rmSync(path.join(labStateDir(prefix), `${name}.pid`), { force: true });
}

async function ensureServer(prefix: string, name: ServerName, ns: string, bind: string[] = []): Promise<number> {
  const live = serverPid(prefix, name, ns);
  if (live !== null) return live;
  await stopServer(prefix, name); // a stale one (e.g. in a deleted namespace of an earlier run)
  const dir = labStateDir(prefix);
  const pidfile = path.join(dir, `${name}.pid`);
  const log = path.join(dir, `${name}.log`);
  let why = ''; // what the error below says beyond "did not start"
  if (name === 'iperf3') {
    await runIn(ns, ['iperf3', '-s', '-D', '-I', pidfile, '--logfile', log], { timeoutMs: 10000 });
    for (let i = 0; i < 40 && readPid(pidfile) === null; i++) await sleep(50);
  } else if (name.startsWith('dhcp6-')) {
    // kea-dhcp6 stays in the foreground; `ip netns exec` execs it, so the child's pid is kea's
    const conf = path.join(dir, `${name}.json`);
    const p = withNetns(realRunner, ns).spawn(['kea-dhcp6', '-c', conf], {
      detached: true, logFile: log, env: { KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: 'none' },
      onExit: (code, signal, error) => (why = `: exited ${code ?? signal ?? ''}${error ? ` (${error.message})` : ''}`),
    });
    if (p.pid !== undefined) fs.writeFileSync(pidfile, `${p.pid}\n`);
    // up to 10 s (was 2 s); the error says whether kea exited or was not seen in the namespace
    for (let i = 0; i < 200 && serverPid(prefix, name, ns) === null && !p.done; i++) await sleep(50);
    why ||= `: pid ${p.pid ?? '–'} not (yet) kea-dhcp6 in that namespace after 10 s`;
  } else {
    const ports = name === 'echo'
      ? ['--tcp', ECHO_TCP_PORTS.join(','), '--udp', ECHO_UDP_PORTS.join(','), '--bind', bind.join(',')]
      : ['--tcp', String(LAN_SERVER_PORT), '--udp', String(LAN_SERVER_PORT), '--bind', bind.join(',')];
    await runIn(ns, [NODE, '--import', TSX_LOADER, SERVER_SCRIPT, ...ports, '--daemon', '--pidfile', pidfile, '--log', log], { timeoutMs: 20000 });
  }
  const pid = serverPid(prefix, name, ns);
  if (pid === null) throw new Error(`lab: ${name} server did not start in ${ns}${why} (see ${log})`);
  return pid;
}

// ---------------------------------------------------------------------------
// up / down
// ---------------------------------------------------------------------------

export interface LabUpOptions {
  prefix?: string;
  uplinks?: number;
  /** Where to write the matching linkward config (default .lab/<P>/config.json). */
  configOut?: string;
  /** IPv6 in the lab (default 'none': IPv4 only, as before). Changing it on an existing lab
   *  recreates the lab. */
  ipv6?: LabIpv6;
  /** Which config variant to write: 'nptv6' (default for a 'slaac' lab) or 'native' (both need
   *  'slaac'), or 'none' (the IPv4-only document; the default for 'none' and 'plain' labs). */
  ipv6Config?: LabConfigIpv6;
}

export interface LabInfo {
  prefix: string;
  uplinks: number;
  namespaces: { lan: string; router: string; net: string; isps: string[] };
  plan: LabPlan;
  /** Device holding the probe target / server addresses in the Internet namespace ("targets0", or "lo" without dummy support). */
  targetsDevice: string;
  configPath: string;
  stateDir: string;
  servers: { echo: number; lanServer: number; iperf3: number; dhcp6: number[] };
  ipv6: LabIpv6;
  /** The variant of the written config. */
  ipv6Config: LabConfigIpv6;
  /** The lab was torn down and rebuilt because its IPv6 mode changed. */
  recreated: boolean;
}

async function ensureTargetsDevice(ns: string, want: string): Promise<string> {
  if (await linkExists(ns, want)) return want;
  const r = await ip(ns, ['link', 'add', 'name', want, 'type', 'dummy'], { allowFail: true });
  return r.exitCode === 0 ? want : 'lo';
}

interface LabState {
  prefix?: unknown;
  uplinks?: unknown;
  configPath?: unknown;
  targetsDevice?: unknown;
  ipv6?: unknown;
  ipv6Config?: unknown;
}

function readLabState(prefix: string): LabState | null {
  try {
    const j: unknown = JSON.parse(fs.readFileSync(path.join(labStateDir(prefix), 'lab.json'), 'utf8'));
    return j && typeof j === 'object' ? (j as LabState) : null;
  } catch {
    return null;
  }
}

/** The IPv6 mode recorded by the last `lab up` of this prefix (a lab.json without it: 'none'). */
function recordedIpv6(prefix: string): LabIpv6 | null {
  const st = readLabState(prefix);
  if (st === null) return null;
  return typeof st.ipv6 === 'string' && (['none', 'plain', 'slaac'] as string[]).includes(st.ipv6) ? (st.ipv6 as LabIpv6) : 'none';
}

function resolveConfigVariant(ipv6: LabIpv6, want: LabConfigIpv6 | undefined): LabConfigIpv6 {
  const v = parseLabConfigIpv6(want ?? (ipv6 === 'slaac' ? 'nptv6' : 'none'));
  if ((v === 'nptv6' || v === 'native') && ipv6 !== 'slaac') {
    throw new Error(`ipv6Config ${v} needs a lab with ipv6 "slaac" (the LAN host autoconfigures from linkward's RAs), not "${ipv6}"`);
  }
  return v;
}

/** Build (or repair) the lab. Idempotent: running it again fixes missing parts and changes nothing else. */
export async function labUp(opts: LabUpOptions = {}): Promise<LabInfo> {
  const prefix = validatePrefix(opts.prefix ?? DEFAULT_PREFIX);
  const n = validateUplinkCount(opts.uplinks ?? DEFAULT_UPLINKS);
  const v6 = parseLabIpv6(opts.ipv6 ?? 'none');
  const variant = resolveConfigVariant(v6, opts.ipv6Config);
  const plan = labPlan(prefix, n, v6);
  const dir = labStateDir(prefix);

  // The config first: a document that does not validate stops here, before any kernel change.
  const doc = labConfig(n, { ipv6: variant });
  const parsed = parseConfig(doc);
  if (!parsed.ok) throw new Error(`lab: generated config (${variant === 'none' ? 'IPv4 only' : variant}) does not validate: ${parsed.errors.join('; ')}`);

  // A lab built with another IPv6 mode is rebuilt from scratch (addresses, sysctls, MACs and
  // servers differ; converging them one by one is not worth it).
  let recreated = false;
  const before = recordedIpv6(prefix);
  if (before !== null && before !== v6 && (await labNamespaces(prefix)).length > 0) {
    await labDown(prefix);
    recreated = true;
  }
  fs.mkdirSync(dir, { recursive: true });

  // Remove ISPs beyond N left over from an earlier, larger lab.
  const existing = new Set(await listNamespaces());
  for (let k = n + 1; k <= MAX_UPLINKS; k++) {
    const ns = nsName(prefix, `isp${k}`);
    if (existing.has(ns)) {
      if (existing.has(plan.ns.router)) await ip(plan.ns.router, ['link', 'del', 'dev', `wan${k}`], { allowFail: true });
      if (existing.has(plan.ns.net)) await ip(plan.ns.net, ['link', 'del', 'dev', `isp${k}`], { allowFail: true });
      await run(['ip', 'netns', 'del', ns], { allowFail: true });
      existing.delete(ns);
    }
  }

  const all = [plan.ns.lan, plan.ns.router, plan.ns.net, ...plan.ns.isps];
  for (const ns of all) await ensureNs(ns, existing);
  await Promise.all(all.map((ns) => ip(ns, ['link', 'set', 'dev', 'lo', 'up'])));
  if (v6 !== 'none') {
    // Before any link exists, so every interface inherits it: no duplicate address detection
    // (addresses are usable at once). The ISPs and the Internet route IPv6; the router's
    // forwarding is linkward's business and stays as a new namespace has it (0).
    const noDad = { 'net.ipv6.conf.all.accept_dad': '0', 'net.ipv6.conf.default.accept_dad': '0' };
    const routes = { 'net.ipv6.conf.all.forwarding': '1', 'net.ipv6.conf.default.forwarding': '1' };
    await Promise.all(all.map((ns) => sysctls(ns, ns === plan.ns.net || plan.ns.isps.includes(ns) ? { ...noDad, ...routes } : noDad)));
    if (v6 === 'slaac') {
      await sysctls(plan.ns.lan, { 'net.ipv6.conf.default.accept_ra': '1', 'net.ipv6.conf.default.autoconf': '1' });
    }
  }
  /** Per-interface IPv6 settings, for an interface created before the defaults above (repair). */
  const if6 = (ns: string, dev: string, extra: Record<string, string> = {}) =>
    v6 === 'none' ? Promise.resolve() : sysctls(ns, { [`net.ipv6.conf.${dev}.accept_dad`]: '0', ...extra });

  // LAN
  await ensureVeth(plan.ns.router, plan.lan.routerIf, plan.ns.lan, plan.lan.hostIf, v6 === 'none' ? undefined : [LAN_ROUTER_MAC, LAN_HOST_MAC]);
  await if6(plan.ns.router, plan.lan.routerIf);
  await if6(plan.ns.lan, plan.lan.hostIf, v6 === 'slaac' ? { [`net.ipv6.conf.${plan.lan.hostIf}.accept_ra`]: '1', [`net.ipv6.conf.${plan.lan.hostIf}.autoconf`]: '1' } : {});
  await addrUp(plan.ns.router, plan.lan.routerIf, [`${plan.lan.routerAddr}/24`, ...(v6 === 'plain' ? [`${plan.lan.routerAddr6}/64`] : [])]);
  await addrUp(plan.ns.lan, plan.lan.hostIf, [...plan.lan.hostAddrs.map((a) => `${a}/24`), ...(v6 === 'plain' ? [`${plan.lan.hostAddr6}/64`] : [])]);
  await ip(plan.ns.lan, ['route', 'replace', 'default', 'via', plan.lan.routerAddr, 'dev', plan.lan.hostIf]);
  if (v6 === 'plain') await ip(plan.ns.lan, ['-6', 'route', 'replace', 'default', 'via', plan.lan.routerAddr6, 'dev', plan.lan.hostIf]);

  // ISPs
  for (const isp of plan.isps) {
    await ensureVeth(plan.ns.router, isp.routerIf, isp.ns, isp.ispIf);
    await ensureVeth(isp.ns, isp.ispUpIf, plan.ns.net, isp.netIf);
    await Promise.all([if6(plan.ns.router, isp.routerIf), if6(isp.ns, isp.ispIf), if6(isp.ns, isp.ispUpIf), if6(plan.ns.net, isp.netIf)]);
    const with6 = (v4: string, v6addr: string) => (v6 === 'none' ? [v4] : [v4, `${v6addr}/64`]);
    await addrUp(plan.ns.router, isp.routerIf, with6(`${isp.routerAddr}/24`, isp.routerAddr6));
    await addrUp(isp.ns, isp.ispIf, with6(`${isp.gateway}/24`, isp.gateway6));
    await addrUp(isp.ns, isp.ispUpIf, with6(`${isp.ispUpAddr}/24`, isp.ispUpAddr6));
    await addrUp(plan.ns.net, isp.netIf, with6(`${isp.netAddr}/24`, isp.netAddr6));
    await sysctl(isp.ns, 'net.ipv4.ip_forward', '1');
    // Ingress filtering (BCP 38) like a real ISP: only the customer's own source addresses are
    // forwarded, so un-NATed or wrong-uplink traffic fails here instead of "working" asymmetrically.
    await sysctl(isp.ns, 'net.ipv4.conf.all.rp_filter', '1');
    await sysctl(isp.ns, `net.ipv4.conf.${isp.ispIf}.rp_filter`, '1');
    await ip(isp.ns, ['route', 'replace', 'default', 'via', isp.netAddr, 'dev', isp.ispUpIf]);
    await ip(plan.ns.net, ['route', 'replace', isp.accessNet, 'via', isp.ispUpAddr, 'dev', isp.netIf]);
    // "DHCP": a main-table default route per uplink, distinct metrics.
    await ip(plan.ns.router, ['route', 'replace', 'default', 'via', isp.gateway, 'dev', isp.routerIf, 'metric', String(isp.metric)]);
    if (v6 !== 'none') {
      // IPv6 has no rp_filter: the same ingress filter as an nft table of the ISP's own.
      await runIn(isp.ns, ['nft', '-f', '-'], { input: bcp38Script(isp) });
      await ip(isp.ns, ['-6', 'route', 'replace', 'default', 'via', isp.netAddr6, 'dev', isp.ispUpIf]);
      await ip(isp.ns, ['-6', 'route', 'replace', isp.delegated6, 'via', isp.routerAddr6, 'dev', isp.ispIf]);
      await ip(plan.ns.net, ['-6', 'route', 'replace', isp.accessNet6, 'via', isp.ispUpAddr6, 'dev', isp.netIf]);
      await ip(plan.ns.net, ['-6', 'route', 'replace', isp.delegated6, 'via', isp.ispUpAddr6, 'dev', isp.netIf]);
      // "Router advertisement / DHCPv6": the main-table default route the agent learns ("auto").
      await ip(plan.ns.router, ['-6', 'route', 'replace', 'default', 'via', isp.gateway6, 'dev', isp.routerIf, 'metric', String(isp.metric)]);
    }
  }

  // Internet: probe targets and the server address.
  const targetsDevice = await ensureTargetsDevice(plan.ns.net, plan.net.targetsIf);
  const v6hosts = v6 === 'none' ? [] : [...plan.net.targets6, plan.net.server6];
  await addrUp(plan.ns.net, targetsDevice, [...[...plan.net.targets, plan.net.server].map((a) => `${a}/32`), ...v6hosts.map((a) => `${a}/128`)]);

  const lanBind = [...plan.lan.hostAddrs, ...(v6 === 'plain' ? [plan.lan.hostAddr6] : v6 === 'slaac' ? ['::'] : [])];
  const servers = {
    echo: await ensureServer(prefix, 'echo', plan.ns.net, [...plan.net.targets, plan.net.server, ...v6hosts]),
    lanServer: await ensureServer(prefix, 'lan-server', plan.ns.lan, lanBind),
    iperf3: await ensureServer(prefix, 'iperf3', plan.ns.net),
    dhcp6: [] as number[],
  };
  // 'slaac' labs: each ISP delegates its /56 by DHCPv6-PD (Debian's kea-dhcp6), for uplinks
  // configured with ipv6.prefix "auto"
  if (v6 === 'slaac') {
    for (const isp of plan.isps) {
      fs.writeFileSync(path.join(dir, `dhcp6-${isp.index}.json`), keaConfig(isp, path.join(dir, `dhcp6-${isp.index}.sock`)));
      servers.dhcp6.push(await ensureServer(prefix, `dhcp6-${isp.index}`, isp.ns));
    }
  }

  const configPath = path.resolve(opts.configOut ?? path.join(dir, 'config.json'));
  fs.mkdirSync(path.dirname(configPath), { recursive: true });
  fs.writeFileSync(configPath, JSON.stringify(doc, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'lab.json'), JSON.stringify({ prefix, uplinks: n, configPath, targetsDevice, ipv6: v6, ipv6Config: variant }, null, 2) + '\n');

  return { prefix, uplinks: n, namespaces: plan.ns, plan, targetsDevice, configPath, stateDir: dir, servers, ipv6: v6, ipv6Config: variant, recreated };
}

export interface LabDownResult {
  removed: string[];
  /** Processes (not ours) that were still inside a removed namespace; they keep it alive until they exit. */
  leftoverPids: Record<string, number[]>;
}

async function nsPids(ns: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', ns], { allowFail: true });
  return r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((x) => Number.isInteger(x));
}

/** Stop the lab's servers and delete every namespace of this prefix. Safe when nothing is up. */
export async function labDown(prefix: string = DEFAULT_PREFIX): Promise<LabDownResult> {
  validatePrefix(prefix);
  for (const s of ['echo', 'lan-server', 'iperf3'] as const) await stopServer(prefix, s);
  for (let k = 1; k <= MAX_UPLINKS; k++) await stopServer(prefix, `dhcp6-${k}`);
  const namespaces = await labNamespaces(prefix);
  const leftoverPids: Record<string, number[]> = {};
  for (const ns of namespaces) {
    const pids = await nsPids(ns);
    if (pids.length) leftoverPids[ns] = pids;
    await run(['ip', 'netns', 'del', ns], { allowFail: true });
  }
  return { removed: namespaces, leftoverPids };
}

// ---------------------------------------------------------------------------
// break / restore / targets
// ---------------------------------------------------------------------------

function resolveIsp(prefix: string, target: string): { k: number; ns: string } {
  const k = ispIndex(target);
  if (k === null) throw new Error(`unknown uplink ${JSON.stringify(target)}: use isp1..isp${MAX_UPLINKS} (or 1..${MAX_UPLINKS})`);
  return { k, ns: nsName(prefix, `isp${k}`) };
}

async function requireNs(ns: string): Promise<void> {
  if (!(await listNamespaces()).includes(ns)) throw new Error(`namespace ${ns} does not exist (run "linkward lab up" first)`);
}

/** Stop (on = false) or start ISP `target`'s DHCPv6 server ('slaac' labs): a stopped server
 *  renews nothing, so the delegation to the router expires (LAB_DHCP6_TIMERS.valid seconds). */
export async function labDhcp6(prefix: string, target: string, on: boolean): Promise<{ ns: string; pid: number | null }> {
  const { k, ns } = resolveIsp(prefix, target);
  await requireNs(ns);
  if (!on) {
    await stopServer(prefix, `dhcp6-${k}`);
    return { ns, pid: null };
  }
  if (!fs.existsSync(path.join(labStateDir(prefix), `dhcp6-${k}.json`))) throw new Error(`isp${k} has no DHCPv6 server (a 'slaac' lab has one)`);
  return { ns, pid: await ensureServer(prefix, `dhcp6-${k}`, ns) };
}

/** Break an ISP inside its namespace; the router's link stays up. Replaces an earlier break of that ISP. */
export async function labBreak(prefix: string, target: string, mode: BreakMode | string = { kind: 'drop' }): Promise<{ ns: string; mode: string; method: string }> {
  validatePrefix(prefix);
  const m = typeof mode === 'string' ? parseBreakMode(mode) : mode;
  const { k, ns } = resolveIsp(prefix, target);
  await requireNs(ns);
  await labRestore(prefix, `isp${k}`);
  let method: string;
  if (m.kind === 'blackhole') {
    // The ISP's own gateway still answers (ARP/ND, ping); nothing gets beyond it.
    await ip(ns, ['route', 'replace', 'blackhole', 'default']);
    if (await ispHasIpv6(ns)) await ip(ns, ['-6', 'route', 'replace', 'blackhole', 'default']);
    method = 'route blackhole default in the ISP';
  } else if (m.kind === 'loss') {
    const tc = await Promise.all(['down0', 'up0'].map((dev) =>
      runIn(ns, ['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'netem', 'loss', `${m.percent}%`], { allowFail: true })));
    if (tc.every((r) => r.exitCode === 0)) method = 'tc netem on down0 and up0';
    else {
      for (const dev of ['down0', 'up0']) await runIn(ns, ['tc', 'qdisc', 'del', 'dev', dev, 'root'], { allowFail: true });
      await runIn(ns, ['nft', '-f', '-'], { input: breakScript(m) });
      method = 'nft numgen random drop (sch_netem unavailable)';
    }
  } else {
    await runIn(ns, ['nft', '-f', '-'], { input: breakScript(m) });
    method = 'nft drop all in the ISP';
  }
  return { ns, mode: formatBreakMode(m), method };
}

/** Undo any break of an ISP (all modes; idempotent). */
export async function labRestore(prefix: string, target: string): Promise<{ ns: string }> {
  validatePrefix(prefix);
  const { k, ns } = resolveIsp(prefix, target);
  await requireNs(ns);
  await runIn(ns, ['nft', 'delete', 'table', 'inet', BREAK_TABLE], { allowFail: true });
  for (const dev of ['down0', 'up0']) {
    const q = await runIn(ns, ['tc', 'qdisc', 'show', 'dev', dev], { allowFail: true });
    if (/netem/.test(q.stdout)) await runIn(ns, ['tc', 'qdisc', 'del', 'dev', dev, 'root'], { allowFail: true });
  }
  await ip(ns, ['route', 'replace', 'default', 'via', `100.127.${k}.1`, 'dev', 'up0']);
  const r6 = await ip(ns, ['-6', 'route', 'show', 'default'], { allowFail: true });
  if (/blackhole/.test(r6.stdout)) {
    if (await ispHasIpv6(ns)) await ip(ns, ['-6', 'route', 'replace', 'default', 'via', `2001:db8:f${k}::1`, 'dev', 'up0']);
    else await ip(ns, ['-6', 'route', 'del', 'blackhole', 'default'], { allowFail: true });
  }
  return { ns };
}

/** The ISP of an IPv6 lab carries a global IPv6 address on its uplink. */
async function ispHasIpv6(ns: string): Promise<boolean> {
  const r = await ip(ns, ['-6', '-j', 'addr', 'show', 'dev', 'up0', 'scope', 'global'], { allowFail: true });
  return r.exitCode === 0 && /"local"/.test(r.stdout);
}

/** What is wrong with an ISP right now, read from the kernel: "ok", "drop", "loss:N", "blackhole". */
export async function ispCondition(ns: string): Promise<string> {
  const t = await runIn(ns, ['nft', 'list', 'table', 'inet', BREAK_TABLE], { allowFail: true });
  if (t.exitCode === 0) {
    const m = /numgen random mod 100 < (\d+)/.exec(t.stdout);
    return m ? `loss:${m[1]}` : 'drop';
  }
  const q = await runIn(ns, ['tc', 'qdisc', 'show', 'dev', 'down0'], { allowFail: true });
  const nm = /netem.*loss (\d+)%/.exec(q.stdout);
  if (nm) return `loss:${nm[1]}`;
  const r = await ip(ns, ['route', 'show', 'default'], { allowFail: true });
  if (/blackhole/.test(r.stdout)) return 'blackhole';
  return 'ok';
}

/** An IPv4 or IPv6 address (strict grammar: it goes into nft and ip command lines). */
function checkIp(addr: string): string {
  if (!isIPv4(addr) && !isLabIPv6(addr)) throw new Error(`not an IPv4 or IPv6 address: ${JSON.stringify(addr)}`);
  return addr;
}

/** Drop all traffic to/from one address (e.g. a probe target) in the Internet namespace. */
export async function labTargetFilter(prefix: string, addr: string): Promise<void> {
  checkIp(addr);
  const ns = nsName(prefix, 'net');
  await requireNs(ns);
  const t = await runIn(ns, ['nft', 'list', 'table', 'inet', TARGETS_TABLE], { allowFail: true });
  if (t.exitCode !== 0) await runIn(ns, ['nft', '-f', '-'], { input: targetsTableScript() });
  else if (!/set filtered6 /.test(t.stdout)) {
    // A table of an older lab, without the IPv6 set: rebuild it with the same IPv4 entries.
    const old = await labFilteredTargets(prefix);
    await runIn(ns, ['nft', 'delete', 'table', 'inet', TARGETS_TABLE]);
    await runIn(ns, ['nft', '-f', '-'], { input: targetsTableScript() });
    for (const a of old) await runIn(ns, ['nft', 'add', 'element', 'inet', TARGETS_TABLE, targetSet(a), `{ ${checkIp(a)} }`]);
  }
  await runIn(ns, ['nft', 'add', 'element', 'inet', TARGETS_TABLE, targetSet(addr), `{ ${addr} }`]);
}

const targetSet = (addr: string) => (isIPv4(addr) ? 'filtered' : 'filtered6');

export async function labTargetUnfilter(prefix: string, addr: string): Promise<void> {
  checkIp(addr);
  const ns = nsName(prefix, 'net');
  await requireNs(ns);
  await runIn(ns, ['nft', 'delete', 'element', 'inet', TARGETS_TABLE, targetSet(addr), `{ ${addr} }`], { allowFail: true });
}

/** Filtered addresses, IPv4 first. */
export async function labFilteredTargets(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const set of ['filtered', 'filtered6']) {
    const r = await runIn(nsName(prefix, 'net'), ['nft', '-j', 'list', 'set', 'inet', TARGETS_TABLE, set], { allowFail: true });
    if (r.exitCode !== 0) continue;
    const doc = JSON.parse(r.stdout) as { nftables?: { set?: { elem?: unknown[] } }[] };
    const elems = doc.nftables?.find((x) => x.set)?.set?.elem ?? [];
    out.push(...elems.filter((e): e is string => typeof e === 'string'));
  }
  return out;
}

// ---------------------------------------------------------------------------
// exec / whoami
// ---------------------------------------------------------------------------

/** Run argv inside the namespace of `role` (lan | router | net | ispK). */
export async function labExec(prefix: string, role: LabRole | string, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0) throw new Error('labExec: empty command');
  return runIn(nsName(prefix, role), argv, { timeoutMs: 60000, ...opts });
}

export interface WhoAmIOptions {
  /** Bind the client socket to this local address. */
  sourceAddress?: string;
  /** Per attempt (default 2000 ms). */
  timeoutMs?: number;
  /** TCP only: bind to this interface (SO_BINDTODEVICE, via curl's --interface) so the connection
   *  leaves through it even without policy routing (e.g. "wan2" in the router before the agent runs).
   *  Binding only an address does not choose the uplink: the main table's default route does. */
  device?: string;
}

async function whoAmIMany(proto: 'tcp' | 'udp', prefix: string, from: LabRole | string, dst: string, port: number, count: number, opts: WhoAmIOptions): Promise<(WhoAmI | null)[]> {
  checkIp(dst);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${port}`);
  if (!Number.isInteger(count) || count < 1 || count > 100000) throw new Error(`bad count ${count}`);
  const timeoutMs = opts.timeoutMs ?? 2000;
  if (opts.device !== undefined) return curlWhoAmI(proto, prefix, from, dst, port, count, opts.device, timeoutMs, opts.sourceAddress);
  const argv = [NODE, '--import', TSX_LOADER, CLIENT_SCRIPT, proto, dst, String(port), '--timeout', String(timeoutMs), '--count', String(count)];
  if (opts.sourceAddress !== undefined) {
    if (isIPv4(checkIp(opts.sourceAddress)) !== isIPv4(dst)) throw new Error(`whoami: source ${opts.sourceAddress} and destination ${dst} are of different families`);
    argv.push('--source', opts.sourceAddress);
  }
  const r = await runIn(nsName(prefix, from), argv, { timeoutMs: timeoutMs * count + 10000 });
  const lines = r.stdout.split('\n').filter((l) => l.trim());
  return lines.map((l) => parseWhoAmI(l));
}

async function curlWhoAmI(proto: 'tcp' | 'udp', prefix: string, from: LabRole | string, dst: string, port: number, count: number, device: string, timeoutMs: number, source?: string): Promise<(WhoAmI | null)[]> {
  if (proto !== 'tcp') throw new Error('whoami: device binding is supported for TCP only');
  if (!isIfname(device)) throw new Error(`not an interface name: ${JSON.stringify(device)}`);
  if (source !== undefined) throw new Error('whoami: give either device or sourceAddress, not both');
  const out: (WhoAmI | null)[] = [];
  for (let i = 0; i < count; i++) {
    const host = isIPv4(dst) ? dst : `[${dst}]`;
    const r = await runIn(nsName(prefix, from), ['curl', '-s', '-g', '--max-time', (timeoutMs / 1000).toFixed(3), '--interface', device, `http://${host}:${port}/`], {
      timeoutMs: timeoutMs + 5000, allowFail: true,
    });
    out.push(r.exitCode === 0 ? parseWhoAmI(r.stdout, true) : null);
  }
  return out;
}

/** Connect over TCP from a lab namespace; the address the server saw, or null (refused, timeout, unreachable). */
export async function tcpWhoAmI(prefix: string, from: LabRole | string, dst: string, port: number, opts: WhoAmIOptions = {}): Promise<WhoAmI | null> {
  return (await whoAmIMany('tcp', prefix, from, dst, port, 1, opts))[0] ?? null;
}

/** Send one UDP datagram from a lab namespace; the address the server saw, or null (no answer in time). */
export async function udpWhoAmI(prefix: string, from: LabRole | string, dst: string, port: number, opts: WhoAmIOptions = {}): Promise<WhoAmI | null> {
  return (await whoAmIMany('udp', prefix, from, dst, port, 1, opts))[0] ?? null;
}

/** `count` sequential TCP connections in one client process (fast; for balancing statistics). */
export function tcpWhoAmIMany(prefix: string, from: LabRole | string, dst: string, port: number, count: number, opts: WhoAmIOptions = {}): Promise<(WhoAmI | null)[]> {
  return whoAmIMany('tcp', prefix, from, dst, port, count, opts);
}

export function udpWhoAmIMany(prefix: string, from: LabRole | string, dst: string, port: number, count: number, opts: WhoAmIOptions = {}): Promise<(WhoAmI | null)[]> {
  return whoAmIMany('udp', prefix, from, dst, port, count, opts);
}

/** The IPv6 addresses of `dev` in a lab namespace (default: the LAN host's eth0), with their flags. */
export async function labAddrs6(prefix: string, role: LabRole | string = 'lan', dev = 'eth0'): Promise<Addr6[]> {
  if (!isIfname(dev)) throw new Error(`not an interface name: ${JSON.stringify(dev)}`);
  const r = await runIn(nsName(prefix, role), ['ip', '-j', '-6', 'addr', 'show', 'dev', dev]);
  return parseAddrs6(r.stdout);
}

/** Poll labAddrs6 until `pred` holds (every `intervalMs`, default 100); the addresses then, or null
 *  after `timeoutMs` (default 5000). E.g. "the address from isp1's prefix is deprecated". */
export async function labWaitAddrs6(
  prefix: string,
  pred: (addrs: Addr6[]) => boolean,
  opts: { role?: LabRole | string; dev?: string; timeoutMs?: number; intervalMs?: number } = {},
): Promise<Addr6[] | null> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    const a = await labAddrs6(prefix, opts.role ?? 'lan', opts.dev ?? 'eth0');
    if (pred(a)) return a;
    if (Date.now() >= deadline) return null;
    await sleep(opts.intervalMs ?? 100);
  }
}

// ---------------------------------------------------------------------------
// status
// ---------------------------------------------------------------------------

export interface LabStatus {
  prefix: string;
  up: boolean;
  namespaces: { name: string; exists: boolean }[];
  uplinks: number;
  isps: { name: string; ns: string; condition: string }[];
  filteredTargets: string[];
  servers: { echo: number | null; lanServer: number | null; iperf3: number | null };
  configPath: string | null;
  /** IPv6 mode recorded by `lab up` (null: no record). */
  ipv6: LabIpv6 | null;
}

export async function labStatus(prefix: string = DEFAULT_PREFIX): Promise<LabStatus> {
  validatePrefix(prefix);
  const present = new Set(await labNamespaces(prefix));
  const ispsPresent = [...present].filter((n) => /-isp\d$/.test(n)).sort();
  const uplinks = ispsPresent.length;
  const expected = [nsName(prefix, 'lan'), nsName(prefix, 'router'), nsName(prefix, 'net'), ...labPlan(prefix, Math.max(1, uplinks)).ns.isps];
  const isps = [];
  for (const ns of ispsPresent) isps.push({ name: ns.slice(prefix.length + 1), ns, condition: await ispCondition(ns) });
  const st = readLabState(prefix);
  const configPath = typeof st?.configPath === 'string' ? st.configPath : null;
  const netNs = nsName(prefix, 'net');
  return {
    prefix,
    up: uplinks > 0 && expected.every((n) => present.has(n)),
    namespaces: expected.map((name) => ({ name, exists: present.has(name) })),
    uplinks,
    isps,
    filteredTargets: present.has(netNs) ? await labFilteredTargets(prefix) : [],
    servers: {
      echo: present.has(netNs) ? serverPid(prefix, 'echo', netNs) : null,
      lanServer: present.has(nsName(prefix, 'lan')) ? serverPid(prefix, 'lan-server', nsName(prefix, 'lan')) : null,
      iperf3: present.has(netNs) ? serverPid(prefix, 'iperf3', netNs) : null,
    },
    configPath,
    ipv6: present.size > 0 ? recordedIpv6(prefix) : null,
  };
}
