// `npm run bench -- --peer shorewall`: the same lab work through linkward and through Shorewall +
// LSM (configuration generated from ours by bench/peer/shorewall.ts), alternating in one lab:
//  (a) forwarding: iperf3 -P 4 LAN → Internet server, plain routing + NAT as the baseline;
//  (b) apply time: one-rule change at small / 1 000 rules / 10 000-entry blocklist
//      (linkward: commit → kernel marker with the running agent, bench/apply.ts measure();
//       Shorewall: wall time of `shorewall reload` and of `shorewall restart` after the change);
//  (c) failover / failback: a new TCP connection from the LAN host every 50 ms (the failover
//      probe), isp1 broken by dropping everything in its namespace; linkward default and fast
//      health profiles against LSM's defaults and LSM tuned.
// Between the two, the router namespace is reset: agent stopped, linkward's table, rules and routes
// removed (agent/uninstall.ts), `shorewall clear`, every nft/iptables table flushed, Shorewall's
// routing tables and ip rules deleted, the lab's main-table default routes put back, conntrack
// flushed. Shorewall runs inside the router namespace only: its /etc/shorewall there is this run's
// directory (a symlink in /etc/netns/<router ns>/, which `ip netns exec` bind-mounts), its VARDIR
// too; LSM runs in the foreground under the bench and is killed with the lab.
import fs from 'node:fs';
import path from 'node:path';
import { saveConfig } from '../../lib/store/revisions';
import { parseConfig, HEALTH_FAST, type ConfigInput, type Config } from '../../lib/validations/config';
import { uninstallKernelState } from '../../agent/uninstall';
import { labBreak, labRestore } from '../../lab/lab';
import { withNetns, realRunner, type SpawnedProcess } from '../../agent/system/runner';
import { type BenchLab, inNs, onCleanup, startAgent, stopAgent, sleep, bounded } from '../env';
import { readTableComment } from '../../agent/system/nft';
import { agentOnce, forwardingState, SERVER } from '../forward';
import { benchConfig, blocklistEntries, median, round } from '../stats';
import { ProbeProc, settledAfter, firstVia, type ConnSample } from '../lib/failover-lab';
import { shorewallFiles, lsmFiles, parseLsmEvents, LSM_DEFAULTS, LSM_TUNED, type PeerFacts, type LsmTiming } from './shorewall';

export const PEER_PARTS = ['forward', 'apply', 'failover'] as const;
export type PeerPart = (typeof PEER_PARTS)[number];
export interface PeerOptions {
  quick: boolean;
  /** Which parts to run (default all). */
  parts?: PeerPart[];
  log: (s: string) => void;
}

type Cell = number | null;
export interface PeerRow { figure: string; unit: string; linkward: Cell; shorewall: Cell; ratio: Cell; samples: { linkward: number[]; shorewall: number[] }; failed: string[] }
export interface PeerResult {
  rows: PeerRow[];
  iptables: string;
  shorewallVersion: string;
  lsmVersion: string;
  skipped: string[];
  notes: string[];
  lsmDefaults: LsmTiming;
  lsmTuned: LsmTiming;
}

const NAT_TABLE = 'lwbench_nat';
const ISP1 = '100.64.1.2';
const ISP2 = '100.64.2.2';

