// A real SMTP server for notification tests: Debian's exim4 (exim4-daemon-light, installed by
// scripts/setup.sh), started by the test inside a lab namespace with its own configuration —
// STARTTLS with a certificate signed by a test CA, AUTH PLAIN offered only after TLS, mail for
// @lab.test delivered into a Maildir the test reads. No system-wide service is involved.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { withNetns, realRunner, type SpawnedProcess } from '../../agent/system/runner';

export interface Mta {
  maildir: string;
  caFile: string;
  messages(): string[];
  stop(): Promise<void>;
  log(): string;
}

export async function startExim(opts: { dir: string; ns: string; bind: string; port: number; user: string; password: string }): Promise<Mta> {
  const d = path.join(opts.dir, 'exim');
  fs.mkdirSync(path.join(d, 'spool'), { recursive: true });
  fs.mkdirSync(path.join(d, 'Maildir'), { recursive: true });
  fs.chmodSync(opts.dir, 0o755);
  fs.chmodSync(d, 0o755);
  const ossl = (args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'pipe' });
  ossl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=linkward test CA']);
  ossl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'srv.csr', '-subj', '/CN=mail.lab.test']);
  fs.writeFileSync(path.join(d, 'ext.cnf'), `subjectAltName=DNS:mail.lab.test,IP:${opts.bind}\n`);
  ossl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'ext.cnf']);
  const conf = `primary_hostname = mail.lab.test
exim_user = Debian-exim
exim_group = Debian-exim
never_users =
spool_directory = ${d}/spool
log_file_path = ${d}/spool/%slog
pid_file_path = ${d}/spool/exim.pid
daemon_smtp_ports = ${opts.port}
local_interfaces = ${opts.bind}
tls_advertise_hosts = *
tls_certificate = ${d}/cert.pem
tls_privatekey = ${d}/key.pem
auth_advertise_hosts = \${if eq{$tls_in_cipher}{}{}{*}}
acl_smtp_mail = acl_check_mail
acl_smtp_rcpt = acl_check_rcpt
domainlist local_domains = lab.test
begin acl
acl_check_mail:
  deny message = authenticate first
       !authenticated = *
  accept
acl_check_rcpt:
  accept domains = +local_domains
         authenticated = *
  deny
begin routers
to_maildir:
  driver = accept
  domains = +local_domains
  transport = maildir
begin transports
maildir:
  driver = appendfile
  directory = ${d}/Maildir
  maildir_format = true
  user = Debian-exim
  group = Debian-exim
  create_directory = true
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if and {{eq{$auth2}{${opts.user}}}{eq{$auth3}{${opts.password}}}}}
  server_set_id = $auth2
`;
  fs.writeFileSync(path.join(d, 'exim.conf'), conf);
  execFileSync('chown', ['-R', 'Debian-exim:Debian-exim', path.join(d, 'spool'), path.join(d, 'Maildir'), path.join(d, 'key.pem')]);
  fs.chmodSync(path.join(d, 'cert.pem'), 0o644);
  // -bdf: the daemon stays in the foreground (a child of this test, killed at the end).
  let out = '';
  const proc: SpawnedProcess = withNetns(realRunner, opts.ns).spawn(['exim4', '-C', path.join(d, 'exim.conf'), '-bdf', '-q30m'], {
    onStdoutLine: (l) => (out += `${l}\n`),
    onStderrLine: (l) => (out += `${l}\n`),
  });
  const mainlog = path.join(d, 'spool', 'mainlog');
  for (let i = 0; i < 50 && !(fs.existsSync(mainlog) && /daemon started/.test(fs.readFileSync(mainlog, 'utf8'))); i++) await new Promise((r) => setTimeout(r, 100));
  const maildir = path.join(d, 'Maildir');
  return {
    maildir,
    caFile: path.join(d, 'ca.pem'),
    messages: () => {
      const nd = path.join(maildir, 'new');
      return fs.existsSync(nd) ? fs.readdirSync(nd).sort().map((f) => fs.readFileSync(path.join(nd, f), 'utf8')) : [];
    },
    log: () => `${out}${fs.existsSync(mainlog) ? fs.readFileSync(mainlog, 'utf8') : ''}`,
    stop: async () => {
      proc.kill();
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 3000))]);
      proc.kill('SIGKILL');
    },
  };
}
