import { command, parseArgs, UsageError } from '../args';
import { latestRevision } from '../../lib/store/revisions';
import { disconnect } from '../../lib/db/prisma';
import { compile } from '../../lib/compile/compile';
import { renderTransaction } from '../../lib/compile/nft';
import type { Facts, IfaceFacts } from '../../lib/compile/types';
import { gatherFacts } from '../../agent/system/facts';
import { routeReplaceArgv, ruleAddArgv } from '../../agent/system/routes';
import { realRunner as runner } from '../../agent/system/runner';

const USAGE = 'usage: linkward plan [--json] [--transaction] [--no-kernel]';

export const run = command('plan', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { json: 'bool', transaction: 'bool', 'no-kernel': 'bool' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  let rev;
  try {
    rev = await latestRevision();
  } finally {
    await disconnect();
  }
  if (!rev) {
    process.stderr.write('linkward plan: no configuration stored yet (linkward import FILE)\n');
    return 1;
  }
  const config = rev.config;
  const ifnames = [...config.lan.map((l) => l.interface), ...config.uplinks.map((u) => u.interface)];
  // Facts the config cannot give (addresses, DHCP gateways) come from this machine's kernel when
  // its interfaces exist; otherwise they stay unresolved and the plan says so.
  let interfaces: Record<string, IfaceFacts> = {};
  if (!flags['no-kernel']) {
    try {
      interfaces = await gatherFacts(runner, ifnames);
    } catch (e) {
      process.stderr.write(`linkward plan: could not read interfaces from the kernel (${(e as Error).message}); facts left unresolved\n`);
    }
  }
  const facts: Facts = { interfaces, health: {} };
  const plan = compile(config, facts);
  const nft = flags.transaction ? renderTransaction(plan, null) : plan.nftDeclaration;
  if (flags.json) {
    process.stdout.write(JSON.stringify({ revision: rev.id, nft, routes: plan.routes, rules: plan.rules, sysctls: plan.sysctls, uplinks: plan.uplinks, unresolved: plan.unresolved, warnings: plan.warnings }, null, 2) + '\n');
    return 0;
  }
  const out: string[] = [];
  out.push(`# linkward plan for desired revision ${rev.id}`);
  for (const u of plan.unresolved) out.push(`# unresolved: ${u}`);
  for (const w of plan.warnings) out.push(`# warning: ${w}`);
  out.push('', '# --- nftables ---', nft.trimEnd(), '', '# --- uplinks ---');
  for (const u of plan.uplinks) out.push(`# ${u.name}: table ${u.table}, mark 0x${u.mark.toString(16)}, ${u.interface} ${u.address ?? '(no address)'} via ${u.gateway ?? '(no gateway)'}: ${u.active ? 'active' : `inactive (${u.reason?.detail ?? '?'})`}`);
  out.push('', '# --- routes ---');
  // exactly the argv the agent runs (agent/system/routes.ts), so `plan` cannot drift from the apply
  for (const r of plan.routes) out.push(routeReplaceArgv(r).join(' '));
  out.push('', '# --- ip rules ---');
  for (const r of plan.rules) out.push(ruleAddArgv(r).join(' '));

  out.push('', '# --- sysctls ---');
  for (const [k, v] of Object.entries(plan.sysctls)) out.push(`${k} = ${v}`);
  process.stdout.write(out.join('\n') + '\n');
  return 0;
});
