import { command, parseArgs, intFlag, intArg, UsageError } from '../args';
import { history, lastFacts } from '../../lib/store/safety';
import { getRevision } from '../../lib/store/revisions';
import { redactSecrets } from '../../lib/store/secrets';
import { diffRevisions, unified, countChanges, normalizeFacts } from '../../lib/config/diff';
import { disconnect } from '../../lib/db/prisma';
import { requireExistingDb } from '../../lib/db/path';

const USAGE = 'usage: linkward history [--json] [--limit N] | history show N | history diff A B [--plan]\n';

const revNum = (s: string | undefined): number => intArg(s, 'revision', 1, 2 ** 31 - 1);

/** linkward history: list revisions (who, when, what), show one, diff two (config and compiled plan). */
export const run = command('history', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { json: 'bool', limit: 'string', plan: 'bool' });
  const [sub, ...rest] = positional;
  const limit = intFlag(flags.limit, 'limit', 1, 100000) ?? 50;
  if (sub !== undefined && !((sub === 'show' && rest.length === 1) || (sub === 'diff' && rest.length === 2))) {
    throw new UsageError(sub === 'show' || sub === 'diff' ? `${sub}: wrong number of revisions` : `unknown subcommand ${JSON.stringify(sub)}`);
  }
  const revs = rest.map(revNum);
  requireExistingDb();
  try {
    if (sub === undefined) {
      const rows = await history(limit);
      if (flags.json) {
        process.stdout.write(JSON.stringify(rows) + '\n');
        return 0;
      }
      for (const r of rows) {
        const flagsTxt = [r.applied ? 'applied' : null, r.confirmWithin !== null ? (r.confirmedAt ? 'confirmed' : r.rolledBackAt ? 'ROLLED BACK' : `confirm within ${r.confirmWithin}s`) : null].filter(Boolean).join(', ');
        process.stdout.write(`${String(r.id).padStart(5)}  ${new Date(r.createdAt).toISOString().replace('T', ' ').slice(0, 19)}  ${r.author.padEnd(14)} ${r.source.padEnd(8)} ${r.summary}${flagsTxt ? `  [${flagsTxt}]` : ''}\n`);
      }
      return 0;
    }
    if (sub === 'show' && rest.length === 1) {
      const r = await getRevision(revs[0]);
      if (!r) {
        process.stderr.write(`linkward history: revision ${rest[0]} does not exist\n`);
        return 1;
      }
      process.stdout.write(JSON.stringify(flags.json ? { ...r, config: redactSecrets(r.config) } : redactSecrets(r.config), null, 2) + '\n');
      return 0;
    }
    // sub === 'diff' with two revisions (checked above)
    const [a, b] = await Promise.all([getRevision(revs[0]), getRevision(revs[1])]);
    if (!a || !b) {
      process.stderr.write(`linkward history: revision ${!a ? rest[0] : rest[1]} does not exist\n`);
      return 1;
    }
    const d = diffRevisions(a.config, b.config, normalizeFacts(await lastFacts()));
    const lines = flags.plan ? d.plan : d.config;
    if (flags.json) process.stdout.write(JSON.stringify({ ...countChanges(lines), diff: lines, planError: d.planError }) + '\n');
    else {
      const c = countChanges(lines);
      process.stdout.write(`--- revision ${a.id}\n+++ revision ${b.id}${flags.plan ? ' (compiled plan, agent facts)' : ''}  (+${c.added} -${c.removed})\n${unified(lines)}\n`);
      if (flags.plan && d.planError) process.stdout.write(`# compile error: ${d.planError}\n`);
    }
    return 0;
  } finally {
    await disconnect();
  }
});
