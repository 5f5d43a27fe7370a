// Watches carrier and IPv4 addresses of the uplink interfaces (`ip -o monitor link address`)
// and reports LinkFacts per interface; reads the current facts with `ip -j`.
import { z } from 'zod';
import { run, type Runner } from '../system/runner';
import { spawnLines, type Spawner, type SpawnedProcess } from '../system/spawn';
import { isIfname } from '../../lib/validations/net';
import type { LinkFacts } from './state';

export interface InterfaceFacts extends LinkFacts {
  /** First IPv4 address (no prefix), if any. */
  address?: string;
}

const linkJson = z.array(z.object({ ifname: z.string(), flags: z.array(z.string()).default([]), operstate: z.string().optional() }).passthrough());
const addrJson = z.array(
  z.object({ addr_info: z.array(z.object({ family: z.string(), local: z.string().optional() }).passthrough()).default([]) }).passthrough(),
);

export async function readInterfaceFacts(ifname: string, opts: { netns?: string; runner?: Runner } = {}): Promise<InterfaceFacts> {
  if (!isIfname(ifname)) throw new Error(`invalid interface ${JSON.stringify(ifname)}`);
  const r = opts.runner ?? run;
  const link = await r(['ip', '-j', 'link', 'show', 'dev', ifname], { netns: opts.netns, allowFail: true, timeoutMs: 5000 });
  if (link.exitCode !== 0) return { carrier: false, hasAddress: false };
  const l = linkJson.parse(JSON.parse(link.stdout))[0];
  const carrier = Boolean(l && l.flags.includes('UP') && l.flags.includes('LOWER_UP') && !l.flags.includes('NO-CARRIER'));
  const addr = await r(['ip', '-j', '-4', 'addr', 'show', 'dev', ifname], { netns: opts.netns, allowFail: true, timeoutMs: 5000 });
  const infos = addr.exitCode === 0 ? addrJson.parse(JSON.parse(addr.stdout)).flatMap((a) => a.addr_info) : [];
  const v4 = infos.find((i) => i.family === 'inet' && i.local);
  return v4?.local ? { carrier, hasAddress: true, address: v4.local } : { carrier, hasAddress: false };
}

export interface LinkWatcherOptions {
  netns?: string;
  runner?: Runner;
  spawner?: Spawner;
  onLog?: (msg: string) => void;
}

/** Calls onChange(ifname, facts) at start and whenever an event concerns one of the interfaces. */
export class LinkWatcher {
  private proc: SpawnedProcess | null = null;
  private running = false;
  private pending = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  private last = new Map<string, string>();

  constructor(
    private readonly ifnames: string[],
    private readonly onChange: (ifname: string, facts: InterfaceFacts) => void,
    private readonly opts: LinkWatcherOptions = {},
  ) {
    for (const i of ifnames) if (!isIfname(i)) throw new Error(`invalid interface ${JSON.stringify(i)}`);
  }

  async start(): Promise<void> {
    this.running = true;
    this.spawnMonitor();
    await this.refresh(this.ifnames);
  }

  private spawnMonitor(): void {
    if (!this.running) return;
    this.proc = (this.opts.spawner ?? spawnLines)(['ip', '-o', 'monitor', 'link', 'address'], {
      netns: this.opts.netns,
      onStdoutLine: (line) => {
        // "2: eth1: <...>" or "Deleted 2: eth1 ..." / "3: eth1    inet 10.0.0.2/24 ..."
        for (const i of this.ifnames) if (new RegExp(`^(?:Deleted )?\\d+: ${i.replace(/\./g, '\\.')}[:@ ]`).test(line)) this.pending.add(i);
        if (this.pending.size && !this.flushTimer) {
          this.flushTimer = setTimeout(() => {
            this.flushTimer = null;
            const list = [...this.pending];
            this.pending.clear();
            void this.refresh(list);
          }, 10);
        }
      },
      onExit: () => {
        this.proc = null;
        if (this.running) setTimeout(() => this.spawnMonitor(), 1000).unref?.();
      },
    });
  }

  private async refresh(list: string[]): Promise<void> {
    for (const i of list) {
      try {
        const f = await readInterfaceFacts(i, this.opts);
        const key = JSON.stringify(f);
        if (this.last.get(i) === key || !this.running) continue;
        this.last.set(i, key);
        this.onChange(i, f);
      } catch (e) {
        this.opts.onLog?.(`link watch ${i}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  stop(): void {
    this.running = false;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.proc?.kill();
    this.proc = null;
  }
}
