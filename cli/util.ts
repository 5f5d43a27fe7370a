import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';

/** Who is making a CLI change, for the revision log ("cli:root", or the sudo user). */
export function cliAuthor(): string {
  const u = process.env.SUDO_USER || process.env.USER || (() => {
    try {
      return os.userInfo().username;
    } catch {
      return 'unknown';
    }
  })();
  return `cli:${u}`;
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function fmtAgo(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return '-';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** The package's database is root:linkward 0660 inside a directory of group linkward: after root
 *  created or replaced it, give it (and its -wal/-shm) the directory's group. No-op when not root
 *  or when the directory's group is root's own (a checkout). */
export function shareWithDbGroup(dbFile: string): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  let gid: number;
  try {
    gid = fs.statSync(path.dirname(dbFile)).gid;
  } catch {
    return;
  }
  if (gid === 0) return;
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) {
    try {
      fs.chownSync(f, 0, gid);
      fs.chmodSync(f, 0o660);
    } catch {
      /* absent */
    }
  }
}
