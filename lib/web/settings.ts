// Settings form <-> config.firewall / config.sysctl (pure; unit-tested).
import type { Config } from '../validations/config';
import { parseNumber, type FormLike } from './forms';

export const FIREWALL_NUMBER_FIELDS = ['logRatePerMinute', 'stickySeconds', 'dashboardPort'] as const;
export const PORTSCAN_NUMBER_FIELDS = ['ports', 'seconds', 'banSeconds'] as const;
export const SYSCTL_BOOL_FIELDS = ['syncookies', 'logMartians', 'ignoreBroadcastPings'] as const;

const s = (fd: FormLike, k: string) => {
  const v = fd.get(k);
  return typeof v === 'string' ? v.trim() : '';
};
const b = (fd: FormLike, k: string) => fd.get(k) !== null;

/** Build the next firewall + sysctl sections from the settings form (on top of the current ones). */
export function parseSettings(fd: FormLike, current: Pick<Config, 'firewall' | 'sysctl'>): { firewall: Record<string, unknown>; sysctl: Record<string, unknown> } {
  const firewall: Record<string, unknown> = { ...current.firewall };
  firewall.icmpIn = fd.getAll('icmpIn').map(String);
  firewall.icmpOut = fd.getAll('icmpOut').map(String);
  firewall.logDrops = b(fd, 'logDrops');
  firewall.allowLockout = b(fd, 'allowLockout');
  firewall.sticky = s(fd, 'sticky') || current.firewall.sticky;
  for (const k of FIREWALL_NUMBER_FIELDS) {
    const v = parseNumber(s(fd, k));
    if (v === undefined) delete firewall[k];
    else firewall[k] = v;
  }
  const portScan: Record<string, unknown> = { ...current.firewall.portScan, enabled: b(fd, 'portScan.enabled') };
  for (const k of PORTSCAN_NUMBER_FIELDS) {
    const v = parseNumber(s(fd, `portScan.${k}`));
    if (v === undefined) delete portScan[k];
    else portScan[k] = v;
  }
  firewall.portScan = portScan;
  const sysctl: Record<string, unknown> = { ...current.sysctl, rpFilter: s(fd, 'rpFilter') || current.sysctl.rpFilter };
  for (const k of SYSCTL_BOOL_FIELDS) sysctl[k] = b(fd, k);
  return { firewall, sysctl };
}

/** Map "firewall.portScan.ports" style schema paths to settings form field names. */
export function settingsFieldErrors(errors: Record<string, string[]>): { fieldErrors: Record<string, string[]>; formErrors: string[] } {
  const fieldErrors: Record<string, string[]> = {};
  const formErrors: string[] = [];
  for (const [path, msgs] of Object.entries(errors)) {
    const m = /^(firewall|sysctl)\.([A-Za-z]+(?:\.[A-Za-z]+)?)/.exec(path);
    if (m) (fieldErrors[m[2]] ??= []).push(...msgs);
    else formErrors.push(...msgs.map((x) => `${path}: ${x}`));
  }
  return { fieldErrors, formErrors };
}

/** Parse an uploaded/pasted config document. */
export function parseImportText(text: string): { ok: true; doc: unknown } | { ok: false; error: string } {
  const t = text.trim();
  if (!t) return { ok: false, error: 'paste a configuration (JSON) or choose a file' };
  if (t.length > 8 * 1024 * 1024) return { ok: false, error: 'file too large (max 8 MiB)' };
  try {
    return { ok: true, doc: JSON.parse(t) };
  } catch (e) {
    return { ok: false, error: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}
