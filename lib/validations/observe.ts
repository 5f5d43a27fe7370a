// Schemas of the observability parts of the configuration document (issue 17): notification
// channels (with write-only secrets), per-uplink quality thresholds (the "degraded" state) and
// metered uplinks (data caps). Strict grammars: URLs are parsed with `new URL` and restricted to
// http/https without credentials, hostnames follow RFC 1123, e-mail addresses a conservative
// subset of RFC 5321 (no quoting, no spaces, no CR/LF: nothing that could inject a header).
import { z } from 'zod';
import { isIPv4, NAME_RE, NAME_HINT } from './net';

// ---------------------------------------------------------------------------
// Strict parsers
// ---------------------------------------------------------------------------

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME_RE = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);
/** A DNS hostname (RFC 1123 labels) or a dotted-quad IPv4 address. */
export function isHostname(s: string): boolean {
  if (typeof s !== 'string') return false;
  if (/^[0-9.]+$/.test(s)) return isIPv4(s);
  return HOSTNAME_RE.test(s);
}

const LOCAL_RE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/** user@host.example: unquoted local part (≤ 64), hostname domain; nothing a header could break on. */
export function isEmail(s: string): boolean {
  if (typeof s !== 'string' || s.length > 254) return false;
  const at = s.lastIndexOf('@');
  if (at <= 0) return false;
  const local = s.slice(0, at);
  const host = s.slice(at + 1);
  return local.length <= 64 && LOCAL_RE.test(local) && isHostname(host) && !/^[0-9.]+$/.test(host);
}

/** Parse an http(s) URL for a notification receiver; null with the reason when not acceptable. */
export function checkReceiverUrl(s: unknown): { ok: true; url: URL } | { ok: false; why: string } {
  if (typeof s !== 'string' || s.length === 0) return { ok: false, why: 'must be a URL' };
  if (s.length > 2048) return { ok: false, why: 'at most 2048 characters' };
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(s)) return { ok: false, why: 'must not contain spaces or control characters' };
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return { ok: false, why: 'not a valid URL' };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, why: 'only http:// and https:// URLs are allowed' };
  if (u.username || u.password) return { ok: false, why: 'must not carry a user name or password (use the secret/token field)' };
  const host = u.hostname;
  if (!host) return { ok: false, why: 'needs a host' };
  if (host.startsWith('[')) {
    if (!/^\[[0-9a-fA-F:.]+\]$/.test(host)) return { ok: false, why: 'not a valid host' };
  } else if (!isHostname(host)) return { ok: false, why: 'not a valid host name' };
  if (u.hash) return { ok: false, why: 'must not have a #fragment' };
  return { ok: true, url: u };
}

export const hostnameSchema = z.string().refine(isHostname, 'not a host name or IPv4 address');
export const emailSchema = z.string().refine(isEmail, 'not an e-mail address like name@example.org');
export const receiverUrlSchema = z.string().superRefine((s, ctx) => {
  const r = checkReceiverUrl(s);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.why });
});

// ---------------------------------------------------------------------------
// Secrets: write-only. In a document a secret is a string (a new value), {"set": true} (keep the
// stored one; what export prints), or {"ref": "<32 hex>"} (the stored form: lib/store/secrets.ts
// moves every clear value into the Secret table and keeps only a random reference in revisions).
// ---------------------------------------------------------------------------

export const SECRET_REF_RE = /^[0-9a-f]{32}$/;
export type SecretValue = string | { set: true } | { ref: string };

