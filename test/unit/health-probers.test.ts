import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePingLine, PingTracker, PingProber, pingArgv } from '../../agent/health/ping';
import { dnsProbe, dnsQuery, isDnsReply, tcpProbe } from '../../agent/health/sockets';
import { withNetns, realRunner, type Runner, type SpawnOptions } from '../../agent/system/runner';
import type { ProbeOutcome } from '../../agent/health/state';

test('parsePingLine: replies, no-answer, ICMP errors, DUP, other', () => {
  assert.deepEqual(parsePingLine('[1795639316.879530] 64 bytes from 10.9.0.2: icmp_seq=1 ttl=64 time=0.340 ms'), {
    kind: 'reply', seq: 1, rttMs: 0.34, ts: 1795639316879.53, dup: false,
  });
  assert.deepEqual(parsePingLine('64 bytes from 10.9.0.2: icmp_seq=7 ttl=63 time=12 ms'), { kind: 'reply', seq: 7, rttMs: 12, ts: undefined, dup: false });
  assert.equal((parsePingLine('[1.5] 64 bytes from 10.9.0.2: icmp_seq=7 ttl=63 time=1.0 ms (DUP!)') as { dup: boolean }).dup, true);
  assert.deepEqual(parsePingLine('[1795639320.291052] no answer yet for icmp_seq=12'), { kind: 'noanswer', seq: 12, ts: 1795639320291.052 });
  assert.deepEqual(parsePingLine('[1.0] From 10.9.0.1 icmp_seq=3 Destination Host Unreachable'), { kind: 'error', seq: 3, ts: 1000, text: 'Destination Host Unreachable' });
  for (const l of ['PING 10.9.0.2 (10.9.0.2) from 10.9.0.1 eth0: 56(84) bytes of data.', '', '--- 10.9.0.2 ping statistics ---', 'icmp_seq=1 time=5 ms']) {
    assert.deepEqual(parsePingLine(l), { kind: 'other' }, l);
  }
});

test('PingTracker: each seq resolves once; no-answer expires after timeout; late reply ignored', () => {
  const t = new PingTracker('10.0.0.1', 500, 1000);
  assert.deepEqual(t.line('[1.0] 64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=1.5 ms', 100), [{ target: '10.0.0.1', ok: true, rttMs: 1.5, at: 100 }]);
  assert.deepEqual(t.line('[1.0] 64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=1.5 ms', 110), [], 'duplicate seq');
  // seq 2 unanswered: ping says so when it sends seq 3 (t=1000), so seq 2 was sent ~500.
  assert.deepEqual(t.line('[1.0] no answer yet for icmp_seq=2', 1000), []);
  assert.deepEqual(t.expire(1400), []);
  assert.deepEqual(t.expire(1500), [{ target: '10.0.0.1', ok: false, at: 1500 }]);
  assert.deepEqual(t.expire(2000), []);
  assert.deepEqual(t.line('[1.0] 64 bytes from 10.0.0.1: icmp_seq=2 ttl=64 time=1100 ms', 1600), [], 'already counted as lost');
  // no-answer then reply within the timeout: ok
  t.line('[1.0] no answer yet for icmp_seq=3', 1500);
  assert.deepEqual(t.line('[1.0] 64 bytes from 10.0.0.1: icmp_seq=3 ttl=64 time=700 ms', 1700), [{ target: '10.0.0.1', ok: true, rttMs: 700, at: 1700 }]);
  assert.deepEqual(t.expire(5000), []);
  assert.deepEqual(t.line('[1.0] From 10.0.0.254 icmp_seq=4 Destination Net Unreachable', 1800), [{ target: '10.0.0.1', ok: false, at: 1800 }]);
});

test('pingArgv: fixed flags, mark and interface; rejects bad input', () => {
  assert.deepEqual(pingArgv({ target: '198.51.100.7', ifname: 'eth1', mark: 0x200, intervalMs: 250, timeoutMs: 1000 }), [
    'ping', '-n', '-O', '-D', '-i', '0.250', '-W', '1.000', '-m', '512', '-I', 'eth1', '198.51.100.7',
  ]);
  assert.throws(() => pingArgv({ target: '1.2.3.4; reboot', ifname: 'eth1', intervalMs: 250, timeoutMs: 1000 }));
  assert.throws(() => pingArgv({ target: '1.2.3.4', ifname: '-f', intervalMs: 250, timeoutMs: 1000 }));
});

