// `dpkg -i` with no systemd running (a chroot into the cached Debian 13 root, under an overlay and
// in a network namespace of its own): the maintainer scripts create the user, the directories, the
// database and the certificate and enable the units without starting anything; `dpkg --purge`
// removes linkward's files and data again. The booted system: boot-container.test.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/cli';
import { bootRoot, overlay, sh, type Overlay } from '../helpers/container';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-dpkg-'));
let ov: Overlay | null = null;
after(() => {
  ov?.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Exists (a symlink counts: the enable links point to absolute paths inside the chroot). */
const present = (p: string) => {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

test('dpkg -i without systemd, then dpkg --purge', { timeout: 900000 }, () => {
  const root = bootRoot();
  const deb = sh(['env', 'LINKWARD_PKG_COMPRESS=gzip', `LINKWARD_PKG_OUT=${work}`, 'bash', path.join(ROOT, 'scripts', 'package.sh')], { timeoutMs: 900000 }).stdout.trim().split('\n').pop()!;
  ov = overlay(root, path.join(work, 'ov'));
  const m = ov.merged;
  fs.copyFileSync(deb, path.join(m, 'root', 'linkward.deb'));
  for (const d of ['proc', 'sys', 'dev']) sh(['mount', '--rbind', `/${d}`, path.join(m, d)]);
  const inRoot = (...argv: string[]) => sh(['unshare', '--net', '--', 'chroot', m, ...argv], { allowFail: true, timeoutMs: 120000 });
  try {
    assert.equal(fs.existsSync(path.join(m, 'run/systemd/system')), false, 'no systemd running in the chroot');
    const i = inRoot('dpkg', '-i', '/root/linkward.deb');
    assert.equal(i.code, 0, `dpkg -i: ${i.stdout}${i.stderr}`);
    assert.match(inRoot('getent', 'passwd', 'linkward').stdout, /^linkward:x:\d+:\d+:linkward dashboard:\/var\/lib\/linkward:\/usr\/sbin\/nologin$/m);
    assert.equal(inRoot('stat', '-c', '%U:%G %a', '/var/lib/linkward', '/var/lib/linkward/linkward.db', '/var/lib/linkward/boot', '/etc/linkward/tls/key.pem').stdout.trim().split('\n').join(' | '),
      'root:linkward 1770 | root:linkward 660 | root:root 700 | root:linkward 640');
    assert.match(inRoot('linkward', 'db', 'migrate').stdout, /up to date/);
    assert.ok(present(path.join(m, 'etc/systemd/system/multi-user.target.wants/linkward-agent.service')), 'agent enabled');
    assert.ok(present(path.join(m, 'etc/systemd/system/sysinit.target.wants/linkward-restore.service')), 'restore unit enabled for the boot');
    assert.ok(present(path.join(m, 'etc/systemd/system/sockets.target.wants/linkward-web.socket')));
    const p = inRoot('dpkg', '--purge', 'linkward');
    assert.equal(p.code, 0, `dpkg --purge: ${p.stdout}${p.stderr}`);
    for (const gone of ['usr/lib/linkward', 'usr/bin/linkward', 'var/lib/linkward', 'etc/linkward', 'etc/systemd/system/multi-user.target.wants/linkward-agent.service']) {
      assert.equal(present(path.join(m, gone)), false, `${gone} removed by purge`);
    }
  } finally {
    for (const d of ['dev', 'sys', 'proc']) sh(['umount', '-R', '-l', path.join(m, d)], { allowFail: true });
  }
});
