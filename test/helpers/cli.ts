import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'linkward.js');

export function tmpDb(tag = 'lw'): { dir: string; db: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${tag}-`));
  return { dir, db: path.join(dir, 'linkward.db'), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Run the real CLI (bin/linkward.js) as a child process. */
export function cli(args: string[], env: Record<string, string>, input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    input,
    encoding: 'utf8',
    timeout: 120000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
