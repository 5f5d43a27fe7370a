// Forwarding cost: iperf3 TCP (-P 4) LAN host → "Internet" server through the router, and the
// new-connection rate, under four router configurations, alternated round-robin (medians):
//  (a) baseline: plain forwarding, same routes and ip rules, NAT only (own table ip lwbench_nat,
//      masquerade on the uplinks) — linkward's table removed;
//  (b) linkward with the lab config;
//  (c) linkward with a 10 000-address blocklist (forward drop with destinationList, not matching);
//  (d) baseline + the same 10 000 addresses as linear iptables FORWARD rules (-d x -j DROP).
import { saveConfig } from '../lib/store/revisions';
import path from 'node:path';
import { withNetns, realRunner } from '../agent/system/runner';
import { benchConfig, blocklistEntries, median, round } from './stats';
import { type BenchLab, BIN, ROOT, inNs } from './env';

const CONN_CLIENT = path.join(ROOT, 'bench', 'conn-client.mjs');

export const SERVER = '203.0.113.80';
const NAT_TABLE = 'lwbench_nat';
type Mode = 'a' | 'b' | 'c' | 'd';

export interface ForwardOptions {
  rounds: number;
  seconds: number;
  connCount: number;
  log: (s: string) => void;
}

export interface ForwardResult {
  iptables: string;
  gbps: Record<Mode, number | null>;
  samples: Record<Mode, number[]>;
  connPerSec: { a: number | null; b: number | null };
  connSamples: { a: number[]; b: number[] };
  ratios: { full: number | null; set10k: number | null; iptables10k: number | null; connRate: number | null };
  /** Measurements that could not be taken, with what the router looked like at that moment. */
  failures: { round: number; mode: Mode; what: string }[];
}

/** The iptables variant used for (d): legacy when installed (the classic script), else nft. */
async function pickIptables(): Promise<{ restore: string; bin: string; version: string }> {
  for (const [bin, restore] of [['iptables-legacy', 'iptables-legacy-restore'], ['iptables', 'iptables-restore']]) {
    const r = await realRunner.run([bin, '-V'], { allowFail: true }).catch(() => null);
    if (r && r.exitCode === 0) return { bin, restore, version: r.stdout.trim() };
  }
  throw new Error('no iptables found');
}

