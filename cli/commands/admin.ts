// `linkward admin reset-password USER [--password-stdin]` and `linkward admin setup-token`.
import readline from 'node:readline';
import { command, parseArgs, UsageError } from '../args';
import { resetPassword, issueSetupToken, createUser } from '../../lib/auth/users';
import { userCount } from '../../lib/auth/session';
import { disconnect } from '../../lib/db/prisma';

const USAGE = `usage:
  linkward admin reset-password USER [--password-stdin]   set a new password (revokes USER's sessions)
  linkward admin create-user USER [--password-stdin]      add another administrator
  linkward admin setup-token                              print a one-time token for /setup from anywhere but the router itself (valid 1 h)
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function promptHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput: (s: string) => void };
    let asked = false;
    out._writeToOutput = (s: string) => {
      if (!asked) {
        process.stderr.write(s);
        asked = true;
      }
    };
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

async function readPassword(fromStdin: boolean): Promise<string | null> {
  if (fromStdin) return readStdin();
  if (!process.stdin.isTTY) {
    process.stderr.write('linkward admin: no terminal; use --password-stdin\n');
    return null;
  }
  const a = await promptHidden('New password: ');
  const b = await promptHidden('Repeat: ');
  if (a !== b) {
    process.stderr.write('linkward admin: passwords differ\n');
    return null;
  }
  return a;
}

export const run = command('admin', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { 'password-stdin': 'bool' });
  const [sub, user, ...extra] = positional;
  if (sub === undefined) throw new UsageError('which subcommand? (reset-password, create-user, setup-token)');
  if (sub !== 'setup-token' && sub !== 'reset-password' && sub !== 'create-user') throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}`);
  if (sub === 'setup-token' ? user !== undefined : !user || extra.length) throw new UsageError(sub === 'setup-token' ? 'setup-token takes no arguments' : `${sub} expects one USER`);
  try {
    if (sub === 'setup-token') {
      if ((await userCount()) > 0) {
        process.stderr.write('linkward admin: an administrator already exists; use reset-password instead\n');
        return 1;
      }
      const token = await issueSetupToken();
      process.stdout.write(`${token}\n`);
      process.stderr.write('Paste this token into the /setup page within 1 hour. It works once.\n');
      return 0;
    }
    const pw = await readPassword(flags['password-stdin'] === true);
    if (pw === null) return 1;
    const r = sub === 'reset-password' ? await resetPassword(user, pw) : await createUser(user, pw);
    if (!r.ok) {
      for (const [k, v] of Object.entries(r.fieldErrors)) process.stderr.write(`linkward admin: ${k}: ${v.join('; ')}\n`);
      return 1;
    }
    process.stdout.write(sub === 'reset-password' ? `password of ${user} changed; their sessions were signed out\n` : `user ${user} created\n`);
    return 0;
  } finally {
    await disconnect();
  }
});
