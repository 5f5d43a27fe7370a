// `linkward init`: read this machine's interfaces (ip -j link/addr/route) and propose a
// configuration (lib/setup/propose.ts): which interface is the LAN, which are uplinks, gateways.
//   linkward init             the plain-language summary, what stays as it is, and the document
//   linkward init --json      only the proposed document (what `linkward import` takes); stores nothing
//   linkward init --apply     store it as a commit-confirmed revision (confirm with `linkward confirm`
//                             within --confirm-within seconds, default 300, or it is rolled back)
import { command, parseArgs, intFlag, strFlag, UsageError } from '../args';
import { realRunner } from '../../agent/system/runner';
import { readMachine } from '../../agent/system/machine';
import { proposeConfig } from '../../lib/setup/propose';
import { isIPv4 } from '../../lib/validations/net';
import { saveConfig, latestRevision } from '../../lib/store/revisions';
import { disconnect } from '../../lib/db/prisma';
import { cliAuthor } from '../util';

const USAGE = `usage: linkward init [--json | --apply [--confirm-within SECONDS] [--force]] [--health-targets A,B,...] [--dashboard-port N]
  --json     print the proposed configuration document only; nothing is stored
  --apply    store it as a new revision, commit-confirmed (default 300 s; 0 = no confirmation)
  --force    replace an existing configuration (otherwise --apply refuses)`;

export const run = command('init', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { json: 'bool', apply: 'bool', force: 'bool', 'confirm-within': 'string', 'health-targets': 'string', 'dashboard-port': 'string' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  if (flags.json && flags.apply) throw new UsageError('give --json or --apply, not both');
  const targets = strFlag(flags['health-targets'])?.split(',').map((s) => s.trim()).filter(Boolean);
  for (const t of targets ?? []) if (!isIPv4(t)) throw new UsageError(`--health-targets: not an IPv4 address: ${JSON.stringify(t)}`);
  const dashboardPort = intFlag(flags['dashboard-port'], 'dashboard-port', 1, 65535) ?? (process.env.LINKWARD_PACKAGED === '1' ? 443 : undefined);
  const confirmRaw = intFlag(flags['confirm-within'], 'confirm-within', 0, 3600);
  if (confirmRaw !== undefined && confirmRaw !== 0 && confirmRaw < 30) throw new UsageError('--confirm-within: must be 0 or 30-3600');
  const confirmWithin = confirmRaw === undefined ? 300 : confirmRaw === 0 ? undefined : confirmRaw;

  const p = proposeConfig(await readMachine(realRunner), { dashboardPort, healthTargets: targets });
  if (flags.json) {
    process.stdout.write(JSON.stringify(p.config, null, 2) + '\n');
    for (const w of p.warnings) process.stderr.write(`linkward init: warning: ${w}\n`);
    return 0;
  }
  const lines = [
    ...p.summary,
    '',
    ...p.lan.map((l) => `  LAN     ${l.name}: ${l.interface} ${l.address} — ${l.why}`),
    ...p.uplinks.map((u) => `  uplink  ${u.name}: ${u.interface} ${u.address} gateway ${u.gateway} — ${u.why}`),
    ...p.ignored.map((x) => `  ignored ${x.interface} — ${x.why}`),
    ...p.warnings.map((w) => `  warning: ${w}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (!flags.apply) {
    process.stdout.write(`\n${JSON.stringify(p.config, null, 2)}\n\nNothing stored. Apply with: linkward init --apply (commit-confirmed), or edit the JSON and linkward import it.\n`);
    return 0;
  }
  if (p.uplinks.length === 0 || p.lan.length === 0) {
    process.stderr.write('linkward init: not applying a proposal without a LAN and an uplink; write the configuration by hand (docs/config.md)\n');
    return 1;
  }
  try {
    const latest = await latestRevision();
    if (latest && !flags.force) {
      process.stderr.write(`linkward init: a configuration exists (revision ${latest.id}); --force replaces it\n`);
      return 1;
    }
    const r = await saveConfig(p.config, { author: cliAuthor(), source: 'cli', confirmWithin });
    if (!r.ok) {
      process.stderr.write(`linkward init: the proposal does not validate, nothing stored:\n${r.errors.map((e) => `  ${e}`).join('\n')}\n`);
      return 1;
    }
    process.stdout.write(`\nstored revision ${r.revision}: ${r.summary}${confirmWithin ? `\nconfirm within ${confirmWithin} s with: linkward confirm (else it is rolled back)` : ''}\n`);
    return 0;
  } finally {
    await disconnect();
  }
});
