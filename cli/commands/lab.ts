// linkward lab up|down|status|break|restore|exec|targets — the namespace lab (docs/lab.md).
import { command, parseArgs, intFlag, strFlag, UsageError } from '../args';
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

const FLAGS = {
  prefix: 'string', uplinks: 'string', 'config-out': 'string', mode: 'string', timeout: 'string', from: 'string', count: 'string', json: 'bool',
} as const;

/** A lab role argument (lan, router, net, ispN); a wrong one is a usage error. */
function role(s: string): ReturnType<typeof parseRole> {
  try {
    return parseRole(s);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

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

export const run = command('lab', USAGE, async (args) => {
  ignoreEpipe();
  const [sub, ...more] = args;
  if (!sub || sub === 'help') {
    out(USAGE);
    return sub ? 0 : 2;
  }
  const { flags, positional, rest } = parseArgs([sub, ...more], FLAGS, { dashDash: 'rest' });
  positional.shift();
  const prefix = strFlag(flags.prefix) ?? DEFAULT_PREFIX;
  switch (sub) {
    case 'up': {
      // The upper bound (the lab's size) is checked by labUp.
      const info = await labUp({ prefix, uplinks: intFlag(flags.uplinks, 'uplinks', 1, 2 ** 31 - 1), configOut: strFlag(flags['config-out']) });
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
      if (flags.json) {
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
      const [target] = positional;
      if (!target) throw new UsageError(`${sub}: which uplink? (isp1..isp4)`);
      if (sub === 'break') {
        const r = await labBreak(prefix, target, strFlag(flags.mode) ?? 'drop');
        out(`${target} broken (${r.mode}) in ${r.ns}: ${r.method}`);
      } else {
        const r = await labRestore(prefix, target);
        out(`${target} restored in ${r.ns}`);
      }
      return 0;
    }
    case 'exec': {
      const [who] = positional;
      if (!who || rest.length === 0) throw new UsageError('exec: need ROLE -- CMD...');
      const r0 = role(who);
      const t = intFlag(flags.timeout, 'timeout', 1, 86400) ?? 600;
      try {
        const r = await labExec(prefix, r0, rest, { allowFail: true, timeoutMs: t * 1000 });
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
      const [action, addr] = positional;
      if ((action !== 'filter' && action !== 'unfilter') || !addr) throw new UsageError('targets: need filter|unfilter IP');
      if (action === 'filter') await labTargetFilter(prefix, addr);
      else await labTargetUnfilter(prefix, addr);
      out(`${addr} ${action}ed in ${prefix}-net`);
      return 0;
    }
    case 'whoami': {
      const from = role(strFlag(flags.from) ?? 'lan');
      const count = intFlag(flags.count, 'count', 1, 1000) ?? 10;
      const res = await tcpWhoAmIMany(prefix, from, SERVER_ADDR, 80, count, { timeoutMs: 2000 });
      const tally = new Map<string, number>();
      for (const r of res) tally.set(r ? r.ip : 'failed', (tally.get(r ? r.ip : 'failed') ?? 0) + 1);
      out(`${count} TCP connection(s) from ${from} to ${SERVER_ADDR}:80; the server saw:`);
      for (const [ip, n] of [...tally].sort((a, b) => b[1] - a[1])) out(`  ${String(n).padStart(4)}  ${ip}`);
      return tally.has('failed') ? 1 : 0;
    }
    default:
      throw new UsageError(`unknown subcommand "${sub}"`);
  }
});
