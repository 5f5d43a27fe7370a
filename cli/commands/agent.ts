import { command, parseArgs, UsageError } from '../args';
import { openDb } from '../../lib/db/sqlite';
import { Agent } from '../../agent/agent';
import { bootStateDir } from '../../lib/db/path';

const USAGE = 'usage: linkward agent [--once] [--no-health] [--quiet]';

export const run = command('agent', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { once: 'bool', 'no-health': 'bool', quiet: 'bool' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  if (process.getuid && process.getuid() !== 0) {
    process.stderr.write('linkward agent: must run as root (it programs nftables, routes and sysctls)\n');
    return 1;
  }
  // Demo mode only: the lab's "simulate failure" handlers, injected (the agent never imports the lab).
  const requestHandlers = process.env.LINKWARD_DEMO_LAB ? (await import('../../lab/demo')).demoRequestHandlers() : {};
  const db = openDb();
  const agent = new Agent({
    db,
    health: !flags.once && !flags['no-health'],
    watchLinks: !flags.once,
    log: flags.quiet ? () => undefined : undefined,
    requestHandlers,
    bootStateDir: bootStateDir(),
    // LINKWARD_IDLE=eager: counters every 2 s and a full resync every 30 s whatever happens (the
    // idle behaviour before 2026-12: the footprint bench's comparison row)
    ...(process.env.LINKWARD_IDLE === 'eager' ? { eagerCounters: true, driftWatch: false } : {}),
    // LINKWARD_RESYNC_MS: the periodic drift check's period (default 30 s; tests use less)
    ...(Number(process.env.LINKWARD_RESYNC_MS) >= 500 ? { resyncMs: Number(process.env.LINKWARD_RESYNC_MS) } : {}),
  });
  if (flags.once) {
    const r = await agent.runOnce();
    db.close();
    if (!r.ok) {
      process.stderr.write(`linkward agent: ${r.error}\n`);
      return 1;
    }
    process.stdout.write(r.revision === null ? 'no configuration stored yet; nothing to apply\n' : `revision ${r.revision} applied${r.changed ? '' : ' (kernel already up to date)'}\n`);
    return 0;
  }
  // Last line of defence: an unhandled rejection must never end the router's agent (every
  // fire-and-forget promise is caught where it is made; this only logs what slipped through).
  process.on('unhandledRejection', (e) => process.stderr.write(`linkward agent: unhandled rejection (kept running): ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`));
  await agent.start();
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // Stop within 10 s whatever a child or a stuck reconcile does, and exit even if some handle
  // (a socket, a watcher) still holds the event loop: a stopped agent must never linger.
  const hard = setTimeout(() => {
    process.stderr.write('linkward agent: stop took longer than 10 s; exiting\n');
    process.exit(0);
  }, 10_000);
  hard.unref();
  await Promise.race([agent.stop(), new Promise((r) => setTimeout(r, 9_000).unref())]);
  db.close();
  setTimeout(() => process.exit(0), 1_000).unref();
  return 0;
});
