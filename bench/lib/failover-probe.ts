// Traffic tools for the failover tests and benchmark, run inside a lab namespace
// (`ip netns exec <ns> node --import tsx bench/lib/failover-probe.ts ...`). Output: one JSON
// object per line on stdout, clock = Date.now() of this machine (same clock as the caller).
//
//   connect DST PORT [--every MS] [--timeout MS] [--source ADDR] [--max-seconds S]
//       A NEW TCP connection to the lab echo server every MS (concurrently), each one printing
//       {"t":<start ms>,"ms":<duration>,"ip":"<address the server saw>"} or {"t","ms","err"}.
//   hold DST PORT [--every MS] [--source ADDR] [--max-seconds S]
//       ONE long-lived TCP connection to a `serve` server; every MS it sends a line and expects it
//       back. Prints {"t","ev":"open","local":...}, {"t","ev":"ok","rtt"} per echo,
//       {"t","ev":"stall","seq"} when an echo is 1 s late, {"t","ev":"error","err"} / {"ev":"close"}
//       and exits when the connection dies.
//   serve ADDR PORT [--max-seconds S]
//       Line echo server (keeps connections open). Prints {"ev":"listening"} once bound.
// Every mode ends by itself after --max-seconds (default 900): no unbounded loops.
import net from 'node:net';

function out(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

interface Args {
  mode: string;
  host: string;
  port: number;
  every: number;
  timeout: number;
  source?: string;
  maxSeconds: number;
}

function parse(argv: string[]): Args {
  const [mode, host, portStr, ...rest] = argv;
  if (!['connect', 'hold', 'serve'].includes(mode ?? '')) throw new Error('mode must be connect, hold or serve');
  if (!host || !net.isIP(host)) throw new Error('address must be IPv4 or IPv6');
  const port = Number(portStr);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('port must be 1-65535');
  const a: Args = { mode, host, port, every: 100, timeout: 1000, maxSeconds: 900 };
  for (let i = 0; i < rest.length; i += 2) {
    const k = rest[i];
    const v = rest[i + 1];
    if (v === undefined) throw new Error(`${k} needs a value`);
    const n = Number(v);
    if (k === '--source') {
      if (!net.isIP(v)) throw new Error('--source must be an IP address');
      a.source = v;
    } else if (k === '--every' && Number.isInteger(n) && n >= 10 && n <= 60000) a.every = n;
    else if (k === '--timeout' && Number.isInteger(n) && n >= 50 && n <= 60000) a.timeout = n;
    else if (k === '--max-seconds' && Number.isInteger(n) && n >= 1 && n <= 3600) a.maxSeconds = n;
    else throw new Error(`bad argument ${k} ${v}`);
  }
  return a;
}

function connectOnce(a: Args): void {
  const t = Date.now();
  let buf = '';
  let done = false;
  const sock = net.connect({ host: a.host, port: a.port, localAddress: a.source });
  const finish = (r: { ip?: string; err?: string }) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    sock.destroy();
    out({ t, ms: Date.now() - t, ...r });
  };
  const timer = setTimeout(() => finish({ err: 'timeout' }), a.timeout);
  sock.on('connect', () => sock.write('whoami\n'));
  sock.on('data', (d) => {
    buf += d.toString();
    // the lab echo server answers "a.b.c.d:port" or "[ipv6]:port"
    const m = /\[([0-9a-fA-F:.]+)\]:\d+|(\d+\.\d+\.\d+\.\d+):\d+/.exec(buf);
    if (m) finish({ ip: m[1] ?? m[2] });
  });
  sock.on('end', () => finish({ err: 'empty' }));
  sock.on('error', (e: NodeJS.ErrnoException) => finish({ err: e.code ?? e.message }));
}

function hold(a: Args): void {
  const sock = net.connect({ host: a.host, port: a.port, localAddress: a.source });
  sock.setNoDelay(true);
  let seq = 0;
  const sent = new Map<number, number>();
  let buf = '';
  let timer: NodeJS.Timeout | null = null;
  const end = (ev: Record<string, unknown>) => {
    if (timer) clearInterval(timer);
    timer = null;
    out({ t: Date.now(), ...ev });
    sock.destroy();
    process.exit(0);
  };
  sock.on('connect', () => {
    out({ t: Date.now(), ev: 'open', local: `${sock.localAddress}:${sock.localPort}` });
    timer = setInterval(() => {
      const now = Date.now();
      for (const [s, at] of sent) {
        if (now - at > 1000) {
          out({ t: now, ev: 'stall', seq: s });
          sent.delete(s);
        }
      }
      sent.set(++seq, now);
      sock.write(`${seq}\n`);
    }, a.every);
  });
  sock.on('data', (d) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const s = Number(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      const at = sent.get(s);
      if (at !== undefined) {
        sent.delete(s);
        out({ t: Date.now(), ev: 'ok', seq: s, rtt: Date.now() - at });
      }
    }
  });
  sock.on('error', (e: NodeJS.ErrnoException) => end({ ev: 'error', err: e.code ?? e.message }));
  sock.on('close', () => end({ ev: 'close' }));
}

function serve(a: Args): void {
  const srv = net.createServer((c) => {
    c.setNoDelay(true);
    c.on('error', () => undefined);
    c.pipe(c);
  });
  srv.listen({ host: a.host, port: a.port }, () => out({ ev: 'listening' }));
}

function main(): void {
  let a: Args;
  try {
    a = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`failover-probe: ${(e as Error).message}\n`);
    process.exit(2);
  }
  setTimeout(() => process.exit(0), a.maxSeconds * 1000).unref();
  if (a.mode === 'serve') serve(a);
  else if (a.mode === 'hold') hold(a);
  else {
    const iv = setInterval(() => connectOnce(a), a.every);
    setTimeout(() => {
      clearInterval(iv);
      setTimeout(() => process.exit(0), a.timeout + 100);
    }, a.maxSeconds * 1000);
  }
  process.on('SIGTERM', () => process.exit(0));
}

main();
