// Root only. A lab of our own namespaces (prefix lwt<pid>h):
//   R (router)  r1 10.101.0.2 ── i1 10.101.0.1  I1 (isp1)  n1 10.201.0.1 ── t1 10.201.0.2 ┐
//               r2 10.102.0.2 ── i2 10.102.0.1  I2 (isp2)  n2 10.202.0.1 ── t2 10.202.0.2 ┴ N (net: targets 203.0.113.1-3 on lo)
// R: main default only via uplink 1; tables 201/202 with a default via each ISP; rules
// fwmark 0x100/0xff00 -> 201, 0x200/0xff00 -> 202 (+ from <addr>). The probe CLI runs inside R.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { withNetns, realRunner } from '../../agent/system/runner';
import { HEALTH_DEFAULTS, HEALTH_FAST } from '../../lib/validations/config';
import { downSpanMs, probeIntervalMs } from '../../agent/health/state';

const isRoot = process.getuid?.() === 0;
const hasPing = ['/usr/bin/ping', '/bin/ping'].some((p) => existsSync(p));
const P = `lwt${process.pid}h`;
const NS = { R: `${P}R`, I1: `${P}I1`, I2: `${P}I2`, N: `${P}N` };
const TARGETS = ['203.0.113.1', '203.0.113.2', '203.0.113.3'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const created: string[] = [];

async function ip(ns: string, ...argv: string[]) {
  await withNetns(realRunner, ns).run(['ip', ...argv]);
}
async function nft(ns: string, script: string) {
  await withNetns(realRunner, ns).run(['nft', '-f', '-'], { input: script });
}

async function setupLab() {
  for (const ns of Object.values(NS)) {
    await realRunner.run(['ip', 'netns', 'add', ns]);
    created.push(ns);
    await ip(ns, 'link', 'set', 'lo', 'up');
  }
  const veth = async (a: string, an: string, b: string, bn: string, aAddr: string, bAddr: string) => {
    await realRunner.run(['ip', 'link', 'add', an, 'netns', a, 'type', 'veth', 'peer', 'name', bn, 'netns', b]);
    await ip(a, 'addr', 'add', aAddr, 'dev', an);
    await ip(b, 'addr', 'add', bAddr, 'dev', bn);
    await ip(a, 'link', 'set', an, 'up');
    await ip(b, 'link', 'set', bn, 'up');
  };
  await veth(NS.R, 'r1', NS.I1, 'i1', '10.101.0.2/24', '10.101.0.1/24');
  await veth(NS.R, 'r2', NS.I2, 'i2', '10.102.0.2/24', '10.102.0.1/24');
  await veth(NS.I1, 'n1', NS.N, 't1', '10.201.0.1/24', '10.201.0.2/24');
  await veth(NS.I2, 'n2', NS.N, 't2', '10.202.0.1/24', '10.202.0.2/24');
  for (const t of TARGETS) await ip(NS.N, 'addr', 'add', `${t}/32`, 'dev', 'lo');
  await ip(NS.N, 'route', 'add', '10.101.0.0/24', 'via', '10.201.0.1');
  await ip(NS.N, 'route', 'add', '10.102.0.0/24', 'via', '10.202.0.1');
  for (const [ns, via] of [[NS.I1, '10.201.0.2'], [NS.I2, '10.202.0.2']]) {
    await withNetns(realRunner, ns).run(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await ip(ns, 'route', 'add', '203.0.113.0/24', 'via', via);
    // netem (sch_netem) may be missing: the loss test then drops 20 % of requests with nft numgen.
    // Counters per source address of echo requests forwarded by this ISP; a "break" set.
    await nft(ns, `table inet lwt {
      counter from_r1 {}
      counter from_r2 {}
      chain fw { type filter hook forward priority 0; policy accept;
        icmp type echo-request ip saddr 10.101.0.2 counter name "from_r1"
        icmp type echo-request ip saddr 10.102.0.2 counter name "from_r2"
      }
    }\n`);
  }
  await withNetns(realRunner, NS.R).run(['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=2']);
  await ip(NS.R, 'route', 'add', 'default', 'via', '10.101.0.1');
  for (const id of [1, 2, 3, 4]) {
    const table = String(200 + (((id - 1) % 2) + 1));
    await ip(NS.R, 'rule', 'add', 'fwmark', `0x${(id << 8).toString(16)}/0xff00`, 'lookup', table, 'pref', String(1000 + id));
  }
  await ip(NS.R, 'route', 'add', 'default', 'via', '10.101.0.1', 'dev', 'r1', 'table', '201');
  await ip(NS.R, 'route', 'add', 'default', 'via', '10.102.0.1', 'dev', 'r2', 'table', '202');
  await ip(NS.R, 'rule', 'add', 'from', '10.101.0.2', 'lookup', '201', 'pref', '1101');
  await ip(NS.R, 'rule', 'add', 'from', '10.102.0.2', 'lookup', '202', 'pref', '1102');
}

async function teardown() {
  for (const ns of created.splice(0)) await realRunner.run(['ip', 'netns', 'del', ns], { allowFail: true });
}

async function counter(ns: string, name: string): Promise<number> {
  const r = await withNetns(realRunner, ns).run(['nft', '-j', 'list', 'counter', 'inet', 'lwt', name]);
  const j = JSON.parse(r.stdout) as { nftables: { counter?: { packets: number } }[] };
  return j.nftables.find((x) => x.counter)!.counter!.packets;
}

type Ev = { type: string; uplink?: string; from?: string; to?: string; reason?: string; at?: number; uplinks?: Record<string, { state: string; lossPct: number | null; latencyMs: number | null }>; pids?: number[] };

class ProbeCli {
  readonly events: Ev[] = [];
  private child: ChildProcess;
  private exited: Promise<void>;
  constructor(uplinks: unknown[]) {
    this.child = spawn('ip', ['netns', 'exec', NS.R, process.execPath, '--import', 'tsx', 'lab/probe-cli.ts', '--config', '-', '--watch-links'], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    this.exited = new Promise((r) => this.child.once('exit', () => r()));
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.events.push(JSON.parse(line) as Ev);
        } catch {
          this.events.push({ type: 'garbage', reason: line });
        }
      }
    });
    this.send({ uplinks });
  }
  get pid(): number | undefined {
    return this.child.pid;
  }
  send(o: unknown) {
    this.child.stdin!.write(JSON.stringify(o) + '\n');
  }
  transitions(): Ev[] {
    return this.events.filter((e) => e.type === 'transition');
  }
  async waitFor(pred: (e: Ev) => boolean, ms: number, from = 0): Promise<Ev> {
    const end = Date.now() + ms;
    for (let k = 0; k < 100_000 && Date.now() < end; k++) {
      const e = this.events.slice(from).find(pred);
      if (e) return e;
      await sleep(20);
    }
    throw new Error(`timed out after ${ms} ms; transitions: ${JSON.stringify(this.transitions())}`);
  }
  async snapshot(): Promise<Ev> {
    const n = this.events.length;
    this.send({ cmd: 'snapshot' });
    return this.waitFor((e) => e.type === 'snapshot', 5000, n);
  }
  async stop() {
    if (this.child.exitCode === null) {
      this.send({ cmd: 'stop' });
      this.child.stdin!.end();
      await Promise.race([this.exited, sleep(5000)]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
  }
}

function uplinks(profile: Record<string, number>, extra = false) {
  const base = [
    { name: 'wan1', id: 1, interface: 'r1', address: '10.101.0.2', health: { targets: TARGETS, ...profile } },
    { name: 'wan2', id: 2, interface: 'r2', address: '10.102.0.2', health: { targets: TARGETS, ...profile } },
  ];
  if (extra) {
    base.push({ name: 'wan3', id: 3, interface: 'r1', address: '10.101.0.2', health: { targets: TARGETS, ...profile } });
    base.push({ name: 'wan4', id: 4, interface: 'r2', address: '10.102.0.2', health: { targets: TARGETS, ...profile } });
  }
  return base;
}

const BREAK = (on: boolean) => on
  ? 'table inet lwtbreak {\n chain fw { type filter hook forward priority -10; policy drop; }\n}\n'
  : 'delete table inet lwtbreak\n';

/** Break uplink 2 in its ISP (link stays up) and measure how long until the monitor says down. */
async function measureBreak(cli: ProbeCli, name: string, ns: string, ms: number): Promise<{ down: number; up: number }> {
  const n = cli.events.length;
  const t0 = Date.now();
  await nft(ns, BREAK(true));
  const down = await cli.waitFor((e) => e.type === 'transition' && e.uplink === name && e.to === 'down', ms, n);
  const t1 = Date.now();
  await nft(ns, BREAK(false));
  const up = await cli.waitFor((e) => e.type === 'transition' && e.uplink === name && e.to === 'up', ms * 3, n);
  return { down: down.at! - t0, up: up.at! - t1 };
}

const report: Record<string, unknown> = {};

test('health probing in namespaces', { skip: !isRoot ? 'needs root' : !hasPing ? 'needs iputils ping' : false, timeout: 300_000 }, async (t) => {
  try {
    await setupLab();
    const defaults = { intervalMs: HEALTH_DEFAULTS.intervalMs, timeoutMs: HEALTH_DEFAULTS.timeoutMs, downAfter: HEALTH_DEFAULTS.downAfter, upAfter: HEALTH_DEFAULTS.upAfter };
    const cli = new ProbeCli(uplinks(defaults));
    try {
      await t.test('both uplinks come up; uplink 2 is probed through itself', async () => {
        await cli.waitFor((e) => e.type === 'transition' && e.uplink === 'wan1' && e.to === 'up', 5000);
        await cli.waitFor((e) => e.type === 'transition' && e.uplink === 'wan2' && e.to === 'up', 5000);
        const c = {
          i1r1: await counter(NS.I1, 'from_r1'), i1r2: await counter(NS.I1, 'from_r2'),
          i2r1: await counter(NS.I2, 'from_r1'), i2r2: await counter(NS.I2, 'from_r2'),
        };
        report.counters = c;
        assert.ok(c.i1r1 > 0 && c.i2r2 > 0, JSON.stringify(c));
        assert.equal(c.i1r2, 0, 'no probe of uplink 2 left through uplink 1 (the main default route)');
        assert.equal(c.i2r1, 0);
      });

      await t.test('uplink 2 broken in its ISP: wan2 down, wan1 stays up (default profile)', async () => {
        const runs = [];
        for (let k = 0; k < 3; k++) runs.push(await measureBreak(cli, 'wan2', NS.I2, 10_000));
        report.defaultProfile = runs;
        assert.ok(!cli.transitions().some((e) => e.uplink === 'wan1' && e.to !== 'up'), 'wan1 never left up');
        // the model (docs/failover.md): silence for the down span D, the newest reply up to one
        // probe period old at the break, plus up to one round of phase; never earlier
        const D = downSpanMs(defaults);
        const P = probeIntervalMs(defaults);
        for (const r of runs) assert.ok(r.down >= D - P - 50 && r.down < D + defaults.intervalMs + 2000, `detection ${r.down} ms (D ${D} ms, P ${P} ms)`);
      });

      await t.test('one target filtered: no transition', async () => {
        const n = cli.transitions().length;
        await nft(NS.N, 'table inet lwtone {\n chain inp {\n type filter hook input priority 0;\n ip daddr 203.0.113.3 icmp type echo-request drop\n }\n}\n');
        await sleep(6000);
        const snap = await cli.snapshot();
        await nft(NS.N, 'delete table inet lwtone\n');
        assert.equal(cli.transitions().length, n, JSON.stringify(cli.transitions().slice(n)));
        assert.equal(snap.uplinks!.wan1.state, 'up');
        // 12 probes to the filtered target in 6 s, history of 20 per target: ~10/60 lost
        assert.ok(snap.uplinks!.wan1.lossPct! >= 10, `loss ${snap.uplinks!.wan1.lossPct}`);
      });

      await t.test('20 % loss for 25 s on both uplinks: zero transitions', async () => {
        let method = 'netem';
        const tc = async (ns: string, dev: string, add: boolean) =>
          withNetns(realRunner, ns).run(['tc', 'qdisc', add ? 'add' : 'del', 'dev', dev, 'root', ...(add ? ['netem', 'loss', '20%'] : [])], { allowFail: !add });
        try {
          await tc(NS.I1, 'i1', true);
          await tc(NS.I2, 'i2', true);
        } catch {
          method = 'nft numgen';
          for (const ns of [NS.I1, NS.I2]) {
            await nft(ns, 'table inet lwtloss {\n chain fw {\n type filter hook forward priority -5;\n ip daddr 203.0.113.0/24 numgen random mod 100 < 20 drop\n }\n}\n');
          }
        }
        const n = cli.transitions().length;
        await sleep(25_000);
        const snap = await cli.snapshot();
        if (method === 'netem') {
          await tc(NS.I1, 'i1', false);
          await tc(NS.I2, 'i2', false);
        } else for (const ns of [NS.I1, NS.I2]) await nft(ns, 'delete table inet lwtloss\n');
        report.loss = { method, wan1: snap.uplinks!.wan1.lossPct, wan2: snap.uplinks!.wan2.lossPct };
        assert.deepEqual(cli.transitions().slice(n), []);
        assert.ok(snap.uplinks!.wan1.lossPct! > 3, `measured loss ${snap.uplinks!.wan1.lossPct}`);
      });

      await t.test('carrier lost on the router-side veth: immediate down; back: up after upAfter rounds', async () => {
        const n = cli.events.length;
        const t0 = Date.now();
        await ip(NS.I2, 'link', 'set', 'i2', 'down'); // r2 loses carrier
        const down = await cli.waitFor((e) => e.type === 'transition' && e.uplink === 'wan2' && e.to === 'down', 3000, n);
        assert.equal(down.reason, 'carrier lost');
        const t1 = Date.now();
        await ip(NS.I2, 'link', 'set', 'i2', 'up');
        const up = await cli.waitFor((e) => e.type === 'transition' && e.uplink === 'wan2' && e.to === 'up', 10_000, n);
        report.carrier = { down: down.at! - t0, up: up.at! - t1 };
        assert.ok(down.at! - t0 < 500, `carrier detection ${down.at! - t0} ms`);
        assert.ok(up.at! - t1 >= HEALTH_DEFAULTS.upAfter * HEALTH_DEFAULTS.intervalMs - 100);
      });
    } finally {
      await cli.stop();
    }

    await t.test('fast profile detection (HEALTH_FAST)', async () => {
      const fast = new ProbeCli(uplinks({ ...HEALTH_FAST }));
      try {
        await fast.waitFor((e) => e.type === 'transition' && e.uplink === 'wan2' && e.to === 'up', 5000);
        const runs = [];
        for (let k = 0; k < 3; k++) runs.push(await measureBreak(fast, 'wan2', NS.I2, 5000));
        report.fastProfile = runs;
        for (const r of runs) assert.ok(r.down < 1500, `fast detection ${r.down} ms`);
        assert.ok(!fast.transitions().some((e) => e.uplink === 'wan1' && e.to !== 'up'));
      } finally {
        await fast.stop();
      }
    });

    await t.test('4 uplinks x 3 targets, one probe every 250 ms: 12 long-lived pings, none respawned; CPU reported', async () => {
      const cpu = new ProbeCli(uplinks({ intervalMs: 250, timeoutMs: 1000, downAfter: 3, upAfter: 5 }, true));
      try {
        for (const name of ['wan1', 'wan2', 'wan3', 'wan4']) {
          await cpu.waitFor((e) => e.type === 'transition' && e.uplink === name && e.to === 'up', 5000);
        }
        const snap = await cpu.snapshot();
        const pids = snap.pids!;
        assert.equal(pids.length, 12);
        const ticks = (pid: number) => {
          const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
          return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
        };
        // The probe CLI's node process is the child of `ip netns exec` (which execs node: same pid).
        const nodePid = cpu.pid!;
        const a = pids.map(ticks);
        const an = ticks(nodePid);
        const t0 = Date.now();
        await sleep(10_000);
        const b = pids.map(ticks);
        const bn = ticks(nodePid);
        const secs = (Date.now() - t0) / 1000;
        const hz = 100; // USER_HZ on Linux
        const pingPct = (b.reduce((s, x) => s + x, 0) - a.reduce((s, x) => s + x, 0)) / hz / secs * 100;
        const nodePct = (bn - an) / hz / secs * 100;
        report.cpu = { pings: 12, pingTotalPct: Math.round(pingPct * 100) / 100, nodePct: Math.round(nodePct * 100) / 100, seconds: secs };
        // CPU is a figure for the bench (bench/footprint.ts), not an assertion: it depends on the
        // machine's load. What this asserts: the same 12 processes probe all along (no respawns).
        assert.deepEqual((await cpu.snapshot()).pids, pids, 'the same ping processes after 10 s');
        for (const pid of pids) assert.ok(readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('ping'), `pid ${pid} is still a ping`);
        assert.ok(cpu.transitions().every((e) => e.to === 'up'));
      } finally {
        await cpu.stop();
      }
    });
  } finally {
    await teardown();
    process.stderr.write(`health-netns report: ${JSON.stringify(report)}\n`);
  }
});
