// What a notification says (pure): the event record the agent queues, and how each channel type
// renders it (webhook JSON body, ntfy headers and text, e-mail subject and text).
import os from 'node:os';
import type { NotifyEvent } from '../../lib/validations/observe';

export interface NotifyEventData {
  event: NotifyEvent;
  /** The uplink it concerns, when one does. */
  uplink?: string;
  /** The uplink's new state (down, up, degraded, flapping) or the event's outcome. */
  state?: string;
  /** When the agent decided it (epoch ms). */
  time: number;
  /** One human sentence. */
  message: string;
  /** Event-specific facts (flows moved, active uplinks, usage, revision…). */
  details?: Record<string, unknown>;
}

/** The router's name in messages. */
export const routerName = (): string => process.env.LINKWARD_NAME || os.hostname();

/** Webhook body: JSON with at least event, uplink, state, time, message. */
export function webhookBody(e: NotifyEventData, router = routerName()): string {
  return JSON.stringify({
    event: e.event,
    uplink: e.uplink ?? null,
    state: e.state ?? null,
    time: new Date(e.time).toISOString(),
    message: e.message,
    router,
    details: e.details ?? {},
  });
}

const SEVERE: ReadonlySet<NotifyEvent> = new Set<NotifyEvent>(['failover', 'uplink.down', 'apply.failed', 'confirm.rollback', 'metered.cap', 'uplink.flapping']);

/** A short title: "linkward: isp1 down (failover)". */
export function title(e: NotifyEventData, router = routerName()): string {
  const what = e.uplink ? `${e.uplink} ${e.state ?? ''}`.trim() : e.event;
  return `[${router}] ${what}${e.uplink && e.event !== `uplink.${e.state}` ? ` (${e.event})` : ''}`;
}

/** ntfy: POST the message as text, with Title, Priority (1-5) and Tags headers. */
export function ntfyRequest(e: NotifyEventData, priority?: number, router = routerName()): { headers: Record<string, string>; body: string } {
  const p = priority ?? (SEVERE.has(e.event) ? 4 : 3);
  const tag = e.state === 'down' ? 'rotating_light' : e.state === 'up' ? 'white_check_mark' : e.state === 'degraded' ? 'warning' : 'information_source';
  // Header values must be Latin-1 without CR/LF: names and states are from strict grammars; the
  // title is rebuilt from them only.
  return { headers: { Title: title(e, router).replace(/[^\x20-\x7e]/g, '?'), Priority: String(p), Tags: `${tag},linkward` }, body: e.message };
}

/** E-mail subject and plain-text body. */
export function emailMessage(e: NotifyEventData, router = routerName()): { subject: string; text: string } {
  const lines = [e.message, '', `event: ${e.event}`, ...(e.uplink ? [`uplink: ${e.uplink}`] : []), ...(e.state ? [`state: ${e.state}`] : []), `time: ${new Date(e.time).toISOString()}`, `router: ${router}`];
  if (e.details && Object.keys(e.details).length) lines.push('', JSON.stringify(e.details, null, 2));
  return { subject: title(e, router), text: lines.join('\n') + '\n' };
}
