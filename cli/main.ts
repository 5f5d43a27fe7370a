// linkward CLI dispatcher. Each command lives in cli/commands/<name>.ts and exports
// `run(args: string[]): Promise<number>` (exit code), made with command() from cli/args.ts (the
// one argument parser: usage errors exit 2, see docs/cli.md "Exit codes"). Loaded lazily so
// `linkward export` does not load the agent or the lab.
import { UsageError, EXIT_FAILED, EXIT_USAGE } from './args';
export const COMMANDS: Record<string, { file: string; help: string }> = {
  import: { file: './commands/import.ts', help: 'import FILE|- [--confirm-within SECONDS]   validate and store as the new desired revision' },
  export: { file: './commands/export.ts', help: 'export [--revision N]        print the desired configuration (JSON)' },
  plan: { file: './commands/plan.ts', help: 'plan [--json]               show what the agent would apply' },
  agent: { file: './commands/agent.ts', help: 'agent [--once]              run the privileged agent (root)' },
  status: { file: './commands/status.ts', help: 'status [--json]             applied state, uplinks, counters' },
  uplink: { file: './commands/uplink.ts', help: 'uplink enable|disable|drain NAME' },
  lab: { file: './commands/lab.ts', help: 'lab up|down|status|break|restore|exec|targets|whoami [--prefix P] …' },
  web: { file: './commands/web.ts', help: 'web [--port N] [--host ADDR]  serve the dashboard' },
  admin: { file: './commands/admin.ts', help: 'admin reset-password USER | admin create-user USER | admin setup-token' },
  confirm: { file: './commands/confirm.ts', help: 'confirm [--status]          confirm a pending commit-confirmed revision' },
  history: { file: './commands/history.ts', help: 'history [--json] | history show N | history diff A B [--plan]' },
  restore: { file: './commands/restore.ts', help: 'restore N [--confirm-within S] | restore FILE   store revision N again | put a backup back' },
  metrics: { file: './commands/metrics.ts', help: 'metrics                     Prometheus metrics (the text GET /metrics serves)' },
  explain: { file: './commands/explain.ts', help: 'explain --src A --dst B [--proto tcp|udp|icmp] [--dport N] [--in lan|UPLINK] [--trace]   why a packet goes where' },
  init: { file: './commands/init.ts', help: 'init [--json | --apply]     propose a configuration from this machine\'s interfaces' },
  backup: { file: './commands/backup.ts', help: 'backup [FILE]               database and configuration as one file' },
  tls: { file: './commands/tls.ts', help: 'tls [--ensure | --regenerate]   the dashboard\'s HTTPS certificate' },
  db: { file: './commands/db.ts', help: 'db migrate | db path        database migrations' },
  uninstall: { file: './commands/uninstall.ts', help: 'uninstall --yes             take linkward out of the kernel, put back what it changed' },
};

function usage(): string {
  return ['usage: linkward <command> [options]', '', ...Object.values(COMMANDS).map((c) => `  linkward ${c.help}`), '', 'Database: $LINKWARD_DB (default data/linkward.db). See docs/cli.md.'].join('\n');
}

type CommandModule = { run: (args: string[]) => Promise<number> };

/** `load` resolves a command's file (the package's bundle passes a static table: packaging/build.ts). */
export async function main(argv: string[], load: (file: string) => Promise<CommandModule> = (file) => import(file)): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(usage() + '\n');
    return cmd ? 0 : EXIT_USAGE;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    process.stderr.write(`linkward: unknown command "${cmd}"\n${usage()}\n`);
    return EXIT_USAGE;
  }
  let mod: CommandModule;
  try {
    mod = await load(entry.file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String(e).includes(entry.file.slice(2))) {
      process.stderr.write(`linkward: command "${cmd}" is not available in this build\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  try {
    return await mod.run(rest);
  } catch (e) {
    process.stderr.write(`linkward ${cmd}: ${e instanceof Error ? e.message : String(e)}\n`);
    if (e instanceof UsageError) {
      process.stderr.write(`usage: linkward ${entry.help}\n`);
      return EXIT_USAGE;
    }
    return EXIT_FAILED;
  }
}
