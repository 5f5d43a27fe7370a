// The dashboard's first-run proposal (/first-run): the web cannot read the kernel, so it asks the
// agent (AgentRequest "machine.facts", answered with lib/setup/machine.ts facts) and runs the same
// pure proposal as `linkward init` (lib/setup/propose.ts) over the answer.
import { prisma } from '../db/prisma';
import type { MachineFacts } from '../setup/machine';
import { proposeConfig, type Proposal } from '../setup/propose';

export const FACTS_REQUEST = 'machine.facts';
/** An answer older than this is read again. */
export const FACTS_MAX_AGE_MS = 10 * 60 * 1000;

export type FirstRun =
  | { state: 'none' }
  | { state: 'pending'; since: number }
  | { state: 'error'; message: string }
  | { state: 'ready'; at: number; proposal: Proposal; machine: MachineFacts };

function isFacts(x: unknown): x is MachineFacts {
  const m = x as MachineFacts;
  return Boolean(m) && typeof m.hostname === 'string' && Array.isArray(m.interfaces) && Array.isArray(m.routes) && Array.isArray(m.dns) && Array.isArray(m.nftTables) && Array.isArray(m.iptablesTables);
}

export async function firstRun(now = Date.now()): Promise<FirstRun> {
  const r = await prisma().agentRequest.findFirst({ where: { type: FACTS_REQUEST }, orderBy: { id: 'desc' } });
  if (!r || now - r.createdAt > FACTS_MAX_AGE_MS) return { state: 'none' };
  if (r.doneAt === null || r.result === null) return { state: 'pending', since: r.createdAt };
  let facts: unknown;
  try {
    facts = JSON.parse(r.result);
  } catch {
    return { state: 'error', message: r.result.slice(0, 500) };
  }
  if (!isFacts(facts)) return { state: 'error', message: 'the agent answered something unexpected' };
  const proposal = proposeConfig(facts, { dashboardPort: process.env.LINKWARD_PACKAGED === '1' ? 443 : undefined });
  return { state: 'ready', at: r.doneAt, proposal, machine: facts };
}

export async function requestFacts(): Promise<void> {
  await prisma().agentRequest.create({ data: { createdAt: Date.now(), type: FACTS_REQUEST, args: '{}' } });
}
