// TCP and DNS probes with Node sockets bound to the uplink's IPv4 address (localAddress), which
// the agent's `ip rule from <uplink address> lookup <200+id>` routes through that uplink.
// One probe per target every intervalMs; each has timeoutMs to answer.
import net from 'node:net';
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIPv4, isIPv6 } from '../../lib/validations/net';
import type { ProbeOutcome } from './state';
import type { Prober } from './ping';

export interface SocketProbeSpec {
  target: string;
  port: number;
  /** Source address (the uplink's IPv4 address); omitted: kernel choice (tests only). */
  localAddress?: string;
  timeoutMs: number;
}

/** Resolves with the rtt in ms if the target answered, rejects otherwise. A TCP RST
 *  (ECONNREFUSED) proves the path works, so it counts as an answer. */
export function tcpProbe(s: SocketProbeSpec): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const sock = net.connect({ host: s.target, port: s.port, localAddress: s.localAddress, timeout: s.timeoutMs });
    const timer = setTimeout(() => done(new Error('timeout')), s.timeoutMs);
    let finished = false;
    function done(err: Error | null) {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      if (err && (err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') reject(err);
      else resolve(performance.now() - t0);
    }
    sock.once('connect', () => done(null));
    sock.once('timeout', () => done(new Error('timeout')));
    sock.once('error', (e) => done(e));
  });
}

/** A DNS query for "." NS (recursion not desired) with the given id. */
export function dnsQuery(id: number): Buffer {
  const b = Buffer.alloc(17);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(0x0000, 2); // standard query, RD=0
  b.writeUInt16BE(1, 4); // QDCOUNT
  b[12] = 0; // root name
  b.writeUInt16BE(2, 13); // QTYPE NS
  b.writeUInt16BE(1, 15); // QCLASS IN
  return b;
}

/** Any well-formed reply (QR set, same id, header complete) counts, whatever the rcode. */
export function isDnsReply(msg: Buffer, id: number): boolean {
  return msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2] & 0x80) !== 0;
}

export function dnsProbe(s: SocketProbeSpec): Promise<number> {
  return new Promise((resolve, reject) => {
    const id = randomInt(0, 65536);
    const sock = dgram.createSocket(isIPv6(s.target) ? 'udp6' : 'udp4');
    const t0 = performance.now();
    let finished = false;
    const timer = setTimeout(() => done(new Error('timeout')), s.timeoutMs);
    function done(err: Error | null) {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(performance.now() - t0);
    }
    sock.on('error', (e) => done(e));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address === s.target && rinfo.port === s.port && isDnsReply(msg, id)) done(null);
    });
    sock.bind({ address: s.localAddress, port: 0 }, () => {
      sock.send(dnsQuery(id), s.port, s.target, (e) => e && done(e));
    });
  });
}

/** Runs probe() every intervalMs and reports each outcome. */
export class SocketProber implements Prober {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  constructor(
    readonly spec: SocketProbeSpec & { method: 'tcp' | 'dns'; intervalMs: number },
    private readonly onOutcome: (o: ProbeOutcome) => void,
    private readonly now: () => number = Date.now,
  ) {
    const v6 = isIPv6(spec.target);
    if (!isIPv4(spec.target) && !v6) throw new Error(`probe: invalid target ${JSON.stringify(spec.target)}`);
    if (spec.localAddress !== undefined && !(v6 ? isIPv6(spec.localAddress) : isIPv4(spec.localAddress))) throw new Error('probe: invalid local address');
  }

  private once(): void {
    const fn = this.spec.method === 'tcp' ? tcpProbe : dnsProbe;
    fn(this.spec).then(
      (rtt) => this.running && this.onOutcome({ target: this.spec.target, ok: true, rttMs: Math.round(rtt * 1000) / 1000, at: this.now() }),
      () => this.running && this.onOutcome({ target: this.spec.target, ok: false, at: this.now() }),
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.once();
    this.timer = setInterval(() => this.once(), this.spec.intervalMs);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
