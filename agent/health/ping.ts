// ICMP probing with long-running iputils `ping` processes (Node cannot open raw ICMP sockets nor
// set SO_MARK / SO_BINDTODEVICE). One process per (uplink, target):
//   ping -n -O -D -i <interval s> -W <timeout s> -m <mark> -I <ifname> <target>
// -m puts the uplink's fwmark on every probe (ip rule fwmark <mark>/0xff00 lookup 200+id) and -I
// binds it to the interface, so the probe leaves through that uplink even when it is not the
// default route. Output is parsed line by line into resolved probe outcomes.
import fs from 'node:fs';
import path from 'node:path';
import { isIfname, isIPv4, isIPv6 } from '../../lib/validations/net';
import { lineSplitter, realRunner, type Runner, type SpawnedProcess } from '../system/runner';
import type { ProbeOutcome } from './state';

export type PingLine =
  | { kind: 'reply'; seq: number; rttMs: number; ts?: number; dup: boolean }
  | { kind: 'noanswer'; seq: number; ts?: number }
  | { kind: 'error'; seq: number; ts?: number; text: string }
  | { kind: 'other' };

const TS = String.raw`^(?:\[(\d+\.\d+)\] )?`;
const REPLY_RE = new RegExp(TS + String.raw`\d+ bytes from [0-9a-fA-F.:]+: icmp_seq=(\d+) ttl=\d+ time=(\d+(?:\.\d+)?) ms( \(DUP!\))?`);
const NOANSWER_RE = new RegExp(TS + String.raw`no answer yet for icmp_seq=(\d+)`);
const ERROR_RE = new RegExp(TS + String.raw`From [0-9a-fA-F.:]+(?: [^ ]+)? icmp_seq=(\d+) (.+)$`);

/** Parse one line of `ping -n -O -D` output. */
export function parsePingLine(line: string): PingLine {
  let m = REPLY_RE.exec(line);
  if (m) return { kind: 'reply', seq: Number(m[2]), rttMs: Number(m[3]), ts: m[1] ? Number(m[1]) * 1000 : undefined, dup: Boolean(m[4]) };
  m = NOANSWER_RE.exec(line);
  if (m) return { kind: 'noanswer', seq: Number(m[2]), ts: m[1] ? Number(m[1]) * 1000 : undefined };
  m = ERROR_RE.exec(line);
  if (m) return { kind: 'error', seq: Number(m[2]), ts: m[1] ? Number(m[1]) * 1000 : undefined, text: m[3] };
  return { kind: 'other' };
}

/**
 * Turns ping lines into resolved outcomes, each sequence number at most once:
 * reply -> ok (the state machine treats rtt > timeoutMs as lost); ICMP error -> lost;
 * "no answer yet for N" (printed when N+1 is sent) -> pending, lost once timeoutMs has passed
 * since N was sent (estimated as the line's arrival - intervalMs) without a reply.
 */
