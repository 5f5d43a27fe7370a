'use server';
// Server actions of issue 17: notification channels (edited as JSON, secrets write-only), the
// "send test" button (an AgentRequest the agent answers by sending), /metrics access (bearer
// token, allowed networks) and the packet tracer.
import { z } from 'zod';
import { validatedAction, revalidateAll } from './validated';
import { baseRevisionField } from './schemas';
import type { FormState } from '../forms';
import { updateConfig } from '../../store/revisions';
import { prisma } from '../../db/prisma';
import { nameSchema } from '../../validations/config';
import { explainCurrent, type CurrentExplanation } from '../../store/explain';
import { requestTrace, waitTrace, type TraceAnswer } from '../../store/trace';
import type { Proto } from '../../compile/explain';

const notificationsForm = z.object({ baseRevision: baseRevisionField, json: z.string().max(256 * 1024, 'too large') });

export const saveNotifications = validatedAction(notificationsForm, async ({ baseRevision, json }, { user, seq }): Promise<FormState> => {
  const values = { json };
  let list: unknown;
  try {
    list = JSON.parse(json.trim() || '[]');
  } catch (e) {
    return { ok: false, seq, values, message: 'Not saved.', formErrors: [`not valid JSON: ${(e as Error).message}`] };
  }
  if (!Array.isArray(list)) return { ok: false, seq, values, message: 'Not saved.', formErrors: ['must be a JSON array of channels: [{"name": …, "type": "webhook" | "smtp" | "ntfy", …}]'] };
  const res = await updateConfig((c) => ({ ...c, notifications: list }), { author: user.username, source: 'ui', baseRevision });
  if (!res.ok) return { ok: false, seq, values, message: res.conflict ? `Not saved: ${res.errors[0]}.` : 'Not saved: fix these problems.', formErrors: res.errors };
  revalidateAll();
  return { ok: true, seq, message: res.changed ? `Saved as revision ${res.revision}.` : 'No change.' };
});

const metricsForm = z.object({
  baseRevision: baseRevisionField,
  token: z.string().max(1024).optional().transform((v) => (v ?? '').trim()),
  clearToken: z.string().optional(),
  allow: z.string().max(8192).optional().transform((v) => (v ?? '').split(/[\s,]+/).filter(Boolean)),
});

export const saveMetricsAccess = validatedAction(metricsForm, async ({ baseRevision, token, clearToken, allow }, { user, seq }): Promise<FormState> => {
  const res = await updateConfig((c) => {
    const m: Record<string, unknown> = { ...(c.metrics ?? {}) };
    if (clearToken) delete m.token;
    else if (token) m.token = token; // a new value; empty keeps the stored one
    if (allow.length) m.allow = allow;
    else delete m.allow;
    const next = { ...c, metrics: m };
    if (Object.keys(m).length === 0) delete (next as { metrics?: unknown }).metrics;
    return next;
  }, { author: user.username, source: 'ui', baseRevision });
  if (!res.ok) return { ok: false, seq, values: { allow: allow.join(', ') }, message: res.conflict ? `Not saved: ${res.errors[0]}.` : 'Not saved.', formErrors: res.errors };
  revalidateAll();
  return { ok: true, seq, message: res.changed ? `Saved as revision ${res.revision}.` : 'No change.' };
});

/** "Send test": the agent sends one test notification to the channel and reports the outcome. */
export const sendTestNotification = validatedAction(z.object({ channel: nameSchema }), async ({ channel }, { user, seq }): Promise<FormState> => {
  const db = prisma();
  const row = await db.agentRequest.create({ data: { createdAt: Date.now(), type: 'notify.test', args: JSON.stringify({ channel }) } });
  await db.auditLog.create({ data: { ts: Date.now(), actor: user.username, action: 'notify.test', detail: `channel ${channel}` } });
  const end = Date.now() + 25_000;
  while (Date.now() < end) {
    const r = await db.agentRequest.findUnique({ where: { id: row.id } });
    if (r?.doneAt) {
      const result = r.result ?? '';
      return { ok: !result.startsWith('error'), seq, message: result.replace(/^error: /, '') };
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  return { ok: false, seq, message: 'The agent did not answer within 25 s (is it running?). The request stays queued.' };
});

export interface ExplainState extends FormState {
  result?: CurrentExplanation;
  trace?: TraceAnswer;
}

const explainForm = z.object({
  src: z.string().trim().min(1, 'required'),
  dst: z.string().trim().min(1, 'required'),
  proto: z.enum(['tcp', 'udp', 'icmp']),
  dport: z.string().optional().transform((v) => (v && v.trim() ? Number(v) : undefined)),
  in: z.string().trim().min(1),
  trace: z.string().optional(),
});

export const explainAction = validatedAction(explainForm, async (d, { seq, fd }): Promise<ExplainState> => {
  const values = { src: String(fd.get('src') ?? ''), dst: String(fd.get('dst') ?? ''), proto: d.proto, dport: String(fd.get('dport') ?? ''), in: d.in, trace: Boolean(d.trace) };
  const spec = { src: d.src, dst: d.dst, proto: d.proto as Proto, dport: d.proto === 'icmp' ? undefined : d.dport, in: d.in };
  try {
    const result = await explainCurrent(spec);
    let trace: TraceAnswer | undefined;
    if (d.trace) trace = await waitTrace(await requestTrace(spec), 20_000);
    return { ok: true, seq, values, result, trace };
  } catch (e) {
    const msg = (e as Error).message;
    const m = /^--(\w+): (.*)$/.exec(msg);
    return { ok: false, seq, values, message: m ? `Not explained: ${m[1]}: ${m[2]}` : `Not explained: ${msg}`, fieldErrors: m ? { [m[1] === 'in' ? 'in' : m[1]]: [m[2]] } : undefined };
  }
});
