// linkward lab up|down|status|break|restore|exec|targets — the namespace lab (docs/lab.md).
import { command, parseArgs, intFlag, strFlag, UsageError } from '../args';
import {
  labUp, labDown, labStatus, labBreak, labRestore, labExec, labTargetFilter, labTargetUnfilter, tcpWhoAmIMany,
} from '../../lab/lab';
import {
  SERVER_ADDR, SERVER_ADDR6, DEFAULT_PREFIX, LAB_IPV6_MODES, LAB_CONFIG_IPV6, parseRole, isLabIPv6, type LabIpv6, type LabConfigIpv6,
} from '../../lab/plan';
import { isIPv4 } from '../../lib/validations/net';
import { CommandError } from '../../agent/system/runner';

const USAGE = `usage:
  linkward lab up [--prefix P] [--uplinks N] [--ipv6 none|plain|slaac] [--ipv6-config nptv6|native|none] [--config-out FILE]
  linkward lab down [--prefix P]
  linkward lab status [--prefix P] [--json]
  linkward lab break NAME|ISPn [--mode drop|loss:20|blackhole] [--prefix P]
  linkward lab restore NAME|ISPn [--prefix P]
  linkward lab exec ROLE [--prefix P] [--timeout SECONDS] -- CMD...   (ROLE: lan|router|net|ispN)
  linkward lab targets filter|unfilter IP [--prefix P]
  linkward lab whoami [--from ROLE] [--to ADDR] [--count N] [--prefix P]   (which uplink address the Internet server saw;
                                       ADDR default ${SERVER_ADDR}, or ${SERVER_ADDR6})`;

const FLAGS = {
  prefix: 'string', uplinks: 'string', 'config-out': 'string', mode: 'string', timeout: 'string', from: 'string', count: 'string', json: 'bool',
  ipv6: 'string', 'ipv6-config': 'string', to: 'string',
} as const;

/** A value of an enumerated flag; anything else is a usage error naming the flag. */
function oneOf<T extends string>(v: string | boolean | undefined, name: string, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
}

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
      const ipv6 = oneOf<LabIpv6>(flags.ipv6, 'ipv6', LAB_IPV6_MODES);
      const ipv6Config = oneOf<LabConfigIpv6>(flags['ipv6-config'], 'ipv6-config', LAB_CONFIG_IPV6);
      if ((ipv6Config === 'nptv6' || ipv6Config === 'native') && ipv6 !== 'slaac') {
        throw new UsageError(`--ipv6-config ${ipv6Config} needs --ipv6 slaac`);
      }
      const info = await labUp({
        prefix, uplinks: intFlag(flags.uplinks, 'uplinks', 1, 2 ** 31 - 1), configOut: strFlag(flags['config-out']), ipv6, ipv6Config,
      });
      if (info.recreated) out(`lab ${info.prefix}: IPv6 mode changed, recreated`);
      out(`lab ${info.prefix} is up${info.ipv6 === 'none' ? '' : ` (IPv6: ${info.ipv6}, config: ${info.ipv6Config})`}: ${[info.namespaces.lan, info.namespaces.router, ...info.namespaces.isps, info.namespaces.net].join(' ')}`);
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
      out(`lab ${s.prefix}: ${s.up ? 'up' : s.namespaces.some((n) => n.exists) ? 'incomplete (run lab up to repair)' : 'down'}${s.ipv6 && s.ipv6 !== 'none' ? ` (IPv6: ${s.ipv6})` : ''}`);
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
      const to = strFlag(flags.to) ?? SERVER_ADDR;
      if (!isIPv4(to) && !isLabIPv6(to)) throw new UsageError(`--to must be an IPv4 or IPv6 address, got ${JSON.stringify(to)}`);
      const res = await tcpWhoAmIMany(prefix, from, to, 80, count, { timeoutMs: 2000 });
      const tally = new Map<string, number>();
      for (const r of res) tally.set(r ? r.ip : 'failed', (tally.get(r ? r.ip : 'failed') ?? 0) + 1);
      out(`${count} TCP connection(s) from ${from} to ${isIPv4(to) ? to : `[${to}]`}:80; the server saw:`);
      for (const [ip, n] of [...tally].sort((a, b) => b[1] - a[1])) out(`  ${String(n).padStart(4)}  ${ip}`);
      return tally.has('failed') ? 1 : 0;
    }
    default:
      throw new UsageError(`unknown subcommand "${sub}"`);
  }
});