export class PingTracker {
  private pending = new Map<number, number>(); // seq -> estimated send time
  private resolved = new Set<number>();
  private maxSeq = 0;
  constructor(
    private readonly target: string,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  reset(): void {
    this.pending.clear();
    this.resolved.clear();
    this.maxSeq = 0;
  }

  private resolve(seq: number): boolean {
    if (seq < this.maxSeq - 30000) this.reset(); // icmp_seq wrapped at 65535
    if (this.resolved.has(seq)) return false;
    this.resolved.add(seq);
    this.pending.delete(seq);
    if (seq > this.maxSeq) this.maxSeq = seq;
    if (this.resolved.size > 512) for (const s of this.resolved) if (s < this.maxSeq - 256) this.resolved.delete(s);
    return true;
  }

  /** `lineTime`: date the outcome by the line's own `-D` timestamp (lines read in a batch, some
   *  time after ping printed them) instead of `now`. */
  line(line: string, now: number, lineTime = false): ProbeOutcome[] {
    const p = parsePingLine(line);
    if (lineTime && p.kind !== 'other' && p.ts !== undefined) now = p.ts;
    switch (p.kind) {
      case 'reply':
        if (p.dup || !this.resolve(p.seq)) return [];
        return [{ target: this.target, ok: true, rttMs: p.rttMs, at: now }];
      case 'error':
        if (!this.resolve(p.seq)) return [];
        return [{ target: this.target, ok: false, at: now }];
      case 'noanswer':
        if (!this.resolved.has(p.seq) && !this.pending.has(p.seq)) this.pending.set(p.seq, now - this.intervalMs);
        return this.expire(now);
      default:
        return [];
    }
  }

  /** Outcomes for pending probes whose timeout has passed. */
  expire(now: number): ProbeOutcome[] {
    const out: ProbeOutcome[] = [];
    for (const [seq, sent] of [...this.pending]) {
      if (now - sent >= this.timeoutMs && this.resolve(seq)) out.push({ target: this.target, ok: false, at: now });
    }
    return out;
  }
}

export interface PingSpec {
  target: string;
  ifname: string;
  /** fwmark for the probes (uplink id << 8); omitted: no mark. */
  mark?: number;
  intervalMs: number;
  timeoutMs: number;
}

export function pingArgv(s: PingSpec): string[] {
  if (!isIPv4(s.target) && !isIPv6(s.target)) throw new Error(`ping: invalid target ${JSON.stringify(s.target)}`);
  if (!isIfname(s.ifname)) throw new Error(`ping: invalid interface ${JSON.stringify(s.ifname)}`);
  if (!Number.isInteger(s.intervalMs) || s.intervalMs < 10 || s.intervalMs > 600_000) throw new Error('ping: bad interval');
  if (!Number.isInteger(s.timeoutMs) || s.timeoutMs < 10 || s.timeoutMs > 600_000) throw new Error('ping: bad timeout');
  const argv = ['ping', '-n', '-O', '-D', '-i', (s.intervalMs / 1000).toFixed(3), '-W', (s.timeoutMs / 1000).toFixed(3)];
  if (s.mark !== undefined) {
    if (!Number.isInteger(s.mark) || s.mark < 0 || s.mark > 0xffffffff) throw new Error('ping: bad mark');
    argv.push('-m', String(s.mark));
  }
  if (isIPv6(s.target)) argv.push('-6'); // explicit: never a DNS lookup, never the other family
  argv.push('-I', s.ifname, s.target);
  return argv;
}

export interface Prober {
  start(): void;
  stop(): void;
  /** Take in what the probe printed since the last call (batched probers; the monitor calls it
   *  before each round). */
  drain?(now: number): void;
}

export interface PingProberOptions {
  runner?: Runner;
  now?: () => number;
  onLog?: (msg: string) => void;
  /** Restart backoff: min(maxBackoffMs, minBackoffMs * 2^failures); reset after 10 s of life. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Batched output: ping writes into a FIFO in this directory and drain() reads it before each
   *  round, so the agent is not woken once per reply (48 times a second for 4 uplinks × 3
   *  targets at 250 ms). Absent, or when the FIFO cannot be made: line by line from a pipe. */
  fifoDir?: string;
}

let fifoSeq = 0;
/** One read buffer for every prober's drain (reads are synchronous). */
const READ_BUF = Buffer.allocUnsafe(16 * 1024);
/** Buffered partial line beyond this: dropped (ping lines are ~100 bytes). */
const MAX_REST = 4096;

/** Keeps one ping process alive (restart with backoff) and reports outcomes. */
export class PingProber implements Prober {
  private proc: SpawnedProcess | null = null;
  private tracker: PingTracker;
  private restartTimer: NodeJS.Timeout | null = null;
  private running = false;
  private failures = 0;
  private startedAt = 0;
  /** The FIFO (its read end, non-blocking) and its line splitter while in batched mode. */
  private fifo: { path: string; fd: number; split: (chunk: Buffer) => void } | null = null;
  /** The time the current drain() resolves at (the splitter's callback reads it). */
  private drainAt = 0;
  /** Bumped by start() and stop(): a FIFO made for an earlier start is discarded. */
  private generation = 0;
  restarts = 0;
  private readonly runner: Runner;
  private readonly now: () => number;

  constructor(
    readonly spec: PingSpec,
    private readonly onOutcome: (o: ProbeOutcome) => void,
    private readonly opts: PingProberOptions = {},
  ) {
    pingArgv(spec); // validate early
    this.tracker = new PingTracker(spec.target, spec.intervalMs, spec.timeoutMs);
    this.runner = opts.runner ?? realRunner;
    this.now = opts.now ?? Date.now;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (!this.opts.fifoDir) return this.launch();
    const gen = ++this.generation;
    void this.openFifo(this.opts.fifoDir, gen)
      .then(
        () => {
          if (gen === this.generation) this.launch();
        },
        (e: unknown) => {
          if (gen !== this.generation) return;
          this.opts.onLog?.(`ping ${this.spec.target} via ${this.spec.ifname}: no FIFO (${(e as Error).message}); reading its output line by line`);
          this.launch();
        },
      )
      .catch((e: unknown) => this.opts.onLog?.(`ping ${this.spec.target} via ${this.spec.ifname}: could not start (${(e as Error).message})`));
  }

