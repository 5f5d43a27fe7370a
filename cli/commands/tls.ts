// `linkward tls [--ensure | --regenerate] [--dir DIR]`: the dashboard's HTTPS certificate.
// An ECDSA P-256 key and a self-signed certificate (825 days) naming the router's LAN addresses,
// host name and localhost, in DIR/tls/{cert.pem,key.pem} (DIR: /etc/linkward in the package).
// --ensure makes them only when missing (the package's postinst); --regenerate replaces them
// (after `linkward init --apply` changed the LAN). Your own certificate: put it in the same
// files (or point LINKWARD_TLS_CERT/KEY at it) and restart linkward-web.service.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { refuseLinkedSidecars } from '../../lib/db/sqlite';
import { command, parseArgs, strFlag, UsageError } from '../args';
import { realRunner } from '../../agent/system/runner';
import { readMachine } from '../../agent/system/machine';
import { certNames, subjectAltName } from '../../lib/setup/tls';
import { configDir, dbPath } from '../../lib/db/path';

const USAGE = 'usage: linkward tls [--ensure | --regenerate] [--dir CONFIG_DIR] [--json]';

/** LAN interfaces of the stored configuration, or null (none yet / no database). */
async function storedLan(): Promise<string[] | null> {
  const file = dbPath();
  if (!fs.existsSync(file)) return null;
  // a plain read, no migration (postinst runs this right after `linkward db migrate`)
  const { default: Database } = await import('better-sqlite3');
  refuseLinkedSidecars(file);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const hasRev = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'Revision'").get();
    const row = hasRev ? (db.prepare('SELECT config FROM Revision ORDER BY id DESC LIMIT 1').get() as { config: string } | undefined) : undefined;
    if (!row) return null;
    const lan: unknown = JSON.parse(row.config).lan;
    return Array.isArray(lan) ? lan.map((l: { interface?: unknown }) => String(l.interface)) : [];
  } catch {
    return null;
  } finally {
    db.close();
  }
}

export const run = command('tls', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { ensure: 'bool', regenerate: 'bool', dir: 'string', json: 'bool' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  if (flags.ensure && flags.regenerate) throw new UsageError('give --ensure or --regenerate, not both');
  const base = strFlag(flags.dir) ?? configDir();
  if (!base) throw new UsageError('no configuration directory: give --dir DIR (the package uses /etc/linkward)');
  const dir = path.join(base, 'tls');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const exists = fs.existsSync(cert) && fs.existsSync(key);
  if (!flags.ensure && !flags.regenerate) {
    if (!exists) {
      process.stderr.write(`linkward tls: no certificate in ${dir} (linkward tls --ensure makes one)\n`);
      return 1;
    }
    const x = new crypto.X509Certificate(fs.readFileSync(cert));
    const info = { file: cert, subject: x.subject, subjectAltName: x.subjectAltName, validTo: x.validTo, sha256: x.fingerprint256, spkiSha256: spkiHash(x) };
    process.stdout.write(flags.json ? JSON.stringify(info) + '\n' : Object.entries(info).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
    return 0;
  }
  if (flags.ensure && exists) {
    process.stdout.write(`certificate present: ${cert}\n`);
    return 0;
  }
  const names = certNames(await readMachine(realRunner), await storedLan());
  const san = subjectAltName(names);
  fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
  const tmpKey = path.join(dir, `.key.pem.tmp-${process.pid}`);
  const tmpCert = path.join(dir, `.cert.pem.tmp-${process.pid}`);
  try {
    await realRunner.run([
      'openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', tmpKey, '-out', tmpCert, '-days', '825', '-sha256',
      '-subj', `/O=linkward/CN=${names.dns.find((d) => d !== 'localhost') ?? 'linkward'}`,
      '-addext', `subjectAltName=${san}`,
      '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'keyUsage=critical,digitalSignature',
      '-addext', 'extendedKeyUsage=serverAuth',
    ], { timeoutMs: 30000 });
    // the dashboard (group of the directory, linkward in the package) reads the key; nobody else
    const gid = fs.statSync(base).gid;
    fs.chmodSync(tmpKey, 0o640);
    fs.chmodSync(tmpCert, 0o644);
    if (process.getuid?.() === 0) {
      for (const f of [tmpKey, tmpCert]) fs.chownSync(f, 0, gid);
      fs.chownSync(dir, 0, gid);
    }
    fs.renameSync(tmpKey, key);
    fs.renameSync(tmpCert, cert);
  } finally {
    fs.rmSync(tmpKey, { force: true });
    fs.rmSync(tmpCert, { force: true });
  }
  process.stdout.write(`certificate ${cert} for ${san.replace(/,/g, ', ')}\n${exists ? 'restart the dashboard to use it: systemctl restart linkward-web.service\n' : ''}`);
  return 0;
});

/** base64 SHA-256 of the certificate's SubjectPublicKeyInfo (what --ignore-certificate-errors-spki-list takes). */
function spkiHash(x: crypto.X509Certificate): string {
  const der = x.publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}
