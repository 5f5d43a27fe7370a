// `linkward uninstall --yes`: take linkward's table, ip rules and routes out of the kernel and put
// back the sysctls it changed (agent/uninstall.ts). Refuses while an agent runs (it would put them
// back): stop it first (systemctl stop linkward-agent). The package's prerm runs this on removal.
import fs from 'node:fs';
import { refuseLinkedSidecars } from '../../lib/db/sqlite';
import { command, parseArgs, UsageError } from '../args';
import { realRunner } from '../../agent/system/runner';
import { uninstallKernelState } from '../../agent/uninstall';
import { bootStateDir, dbPath } from '../../lib/db/path';

const USAGE = 'usage: linkward uninstall --yes [--json]';

export const run = command('uninstall', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { yes: 'bool', json: 'bool' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  if (!flags.yes) throw new UsageError('this removes linkward\'s firewall, routes and rules from the kernel: confirm with --yes');
  if (process.getuid && process.getuid() !== 0) {
    process.stderr.write('linkward uninstall: must run as root\n');
    return 1;
  }
  const pid = await agentPid();
  if (pid !== null) {
    process.stderr.write(`linkward uninstall: the agent is running (pid ${pid}) and would put everything back; stop it first (systemctl stop linkward-agent)\n`);
    return 1;
  }
  const r = await uninstallKernelState(realRunner, bootStateDir());
  if (flags.json) process.stdout.write(JSON.stringify(r) + '\n');
  else {
    process.stdout.write(
      [
        r.nftTableRemoved ? 'removed table inet linkward' : 'no table inet linkward',
        `${r.ruleOps.length} ip rule(s) and ${r.routeOps.length} route(s) removed`,
        r.sysctls.length ? `sysctls put back: ${r.sysctls.map((s) => `${s.key}=${s.to}`).join(', ')}` : 'no sysctl to put back',
      ].join('\n') + '\n',
    );
  }
  return 0;
});

/** An agent process recorded in AgentState that is still alive (a linkward agent by its cmdline). */
async function agentPid(): Promise<number | null> {
  const file = dbPath();
  if (!fs.existsSync(file)) return null;
  const { default: Database } = await import('better-sqlite3');
  refuseLinkedSidecars(file);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'AgentState'").get();
    const row = has ? (db.prepare('SELECT pid FROM AgentState WHERE id = 1').get() as { pid: number | null } | undefined) : undefined;
    const pid = row?.pid ? Number(row.pid) : null;
    if (!pid || pid === process.pid) return null;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return cmd.includes('agent') && cmd.some((a) => a.includes('linkward')) ? pid : null;
    } catch {
      return null;
    }
  } finally {
    db.close();
  }
}