export async function peerBench(L: BenchLab, o: PeerOptions): Promise<PeerResult> {
  const log = (s: string) => o.log(`peer: ${s}`);
  const rtrNs = L.lab.namespaces.router;
  const rtr = (argv: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}) => inNs(L, 'router', argv, { timeoutMs: 120000, ...opts });
  const base = L.baseConfig;
  const dir = path.join(L.dir, 'peer');
  const swDir = path.join(dir, 'shorewall');
  const stateDir = path.join(dir, 'state');
  fs.mkdirSync(swDir, { recursive: true });
  fs.mkdirSync(path.join(stateDir, 'var'), { recursive: true });
  const facts: PeerFacts = { uplinks: Object.fromEntries(L.lab.plan.isps.map((i) => [i.uplink, { gateway: i.gateway, address: i.routerAddr }])), stateDir };
  const notes: string[] = [];
  const skipped = new Set<string>();

  // /etc/shorewall inside the router namespace = this run's directory
  const netnsEtc = path.join('/etc/netns', rtrNs);
  const hadNetnsEtc = fs.existsSync(netnsEtc);
  fs.mkdirSync(netnsEtc, { recursive: true });
  const link = path.join(netnsEtc, 'shorewall');
  fs.rmSync(link, { force: true });
  fs.symlinkSync(swDir, link);
  let lsm: SpawnedProcess | null = null;
  let swStarted = false;
  const removeEtc = async () => {
    lsm?.kill('SIGKILL');
    fs.rmSync(link, { force: true });
    if (!hadNetnsEtc) fs.rmSync(netnsEtc, { recursive: true, force: true });
  };
  const unregister = onCleanup(removeEtc);

  const version = async (argv: string[]) => rtr(argv, { allowFail: true, timeoutMs: 20000 }).then((r) => (r.stdout + r.stderr).trim().split('\n')[0] ?? '', () => 'unknown');
  const iptables = await version(['iptables', '-V']);
  const shorewallVersion = await version(['shorewall', 'version']);
  const lsmVersion = await version(['lsm', '--version']);

  const parse = (doc: ConfigInput): Config => {
    const p = parseConfig(doc);
    if (!p.ok) throw new Error(`bench config invalid: ${p.errors.slice(0, 3).join('; ')}`);
    return p.value;
  };

  async function resetRouter(): Promise<void> {
    await stopAgent(L);
    if (lsm) {
      lsm.kill('SIGTERM');
      await bounded('lsm exit', 10000, lsm.exited).catch(() => lsm?.kill('SIGKILL'));
      lsm = null;
    }
    if (swStarted) {
      await rtr(['shorewall', '-q', 'clear'], { allowFail: true, timeoutMs: 60000 });
      swStarted = false;
    }
    await uninstallKernelState(L.rtr, null);
    await rtr(['nft', 'flush', 'ruleset']);
    // Shorewall's ip rules (everything but the kernel's three) and its routing tables
    const rules = JSON.parse((await rtr(['ip', '-j', 'rule', 'show'])).stdout || '[]') as { priority?: number }[];
    for (const p of [...new Set(rules.map((r) => r.priority).filter((x): x is number => typeof x === 'number' && ![0, 32766, 32767].includes(x)))]) {
      for (let k = 0; k < 50; k++) if ((await rtr(['ip', 'rule', 'del', 'priority', String(p)], { allowFail: true })).exitCode !== 0) break;
    }
    for (const t of ['1', '2', '3', '4', '250', '253']) await rtr(['ip', 'route', 'flush', 'table', t], { allowFail: true });
    for (const i of L.lab.plan.isps) await rtr(['ip', 'route', 'replace', 'default', 'via', i.gateway, 'dev', i.routerIf, 'metric', String(i.metric)]);
    await rtr(['conntrack', '-F'], { allowFail: true });
    await rtr(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv4.fib_multipath_hash_policy=0']);
  }

  function writeShorewall(doc: ConfigInput): void {
    const f = shorewallFiles(parse(doc), facts);
    for (const s of f.skipped) skipped.add(s);
    for (const [k, v] of Object.entries(f.shorewall)) fs.writeFileSync(path.join(swDir, k), v);
  }

  /** `shorewall <cmd>` in the router namespace; wall ms. */
  async function shorewall(cmd: 'start' | 'reload' | 'restart'): Promise<number> {
    const t0 = performance.now();
    const r = await rtr(['shorewall', '-q', cmd], { allowFail: true, timeoutMs: 180000 });
    const ms = performance.now() - t0;
    if (r.exitCode !== 0) throw new Error(`shorewall ${cmd} exited ${r.exitCode}: ${(r.stderr + r.stdout).trim().slice(-400)}`);
    swStarted = true;
    return ms;
  }

  async function linkwardStatic(doc: ConfigInput): Promise<void> {
    const s = await saveConfig(doc, { author: 'bench', source: 'cli' });
    if (!s.ok) throw new Error(`bench config rejected: ${s.errors.join('; ')}`);
    await agentOnce(L);
  }

  async function shorewallUp(doc: ConfigInput): Promise<void> {
    writeShorewall(doc);
    // per-flow (L4) hashing of Shorewall's multipath balance route: without it every connection of
    // one LAN host to one server takes the same uplink (Shorewall leaves the kernel's L3 default)
    await rtr(['sysctl', '-q', '-w', 'net.ipv4.fib_multipath_hash_policy=1']);
    await shorewall('start');
  }

  const rows: PeerRow[] = [];
  const addRow = (figure: string, unit: string, lw: number[], sw: number[], failed: string[], digits = 0) => {
    const a = round(median(lw), digits);
    const b = round(median(sw), digits);
    rows.push({ figure, unit, linkward: a, shorewall: b, ratio: a !== null && b !== null && a > 0 ? round(b / a, 2) : null, samples: { linkward: lw.map((x) => round(x, digits) ?? NaN), shorewall: sw.map((x) => round(x, digits) ?? NaN) }, failed });
  };

  try {
    const want = (p: PeerPart) => (o.parts ?? PEER_PARTS).includes(p);
    const agentLogTail = () => {
      try {
        return fs.readFileSync(path.join(L.dir, 'agent.log'), 'utf8').trim().split('\n').slice(-4).join(' | ').slice(-600);
      } catch {
        return '(no agent log)';
      }
    };
    // ------------------------------------------------------------------ (a) forwarding
    if (want('forward')) {
      log('forwarding: baseline / linkward / shorewall, alternated');
      const rounds = o.quick ? 2 : 3;
      const seconds = o.quick ? 2 : 4;
      const docB = benchConfig(base, {});
      type M = 'base' | 'lw' | 'sw';
      const samples: Record<M, number[]> = { base: [], lw: [], sw: [] };
      const failed: string[] = [];
      const modes: M[] = ['base', 'lw', 'sw'];
      for (let r = 0; r < rounds; r++) {
        for (const m of modes.map((_, i) => modes[(i + r) % modes.length])) {
          try {
            await resetRouter();
            if (m === 'base') {
              const ups = L.lab.plan.isps.map((i) => i.routerIf);
              await rtr(['nft', '-f', '-'], { input: `table ip ${NAT_TABLE} {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n${ups.map((u) => `\t\toifname "${u}" masquerade\n`).join('')}\t}\n}\n` });
            } else if (m === 'lw') await linkwardStatic(docB);
            else await shorewallUp(docB);
            const st = await forwardingState(L);
            if (!st.ok) throw new Error(st.what);
            const j = await inNs(L, 'lan', ['iperf3', '-c', SERVER, '-P', '4', '-t', String(seconds), '-J', '--connect-timeout', '3000'], { timeoutMs: (seconds + 20) * 1000, allowFail: true });
            const bps = (JSON.parse(j.stdout || '{}') as { end?: { sum_received?: { bits_per_second?: number } } }).end?.sum_received?.bits_per_second;
            if (typeof bps !== 'number') throw new Error(`iperf3: no result (${j.stderr.trim().slice(0, 200)})`);
            samples[m].push(bps / 1e9);
            log(`forwarding round ${r + 1}/${rounds} ${m}: ${(bps / 1e9).toFixed(2)} Gbit/s`);
          } catch (e) {
            failed.push(`round ${r + 1} ${m}: ${(e as Error).message.slice(0, 300)}`);
            log(`forwarding round ${r + 1} ${m} FAILED: ${(e as Error).message}`);
          }
        }
      }
      const b = median(samples.base);
      addRow('forwarding, Gbit/s (iperf3 -P 4)', 'Gbit/s', samples.lw, samples.sw, failed, 2);
      rows.push({ figure: 'forwarding vs plain routing + NAT', unit: 'ratio', linkward: round(median(samples.lw) / b, 3), shorewall: round(median(samples.sw) / b, 3), ratio: null, samples: { linkward: [], shorewall: [] }, failed: [] });
      notes.push(`forwarding baseline (routing + nft masquerade only): ${round(b, 2)} Gbit/s, runs ${samples.base.map((x) => x.toFixed(2)).join(' ')}`);
    }

    // ------------------------------------------------------------------ (b) apply
    if (want('apply')) {
      const k = o.quick ? 2 : 3;
      const sizes: { name: string; doc: (flip: number) => ConfigInput }[] = [
        { name: 'small (lab config)', doc: (f) => benchConfig(base, { flip: f }) },
        { name: '1 000 rules', doc: (f) => benchConfig(base, { rules: 1000, flip: f }) },
        { name: '10 000-entry blocklist', doc: (f) => benchConfig(base, { rules: 10, flip: f, blocklist: blocklistEntries(10000) }) },
      ];
      // linkward: the running agent; commit to SQLite → the kernel's plan marker (lw_meta comment)
      // changes and the agent reports that revision applied. (bench/apply.ts predicts the marker
      // by compiling in the bench; here the agent's packet-log state can differ from the
      // prediction after the router resets, so the change itself is what is waited for.)
      const lw = new Map<string, { ms: number[]; failed: string[] }>();
      const latestRev = () => (L.db.prepare('SELECT MAX(id) AS id FROM Revision').get() as { id: number | null }).id;
      const applied = () => (L.db.prepare('SELECT appliedRevision FROM AgentState WHERE id = 1').get() as { appliedRevision: number | null } | undefined)?.appliedRevision ?? null;
      async function lwChange(doc: ConfigInput, timeoutMs: number): Promise<number> {
        const before = await readTableComment(L.rtr).catch(() => null);
        const s = await saveConfig(doc, { author: 'bench', source: 'cli' });
        if (!s.ok) throw new Error(`bench config rejected: ${s.errors.slice(0, 3).join('; ')}`);
        const t0 = performance.now();
        const rev = latestRev();
        for (let n = 0; n < 100000 && performance.now() - t0 < timeoutMs; n++) {
          const m = await readTableComment(L.rtr).catch(() => null);
          if (m !== null && m !== before) {
            const t = performance.now() - t0;
            // the agent confirms the revision (it writes AgentState right after the apply)
            for (let k = 0; k < 200 && applied() !== rev; k++) await sleep(10);
            if (applied() !== rev) throw new Error(`kernel marker changed but the agent reports revision ${applied()} (want ${rev})`);
            return t;
          }
          await sleep(20);
        }
        throw new Error(`revision ${rev} did not reach the kernel in ${timeoutMs / 1000} s (kernel ${before}, agent at ${applied()}; agent log: ${agentLogTail()})`);
      }
      try {
        await resetRouter();
        startAgent(L);
        for (const s of sizes) {
          log(`apply linkward: ${s.name} × ${k}`);
          const r = { ms: [] as number[], failed: [] as string[] };
          lw.set(s.name, r);
          try {
            await lwChange(s.doc(0), 120000); // preparatory: load this size
            await sleep(300);
            for (let i = 1; i <= k; i++) {
              r.ms.push(await lwChange(s.doc(i), 60000));
              await sleep(100 + Math.random() * 300);
            }
            log(`apply linkward: ${s.name}: ${r.ms.map((x) => Math.round(x)).join(' ')} ms`);
          } catch (e) {
            r.failed.push((e as Error).message);
            log(`apply linkward ${s.name} FAILED: ${(e as Error).message}`);
            break; // the other sizes would wait for the same reason
          }
        }
        await stopAgent(L);
      } catch (e) {
        log(`apply linkward FAILED: ${(e as Error).message}`);
        for (const s of sizes) if (!lw.has(s.name)) lw.set(s.name, { ms: [], failed: [(e as Error).message] });
      }
      for (const s of sizes) if (!lw.has(s.name)) lw.set(s.name, { ms: [], failed: ['not measured: an earlier size failed'] });
      // Shorewall: the same change, then `shorewall reload` (and `restart`), wall time
      const sw = new Map<string, { reload: number[]; restart: number[]; failed: string[] }>();
      try {
        await resetRouter();
        writeShorewall(sizes[0].doc(0));
        await shorewall('start');
        for (const s of sizes) {
          const r = { reload: [] as number[], restart: [] as number[], failed: [] as string[] };
          sw.set(s.name, r);
          try {
            // Shorewall recompiles and reloads the whole configuration whatever changed, so the
            // first reload at a size (from the previous size's config) counts as a change too.
            // The 10 000-entry list costs tens of seconds per reload here: fewer repetitions.
            const big = s.name.includes('blocklist');
            const reloads = big ? (o.quick ? 1 : 2) : k;
            const restarts = big ? 1 : k;
            for (let i = 1; i <= reloads; i++) {
              writeShorewall(s.doc(i));
              r.reload.push(await shorewall('reload'));
            }
            for (let i = 1; i <= restarts; i++) {
              writeShorewall(s.doc(100 + i));
              r.restart.push(await shorewall('restart'));
            }
            log(`apply shorewall: ${s.name}: reload ${r.reload.map((x) => Math.round(x)).join(' ')} ms, restart ${r.restart.map((x) => Math.round(x)).join(' ')} ms`);
          } catch (e) {
            r.failed.push((e as Error).message);
            log(`apply shorewall ${s.name} FAILED: ${(e as Error).message}`);
          }
        }
      } catch (e) {
        log(`apply shorewall FAILED: ${(e as Error).message}`);
        for (const s of sizes) if (!sw.has(s.name)) sw.set(s.name, { reload: [], restart: [], failed: [(e as Error).message] });
      }
      for (const s of sizes) {
        const a = lw.get(s.name)!;
        const b = sw.get(s.name)!;
        addRow(`apply one-rule change, ${s.name} (shorewall reload)`, 'ms', a.ms, b.reload, [...a.failed, ...b.failed]);
        addRow(`apply one-rule change, ${s.name} (shorewall restart)`, 'ms', a.ms, b.restart, [...a.failed, ...b.failed]);
      }
    }

    // ------------------------------------------------------------------ (c) failover / failback
    if (want('failover')) {
      const trials = o.quick ? 1 : 2;
      const doc = benchConfig(base, {});
      const fast = structuredClone(doc);
      for (const u of fast.uplinks ?? []) u.health = { ...(u.health as object), ...HEALTH_FAST } as typeof u.health;

      /** Trials of break isp1 → settled via isp2 (failover), restore → first via isp1 (failback). */
      async function trialsRun(label: string, foBoundMs: number, fbBoundMs: number, ready: () => Promise<void>): Promise<{ fo: number[]; fb: number[]; failed: string[] }> {
        const out = { fo: [] as number[], fb: [] as number[], failed: [] as string[] };
        const conn = new ProbeProc<ConnSample>(L.lab.namespaces.lan, ['connect', SERVER, '80', '--every', '50', '--timeout', '1000', '--max-seconds', '900']);
        try {
          await sleep(1500);
          if (!conn.lines.some((x) => x.ip)) throw new Error(`${label}: the connector got no answer in 1.5 s`);
          for (let i = 0; i < trials; i++) {
            try {
              await ready();
              const tBreak = Date.now();
              await labBreak(L.prefix, 'isp1');
              let fo: number | null = null;
              for (let n = 0; n < 100000 && Date.now() - tBreak < foBoundMs; n++) {
                await sleep(100);
                const s = settledAfter(conn.lines, tBreak, Date.now() - 1100, new Set([ISP2]));
                if (s !== null && Date.now() - (tBreak + s) >= 2500) {
                  fo = s;
                  break;
                }
              }
              const tRestore = Date.now();
              await labRestore(L.prefix, 'isp1');
              if (fo === null) throw new Error(`failover not settled within ${foBoundMs / 1000} s`);
              out.fo.push(fo);
              let fb: number | null = null;
              for (let n = 0; n < 100000 && Date.now() - tRestore < fbBoundMs && fb === null; n++) {
                await sleep(100);
                fb = firstVia(conn.lines, tRestore, new Set([ISP1]));
              }
              if (fb === null) throw new Error(`failback: no connection via isp1 within ${fbBoundMs / 1000} s`);
              out.fb.push(fb);
              log(`${label} trial ${i + 1}/${trials}: failover ${fo} ms, failback ${fb} ms`);
            } catch (e) {
              out.failed.push(`${label} trial ${i + 1}: ${(e as Error).message}`);
              log(`${label} trial ${i + 1} FAILED: ${(e as Error).message}`);
              await labRestore(L.prefix, 'isp1').catch(() => undefined);
            }
            await sleep(1500);
          }
        } catch (e) {
          out.failed.push((e as Error).message);
        } finally {
          await conn.stop();
          await labRestore(L.prefix, 'isp1').catch(() => undefined);
        }
        return out;
      }

      const upState = () => Object.fromEntries((L.db.prepare('SELECT name, state FROM UplinkStatus').all() as { name: string; state: string }[]).map((r) => [r.name, r.state]));
      async function linkwardProfile(d: ConfigInput, label: string) {
        try {
          await resetRouter();
          const s = await saveConfig(d, { author: 'bench', source: 'cli' });
          if (!s.ok) throw new Error(s.errors.join('; '));
          startAgent(L);
          await sleep(5000); // the status rows may still say "up" from before: let the agent probe first
          const ready = async () => {
            for (let n = 0; n < 600; n++) {
              const st = upState();
              if (st.isp1 === 'up' && st.isp2 === 'up') return;
              await sleep(100);
            }
            throw new Error(`uplinks not up: ${JSON.stringify(upState())}`);
          };
          await ready();
          return await trialsRun(label, 30000, 30000, ready);
        } catch (e) {
          return { fo: [], fb: [], failed: [`${label}: ${(e as Error).message}`] };
        }
      }
      const events = () => parseLsmEvents(fs.existsSync(path.join(stateDir, 'lsm-events.log')) ? fs.readFileSync(path.join(stateDir, 'lsm-events.log'), 'utf8') : '');
      async function lsmProfile(t: LsmTiming, label: string, fbBoundMs: number) {
        try {
          await resetRouter();
          await shorewallUp(doc);
          const conf = path.join(dir, `lsm-${label.replace(/[^a-z]/g, '')}.conf`);
          const script = path.join(dir, 'lsm-event');
          const l = lsmFiles(parse(doc), facts, t, script);
          for (const s of l.skipped) skipped.add(s);
          fs.writeFileSync(conf, l.conf);
          fs.writeFileSync(script, l.script, { mode: 0o755 });
          lsm = withNetns(realRunner, rtrNs).spawn(['lsm', '-f', '-c', conf, '-p', path.join(stateDir, 'lsm.pid')], { logFile: path.join(stateDir, `lsm-${label.replace(/[^a-z]/g, '')}.log`) });
          await sleep(3000);
          if (lsm.done) throw new Error('lsm exited at start');
          // ready: the last event of isp1 (if any) is an enable that finished
          const ready = async () => {
            for (let n = 0; n < 1500; n++) {
              const ev = events().filter((e) => e.name === 'isp1' && e.kind === 'done');
              if (ev.length === 0 || ev.at(-1)!.what === 'enable') return;
              await sleep(100);
            }
            throw new Error('isp1 not enabled again by LSM');
          };
          return await trialsRun(label, 60000, fbBoundMs, ready);
        } catch (e) {
          return { fo: [], fb: [], failed: [`${label}: ${(e as Error).message}`] };
        }
      }
      log('failover: linkward default profile');
      const lwDef = await linkwardProfile(doc, 'linkward default');
      log('failover: shorewall + LSM defaults');
      const swDef = await lsmProfile(LSM_DEFAULTS, 'lsm defaults', 180000);
      log('failover: linkward fast profile');
      const lwFast = await linkwardProfile(fast, 'linkward fast');
      log('failover: shorewall + LSM tuned');
      const swTuned = await lsmProfile(LSM_TUNED, 'lsm tuned', 30000);
      addRow('failover, linkward default vs LSM defaults', 'ms', lwDef.fo, swDef.fo, [...lwDef.failed, ...swDef.failed]);
      addRow('failback, linkward default vs LSM defaults', 'ms', lwDef.fb, swDef.fb, []);
      addRow('failover, linkward fast vs LSM tuned', 'ms', lwFast.fo, swTuned.fo, [...lwFast.failed, ...swTuned.failed]);
      addRow('failback, linkward fast vs LSM tuned', 'ms', lwFast.fb, swTuned.fb, []);
      notes.push(`LSM events (ms since epoch): ${events().slice(-12).map((e) => `${e.name} ${e.kind} ${e.what}`).join(', ')}`);
    }
  } finally {
    await resetRouter().catch((e: Error) => log(`reset failed: ${e.message}`));
    await removeEtc();
    unregister();
  }
  return { rows, iptables, shorewallVersion, lsmVersion, skipped: [...skipped], notes, lsmDefaults: LSM_DEFAULTS, lsmTuned: LSM_TUNED };
}
