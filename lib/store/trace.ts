// Kernel confirmation requests (the web and the CLI are unprivileged): an AgentRequest
// "explain.trace" with the 5-tuple; the agent answers with the trace as JSON in `result`.
import { prisma } from '../db/prisma';
import type { PacketSpec } from '../compile/explain';

export interface TraceAnswer {
  lines: string[];
  summary: string;
  decision: { chain: string; verdict: string; comment: string | null; counter: string | null } | null;
  oif: string | null;
}

export async function requestTrace(spec: PacketSpec): Promise<number> {
  const row = await prisma().agentRequest.create({ data: { createdAt: Date.now(), type: 'explain.trace', args: JSON.stringify({ src: spec.src, dst: spec.dst, proto: spec.proto, sport: spec.sport, dport: spec.dport }) } });
  return row.id;
}

export async function waitTrace(id: number, timeoutMs = 20_000): Promise<TraceAnswer> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const r = await prisma().agentRequest.findUnique({ where: { id } });
    if (r?.doneAt) {
      try {
        return JSON.parse(r.result ?? '') as TraceAnswer;
      } catch {
        return { lines: [], summary: r.result ?? 'no result', decision: null, oif: null };
      }
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  return { lines: [], summary: 'the agent did not answer (is it running?)', decision: null, oif: null };
}