  /** Batched mode: make the FIFO and open its read end (non-blocking: a read never waits). */
  private async openFifo(dir: string, gen: number): Promise<void> {
    const file = path.join(dir, `ping-${process.pid}-${++fifoSeq}.fifo`);
    // node has no mkfifo(3): coreutils' mkfifo, argv only
    const r = await this.runner.run(['mkfifo', '-m', '600', file], { allowFail: true, timeoutMs: 5000 });
    if (r.exitCode !== 0) throw new Error(r.stderr.trim() || `mkfifo exited ${r.exitCode}`);
    // stopped (or stopped and started again) meanwhile: this FIFO is nobody's
    if (!this.running || gen !== this.generation) return void fs.rmSync(file, { force: true });
    try {
      const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      this.fifo = { path: file, fd, split: lineSplitter((l) => this.emit(this.tracker.line(l, this.drainAt, true)), MAX_REST) };
    } catch (e) {
      fs.rmSync(file, { force: true });
      throw e;
    }
  }

  /** Read what ping wrote since the last call (batched mode) and resolve it. */
  drain(now: number): void {
    const f = this.fifo;
    if (!f) return;
    this.drainAt = now;
    for (let i = 0; i < 64; i++) {
      let n: number;
      try {
        n = fs.readSync(f.fd, READ_BUF, 0, READ_BUF.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break; // empty, ping still writing
        throw e;
      }
      if (n === 0) break; // no writer (ping is restarting)
      f.split(READ_BUF.subarray(0, n));
    }
    this.emit(this.tracker.expire(now));
  }

  private closeFifo(): void {
    const f = this.fifo;
    this.fifo = null;
    if (!f) return;
    try {
      fs.closeSync(f.fd);
    } catch {
      /* closed */
    }
    fs.rmSync(f.path, { force: true });
  }

  private emit(os: ProbeOutcome[]): void {
    for (const o of os) this.onOutcome(o);
  }

  private launch(): void {
    if (!this.running) return;
    // what the previous ping left in the FIFO belongs to its sequence numbers, not the new one's
    try {
      if (this.fifo) this.drain(this.now());
    } catch {
      /* unreadable: those lines are lost, the new ping starts afresh */
    }
    this.tracker.reset();
    this.startedAt = this.now();
    // batched: the child writes into the FIFO (opened for writing here: the read end is open, so
    // this does not block); our copy of the write end is closed once the child has it
    let wfd: number | undefined;
    if (this.fifo) {
      try {
        wfd = fs.openSync(this.fifo.path, fs.constants.O_WRONLY);
      } catch (e) {
        this.opts.onLog?.(`ping ${this.spec.target} via ${this.spec.ifname}: FIFO unusable (${(e as Error).message}); reading its output line by line`);
        this.closeFifo();
      }
    }
    let p: SpawnedProcess;
    try {
      p = this.spawnPing(wfd);
    } finally {
      if (wfd !== undefined) fs.closeSync(wfd);
    }
    this.proc = p;
  }

  private spawnPing(stdoutFd: number | undefined): SpawnedProcess {
    const p = this.runner.spawn(pingArgv(this.spec), {
      stdoutFd,
      // Pending probes expire on the next line (ping prints one per interval while running):
      // only loss % depends on that timing; the up/down decision uses replies only.
      onStdoutLine: (l) => {
        const now = this.now();
        this.emit(this.tracker.line(l, now));
        this.emit(this.tracker.expire(now));
      },
      onStderrLine: (l) => this.opts.onLog?.(`ping ${this.spec.target} via ${this.spec.ifname}: ${l}`),
      onExit: (code, signal, err) => {
        if (this.proc !== p) return;
        this.proc = null;
        if (!this.running) return;
        if (this.now() - this.startedAt > 10_000) this.failures = 0;
        const delay = Math.min(this.opts.maxBackoffMs ?? 30_000, (this.opts.minBackoffMs ?? 500) * 2 ** this.failures);
        this.failures++;
        this.restarts++;
        this.opts.onLog?.(`ping ${this.spec.target} via ${this.spec.ifname} exited (${err?.message ?? signal ?? code}); restart in ${delay} ms`);
        this.restartTimer = setTimeout(() => {
          this.restartTimer = null;
          this.launch();
        }, delay);
        this.restartTimer.unref?.();
      },
    });
    return p;
  }

  stop(): void {
    this.running = false;
    this.generation++;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const p = this.proc;
    this.proc = null;
    p?.kill();
    this.closeFifo();
  }
}
