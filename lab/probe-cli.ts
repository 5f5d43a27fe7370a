// Standalone health probe runner (tests, diagnostics). Runs a HealthMonitor in the current
// network namespace (start it with `ip netns exec NS node --import tsx lab/probe-cli.ts`)
// and prints one JSON object per line on stdout:
//   {"type":"ready"} {"type":"transition",uplink,from,to,reason,at}
//   {"type":"snapshot",at,uplinks:{name:{state,since,reason,latencyMs,lossPct,lastRound}},pids:[...]}
//   {"type":"log",msg}
// Input: --config FILE ('-' = first stdin line) with {"uplinks":[<uplink as in the config schema,
// with "id", plus optional "address">]}. Options: --watch-links (carrier/address from
// `ip monitor`), --snapshot-every MS. Commands on stdin, one JSON per line:
//   {"cmd":"snapshot"} {"cmd":"link","name":"wan1","carrier":false,"hasAddress":true} {"cmd":"stop"}
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { uplinkSchema, effectiveHealth, ipv4Schema, nameSchema, type Uplink } from '../lib/validations/config';
import { parseArgs, intFlag } from '../cli/args';
import { HealthMonitor, type MonitorUplink } from '../agent/health/monitor';
import { watchLinks, type LinkWatcher } from '../agent/system/ipmonitor';
import { gatherFacts } from '../agent/system/facts';
import { realRunner } from '../agent/system/runner';

const inputSchema = z
  .object({
    uplinks: z.array(
      z.object({ address: ipv4Schema.optional(), carrier: z.boolean().default(true) }).passthrough(),
    ).max(63),
  })
  .strict();

const commandSchema = z.discriminatedUnion('cmd', [
  z.object({ cmd: z.literal('snapshot') }),
  z.object({ cmd: z.literal('stop') }),
  z.object({ cmd: z.literal('link'), name: nameSchema, carrier: z.boolean(), hasAddress: z.boolean().default(true) }),
]);

export function parseProbeConfig(doc: unknown): MonitorUplink[] {
  const input = inputSchema.parse(doc);
  return input.uplinks.map((raw, i) => {
    const { address, carrier, ...rest } = raw as { address?: string; carrier: boolean } & Record<string, unknown>;
    const u = uplinkSchema.parse(rest);
    if (u.id === undefined) throw new Error(`uplinks[${i}]: id is required`);
    const h = effectiveHealth(u as Uplink);
    if (h.targets.length === 0) throw new Error(`uplinks[${i}]: health.targets is required`);
    return { name: u.name, id: u.id, interface: u.interface, address, carrier, enabled: u.enabled, health: h };
  });
}

const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

export async function main(args: string[]): Promise<number> {
  const { flags } = parseArgs(args, { config: 'string', 'watch-links': 'bool', 'snapshot-every': 'string' });
  const lines = createInterface({ input: process.stdin });
  const it = lines[Symbol.asyncIterator]();
  let text: string;
  if (flags.config === '-') {
    const first = await it.next();
    text = first.done ? '' : first.value;
  } else if (typeof flags.config === 'string') text = readFileSync(flags.config, 'utf8');
  else throw new Error('--config FILE|- is required');
  const uplinks = parseProbeConfig(JSON.parse(text));
  const monitor = new HealthMonitor({ onLog: (msg) => out({ type: 'log', msg }) });
  monitor.on('transition', (t) => out({ type: 'transition', ...t }));
  const snapshot = () => out({ type: 'snapshot', at: Date.now(), uplinks: monitor.snapshot(), pids: monitor.pids() });
  let watcher: LinkWatcher | null = null;
  const current = uplinks.map((u) => ({ ...u }));
  // Carrier/address facts per uplink interface, read again on every `ip monitor` event (the
  // agent's own watcher and fact reader).
  const last = new Map<string, string>();
  const refresh = async () => {
    const facts = await gatherFacts(realRunner, current.map((u) => u.interface));
    for (const u of current) {
      const f = facts[u.interface];
      const link = { carrier: Boolean(f?.exists && f.up && f.carrier), hasAddress: Boolean(f?.addresses.length) };
      const address = f?.addresses[0]?.address;
      const key = JSON.stringify([link, address]);
      if (last.get(u.interface) === key) continue;
      last.set(u.interface, key);
      out({ type: 'link', interface: u.interface, ...link, ...(address ? { address } : {}) });
      if (address && address !== u.address && u.health.method !== 'icmp') {
        u.address = address;
        u.carrier = link.carrier;
        monitor.configure(current);
      } else monitor.setLinkState(u.name, link);
    }
  };
  monitor.configure(current);
  if (flags['watch-links']) {
    watcher = watchLinks(realRunner, () => void refresh().catch((e: Error) => out({ type: 'log', msg: `link watch: ${e.message}` })), (msg) => out({ type: 'log', msg }), 10);
    await refresh();
  }
  const every = intFlag(flags['snapshot-every'], 'snapshot-every', 50, 3_600_000);
  const timer = every ? setInterval(snapshot, every) : null;
  out({ type: 'ready' });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (timer) clearInterval(timer);
    watcher?.stop();
    monitor.stop();
    lines.close();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  for (;;) {
    const next = await it.next();
    if (next.done || stopping) break;
    const line = next.value.trim();
    if (!line) continue;
    try {
      const c = commandSchema.parse(JSON.parse(line));
      if (c.cmd === 'stop') break;
      if (c.cmd === 'snapshot') snapshot();
      if (c.cmd === 'link') monitor.setLinkState(c.name, { carrier: c.carrier, hasAddress: c.hasAddress });
    } catch (e) {
      out({ type: 'log', msg: `bad command: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
  snapshot();
  stop();
  return 0;
}

if (process.argv[1] && /probe-cli\.ts$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`probe-cli: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(2);
    },
  );
}
