// Read-side queries for the dashboard (server only). BigInt counters become numbers here.
// NOT session-checked: pages, components and route handlers read through lib/web/data.ts (the
// data access layer, every function behind the session check); only it and tests import this.
import { parseIpv6Side, type Ipv6Side } from './uplink6';
import { prisma } from '../db/prisma';
import { latestRevision } from '../store/revisions';
import { counterUplinkIn, counterUplinkOut } from '../compile/constants';
import { effectiveHealth } from '../validations/config';
import { probeBytesPerMonth } from '../usage/meter';

/** The agent counts as running when its heartbeat is younger than this. */
export const AGENT_STALE_MS = 30_000;

export interface StatusInfo {
  desired: { id: number; summary: string; createdAt: number; author: string; source: string } | null;
  applied: number | null;
  appliedAt: number | null;
  applyMs: number | null;
  applyError: string | null;
  errorRevision: number | null;
  heartbeatAt: number | null;
  agentRunning: boolean;
  /** Desired revision not yet reported applied (and no error for it). */
  applying: boolean;
  now: number;
}

export async function getStatus(): Promise<StatusInfo> {
  const db = prisma();
  const [rev, st] = await Promise.all([
    db.revision.findFirst({ orderBy: { id: 'desc' }, select: { id: true, summary: true, createdAt: true, author: true, source: true } }),
    db.agentState.findUnique({ where: { id: 1 } }),
  ]);
  return statusFrom(rev, st, Date.now());
}

/** StatusInfo from the newest revision and the agent's row (getStatus, the live feed). */
export function statusFrom(
  rev: StatusInfo['desired'],
  st: { appliedRevision: number | null; appliedAt: number | null; applyMs: number | null; applyError: string | null; errorRevision: number | null; heartbeatAt: number | null } | null,
  now: number,
): StatusInfo {
  const applied = st?.appliedRevision ?? null;
  const errorRevision = st?.errorRevision ?? null;
  const failedThis = rev !== null && errorRevision !== null && errorRevision >= rev.id && !!st?.applyError;
  return {
    desired: rev,
    applied,
    appliedAt: st?.appliedAt ?? null,
    applyMs: st?.applyMs ?? null,
    applyError: st?.applyError ?? null,
    errorRevision,
    heartbeatAt: st?.heartbeatAt ?? null,
    agentRunning: !!st?.heartbeatAt && now - st.heartbeatAt < AGENT_STALE_MS,
    applying: rev !== null && (applied === null || applied < rev.id) && !failedThis,
    now,
  };
}

export interface UplinkView {
  name: string;
  id: number;
  interface: string;
  gateway: string;
  weight: number;
  priority: number;
  enabled: boolean;
  drain: boolean;
  state: string;
  since: number | null;
  reason: string;
  address: string | null;
  observedGateway: string | null;
  latencyMs: number | null;
  lossPct: number | null;
  connections: number;
  updatedAt: number | null;
  /** Quality thresholds (the degraded state), when configured. */
  quality: { latencyWarnMs?: number; lossWarnPct?: number; onDegraded: string } | null;
  /** Metered: cap, usage this period, warn marks, onCap, and what the probes cost a month. */
  metered: { capBytes: number; usedBytes: number | null; periodStart: number | null; warnAt: number[]; onCap: string; probeBytesPerMonth: number } | null;
  /** The IPv6 side (state per family), when the uplink has IPv6 configured. */
  ipv6: Ipv6Side | null;
}

export async function getUplinks(): Promise<UplinkView[]> {
  return (await getUplinksAt()).uplinks;
}

/** The uplinks of the desired revision with their reported status, and that revision's id (what
 *  the overview's buttons send as their base revision). */
