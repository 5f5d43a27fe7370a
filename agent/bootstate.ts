// Boot state: after every successful apply whose plan changed, the agent writes what the kernel now
// carries into a root-only directory (default /var/lib/linkward/boot), so the next boot can load
// the firewall before any interface comes up (linkward-restore.service runs `nft -f ruleset.nft`
// before network-pre.target) and `linkward uninstall` can put back the sysctls it changed.
//   ruleset.nft       a self-contained script: creates table inet linkward from nothing (an
//                     existing one — the boot default or a stale copy — is deleted in the same
//                     transaction), then the full declaration of the plan
//   plan.json         revision, plan marker, the routes, ip rules and sysctls of that plan
//   sysctl-before.json the value each sysctl had before linkward first changed it (kept forever)
// Every file is written atomically: temp file in the same directory, fsync, rename, fsync(dir).
import fs from 'node:fs';
import path from 'node:path';
import type { Plan } from '../lib/compile/types';
import { planMarker, renderTransaction } from '../lib/compile/transaction';
import { NFT_TABLE_REF } from '../lib/compile/constants';
import type { SysctlChange } from './system/sysctl';

export const BOOT_RULESET = 'ruleset.nft';
export const BOOT_PLAN = 'plan.json';
export const SYSCTL_BEFORE = 'sysctl-before.json';

/** Write `data` to `file` so a reader sees the old or the new content, never a part. */
export function writeFileAtomic(file: string, data: string, mode = 0o600): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  const dfd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}

/** The boot ruleset of a plan: one nft transaction that works on an empty kernel as well as on
 *  one that already has our table (deleted first, in the same transaction). */
export function bootRuleset(plan: Plan, revision: number): string {
  return [
    `# linkward boot ruleset: revision ${revision}, plan ${planMarker(plan)} (written by the agent; loaded by linkward-restore.service)`,
    `table ${NFT_TABLE_REF}`,
    `delete table ${NFT_TABLE_REF}`,
    renderTransaction(plan, null).trimEnd(),
    '',
  ].join('\n');
}

export interface BootPlanFile {
  revision: number;
  marker: string;
  writtenAt: string;
  routes: Plan['routes'];
  rules: Plan['rules'];
  sysctls: Plan['sysctls'];
}

export class BootState {
  readonly dir: string;
  private lastMarker: string | null = null;

  constructor(dir: string) {
    this.dir = dir;
  }

  private ensureDir(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Persist the plan just applied (skipped when this process already wrote the same plan).
   *  Returns true when files were written. */
  saveApplied(plan: Plan, revision: number, sysctlsChanged: SysctlChange[] = []): boolean {
    this.ensureDir();
    if (sysctlsChanged.length > 0) this.recordSysctlsBefore(sysctlsChanged);
    const marker = planMarker(plan);
    const key = `${revision}:${marker}`;
    if (this.lastMarker === key) return false;
    const planFile: BootPlanFile = { revision, marker, writtenAt: new Date().toISOString(), routes: plan.routes, rules: plan.rules, sysctls: plan.sysctls };
    // plan.json first: ruleset.nft (what the boot loads) is the last thing to change.
    writeFileAtomic(path.join(this.dir, BOOT_PLAN), JSON.stringify(planFile, null, 2) + '\n');
    writeFileAtomic(path.join(this.dir, BOOT_RULESET), bootRuleset(plan, revision));
    this.lastMarker = key;
    return true;
  }

  /** Remember the value a sysctl had before linkward changed it the first time. */
  recordSysctlsBefore(changes: SysctlChange[]): void {
    this.ensureDir();
    const before = this.sysctlsBefore();
    let added = false;
    for (const c of changes) {
      if (c.from === null || c.key in before) continue;
      before[c.key] = c.from;
      added = true;
    }
    if (added) writeFileAtomic(path.join(this.dir, SYSCTL_BEFORE), JSON.stringify(before, null, 2) + '\n');
  }

  sysctlsBefore(): Record<string, string> {
    try {
      const raw: unknown = JSON.parse(fs.readFileSync(path.join(this.dir, SYSCTL_BEFORE), 'utf8'));
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
      return Object.fromEntries(Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === 'string'));
    } catch {
      return {};
    }
  }

  plan(): BootPlanFile | null {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.dir, BOOT_PLAN), 'utf8')) as BootPlanFile;
    } catch {
      return null;
    }
  }

  /** Forget the boot ruleset (after an uninstall: the next boot loads the safe default). */
  clear(): void {
    for (const f of [BOOT_RULESET, BOOT_PLAN]) fs.rmSync(path.join(this.dir, f), { force: true });
    this.lastMarker = null;
  }
}
