'use server';
// Server actions that ask the agent to do something (the AgentRequest table): unban a source,
// and in demo mode break/restore an uplink in the lab.
import { redirect } from 'next/navigation';
import { revalidatePath } from 'next/cache';
import { validatedAction, revalidateAll } from './validated';
import { labRequestSchema, unbanSchema, noInput } from './schemas';
import { requestFacts } from '../firstrun';
import type { FormState } from '../forms';
import { isDemo } from '../queries';
import { requestUnban } from '../../store/drops';
import { prisma } from '../../db/prisma';

export const unbanAction = validatedAction(unbanSchema, async ({ address }, { user }) => {
  const r = await requestUnban(address, user.username);
  revalidatePath('/bans');
  redirect(r.ok ? `/bans?requested=${encodeURIComponent(r.address)}` : `/bans?error=${encodeURIComponent(r.error)}`);
});

/** Demo mode only: ask the agent to break/restore an uplink in the lab. */
export const labRequest = validatedAction(labRequestSchema, async ({ uplink, type }, { user, seq }): Promise<FormState> => {
  if (!isDemo()) return { ok: false, seq, message: 'Not done: lab requests need the demo mode (npm run demo).' };
  const db = prisma();
  await db.agentRequest.create({ data: { createdAt: Date.now(), type, args: JSON.stringify({ uplink }) } });
  await db.auditLog.create({ data: { ts: Date.now(), actor: user.username, action: type, detail: `uplink ${uplink}` } });
  revalidateAll();
  return { ok: true, seq };
});

/** First run: ask the agent to read this router's interfaces (answered within a second or two). */
export const detectInterfaces = validatedAction(noInput, async () => {
  await requestFacts();
  revalidatePath('/first-run');
  redirect('/first-run');
});