/** iptables-restore input: 10 000 `-A FORWARD -d <addr>/32 -j DROP`. Addresses come from our pool (validated by construction). */
export function iptablesScript(entries: string[]): string {
  const lines = ['*filter', ':FORWARD ACCEPT [0:0]'];
  for (const e of entries) {
    if (!/^10\.\d{1,3}\.\d{1,3}\.\d{1,3}\/32$/.test(e)) throw new Error(`unexpected address ${e}`);
    lines.push(`-A FORWARD -d ${e} -j DROP`);
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

function natScript(uplinks: string[]): string {
  return `table ip ${NAT_TABLE} {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n${uplinks.map((u) => `\t\toifname "${u}" masquerade\n`).join('')}\t}\n}\n`;
}

export async function agentOnce(L: BenchLab): Promise<void> {
  // The database is named explicitly (not only inherited): an agent that finds no configuration
  // exits 0 having applied nothing — no ip_forward, no NAT — and every measurement after it fails.
  const r = await withNetns(realRunner, L.lab.namespaces.router).run(['env', `LINKWARD_DB=${L.dbFile}`, process.execPath, BIN, 'agent', '--once', '--quiet'], { timeoutMs: 120000, allowFail: true });
  if (r.exitCode !== 0) throw new Error(`agent --once failed: ${r.stderr.trim()}`);
  if (!/^revision \d+ applied/m.test(r.stdout)) throw new Error(`agent --once applied nothing: ${r.stdout.trim() || r.stderr.trim()}`);
}

/** What the router looks like now: ip_forward, the nft tables, and whether a LAN host reaches the
 *  server (one short connection attempt). */
export async function forwardingState(L: BenchLab): Promise<{ ok: boolean; what: string }> {
  const fwd = await inNs(L, 'router', ['sysctl', '-n', 'net.ipv4.ip_forward'], { timeoutMs: 5000, allowFail: true }).then((r) => r.stdout.trim(), () => '?');
  const tables = await inNs(L, 'router', ['nft', 'list', 'tables'], { timeoutMs: 5000, allowFail: true }).then((r) => r.stdout.trim().split('\n').map((l) => l.replace(/^table /, '')).join(', '), () => '?');
  const probe = await inNs(L, 'lan', [process.execPath, CONN_CLIENT, SERVER, '80', '3', '5'], { timeoutMs: 15000, allowFail: true }).then((r) => {
    try {
      return (JSON.parse(r.stdout) as { ok: number }).ok > 0;
    } catch {
      return false;
    }
  }, () => false);
  return { ok: probe, what: `ip_forward=${fwd}; tables: ${tables || 'none'}; LAN → ${SERVER}:80 ${probe ? 'works' : 'fails'}` };
}

export async function forwardBench(L: BenchLab, o: ForwardOptions): Promise<ForwardResult> {
  const ipt = await pickIptables();
  const uplinkIfs = L.lab.plan.isps.map((i) => i.routerIf);
  const entries = blocklistEntries(10000);
  const docB = benchConfig(L.baseConfig, {});
  const docC = benchConfig(L.baseConfig, { blocklist: entries });
  const iptText = iptablesScript(entries);
  const rtr = (argv: string[], opts: { input?: string; allowFail?: boolean } = {}) => inNs(L, 'router', argv, { timeoutMs: 60000, ...opts });

  async function setMode(m: Mode): Promise<void> {
    // clear everything the other modes add
    await rtr(['nft', 'delete', 'table', 'ip', NAT_TABLE], { allowFail: true });
    await rtr([ipt.bin, '-F', 'FORWARD'], { allowFail: true });
    if (m === 'b' || m === 'c') {
      const s = await saveConfig(m === 'b' ? docB : docC, { author: 'bench', source: 'cli' });
      if (!s.ok) throw new Error(`bench config rejected: ${s.errors.join('; ')}`);
      await agentOnce(L);
      return;
    }
    await rtr(['nft', 'delete', 'table', 'inet', 'linkward'], { allowFail: true });
    await rtr(['nft', '-f', '-'], { input: natScript(uplinkIfs) });
    if (m === 'd') await rtr([ipt.restore, '--noflush'], { input: iptText });
  }

  async function iperf(): Promise<number | null> {
    try {
      const r = await inNs(L, 'lan', ['iperf3', '-c', SERVER, '-P', '4', '-t', String(o.seconds), '-J', '--connect-timeout', '3000'], { timeoutMs: (o.seconds + 20) * 1000, allowFail: true });
      const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
      const bps = j.end?.sum_received?.bits_per_second;
      return typeof bps === 'number' ? bps / 1e9 : null;
    } catch {
      return null;
    }
  }

  /** Bounded: conn-client stops after 5 failures in a row or 60 s; the runner kills it at 90 s. */
  async function connRate(): Promise<{ rate: number | null; why?: string }> {
    const r = await inNs(L, 'lan', [process.execPath, CONN_CLIENT, SERVER, '80', String(o.connCount), '60'], { timeoutMs: 90000, allowFail: true }).catch((e: Error) => ({ stdout: '', stderr: e.message }));
    try {
      const j = JSON.parse(r.stdout) as { ok: number; failed: number; ms: number; aborted: string | null };
      if (j.aborted) return { rate: null, why: `connection rate: ${j.aborted} (${j.ok} ok, ${j.failed} failed)` };
      return j.failed === 0 && j.ms > 0 ? { rate: j.ok / (j.ms / 1000) } : { rate: null, why: `connection rate: ${j.failed} of ${j.ok + j.failed} failed` };
    } catch {
      return { rate: null, why: `connection rate: no result (${r.stderr.trim().slice(0, 200)})` };
    }
  }

  const failures: ForwardResult['failures'] = [];
  const samples: Record<Mode, number[]> = { a: [], b: [], c: [], d: [] };
  const connSamples = { a: [] as number[], b: [] as number[] };
  const modes: Mode[] = ['a', 'b', 'c', 'd'];
  try {
    // the agent's routes, ip rules and sysctls (ip_forward, loose rp_filter) stay for every mode
    await setMode('b');
    for (let round = 0; round < o.rounds; round++) {
      const order = modes.map((_, i) => modes[(i + round) % modes.length]);
      for (const m of order) {
        try {
          await setMode(m);
        } catch (e) {
          failures.push({ round, mode: m, what: `switching to (${m}) failed: ${(e as Error).message.slice(0, 300)}` });
          o.log(`forward: round ${round + 1}/${o.rounds} (${m}) not measured: ${(e as Error).message}`);
          continue;
        }
        // A mode without forwarding is reported (with the router's state), not measured for minutes.
        const st = await forwardingState(L);
        if (!st.ok) {
          failures.push({ round, mode: m, what: st.what });
          o.log(`forward: round ${round + 1}/${o.rounds} (${m}) not measured: ${st.what}`);
          continue;
        }
        const g = await iperf();
        if (g !== null) samples[m].push(g);
        else failures.push({ round, mode: m, what: `iperf3 failed (${(await forwardingState(L)).what})` });
        let cr: number | null = null;
        if (m === 'a' || m === 'b') {
          const c = await connRate();
          cr = c.rate;
          if (cr !== null) connSamples[m].push(cr);
          else failures.push({ round, mode: m, what: c.why ?? 'connection rate failed' });
        }
        o.log(`forward: round ${round + 1}/${o.rounds} (${m}) ${g === null ? 'iperf3 failed' : `${g.toFixed(2)} Gbit/s`}${cr !== null ? `, ${cr.toFixed(0)} conn/s` : ''}`);
      }
    }
  } finally {
    await rtr(['nft', 'delete', 'table', 'ip', NAT_TABLE], { allowFail: true });
    await rtr([ipt.bin, '-F', 'FORWARD'], { allowFail: true });
  }
  const gbps = Object.fromEntries(modes.map((m) => [m, round(median(samples[m]), 3)])) as Record<Mode, number | null>;
  const ratio = (x: number | null, y: number | null) => (x !== null && y !== null && y > 0 ? round(x / y, 3) : null);
  const connPerSec = { a: round(median(connSamples.a), 0), b: round(median(connSamples.b), 0) };
  return {
    iptables: ipt.version,
    gbps,
    samples,
    connPerSec,
    connSamples,
    ratios: { full: ratio(gbps.b, gbps.a), set10k: ratio(gbps.c, gbps.a), iptables10k: ratio(gbps.d, gbps.a), connRate: ratio(connPerSec.b, connPerSec.a) },
    failures,
  };
}
