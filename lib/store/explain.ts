// The packet tracer on the current state: the revision the agent applied (else the latest), the
// facts it applied it with, compiled again (pure) and explained for one packet.
import { prisma } from '../db/prisma';
import { getRevision, latestRevision } from './revisions';
import { lastFacts } from './safety';
import { normalizeFacts } from '../config/diff';
import { compile } from '../compile/compile';
import { explain, type Explanation, type PacketSpec } from '../compile/explain';

export interface CurrentExplanation {
  revision: number;
  applied: boolean;
  explanation: Explanation;
}

export async function explainCurrent(spec: PacketSpec): Promise<CurrentExplanation> {
  const st = await prisma().agentState.findUnique({ where: { id: 1 } });
  const applied = st?.appliedRevision ?? null;
  const rev = (applied !== null ? await getRevision(applied) : null) ?? (await latestRevision());
  if (!rev) throw new Error('no configuration stored yet');
  const facts = normalizeFacts(await lastFacts());
  const plan = compile(rev.config, facts);
  return { revision: rev.id, applied: applied === rev.id, explanation: explain(rev.config, facts, plan, spec) };
}

/** Human-readable lines of an explanation (CLI and tests). */
export function explanationText(x: Explanation): string[] {
  const p = x.packet;
  const out = [`packet: ${p.proto} ${p.src}${p.sport ? `:${p.sport}` : ''} → ${p.dst}${p.dport ? `:${p.dport}` : ''} in ${p.in}${x.iif ? ` (${x.iif})` : ''}; path ${x.path}${x.oif ? `, out ${x.oif}` : ''}`];
  out.push(`decision: ${x.decision.text}`);
  if (x.uplink) out.push(`uplink: ${x.uplink.name || '-'} (${x.uplink.why}): ${x.uplink.detail}`);
  if (x.nat.dnat) out.push(`nat: destination → ${x.nat.dnat}`);
  if (x.nat.snat) out.push(`nat: source → ${x.nat.snat}`);
  out.push('chains:');
  for (const v of x.visits) {
    out.push(`  ${v.hook}/${v.chain}: ${v.verdict}`);
    for (const m of v.matched) out.push(`    #${m.index} ${m.comment ?? ''}${m.counter ? ` [${m.counter}]` : ''} → ${m.effect}`);
  }
  for (const w of x.warnings) out.push(`warning: ${w}`);
  return out;
}