export async function getUplinksAt(): Promise<{ revision: number | null; uplinks: UplinkView[] }> {
  const [rev, statuses, usage] = await Promise.all([latestRevision(), prisma().uplinkStatus.findMany(), prisma().meterUsage.findMany()]);
  const byName = new Map(statuses.map((s) => [s.name, s]));
  const used = new Map(usage.map((m) => [m.uplink, m]));
  const uplinks = (rev?.config.uplinks ?? []).map((u): UplinkView => {
    const s = byName.get(u.name);
    const configured = !u.enabled ? 'disabled' : u.drain ? 'draining' : 'unknown';
    return {
      name: u.name,
      id: u.id,
      interface: u.interface,
      gateway: u.gateway,
      weight: u.weight,
      priority: u.priority,
      enabled: u.enabled,
      drain: u.drain,
      state: s?.state ?? configured,
      since: s?.since ?? null,
      reason: s?.reason ?? '',
      address: s?.address ?? null,
      observedGateway: s?.gateway ?? null,
      latencyMs: s?.latencyMs ?? null,
      lossPct: s?.lossPct ?? null,
      connections: s?.connections ?? 0,
      updatedAt: s?.updatedAt ?? null,
      quality: u.quality ? { latencyWarnMs: u.quality.latencyWarnMs, lossWarnPct: u.quality.lossWarnPct, onDegraded: u.quality.onDegraded } : null,
      metered: u.metered
        ? {
            capBytes: u.metered.capBytes, warnAt: u.metered.warnAt, onCap: u.metered.onCap,
            usedBytes: used.has(u.name) ? Number(used.get(u.name)!.bytes) : null, periodStart: used.get(u.name)?.periodStart ?? null,
            probeBytesPerMonth: probeBytesPerMonth(effectiveHealth(u)),
          }
        : null,
      ipv6: u.ipv6 ? parseIpv6Status(s?.ipv6 ?? null) : null,
    };
  });
  return { revision: rev?.id ?? null, uplinks };
}

const IPV6_NOT_REPORTED: NonNullable<UplinkView['ipv6']> = { state: 'unknown', reason: 'not reported yet', address: null, gateway: null, prefix: null, latencyMs: null, lossPct: null };
const parseIpv6Status = (json: string | null): UplinkView['ipv6'] => parseIpv6Side(json) ?? IPV6_NOT_REPORTED;

/** Revisions stored after the applied one (the overview's "not applied yet" list). */
export async function pendingRevisions(applied: number | null, take = 10) {
  return prisma().revision.findMany({
    where: { id: { gt: applied ?? 0 } },
    orderBy: { id: 'desc' },
    take,
    select: { id: true, summary: true, author: true, source: true, createdAt: true },
  });
}

/** The revision before `id` and the newest one (the restore's base revision). */
export async function revisionNeighbors(id: number): Promise<{ prev: number | null; latest: number | null }> {
  const [prev, latest] = await Promise.all([
    prisma().revision.findFirst({ where: { id: { lt: id } }, orderBy: { id: 'desc' }, select: { id: true } }),
    prisma().revision.findFirst({ orderBy: { id: 'desc' }, select: { id: true } }),
  ]);
  return { prev: prev?.id ?? null, latest: latest?.id ?? null };
}

export async function recentEvents(limit = 15) {
  return prisma().event.findMany({ orderBy: { ts: 'desc' }, take: limit });
}

export interface CounterView {
  name: string;
  kind: string;
  ref: string;
  packets: number;
  bytes: number;
  updatedAt: number;
}

export async function getCounters(): Promise<CounterView[]> {
  const rows = await prisma().counter.findMany({ orderBy: { name: 'asc' } });
  return rows.map((r) => ({ name: r.name, kind: r.kind, ref: r.ref, packets: Number(r.packets), bytes: Number(r.bytes), updatedAt: r.updatedAt }));
}

export interface Sample {
  ts: number;
  packets: number;
  bytes: number;
}

/** Samples of the given counters since `sinceMs` ago, grouped by counter name, downsampled in SQL
 *  to at most `points` per counter (the last value in each time bucket; counters only grow, so
 *  MAX is the bucket's last value). Names are bound in chunks: SQLite limits bound parameters,
 *  and 1 000 rules × hours of 10 s samples must not be read row by row. */
