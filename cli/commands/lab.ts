// linkward lab up|down|status|break|restore|exec|targets — the namespace lab (docs/lab.md).
import {
  labUp, labDown, labStatus, labBreak, labRestore, labExec, labTargetFilter, labTargetUnfilter, tcpWhoAmIMany,
} from '../../lab/lab';
import { SERVER_ADDR, DEFAULT_PREFIX, parseRole } from '../../lab/plan';
import { CommandError } from '../../agent/system/runner';

const USAGE = `usage:
  linkward lab up [--prefix P] [--uplinks N] [--config-out FILE]
  linkward lab down [--prefix P]
  linkward lab status [--prefix P] [--json]
  linkward lab break NAME|ISPn [--mode drop|loss:20|blackhole] [--prefix P]
  linkward lab restore NAME|ISPn [--prefix P]
  linkward lab exec ROLE [--prefix P] [--timeout SECONDS] -- CMD...   (ROLE: lan|router|net|ispN)
  linkward lab targets filter|unfilter IP [--prefix P]
  linkward lab whoami [--from ROLE] [--count N] [--prefix P]   (which uplink address the Internet server saw)`;

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
  rest: string[];
}

const VALUE_FLAGS = new Set(['--prefix', '--uplinks', '--config-out', '--mode', '--timeout', '--from', '--count']);
const BOOL_FLAGS = new Set(['--json']);

function parse(args: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  let rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      rest = args.slice(i + 1);
      break;
    }
    const eq = a.indexOf('=');
    const key = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (VALUE_FLAGS.has(key)) {
      const v = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new UsageError(`${key} needs a value`);
      flags.set(key, v);
    } else if (BOOL_FLAGS.has(a)) flags.set(a, true);
    else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else positional.push(a);
  }
  return { positional, flags, rest };
}

class UsageError extends Error {}

const str = (p: Parsed, k: string): string | undefined => {
  const v = p.flags.get(k);
  return typeof v === 'string' ? v : undefined;
};

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');

let epipeHandled = false;
/** `linkward lab status | head` must not crash with EPIPE. */
function ignoreEpipe(): void {
  if (epipeHandled) return;
  epipeHandled = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

export async function run(args: string[]): Promise<number> {
  ignoreEpipe();
  const [sub, ...more] = args;
  if (!sub || sub === '-h' || sub === '--help' || sub === 'help') {
    out(USAGE);
    return sub ? 0 : 2;
  }
  let p: Parsed;
  try {
    p = parse(more);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`linkward lab: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  const prefix = str(p, '--prefix') ?? DEFAULT_PREFIX;
  switch (sub) {
    case 'up': {
      const n = str(p, '--uplinks');
      const info = await labUp({ prefix, uplinks: n === undefined ? undefined : Number(n), configOut: str(p, '--config-out') });
      out(`lab ${info.prefix} is up: ${[info.namespaces.lan, info.namespaces.router, ...info.namespaces.isps, info.namespaces.net].join(' ')}`);
      out(`run the agent with: ip netns exec ${info.namespaces.router} linkward agent`);
      out(info.configPath);
      return 0;
    }
    case 'down': {
      const r = await labDown(prefix);
      out(r.removed.length ? `removed ${r.removed.join(' ')}` : `nothing to remove for prefix ${prefix}`);
      for (const [ns, pids] of Object.entries(r.leftoverPids)) {
        process.stderr.write(`note: processes ${pids.join(' ')} were still in ${ns}; it lives on until they exit\n`);
      }
      return 0;
    }
    case 'status': {
      const s = await labStatus(prefix);
      if (p.flags.has('--json')) {
        out(JSON.stringify(s, null, 2));
        return s.up ? 0 : 1;
      }
      out(`lab ${s.prefix}: ${s.up ? 'up' : s.namespaces.some((n) => n.exists) ? 'incomplete (run lab up to repair)' : 'down'}`);
      for (const n of s.namespaces) out(`  ${n.exists ? 'ok     ' : 'missing'} ${n.name}`);
      for (const i of s.isps) out(`  ${i.name}: ${i.condition}`);
      if (s.filteredTargets.length) out(`  filtered targets: ${s.filteredTargets.join(' ')}`);
      out(`  servers: echo ${s.servers.echo ?? 'not running'}, lan ${s.servers.lanServer ?? 'not running'}, iperf3 ${s.servers.iperf3 ?? 'not running'}`);
      if (s.configPath) out(`  config: ${s.configPath}`);
      return s.up ? 0 : 1;
    }
    case 'break':
    case 'restore': {
      const [target] = p.positional;
      if (!target) {
        process.stderr.write(`linkward lab ${sub}: which uplink? (isp1..isp4)\n${USAGE}\n`);
        return 2;
      }
      if (sub === 'break') {
        const r = await labBreak(prefix, target, str(p, '--mode') ?? 'drop');
        out(`${target} broken (${r.mode}) in ${r.ns}: ${r.method}`);
      } else {
        const r = await labRestore(prefix, target);
        out(`${target} restored in ${r.ns}`);
      }
      return 0;
    }
    case 'exec': {
      const [role] = p.positional;
      if (!role || p.rest.length === 0) {
        process.stderr.write(`linkward lab exec: need ROLE -- CMD...\n${USAGE}\n`);
        return 2;
      }
      const t = Number(str(p, '--timeout') ?? '600');
      if (!Number.isFinite(t) || t <= 0 || t > 86400) throw new Error('--timeout must be 1-86400 seconds');
      try {
        const r = await labExec(prefix, parseRole(role), p.rest, { allowFail: true, timeoutMs: t * 1000 });
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        return r.exitCode;
      } catch (e) {
        if (e instanceof CommandError) {
          process.stdout.write(e.stdout);
          process.stderr.write(`${e.message}\n`);
          return e.timedOut ? 124 : 127;
        }
        throw e;
      }
    }
    case 'targets': {
      const [action, addr] = p.positional;
      if ((action !== 'filter' && action !== 'unfilter') || !addr) {
        process.stderr.write(`linkward lab targets: need filter|unfilter IP\n${USAGE}\n`);
        return 2;
      }
      if (action === 'filter') await labTargetFilter(prefix, addr);
      else await labTargetUnfilter(prefix, addr);
      out(`${addr} ${action}ed in ${prefix}-net`);
      return 0;
    }
    case 'whoami': {
      const from = parseRole(str(p, '--from') ?? 'lan');
      const count = Number(str(p, '--count') ?? '10');
      if (!Number.isInteger(count) || count < 1 || count > 1000) {
        process.stderr.write('linkward lab whoami: --count must be 1-1000\n');
        return 2;
      }
      const res = await tcpWhoAmIMany(prefix, from, SERVER_ADDR, 80, count, { timeoutMs: 2000 });
      const tally = new Map<string, number>();
      for (const r of res) tally.set(r ? r.ip : 'failed', (tally.get(r ? r.ip : 'failed') ?? 0) + 1);
      out(`${count} TCP connection(s) from ${from} to ${SERVER_ADDR}:80; the server saw:`);
      for (const [ip, n] of [...tally].sort((a, b) => b[1] - a[1])) out(`  ${String(n).padStart(4)}  ${ip}`);
      return tally.has('failed') ? 1 : 0;
    }
    default:
      process.stderr.write(`linkward lab: unknown subcommand "${sub}"\n${USAGE}\n`);
      return 2;
  }
}
