import path from 'node:path';
import fs from 'node:fs';

/** Project root (the checkout). Works from tsx (lib/db/path.ts) and from Next's server bundle (cwd). */
export function projectRoot(): string {
  if (process.env.LINKWARD_ROOT) return process.env.LINKWARD_ROOT;
  let dir = process.cwd();
  for (let i = 0; i < 8; i++) {
    if (fs.existsSync(path.join(dir, 'prisma', 'migrations'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return process.cwd();
}

/** Database file: $LINKWARD_DB, else data/linkward.db in the checkout. */
export function dbPath(): string {
  const p = process.env.LINKWARD_DB;
  if (p && p.trim()) return path.resolve(p);
  return path.join(projectRoot(), 'data', 'linkward.db');
}

/** Read-only commands (status, export, history, metrics) must not create an empty database when
 *  pointed at the wrong file (the demo and the CLI disagreeing was a real trap): the file must
 *  exist. Throws a message that names the file and how the default is chosen. */
export function requireExistingDb(file = dbPath()): string {
  if (fs.existsSync(/*turbopackIgnore: true*/ file)) return file;
  const how = process.env.LINKWARD_DB?.trim() ? `LINKWARD_DB=${process.env.LINKWARD_DB}` : 'the default: data/linkward.db in the checkout; LINKWARD_DB names another file';
  throw new Error(`no database at ${file} (${how}): nothing has been stored there. The agent, the dashboard, the demo and the CLI use the same file; \`linkward import FILE\` creates it`);
}

/** Where the agent keeps the next boot's ruleset (agent/bootstate.ts): $LINKWARD_BOOT_DIR, else
 *  boot/ beside the database (the package: /var/lib/linkward/boot, root only). */
export function bootStateDir(): string {
  const p = process.env.LINKWARD_BOOT_DIR;
  if (p && p.trim()) return path.resolve(p);
  return `${path.dirname(dbPath())}/boot`; // not path.join: Turbopack's tracer globs it (see lib/backup)
}

/** linkward's configuration directory (TLS certificate, web.env): $LINKWARD_CONFIG_DIR, else
 *  /etc/linkward for the package (/usr/bin/linkward sets LINKWARD_PACKAGED=1), else none. */
export function configDir(): string | null {
  const p = process.env.LINKWARD_CONFIG_DIR;
  if (p && p.trim()) return path.resolve(p);
  return process.env.LINKWARD_PACKAGED === '1' ? '/etc/linkward' : null;
}