export async function getSamples(names: string[], sinceMs: number, points = 120): Promise<Record<string, Sample[]>> {
  const out: Record<string, Sample[]> = {};
  if (names.length === 0) return out;
  const since = Date.now() - sinceMs;
  const bucket = Math.max(10_000, Math.floor(sinceMs / points));
  const unique = [...new Set(names)].slice(0, 20000);
  const CHUNK = 400;
  for (let i = 0; i < unique.length; i += CHUNK) {
    const part = unique.slice(i, i + CHUNK);
    const rows = await prisma().$queryRawUnsafe<{ name: string; ts: number; packets: number | bigint; bytes: number | bigint }[]>(
      `SELECT name, MAX(ts) AS ts, MAX(packets) AS packets, MAX(bytes) AS bytes FROM CounterSample
       WHERE ts >= ? AND name IN (${part.map(() => '?').join(',')})
       GROUP BY name, CAST(ts / ? AS INTEGER) ORDER BY name, ts`,
      since, ...part, bucket,
    );
    for (const r of rows) (out[r.name] ??= []).push({ ts: Number(r.ts), packets: Number(r.packets), bytes: Number(r.bytes) });
  }
  return out;
}

export async function pendingLabRequests() {
  return prisma().agentRequest.findMany({ where: { doneAt: null }, orderBy: { id: 'desc' }, take: 20 });
}

export function isDemo(): boolean {
  return process.env.LINKWARD_DEMO === '1';
}

/** Counter names the agent uses for uplink traffic. */
export function uplinkCounterNames(id: number): { rx: string; tx: string } {
  return { rx: counterUplinkIn(id), tx: counterUplinkOut(id) };
}

/** The latest notifications the agent queued (Settings shows their delivery). */
export async function recentNotifications(take = 8) {
  return prisma().notification.findMany({ orderBy: { id: 'desc' }, take });
}

/** A backup file of the database and the configuration directory (the dashboard's download;
 *  the same as `linkward backup`), audited under `actor`. */
/** Put a backup's database back (the dashboard's restore): online, like `linkward restore FILE`,
 *  but never the configuration files (/etc/linkward: TLS key, web options) — the dashboard runs
 *  unprivileged; the CLI restores those. Recorded in the audit log of the restored database. */
export async function restoreBackupUpload(actor: string, data: Buffer): Promise<{ latestRevision: number | null; migrationsApplied: string[]; skippedFiles: string[] }> {
  const { restoreBackup, readBackup } = await import('../backup/backup');
  const { dbPath } = await import('../db/path');
  const { audit } = await import('../auth/users');
  const skippedFiles = Object.keys(readBackup(data).files);
  const r = await restoreBackup(data, { dbFile: dbPath(), configDir: null });
  await audit(actor, 'backup.restore', `restored from the dashboard (revision ${r.latestRevision ?? 'none'}${skippedFiles.length ? `; files not restored: ${skippedFiles.join(', ')}` : ''})`);
  return { latestRevision: r.latestRevision, migrationsApplied: r.migrationsApplied, skippedFiles };
}

export async function backupFile(actor: string): Promise<{ name: string; data: Buffer }> {
  const { createBackup, linkwardVersion } = await import('../backup/backup');
  const { configDir, dbPath } = await import('../db/path');
  const { audit } = await import('../auth/users');
  const os = await import('node:os');
  const { data, envelope } = createBackup({ dbFile: dbPath(), configDir: configDir(), linkwardVersion: linkwardVersion() });
  const host = os.hostname().replace(/[^A-Za-z0-9-]/g, '_').slice(0, 40) || 'router';
  const name = `linkward-${host}-r${envelope.latestRevision ?? 0}-${envelope.createdAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.lwbackup`;
  await audit(actor, 'backup.download', `${name} (${data.length} bytes)`);
  return { name, data };
}
