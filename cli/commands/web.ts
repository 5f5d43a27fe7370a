// `linkward web [--port N] [--host ADDR]`: serve the built dashboard (default 127.0.0.1:3000).
// Runs lib/web/server.mjs in a child node process (plain node, no tsx loader inside Next).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../lib/db/path';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', short: 'p', default: '3000' },
      host: { type: 'string', short: 'H', default: '127.0.0.1' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: linkward web [--port N] [--host ADDR]\n  default 127.0.0.1:3000; use --host <LAN address> to serve the LAN (see docs/dashboard.md)\n');
    return 0;
  }
  const root = projectRoot();
  const child = spawn(process.execPath, [path.join(root, 'lib', 'web', 'server.mjs'), '--port', values.port!, '--host', values.host!, '--dir', root], {
    stdio: 'inherit',
    env: process.env,
  });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 0 : 1)));
  });
}