test('PingProber restarts a dying ping with growing backoff and stops cleanly', async () => {
  const spawned: { argv: string[]; opts: SpawnOptions; killed: boolean }[] = [];
  const recorder: Runner = {
    ...realRunner,
    spawn: (argv, opts = {}) => {
      const rec = { argv, opts, killed: false };
      spawned.push(rec);
      return { argv, pid: 1000 + spawned.length, done: false, kill: () => { rec.killed = true; }, exited: Promise.resolve() };
    },
  };
  const got: ProbeOutcome[] = [];
  const p = new PingProber({ target: '10.0.0.1', ifname: 'eth1', mark: 256, intervalMs: 200, timeoutMs: 300 }, (o) => got.push(o), {
    runner: withNetns(recorder, 'x'), minBackoffMs: 20, maxBackoffMs: 1000,
  });
  p.start();
  assert.equal(spawned.length, 1);
  assert.deepEqual(spawned[0].argv.slice(0, 5), ['ip', 'netns', 'exec', 'x', 'ping']);
  spawned[0].opts.onStdoutLine!('[1.0] 64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=2.0 ms');
  assert.equal(got.length, 1);
  const t0 = Date.now();
  spawned[0].opts.onExit!(2, null);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(spawned.length, 2, 'restarted after ~20 ms');
  spawned[1].opts.onExit!(2, null);
  await new Promise((r) => setTimeout(r, 25));
  assert.equal(spawned.length, 2, 'second restart waits longer (40 ms)');
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(spawned.length, 3);
  assert.ok(Date.now() - t0 >= 60);
  // seq numbering restarts with the process: seq 1 counts again
  spawned[2].opts.onStdoutLine!('[1.0] 64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=2.0 ms');
  assert.equal(got.length, 2);
  p.stop();
  assert.equal(spawned[2].killed, true);
  spawned[2].opts.onExit!(null, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(spawned.length, 3, 'no restart after stop');
  assert.equal(p.restarts, 2);
});

test('PingProber, batched: real ping on loopback writes into a FIFO; outcomes arrive only from drain(), dated by ping', { skip: process.getuid?.() !== 0 && 'needs root (ping -m)' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-fifo-'));
  const got: ProbeOutcome[] = [];
  const p = new PingProber({ target: '127.0.0.1', ifname: 'lo', mark: 0x100, intervalMs: 50, timeoutMs: 500 }, (o) => got.push(o), { runner: realRunner, fifoDir: dir });
  try {
    p.start();
    const fifo = async () => {
      for (let i = 0; i < 100 && !fs.readdirSync(dir).length; i++) await new Promise((r) => setTimeout(r, 10));
      return fs.readdirSync(dir);
    };
    const files = await fifo();
    assert.equal(files.length, 1);
    assert.ok(fs.statSync(path.join(dir, files[0])).isFIFO());
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(got.length, 0, 'nothing before drain(): no wake-up per reply');
    const now = Date.now();
    p.drain(now);
    assert.ok(got.length >= 5, `${got.length} replies in 600 ms at 50 ms`);
    assert.ok(got.every((o) => o.ok && o.target === '127.0.0.1' && o.at <= now && o.at > now - 1500), 'dated by ping -D, not by the read');
    assert.ok(got[got.length - 1].at - got[0].at >= 150, 'each at its own time');
    const n = got.length;
    p.drain(Date.now());
    assert.ok(got.length - n <= 1, 'a second drain reads only what came since');
    assert.ok(p.pid, 'ping runs');
  } finally {
    p.stop();
  }
  assert.deepEqual(fs.readdirSync(dir), [], 'stop() removes the FIFO');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A runner whose "ping" writes `lines(n)` into its stdout descriptor (the FIFO) when the n-th
 *  one starts; `mkfifo` is the real one (no root needed). */
function fifoRunner(lines: (n: number) => string[], mkfifo: 'real' | 'fail' = 'real') {
  const spawned: { argv: string[]; opts: SpawnOptions; killed: boolean }[] = [];
  const runner: Runner = {
    ...realRunner,
    run: (argv, opts) => (mkfifo === 'fail' && argv[0] === 'mkfifo' ? Promise.resolve({ stdout: '', stderr: 'mkfifo: Operation not permitted', exitCode: 1 }) : realRunner.run(argv, opts)),
    spawn: (argv, opts = {}) => {
      const rec = { argv, opts, killed: false };
      spawned.push(rec);
      if (opts.stdoutFd !== undefined) fs.writeSync(opts.stdoutFd, lines(spawned.length).map((l) => `${l}\n`).join(''));
      return { argv, pid: 2000 + spawned.length, done: false, kill: () => { rec.killed = true; }, exited: Promise.resolve() };
    },
  };
  return { runner, spawned };
}
const reply = (seq: number, t: number) => `[${t}.5] 64 bytes from 10.0.0.1: icmp_seq=${seq} ttl=64 time=2.0 ms`;
const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not reached');
};

test('PingProber, batched: a restarted ping\'s sequence numbers count again; what the old one left is read first', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-fifo-'));
  const { runner, spawned } = fifoRunner((n) => (n === 1 ? [reply(1, 100), reply(2, 101)] : [reply(1, 200), reply(2, 201)]));
  const got: ProbeOutcome[] = [];
  const p = new PingProber({ target: '10.0.0.1', ifname: 'eth1', intervalMs: 200, timeoutMs: 300 }, (o) => got.push(o), { runner, fifoDir: dir, minBackoffMs: 5 });
  try {
    p.start();
    await until(() => spawned.length === 1);
    assert.equal(typeof spawned[0].opts.stdoutFd, 'number', 'batched: stdout is the FIFO');
    assert.equal(got.length, 0);
    spawned[0].opts.onExit!(1, null); // dies before any drain: its two replies wait in the FIFO
    await until(() => spawned.length === 2);
    p.drain(300_000);
    assert.deepEqual(got.map((o) => o.at), [100_500, 101_500, 200_500, 201_500], 'both pings\' seq 1 and 2, each dated by ping');
    assert.equal(fs.readdirSync(dir).length, 1, 'one FIFO across restarts');
  } finally {
    p.stop();
  }
  assert.deepEqual(fs.readdirSync(dir), []);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('PingProber, batched: no FIFO (mkfifo fails) falls back to line by line; a stop during mkfifo leaves nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-fifo-'));
  try {
    const logs: string[] = [];
    const f = fifoRunner(() => [], 'fail');
    const got: ProbeOutcome[] = [];
    const p = new PingProber({ target: '10.0.0.1', ifname: 'eth1', intervalMs: 200, timeoutMs: 300 }, (o) => got.push(o), { runner: f.runner, fifoDir: dir, onLog: (m) => logs.push(m) });
    p.start();
    await until(() => f.spawned.length === 1);
    assert.equal(f.spawned[0].opts.stdoutFd, undefined);
    f.spawned[0].opts.onStdoutLine!(reply(1, 100));
    assert.equal(got.length, 1, 'line by line, at once');
    assert.match(logs.join('\n'), /no FIFO \(mkfifo: Operation not permitted\); reading its output line by line/);
    p.stop();
    // start, stop and start again while the first mkfifo runs: one FIFO, one ping
    const g = fifoRunner(() => []);
    const q = new PingProber({ target: '10.0.0.1', ifname: 'eth1', intervalMs: 200, timeoutMs: 300 }, () => undefined, { runner: g.runner, fifoDir: dir });
    q.start();
    q.stop();
    q.start();
    await until(() => g.spawned.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(g.spawned.length, 1);
    assert.equal(fs.readdirSync(dir).length, 1);
    q.stop();
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('DNS query/reply wire format', () => {
  const q = dnsQuery(0xbeef);
  assert.equal(q.toString('hex'), 'beef00000001000000000000' + '00' + '0002' + '0001');
  const reply = Buffer.from(q);
  reply[2] |= 0x80;
  assert.equal(isDnsReply(reply, 0xbeef), true);
  assert.equal(isDnsReply(q, 0xbeef), false, 'a query is not a reply');
  assert.equal(isDnsReply(reply, 0xbeee), false, 'other id');
  assert.equal(isDnsReply(reply.subarray(0, 11), 0xbeef), false, 'truncated');
});

test('dnsProbe and tcpProbe against loopback servers (answer, refused, silence)', async () => {
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  udp.on('message', (msg, rinfo) => {
    const rep = Buffer.from(msg);
    rep[2] |= 0x80;
    rep[3] = 5; // REFUSED still proves the server answered
    udp.send(rep, rinfo.port, rinfo.address);
  });
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
  const srv = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const dnsPort = (udp.address() as { port: number }).port;
    const rtt = await dnsProbe({ target: '127.0.0.1', port: dnsPort, localAddress: '127.0.0.1', timeoutMs: 500 });
    assert.ok(rtt >= 0 && rtt < 500);
    await assert.rejects(dnsProbe({ target: '127.0.0.1', port: (silent.address() as { port: number }).port, timeoutMs: 150 }), /timeout/);
    const tcpPort = (srv.address() as { port: number }).port;
    assert.ok((await tcpProbe({ target: '127.0.0.1', port: tcpPort, localAddress: '127.0.0.1', timeoutMs: 500 })) < 500);
    srv.close();
    await new Promise((r) => setTimeout(r, 20));
    // closed port: RST comes back through the path, which counts as an answer
    assert.ok((await tcpProbe({ target: '127.0.0.1', port: tcpPort, timeoutMs: 500 })) < 500);
  } finally {
    udp.close();
    silent.close();
    srv.close();
  }
});