export function isSecretValue(v: unknown): v is SecretValue {
  if (typeof v === 'string') {
    // eslint-disable-next-line no-control-regex
    return v.length >= 1 && v.length <= 1024 && !/[\u0000-\u001f\u007f]/.test(v);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  if (keys.length !== 1) return false;
  if (keys[0] === 'set') return (v as { set: unknown }).set === true;
  if (keys[0] === 'ref') return typeof (v as { ref: unknown }).ref === 'string' && SECRET_REF_RE.test((v as { ref: string }).ref);
  return false;
}

export const secretSchema = z.custom<SecretValue>(isSecretValue, {
  message: 'a secret: a string of 1-1024 characters without control characters, or {"set": true} to keep the stored one',
});

// ---------------------------------------------------------------------------
// Notification channels
// ---------------------------------------------------------------------------

/** Every event the agent can notify (docs/observability.md lists what each carries). */
export const NOTIFY_EVENTS = [
  'uplink.down', 'uplink.up', 'uplink.degraded', 'uplink.flapping',
  'failover', 'failback',
  'apply.failed', 'confirm.rollback', 'bans.storm',
  'metered.threshold', 'metered.cap',
  'agent.restarted', 'test',
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

const channelBase = {
  name: z.string().regex(NAME_RE, NAME_HINT),
  enabled: z.boolean().default(true),
  /** Send only these events (default: all). "test" is always sent. */
  events: z.array(z.enum(NOTIFY_EVENTS)).max(NOTIFY_EVENTS.length).optional(),
};

export const webhookSchema = z.object({
  ...channelBase,
  type: z.literal('webhook'),
  url: receiverUrlSchema,
  /** HMAC-SHA256 key: the body's signature goes into X-Linkward-Signature: sha256=<hex>. */
  secret: secretSchema.optional(),
}).strict();

export const smtpSchema = z.object({
  ...channelBase,
  type: z.literal('smtp'),
  host: hostnameSchema,
  port: z.number().int('must be an integer').min(1, 'must be 1-65535').max(65535, 'must be 1-65535').default(587),
  /** starttls (default): the connection must be upgraded with STARTTLS before anything is sent;
   *  tls: TLS from the first byte (port 465); none: plain text (only for a receiver on this box). */
  tls: z.enum(['starttls', 'tls', 'none']).default('starttls'),
  from: emailSchema,
  to: z.array(emailSchema).min(1, 'at least one recipient').max(20, 'at most 20 recipients'),
  /** Verify the server's certificate (default true; false only for a LAN relay with a self-signed one). */
  tlsVerify: z.boolean().default(true),
  username: z.string().min(1).max(256).regex(/^[^\s\u0000-\u001f\u007f]+$/, 'no spaces or control characters').optional(),
  password: secretSchema.optional(),
}).strict().superRefine((c, ctx) => {
  if (c.password !== undefined && c.username === undefined) ctx.addIssue({ code: 'custom', path: ['username'], message: 'a password needs a username' });
});

export const ntfySchema = z.object({
  ...channelBase,
  type: z.literal('ntfy'),
  /** The topic URL, e.g. https://ntfy.sh/my-router-alerts. */
  url: receiverUrlSchema,
  /** Access token (Authorization: Bearer). */
  token: secretSchema.optional(),
  priority: z.number().int().min(1, 'must be 1-5').max(5, 'must be 1-5').optional(),
}).strict();

const CHANNEL_TYPES = ['webhook', 'smtp', 'ntfy'] as const;
const bySchema = { webhook: webhookSchema, smtp: smtpSchema, ntfy: ntfySchema } as const;

/** One channel; the type picks the schema (a clear error for an unknown type). */
export const notificationSchema = z.unknown().transform((v, ctx) => {
  const t = v && typeof v === 'object' ? (v as { type?: unknown }).type : undefined;
  if (typeof t !== 'string' || !(CHANNEL_TYPES as readonly string[]).includes(t)) {
    ctx.addIssue({ code: 'custom', path: ['type'], message: `must be one of ${CHANNEL_TYPES.join(', ')}` });
    return z.NEVER;
  }
  const r = bySchema[t as keyof typeof bySchema].safeParse(v);
  if (!r.success) {
    for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path: i.path as (string | number)[], message: i.message });
    return z.NEVER;
  }
  return r.data;
}) as unknown as z.ZodType<z.output<typeof webhookSchema> | z.output<typeof smtpSchema> | z.output<typeof ntfySchema>, unknown>;

export type WebhookChannel = z.output<typeof webhookSchema>;
export type SmtpChannel = z.output<typeof smtpSchema>;
export type NtfyChannel = z.output<typeof ntfySchema>;
export type NotificationChannel = WebhookChannel | SmtpChannel | NtfyChannel;

/** The secret fields of each channel type (write-only). */
export const SECRET_FIELDS = { webhook: ['secret'], smtp: ['password'], ntfy: ['token'] } as const;

// ---------------------------------------------------------------------------
// Uplink quality thresholds: the degraded state (like dpinger: warn/down on latency and loss)
// ---------------------------------------------------------------------------

export const QUALITY_DEFAULTS = { windowMs: 30000, hysteresisPct: 20, holdRounds: 3, onDegraded: 'half-weight' } as const;

