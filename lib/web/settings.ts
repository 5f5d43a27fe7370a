// Settings form <-> config.firewall / config.sysctl (pure; unit-tested).
import type { Config } from '../validations/config';
import { parseNumber, type FormLike, type FormValues } from './forms';

export const FIREWALL_NUMBER_FIELDS = ['logRatePerMinute', 'stickySeconds', 'dashboardPort'] as const;
export const PORTSCAN_NUMBER_FIELDS = ['ports', 'seconds', 'banSeconds'] as const;
export const SYSCTL_BOOL_FIELDS = ['syncookies', 'logMartians', 'ignoreBroadcastPings'] as const;

const s = (fd: FormLike, k: string) => {
  const v = fd.get(k);
  return typeof v === 'string' ? v.trim() : '';
};
const b = (fd: FormLike, k: string) => fd.get(k) !== null;
/** A textarea of addresses/networks: one per line (commas and spaces also separate). */
export const lines = (text: string): string[] => text.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

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
  if (fd.get('portScan.neverBan') !== null) portScan.neverBan = lines(s(fd, 'portScan.neverBan'));
  firewall.portScan = portScan;
  if (fd.get('antiSpoof.present') !== null) {
    firewall.antiSpoof = {
      enabled: b(fd, 'antiSpoof.enabled'),
      bogons: b(fd, 'antiSpoof.bogons'),
      exceptions: lines(s(fd, 'antiSpoof.exceptions')),
    };
  }
  const sysctl: Record<string, unknown> = { ...current.sysctl, rpFilter: s(fd, 'rpFilter') || current.sysctl.rpFilter };
  for (const k of SYSCTL_BOOL_FIELDS) sysctl[k] = b(fd, k);
  return { firewall, sysctl };
}

/** What the settings form shows: the stored settings, or (after a refused save) what was typed —
 *  hence numbers may be strings. */
export interface SettingsValues {
  icmpIn: string[];
  icmpOut: string[];
  logDrops: boolean;
  logRatePerMinute: number | string;
  portScan: { enabled: boolean; ports: number | string; seconds: number | string; banSeconds: number | string; neverBan: string };
  antiSpoof: { enabled: boolean; bogons: boolean; exceptions: string };
  sticky: string;
  stickySeconds: number | string;
  dashboardPort: number | string;
  allowLockout: boolean;
  syncookies: boolean;
  rpFilter: string;
  logMartians: boolean;
  ignoreBroadcastPings: boolean;
}

export function settingsValues(c: Pick<Config, 'firewall' | 'sysctl'>): SettingsValues {
  const { icmpIn, icmpOut, logDrops, logRatePerMinute, portScan, antiSpoof, sticky, stickySeconds, dashboardPort, allowLockout } = c.firewall;
  const { syncookies, rpFilter, logMartians, ignoreBroadcastPings } = c.sysctl;
  return {
    icmpIn: [...icmpIn], icmpOut: [...icmpOut], logDrops, logRatePerMinute,
    portScan: { ...portScan, neverBan: portScan.neverBan.join('\n') },
    antiSpoof: { enabled: antiSpoof.enabled, bogons: antiSpoof.bogons, exceptions: antiSpoof.exceptions.join('\n') },
    sticky, stickySeconds, dashboardPort, allowLockout,
    syncookies, rpFilter, logMartians, ignoreBroadcastPings,
  };
}

const BOOL_FIELDS = ['logDrops', 'allowLockout', 'portScan.enabled', 'antiSpoof.enabled', 'antiSpoof.bogons', ...SYSCTL_BOOL_FIELDS] as const;
const TEXT_FIELDS = ['sticky', 'rpFilter', 'portScan.neverBan', 'antiSpoof.exceptions', ...FIREWALL_NUMBER_FIELDS, ...PORTSCAN_NUMBER_FIELDS.map((k) => `portScan.${k}`)] as const;

/** The raw values of a submitted settings form (echoed back so a refused save keeps them). */
export function settingsFormValues(fd: FormLike): FormValues {
  const v: FormValues = { icmpIn: fd.getAll('icmpIn').map(String), icmpOut: fd.getAll('icmpOut').map(String) };
  for (const k of BOOL_FIELDS) v[k] = b(fd, k);
  for (const k of TEXT_FIELDS) v[k] = s(fd, k);
  return v;
}

/** The form's values from echoed raw values (missing ones from `fallback`). */
export function settingsFromFormValues(v: FormValues, fallback: SettingsValues): SettingsValues {
  const str = <D,>(k: string, d: D): string | D => {
    const x = v[k];
    return typeof x === 'string' ? x : d;
  };
  const bool = (k: string, d: boolean): boolean => {
    const x = v[k];
    return typeof x === 'boolean' ? x : d;
  };
  const list = (k: string, d: string[]): string[] => {
    const x = v[k];
    return Array.isArray(x) ? x : d;
  };
  const f = fallback;
  return {
    icmpIn: list('icmpIn', f.icmpIn),
    icmpOut: list('icmpOut', f.icmpOut),
    logDrops: bool('logDrops', f.logDrops),
    logRatePerMinute: str('logRatePerMinute', f.logRatePerMinute),
    portScan: {
      enabled: bool('portScan.enabled', f.portScan.enabled),
      ports: str('portScan.ports', f.portScan.ports),
      seconds: str('portScan.seconds', f.portScan.seconds),
      banSeconds: str('portScan.banSeconds', f.portScan.banSeconds),
      neverBan: str('portScan.neverBan', f.portScan.neverBan),
    },
    antiSpoof: {
      enabled: bool('antiSpoof.enabled', f.antiSpoof.enabled),
      bogons: bool('antiSpoof.bogons', f.antiSpoof.bogons),
      exceptions: str('antiSpoof.exceptions', f.antiSpoof.exceptions),
    },
    sticky: str('sticky', f.sticky),
    stickySeconds: str('stickySeconds', f.stickySeconds),
    dashboardPort: str('dashboardPort', f.dashboardPort),
    allowLockout: bool('allowLockout', f.allowLockout),
    syncookies: bool('syncookies', f.syncookies),
    rpFilter: str('rpFilter', f.rpFilter),
    logMartians: bool('logMartians', f.logMartians),
    ignoreBroadcastPings: bool('ignoreBroadcastPings', f.ignoreBroadcastPings),
  };
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
