// Lab "whoami" client, run inside a lab namespace. Connects to the echo server and prints what the
// server saw, one line per attempt: "OK <ip>:<port>" / "OK [<ipv6>]:<port>" or "ERR <reason>". Always exits 0 after the
// attempts (2 on usage errors), so the caller parses the lines.
//
// Usage: client.ts tcp|udp HOST PORT [--source ADDR] [--timeout MS] [--count N]
import net from 'node:net';
import dgram from 'node:dgram';
import { isLabIPv6 } from './plan';

const isAddr = (s: string) => net.isIPv4(s) || isLabIPv6(s);

interface Opts {
  proto: 'tcp' | 'udp';
  host: string;
  port: number;
  source?: string;
  timeoutMs: number;
  count: number;
}

function parseArgs(argv: string[]): Opts {
  const [proto, host, portStr, ...rest] = argv;
  if (proto !== 'tcp' && proto !== 'udp') throw new Error('first argument must be tcp or udp');
  if (!host || !isAddr(host)) throw new Error('HOST must be an IPv4 or IPv6 address');
  const port = Number(portStr);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('PORT must be 1-65535');
  const o: Opts = { proto, host, port, timeoutMs: 2000, count: 1 };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const v = rest[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--source') {
      if (!isAddr(v) || net.isIPv4(v) !== net.isIPv4(host)) throw new Error('--source must be an address of the same family as HOST');
      o.source = v;
    } else if (a === '--timeout') {
      o.timeoutMs = Number(v);
      if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1 || o.timeoutMs > 60000) throw new Error('--timeout must be 1-60000');
    } else if (a === '--count') {
      o.count = Number(v);
      if (!Number.isInteger(o.count) || o.count < 1 || o.count > 100000) throw new Error('--count must be 1-100000');
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

function firstLine(s: string): string {
  const body = s.includes('\r\n\r\n') ? s.slice(s.indexOf('\r\n\r\n') + 4) : s;
  return body.split('\n')[0].trim();
}

function tcpOnce(o: Opts): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    let settled = false;
    const finish = (r: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const sock = net.connect({ host: o.host, port: o.port, localAddress: o.source });
    const timer = setTimeout(() => finish('ERR timeout'), o.timeoutMs);
    sock.on('connect', () => sock.write('whoami\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\n')) finish(`OK ${firstLine(buf)}`);
    });
    sock.on('end', () => finish(buf ? `OK ${firstLine(buf)}` : 'ERR empty'));
    sock.on('error', (e: NodeJS.ErrnoException) => finish(`ERR ${e.code ?? e.message}`));
  });
}

function udpOnce(o: Opts): Promise<string> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv4(o.host) ? 'udp4' : 'udp6');
    let settled = false;
    const finish = (r: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.close();
      resolve(r);
    };
    const timer = setTimeout(() => finish('ERR timeout'), o.timeoutMs);
    s.on('message', (m) => finish(`OK ${firstLine(m.toString())}`));
    s.on('error', (e: NodeJS.ErrnoException) => finish(`ERR ${e.code ?? e.message}`));
    s.bind({ address: o.source, port: 0 }, () => s.send('whoami\n', o.port, o.host));
  });
}

async function main(): Promise<void> {
  let o: Opts;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`client: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
    return;
  }
  const lines: string[] = [];
  for (let i = 0; i < o.count; i++) lines.push(await (o.proto === 'tcp' ? tcpOnce(o) : udpOnce(o)));
  process.stdout.write(lines.join('\n') + '\n');
}

void main();
