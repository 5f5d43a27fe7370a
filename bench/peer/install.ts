// Installs Debian's shorewall and lsm for `npm run bench -- --peer shorewall` when they are
// missing (apt-get, noninteractive). Their system services are never started on the host: a
// policy-rc.d that answers 101 ("action forbidden") is in place for the install (an existing one,
// e.g. a container's, is left as it is), and Shorewall's own startup=0 in /etc/default/shorewall
// is checked afterwards. The bench runs both daemons only inside the lab's router namespace, with
// configuration directories of its own.
import fs from 'node:fs';
import { realRunner, type Runner } from '../../agent/system/runner';

export const PEER_PACKAGES = ['shorewall', 'lsm'] as const;
const POLICY_RC = '/usr/sbin/policy-rc.d';

/** `dpkg-query -W -f '${Status}'` answer for an installed package. */
export function isInstalledStatus(s: string): boolean {
  return /^install ok installed$/.test(s.trim());
}

export async function missingPackages(runner: Runner = realRunner, packages: readonly string[] = PEER_PACKAGES): Promise<string[]> {
  const missing: string[] = [];
  for (const p of packages) {
    const r = await runner.run(['dpkg-query', '-W', '-f', '${Status}', p], { allowFail: true, timeoutMs: 10000 });
    if (r.exitCode !== 0 || !isInstalledStatus(r.stdout)) missing.push(p);
  }
  return missing;
}

/** Install what is missing; returns what was installed. Throws with apt's stderr on failure. */
export async function ensurePeerPackages(log: (s: string) => void, runner: Runner = realRunner): Promise<string[]> {
  const missing = await ensurePackages(PEER_PACKAGES, 'peer', log, runner);
  // Debian's shorewall ships startup=0: the init script does nothing until an admin enables it.
  const def = fs.existsSync('/etc/default/shorewall') ? fs.readFileSync('/etc/default/shorewall', 'utf8') : '';
  if (/^\s*startup\s*=\s*1\b/m.test(def)) log('peer: warning: /etc/default/shorewall has startup=1 (an admin enabled it); the bench never starts the host service');
  return missing;
}

/** Install the Debian packages of a bench that are missing (services not started); returns what
 *  was installed. Throws with apt's stderr on failure. */
export async function ensurePackages(packages: readonly string[], what: string, log: (s: string) => void, runner: Runner = realRunner): Promise<string[]> {
  const missing = await missingPackages(runner, packages);
  if (missing.length === 0) return [];
  log(`${what}: installing ${missing.join(' ')} (apt-get, services not started)`);
  const ownPolicy = !fs.existsSync(POLICY_RC);
  if (ownPolicy) fs.writeFileSync(POLICY_RC, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = ['env', 'DEBIAN_FRONTEND=noninteractive'];
    await runner.run([...env, 'apt-get', 'update', '-qq'], { timeoutMs: 300000 });
    await runner.run([...env, 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing], { timeoutMs: 600000 });
  } finally {
    if (ownPolicy) fs.rmSync(POLICY_RC, { force: true });
  }
  const still = await missingPackages(runner, packages);
  if (still.length) throw new Error(`${what}: ${still.join(' ')} still not installed after apt-get`);
  return missing;
}
