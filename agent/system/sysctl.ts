// sysctls: read current values, write only the ones that differ. Always through the Runner
// (`sysctl -n` / `sysctl -w`), so it works inside a netns (/proc/sys/net is per namespace) and
// with the fake runner. Dotted keys: interface names containing '.' are written with '/'
// (net.ipv4.conf.eth0/100.rp_filter), as sysctl(8) does.

import { CommandError, type Runner } from './runner';
import { isSysctlKey } from '../../lib/compile/sysctl';

const VALUE_RE = /^[A-Za-z0-9_ \t.:,+-]{0,256}$/;

export { isSysctlKey };

/** Normalize for comparison: multi-value sysctls print tab-separated. */
export function normValue(v: string): string {
  return v.trim().split(/\s+/).join(' ');
}

function checkValue(key: string, v: string): string {
  if (!VALUE_RE.test(v)) throw new Error(`invalid value for sysctl ${key}: ${JSON.stringify(v)}`);
  return v;
}

/** Current values; missing keys map to null. */
export async function readSysctls(runner: Runner, keys: string[]): Promise<Record<string, string | null>> {
    for (const k of keys) if (!isSysctlKey(k)) throw new Error(`invalid sysctl key ${JSON.stringify(k)}`);
  const out: Record<string, string | null> = {};
  if (keys.length === 0) return out;
  const r = await runner.run(['sysctl', '-n', ...keys], { allowFail: true });
  const lines = r.stdout.replace(/\n$/, '').split('\n');
  if (r.exitCode === 0 && lines.length === keys.length) {
    keys.forEach((k, i) => (out[k] = normValue(lines[i])));
    return out;
  }
  // some key missing (or odd output): one at a time
  for (const k of keys) {
    const one = await runner.run(['sysctl', '-n', k], { allowFail: true });
    out[k] = one.exitCode === 0 ? normValue(one.stdout) : null;
  }
  return out;
}

export interface SysctlChange {
  key: string;
  from: string | null;
  to: string;
}

export class SysctlError extends Error {
  readonly failures: { key: string; stderr: string }[];
  readonly changed: SysctlChange[];
  constructor(failures: { key: string; stderr: string }[], changed: SysctlChange[]) {
    super(`sysctl: ${failures.map((f) => `${f.key}: ${f.stderr.trim()}`).join('; ')}`);
    this.name = 'SysctlError';
    this.failures = failures;
    this.changed = changed;
  }
}

/** Write the values that differ; returns what changed. Keys that fail are thrown together (SysctlError). */
export async function applySysctls(runner: Runner, desired: Record<string, string>): Promise<SysctlChange[]> {
    const keys = Object.keys(desired).sort();
  for (const k of keys) checkValue(k, desired[k]);
  const cur = await readSysctls(runner, keys);
  const changed: SysctlChange[] = [];
  const failures: { key: string; stderr: string }[] = [];
  for (const k of keys) {
    const want = normValue(desired[k]);
    if (cur[k] === want) continue;
    try {
      await runner.run(['sysctl', '-q', '-w', `${k}=${desired[k]}`]);
      changed.push({ key: k, from: cur[k], to: want });
    } catch (e) {
      failures.push({ key: k, stderr: e instanceof CommandError ? e.stderr || e.message : String(e) });
    }
  }
  if (failures.length > 0) throw new SysctlError(failures, changed);
  return changed;
}
