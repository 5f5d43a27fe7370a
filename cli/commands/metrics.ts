// `linkward metrics`: the same Prometheus text GET /metrics serves, read from the database
// (for scripts and node_exporter's textfile collector: linkward metrics > /var/lib/node_exporter/linkward.prom).
import { command, parseArgs, UsageError } from '../args';
import { openDb } from '../../lib/db/sqlite';
import { metricsText } from '../../lib/metrics/read';
import { requireExistingDb } from '../../lib/db/path';

const USAGE = 'usage: linkward metrics';

export const run = command('metrics', USAGE, async (args) => {
  const { positional } = parseArgs(args, {});
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const db = openDb(requireExistingDb());
  try {
    db.defaultSafeIntegers(false);
    process.stdout.write(metricsText(db));
    return 0;
  } finally {
    db.close();
  }
});
