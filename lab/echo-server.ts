// Lab "whoami" server, run inside a lab namespace (ip netns exec NS node --import tsx echo-server.ts ...).
// TCP: HTTP requests get `HTTP/1.0 200 OK` with body "<client ip>:<port>\n" ("[<client ip>]:<port>\n"
// for IPv6, see formatWhoAmI in plan.ts); raw clients get the same
// line (right after their first bytes, or after 300 ms of silence). UDP: every datagram is answered with
// the same line. The client address is the one the server saw, so tests learn which uplink / NAT was used.
//
// Usage: echo-server.ts [--tcp 80,8080] [--udp 80,123] [--bind ADDR,ADDR...] [--daemon --pidfile F --log F]
// ADDR: IPv4 or IPv6 addresses; "::" listens on every IPv6 address (IPv6 only, e.g. SLAAC addresses
// that do not exist yet; a UDP answer then comes from the kernel's choice of source).
// With --daemon the process starts a detached copy of itself, waits until it listens, writes the
// pid file and exits 0 (so the caller's command returns).
import net from 'node:net';
import dgram from 'node:dgram';
import fs from 'node:fs';
import { realRunner } from '../agent/system/runner';
import { formatWhoAmI, isLabIPv6 } from './plan';

interface Opts {
  tcp: number[];
  udp: number[];
  /** Local addresses to listen on. UDP answers from the address the datagram was sent to only
   *  when bound to it (no IP_PKTINFO in Node), which NAT on the way back needs. */
  bind: string[];
  daemon: boolean;
  pidfile?: string;
  log?: string;
}

function ports(s: string | undefined): number[] {
  if (s === undefined || s === '') return [];
  return s.split(',').map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`bad port ${p}`);
    return n;
  });
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = { tcp: [80, 8080], udp: [80, 123], bind: ['0.0.0.0'], daemon: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--tcp') o.tcp = ports(v());
    else if (a === '--udp') o.udp = ports(v());
    else if (a === '--bind') o.bind = v().split(',');
    else if (a === '--daemon') o.daemon = true;
    else if (a === '--pidfile') o.pidfile = v();
    else if (a === '--log') o.log = v();
    else throw new Error(`unknown argument ${a}`);
  }
  if (o.bind.length === 0 || !o.bind.every((b) => net.isIPv4(b) || isLabIPv6(b))) throw new Error('--bind must be IPv4 or IPv6 addresses, comma-separated');
  return o;
}

const HTTP_RE = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) /;

function serveTcp(port: number, bind: string): Promise<net.Server> {
  const server = net.createServer((sock) => {
    const seen = `${formatWhoAmI(sock.remoteAddress ?? '?', sock.remotePort ?? 0)}\n`;
    let done = false;
    const answer = (http: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (http) {
        sock.end(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(seen)}\r\nConnection: close\r\n\r\n${seen}`);
      } else sock.end(seen);
    };
    const timer = setTimeout(() => answer(false), 300);
    sock.setTimeout(5000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.once('data', (d) => answer(HTTP_RE.test(d.toString('latin1', 0, 16))));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // "::" alone: IPv6 only, so it never collides with the IPv4 addresses bound next to it.
    server.listen({ port, host: bind, backlog: 1024, ipv6Only: bind === '::' }, () => resolve(server));
  });
}

function serveUdp(port: number, bind: string): Promise<dgram.Socket> {
  const s = net.isIPv4(bind) ? dgram.createSocket('udp4') : dgram.createSocket({ type: 'udp6', ipv6Only: true });
  s.on('message', (_msg, rinfo) => {
    s.send(`${formatWhoAmI(rinfo.address, rinfo.port)}\n`, rinfo.port, rinfo.address);
  });
  s.on('error', (e) => process.stderr.write(`udp ${port}: ${e.message}\n`));
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind({ port, address: bind }, () => resolve(s));
  });
}

async function serve(o: Opts): Promise<void> {
  await Promise.all(o.bind.flatMap((b) => [...o.tcp.map((p) => serveTcp(p, b)), ...o.udp.map((p) => serveUdp(p, b))]));
  process.stderr.write(`echo-server ${process.pid}: tcp ${o.tcp.join(',') || '-'} udp ${o.udp.join(',') || '-'} on ${o.bind.join(',')}\n`);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
  // Listening: the pid file is the daemonizing parent's "ready" signal.
  if (o.pidfile) fs.writeFileSync(o.pidfile, `${process.pid}\n`);
}

/** Start a detached copy through the runner, wait (max 10 s) until it listens (it writes the pid
 *  file then), print its pid. */
async function daemonize(o: Opts, argv: string[]): Promise<number> {
  if (!o.pidfile) throw new Error('--daemon needs --pidfile');
  const pidfile = o.pidfile;
  fs.rmSync(pidfile, { force: true });
  const childArgs = argv.filter((a) => a !== '--daemon');
  let exited = false;
  const child = realRunner.spawn([process.execPath, ...process.execArgv, process.argv[1], ...childArgs], {
    detached: true,
    logFile: o.log,
    onExit: () => (exited = true),
  });
  const ready = () => {
    try {
      return Number(fs.readFileSync(pidfile, 'utf8').trim()) === child.pid;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 200 && !exited && !ready(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!ready()) {
    child.kill();
    process.stderr.write('echo-server: child did not start (see log)\n');
    return 1;
  }
  process.stdout.write(`${child.pid}\n`);
  return 0;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseArgs(argv);
  if (o.daemon) {
    process.exitCode = await daemonize(o, argv);
    return;
  }
  await serve(o);
}

main().catch((e: unknown) => {
  process.stderr.write(`echo-server: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
