// Delivery to one channel: webhook (JSON POST, optional HMAC-SHA256 signature), ntfy (HTTP POST)
// and e-mail over SMTP (nodemailer: STARTTLS required by default, AUTH when a user is set). Every
// attempt is bounded by a timeout, so a receiver that hangs costs one lane its timeout and never
// the agent's decisions (agent/notify/notifier.ts runs sends off the reconcile path).
import crypto from 'node:crypto';
import nodemailer from 'nodemailer';
import type { NotificationChannel } from '../../lib/validations/observe';
import { webhookBody, ntfyRequest, emailMessage, type NotifyEventData } from './events';

export const SEND_TIMEOUT_MS = 10_000;

export interface SendSecrets {
  secret?: string;
  password?: string;
  token?: string;
}

export interface SendOptions {
  timeoutMs?: number;
  router?: string;
}

/** X-Linkward-Signature value: sha256=<hex HMAC of the exact body bytes>. */
export function signature(key: string, body: string): string {
  return `sha256=${crypto.createHmac('sha256', key).update(body).digest('hex')}`;
}

async function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  // Read (a bounded part of) the answer so the connection is released.
  const text = (await res.text().catch(() => '')).slice(0, 200);
  if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}${text ? `: ${text.replace(/\s+/g, ' ').trim()}` : ''}`);
  return `HTTP ${res.status}`;
}

export async function send(ch: NotificationChannel, e: NotifyEventData, secrets: SendSecrets, opts: SendOptions = {}): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? SEND_TIMEOUT_MS;
  switch (ch.type) {
    case 'webhook': {
      const body = webhookBody(e, opts.router);
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'linkward', 'x-linkward-event': e.event };
      if (secrets.secret) headers['x-linkward-signature'] = signature(secrets.secret, body);
      return post(ch.url, headers, body, timeoutMs);
    }
    case 'ntfy': {
      const r = ntfyRequest(e, ch.priority, opts.router);
      const headers: Record<string, string> = { ...r.headers, 'content-type': 'text/plain; charset=utf-8', 'user-agent': 'linkward' };
      if (secrets.token) headers.authorization = `Bearer ${secrets.token}`;
      return post(ch.url, headers, r.body, timeoutMs);
    }
    case 'smtp': {
      const m = emailMessage(e, opts.router);
      const transport = nodemailer.createTransport({
        host: ch.host,
        port: ch.port,
        secure: ch.tls === 'tls',
        requireTLS: ch.tls === 'starttls',
        ignoreTLS: ch.tls === 'none',
        ...(ch.username ? { auth: { user: ch.username, pass: secrets.password ?? '' } } : {}),
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
        tls: { servername: ch.host, rejectUnauthorized: ch.tlsVerify },
      });
      try {
        const info = await Promise.race([
          transport.sendMail({ from: ch.from, to: ch.to, subject: m.subject, text: m.text, headers: { 'X-Linkward-Event': e.event } }),
          new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`SMTP timed out after ${timeoutMs} ms`)), timeoutMs + 1000).unref()),
        ]);
        return `SMTP ${String((info as { response?: string }).response ?? 'accepted').slice(0, 120)}`;
      } finally {
        transport.close();
      }
    }
  }
}
