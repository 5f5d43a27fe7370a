// Kernel confirmation of the packet tracer: for up to 10 s, a temporary table inet linkward_trace
// sets `meta nftrace set 1` on packets of one 5-tuple (prerouting and output, priority -350: before
// every chain of table inet linkward), and `nft monitor trace` (spawned through the runner) shows
// each traced packet's path through table inet linkward. A table of its own, because the agent's
// apply brings table inet linkward to exactly the plan (it would delete a foreign chain); it is
// deleted when the trace ends, and only ever holds these two rules.
import type { Runner } from './runner';
import { isIPv4 } from '../../lib/validations/net';
import { NFT_TABLE_REF } from '../../lib/compile/constants';

export const TRACE_TABLE = 'linkward_trace';

export interface TraceSpec {
  src: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'icmp';
  sport?: number;
  dport?: number;
}

export interface TraceStep {
  id: string;
  chain: string;
  kind: 'packet' | 'rule' | 'verdict' | 'policy';
  /** Rule comment ("lw:…") when the rule has one. */
  comment: string | null;
  counter: string | null;
  /** accept, drop, continue, jump X, return… */
  verdict: string | null;
  oif: string | null;
  text: string;
}

export interface TraceResult {
  steps: TraceStep[];
  /** The filter decision of the first traced packet: chain and rule comment (null: the policy). */
  decision: { chain: string; verdict: string; comment: string | null; counter: string | null } | null;
  /** The output interface the kernel chose for it (forward/postrouting packet lines). */
  oif: string | null;
  lines: string[];
  summary: string;
}

const port = (p: number | undefined) => (p !== undefined && Number.isInteger(p) && p >= 1 && p <= 65535 ? p : null);

/** The nft script that starts a trace (strict: addresses and ports validated here). */
export function traceScript(s: TraceSpec): string {
  if (!isIPv4(s.src) || !isIPv4(s.dst)) throw new Error('trace: src and dst must be IPv4 addresses');
  if (!['tcp', 'udp', 'icmp'].includes(s.proto)) throw new Error('trace: bad protocol');
  const m = [`ip saddr ${s.src}`, `ip daddr ${s.dst}`];
  if (s.proto === 'icmp') m.push('meta l4proto icmp');
  else {
    const sp = port(s.sport);
    const dp = port(s.dport);
    m.push(dp !== null ? `${s.proto} dport ${dp}` : `meta l4proto ${s.proto}`);
    if (sp !== null) m.push(`${s.proto} sport ${sp}`);
  }
  const rule = `${m.join(' ')} meta nftrace set 1`;
  return [
    `table inet ${TRACE_TABLE} {`,
    `  chain pre { type filter hook prerouting priority -350; policy accept; ${rule}; }`,
    `  chain out { type filter hook output priority -350; policy accept; ${rule}; }`,
    '}',
    '',
  ].join('\n');
}

const LINE_RE = /^trace id ([0-9a-f]+) (\S+ \S+) (\S+) (packet|rule|verdict|policy)\b ?(.*)$/;

/** Parse `nft monitor trace` lines of table inet linkward. */
export function parseTraceLine(line: string): TraceStep | null {
  const m = LINE_RE.exec(line.trim());
  if (!m || m[2] !== NFT_TABLE_REF) return null;
  const rest = m[5];
  const kind = m[4] as TraceStep['kind'];
  const verdict = kind === 'rule' ? (/\(verdict ([^)]+)\)\s*$/.exec(rest)?.[1] ?? null) : kind === 'verdict' || kind === 'policy' ? rest.trim() : null;
  return {
    id: m[1],
    chain: m[3],
    kind,
    comment: /comment "([^"]*)"/.exec(rest)?.[1] ?? null,
    counter: /counter name "([^"]*)"/.exec(rest)?.[1] ?? null,
    verdict,
    oif: kind === 'packet' ? (/\boif "([^"]+)"/.exec(rest)?.[1] ?? null) : null,
    text: rest,
  };
}

const FILTER_CHAINS = new Set(['input', 'forward', 'output']);

/** The decision and output interface of the first traced packet. */
export function summarize(steps: TraceStep[]): Pick<TraceResult, 'decision' | 'oif' | 'summary'> {
  const first = steps[0]?.id;
  const mine = steps.filter((s) => s.id === first);
  let decision: TraceResult['decision'] = null;
  for (const s of mine) {
    if (!FILTER_CHAINS.has(s.chain)) continue;
    if (s.kind === 'rule' && s.verdict && /^(accept|drop|reject)/.test(s.verdict)) {
      decision = { chain: s.chain, verdict: s.verdict.split(' ')[0], comment: s.comment, counter: s.counter };
      break;
    }
    if (s.kind === 'policy') {
      decision = { chain: s.chain, verdict: (s.verdict ?? '').split(' ')[0], comment: null, counter: null };
      break;
    }
  }
  const oif = mine.find((s) => s.kind === 'packet' && s.oif)?.oif ?? null;
  const summary = !first ? 'no packet of that 5-tuple was seen' : decision ? `${decision.verdict} by ${decision.comment ?? 'the policy'} in chain ${decision.chain}${decision.counter ? ` (counter ${decision.counter})` : ''}${oif ? `, out ${oif}` : ''}` : `seen, but no filter decision traced${oif ? ` (out ${oif})` : ''}`;
  return { decision, oif, summary };
}

/** Trace for up to `ms` (default 10 s), ending early once the first packet's filter decision was
 *  seen (plus a moment for its postrouting lines). `onArmed` runs once the trace is in place (the
 *  caller may send the packet then). The trace table is always removed. */
export async function traceKernel(runner: Runner, s: TraceSpec, opts: { ms?: number; onArmed?: () => void | Promise<void> } = {}): Promise<TraceResult> {
  const ms = Math.min(opts.ms ?? 10_000, 10_000);
  const lines: string[] = [];
  const steps: TraceStep[] = [];
  let decided: (() => void) | null = null;
  const done = new Promise<void>((r) => (decided = r));
  const mon = runner.spawn(['nft', 'monitor', 'trace'], {
    onStdoutLine: (l) => {
      const st = parseTraceLine(l);
      if (!st) return;
      lines.push(l.trim());
      steps.push(st);
      if (summarize(steps).decision) setTimeout(() => decided?.(), 150);
    },
  });
  try {
    await new Promise((r) => setTimeout(r, 150)); // the monitor subscribes before the rules exist
    await runner.run(['nft', '-f', '-'], { input: traceScript(s), timeoutMs: 10_000 });
    await opts.onArmed?.();
    await Promise.race([done, new Promise((r) => setTimeout(r, ms))]);
  } finally {
    await runner.run(['nft', 'delete', 'table', 'inet', TRACE_TABLE], { allowFail: true, timeoutMs: 10_000 });
    mon.kill();
    await Promise.race([mon.exited, new Promise((r) => setTimeout(r, 2000))]);
  }
  return { steps, lines, ...summarize(steps) };
}
