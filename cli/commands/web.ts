// `linkward web [--port N] [--host ADDR]`: serve the built dashboard (default 127.0.0.1:3000).
// Runs lib/web/server.mjs in a child node process (plain node, no tsx loader inside Next).
import { realRunner } from '../../agent/system/runner';
import path from 'node:path';
import { command, parseArgs, intFlag, strFlag, UsageError } from '../args';
import { projectRoot } from '../../lib/db/path';
import { addressList, parseHostNames } from '../../lib/auth/net';

const USAGE = `usage: linkward web [--port N] [--host ADDR]
  default 127.0.0.1:3000; use --host <LAN address> to serve the LAN (see docs/dashboard.md)
  environment: LINKWARD_HOSTNAMES (names the dashboard answers to besides localhost and the bind
  address), LINKWARD_TRUSTED_PROXIES (reverse proxies whose X-Forwarded-For is believed)`;

export const run = command('web', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { port: 'string', host: 'string' }, { short: { p: 'port', H: 'host' } });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const port = intFlag(flags.port, 'port', 1, 65535) ?? 3000;
  const host = strFlag(flags.host) ?? '127.0.0.1';
  // Checked here too (the dashboard fails closed on them), so a typo is an error at start.
  try {
    parseHostNames(process.env.LINKWARD_HOSTNAMES);
    addressList(process.env.LINKWARD_TRUSTED_PROXIES, 'LINKWARD_TRUSTED_PROXIES');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const root = projectRoot();
  let result = 1;
  const child = realRunner.spawn([process.execPath, path.join(root, 'lib', 'web', 'server.mjs'), '--port', String(port), '--host', host, '--dir', root], {
    stdio: 'inherit',
    onExit: (code, signal) => (result = code ?? (signal ? 0 : 1)),
  });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  await child.exited;
  return result;
});
