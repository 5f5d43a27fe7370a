// Helpers for lab integration tests: a unique lab per test file, the agent run in-process
// against the router namespace (every command goes through a netns-bound runner), and a
// per-test SQLite database.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { withNetns, realRunner, type Runner } from '../../agent/system/runner';
import { labUp, labDown, type LabInfo, type LabUpOptions } from '../../lab/lab';
import { openDb, type DB } from '../../lib/db/sqlite';
import { Agent } from '../../agent/agent';
import { ROOT, BIN } from './cli';

export function uniquePrefix(tag: string): string {
  // ^[a-z][a-z0-9]{0,7}$ : tag (1-3 letters) + pid-derived digits
  return `${tag}${(process.pid % 100000).toString(36)}`.slice(0, 8);
}

export function netnsRunner(ns: string): Runner {
  return withNetns(realRunner, ns);
}

export interface LabEnv {
  prefix: string;
  lab: LabInfo;
  dir: string;
  dbFile: string;
  db: DB;
  runner: Runner;
  env: Record<string, string>;
  /** Run the real CLI with this lab's database. */
  cliEnv: Record<string, string>;
  agent(opts?: Partial<ConstructorParameters<typeof Agent>[0]>): Agent;
  cleanup(): Promise<void>;
}

/** Take the lab down and kill what still ran inside its namespaces (a process left by an agent
 *  the test killed with -9, e.g. its ulogd, would keep a deleted namespace alive). */
async function labDownAndKill(prefix: string): Promise<void> {
  const r = await labDown(prefix).catch(() => null);
  for (const pid of Object.values(r?.leftoverPids ?? {}).flat()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export async function setupLab(tag: string, uplinks = 2, opts: Pick<LabUpOptions, 'ipv6' | 'ipv6Config'> = {}): Promise<LabEnv> {
  const prefix = uniquePrefix(tag);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lw-${prefix}-`));
  await labDown(prefix).catch(() => undefined);
  let lab: Awaited<ReturnType<typeof labUp>>;
  try {
    lab = await labUp({ prefix, uplinks, configOut: path.join(dir, 'lab-config.json'), ...opts });
  } catch (e) {
    // a lab that came up halfway (e.g. a server did not start) is removed here: the caller
    // has no LabEnv to clean up
    await labDownAndKill(prefix);
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const dbFile = path.join(dir, 'linkward.db');
  const db = openDb(dbFile);
  const runner = netnsRunner(lab.namespaces.router);
  const env = { LINKWARD_DB: dbFile };
  process.env.LINKWARD_DB = dbFile; // in-process store calls (saveConfig) use the same database
  const agents: Agent[] = [];
  return {
    prefix,
    lab,
    dir,
    dbFile,
    db,
    runner,
    env,
    cliEnv: env,
    agent(opts = {}) {
      const a = new Agent({ db, runner, health: false, watchLinks: false, log: () => undefined, ...opts });
      agents.push(a);
      return a;
    },
    async cleanup() {
      for (const a of agents) await a.stop().catch(() => undefined);
      db.close();
      await labDownAndKill(prefix);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { ROOT, BIN };