export const qualitySchema = z.object({
  /** Mean round-trip time above this → degraded. */
  latencyWarnMs: z.number().int().min(1, 'must be 1-60000').max(60000, 'must be 1-60000').optional(),
  /** Mean round-trip time above this → down. */
  latencyDownMs: z.number().int().min(1, 'must be 1-60000').max(60000, 'must be 1-60000').optional(),
  /** Lost share of the probes above this (%) → degraded. */
  lossWarnPct: z.number().min(0.1, 'must be 0.1-100').max(100, 'must be 0.1-100').optional(),
  /** Lost share above this (%) → down. */
  lossDownPct: z.number().min(0.1, 'must be 0.1-100').max(100, 'must be 0.1-100').optional(),
  /** Latency and loss are measured over the probes of this window. */
  windowMs: z.number().int().min(2000, 'must be ≥ 2000').max(600000, 'must be ≤ 600000').default(QUALITY_DEFAULTS.windowMs),
  /** A level is left only when the measure is this much (%) below its threshold (hysteresis). */
  hysteresisPct: z.number().int().min(0).max(90, 'must be 0-90').default(QUALITY_DEFAULTS.hysteresisPct),
  /** Consecutive rounds a threshold must be crossed before the state changes. */
  holdRounds: z.number().int().min(1).max(100).default(QUALITY_DEFAULTS.holdRounds),
  /** half-weight: half its weight for new connections; last-resort: new connections only when no
   *  uplink that is up remains. */
  onDegraded: z.enum(['half-weight', 'last-resort']).default(QUALITY_DEFAULTS.onDegraded),
}).strict().superRefine((q, ctx) => {
  if (q.latencyWarnMs === undefined && q.latencyDownMs === undefined && q.lossWarnPct === undefined && q.lossDownPct === undefined) {
    ctx.addIssue({ code: 'custom', message: 'give at least one threshold (latencyWarnMs, latencyDownMs, lossWarnPct, lossDownPct)' });
  }
  if (q.latencyWarnMs !== undefined && q.latencyDownMs !== undefined && q.latencyWarnMs >= q.latencyDownMs) {
    ctx.addIssue({ code: 'custom', path: ['latencyDownMs'], message: 'must be above latencyWarnMs' });
  }
  if (q.lossWarnPct !== undefined && q.lossDownPct !== undefined && q.lossWarnPct >= q.lossDownPct) {
    ctx.addIssue({ code: 'custom', path: ['lossDownPct'], message: 'must be above lossWarnPct' });
  }
});
export type Quality = z.output<typeof qualitySchema>;

// ---------------------------------------------------------------------------
// Metered uplinks
// ---------------------------------------------------------------------------

export const METERED_DEFAULTS = { periodDay: 1, warnAt: [0.75, 0.95], onCap: 'notify' } as const;

export const meteredSchema = z.object({
  /** The allowance per period, in bytes (received + sent on the uplink). */
  capBytes: z.number().int('must be a whole number of bytes').min(1, 'must be ≥ 1').max(Number.MAX_SAFE_INTEGER),
  /** Day of the month (1-28) the period starts, at 00:00 local time. */
  periodDay: z.number().int().min(1, 'must be 1-28').max(28, 'must be 1-28').default(METERED_DEFAULTS.periodDay),
  /** Notify when usage crosses these shares of the cap. */
  warnAt: z.array(z.number().gt(0, 'must be between 0 and 1').lt(1, 'must be between 0 and 1')).max(5, 'at most 5 thresholds').default([...METERED_DEFAULTS.warnAt]),
  /** At the cap: notify only, keep the uplink as a last resort (backup-only), or take it out (disable). */
  onCap: z.enum(['notify', 'backup-only', 'disable']).default(METERED_DEFAULTS.onCap),
}).strict().superRefine((m, ctx) => {
  for (let i = 1; i < m.warnAt.length; i++) {
    if (m.warnAt[i] <= m.warnAt[i - 1]) ctx.addIssue({ code: 'custom', path: ['warnAt', i], message: 'thresholds must be ascending' });
  }
});
export type Metered = z.output<typeof meteredSchema>;

/** Health-probe defaults on a metered uplink (probe traffic costs money): one probe per target
 *  every 10 s instead of 4 per second. lib/usage/probecost.ts says what that costs per month. */
export const METERED_HEALTH = { intervalMs: 20000, timeoutMs: 2000, downAfter: 2, upAfter: 2, probeEveryMs: 10000 } as const;
