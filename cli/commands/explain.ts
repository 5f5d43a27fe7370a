// `linkward explain --src A --dst B [--proto tcp|udp|icmp] [--sport N] [--dport N] [--in lan|router|UPLINK] [--json]`:
// which chain and rule decide the packet, which uplink it leaves by and why, and its NAT —
// computed from the applied plan and the agent's facts (lib/compile/explain.ts).
// --trace also asks the agent to confirm it in the kernel (nftrace for 10 s; send the packet then).
import { command, parseArgs, intFlag, UsageError } from '../args';
import { explainCurrent, explanationText } from '../../lib/store/explain';
import { requestTrace, waitTrace } from '../../lib/store/trace';
import { disconnect } from '../../lib/db/prisma';
import type { Proto } from '../../lib/compile/explain';

const USAGE = 'usage: linkward explain --src ADDR --dst ADDR [--proto tcp|udp|icmp] [--sport N] [--dport N] [--in lan|router|UPLINK] [--json] [--trace]';

export const run = command('explain', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { src: 'string', dst: 'string', proto: 'string', sport: 'string', dport: 'string', in: 'string', json: 'bool', trace: 'bool' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  if (typeof flags.src !== 'string' || typeof flags.dst !== 'string') throw new UsageError('--src and --dst are required');
  const proto = (flags.proto ?? 'tcp') as string;
  if (!['tcp', 'udp', 'icmp'].includes(proto)) throw new UsageError('--proto must be tcp, udp or icmp');
  const spec = {
    src: flags.src, dst: flags.dst, proto: proto as Proto, in: (flags.in as string | undefined) ?? 'lan',
    sport: intFlag(flags.sport, 'sport', 1, 65535), dport: intFlag(flags.dport, 'dport', 1, 65535),
  };
  try {
    let r;
    try {
      r = await explainCurrent(spec);
    } catch (e) {
      if (/^--/.test((e as Error).message)) throw new UsageError((e as Error).message);
      throw e;
    }
    let trace = null;
    if (flags.trace) {
      const id = await requestTrace(spec);
      process.stderr.write('linkward explain: tracing in the kernel for 10 s; send the packet now\n');
      trace = await waitTrace(id, 20_000);
    }
    if (flags.json) {
      process.stdout.write(JSON.stringify({ revision: r.revision, applied: r.applied, ...r.explanation, ...(trace ? { trace } : {}) }, null, 2) + '\n');
    } else {
      const lines = [`revision ${r.revision}${r.applied ? ' (applied)' : ' (not applied yet)'}`, ...explanationText(r.explanation)];
      if (trace) lines.push('kernel trace:', ...trace.lines.map((l) => `  ${l}`), `kernel: ${trace.summary}`);
      process.stdout.write(lines.join('\n') + '\n');
    }
    return 0;
  } finally {
    await disconnect();
  }
});
