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
