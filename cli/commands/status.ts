import { command, parseArgs, UsageError } from '../args';
import { readStatus } from '../../lib/store/status';
import { disconnect } from '../../lib/db/prisma';
import { dbPath, requireExistingDb } from '../../lib/db/path';
import { fmtAgo, fmtBytes } from '../util';

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ')).join('\n');
}

const USAGE = 'usage: linkward status [--json]';

export const run = command('status', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { json: 'bool' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const database = requireExistingDb(dbPath());
  try {
    const s = await readStatus();
    const empty = s.desiredRevision === null ? `database ${database} has no configuration revisions: nothing was imported into it (linkward import FILE, or the dashboard's first run)` : null;
    if (flags.json) {
      const { desiredRevision, appliedRevision, applyError, uplinks, rules } = s;
      const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
      process.stdout.write(JSON.stringify({
        database, ...(empty ? { note: empty } : {}), desiredRevision, appliedRevision, applyError,
        appliedAt: iso(s.appliedAt), agentHeartbeat: iso(s.agentHeartbeat),
        uplinks: uplinks.map(({ name, state, address, gateway, since, reason, latencyMs, lossPct, connections }) => ({ name, state, address, gateway, since, reason, latencyMs, lossPct, connections })),
        rules: rules.map(({ name, kind, counter, packets, bytes }) => ({ name, kind, counter, packets, bytes })),
      }, null, 2) + '\n');
      return 0;
    }
    const out: string[] = [`database ${database}`];
    if (empty) out.push(empty);
    const pending = s.desiredRevision !== null && s.appliedRevision !== s.desiredRevision;
    out.push(`desired revision ${s.desiredRevision ?? '-'}, applied ${s.appliedRevision ?? '-'}${pending ? ' (pending)' : ''}${s.applyMs !== null ? `, last apply ${s.applyMs.toFixed(0)} ms ${fmtAgo(s.appliedAt)}` : ''}`);
    out.push(`agent: ${s.agentHeartbeat ? `last seen ${fmtAgo(s.agentHeartbeat)}` : 'has not reported (sudo npx linkward agent)'}`);
    if (s.applyError) out.push(`apply error: ${s.applyError}`);
    out.push('');
    if (s.uplinks.length) {
      out.push(table([
        ['UPLINK', 'STATE', 'ADDRESS', 'GATEWAY', 'LATENCY', 'LOSS', 'SINCE', 'REASON'],
        ...s.uplinks.map((u) => [u.name, u.state, u.address ?? '-', u.gateway ?? '-', u.latencyMs !== null ? `${u.latencyMs.toFixed(1)}ms` : '-', u.lossPct !== null ? `${u.lossPct.toFixed(0)}%` : '-', u.since ? fmtAgo(Date.parse(u.since)) : '-', u.reason || '-']),
      ]));
      out.push('');
    }
    if (s.rules.length) {
      out.push(table([
        ['KIND', 'NAME', 'PACKETS', 'BYTES'],
        ...s.rules.map((r) => [r.kind, r.name, String(r.packets), fmtBytes(r.bytes)]),
      ]));
    } else out.push('no counters reported yet');
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } finally {
    await disconnect();
  }
});
