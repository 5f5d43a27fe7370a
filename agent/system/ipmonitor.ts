// Watches link, address and main-table default-route changes with a long-running
// `ip -o monitor link address route` (argv array, LC_ALL=C). Events are debounced so a burst
// (DHCP renew, ifup) triggers one reconcile. Route events count only for default routes outside
// our own tables (a DHCP client installing or removing the gateway we learn for "auto"); the
// agent's own route changes in tables 200-250 are ignored, so an apply does not wake it again.
import { spawn, type ChildProcess } from 'node:child_process';

export interface LinkWatcher {
  stop(): void;
}

export function watchLinks(onChange: (what: string) => void, log: (m: string) => void, debounceMs = 100): LinkWatcher {
  let child: ChildProcess | null = null;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending: string[] = [];
  let restarts = 0;

  const fire = () => {
    timer = null;
    const what = [...new Set(pending)].slice(0, 4).join(', ');
    pending = [];
    onChange(what);
  };

  const start = () => {
    if (stopped) return;
    child = spawn('ip', ['-o', 'monitor', 'link', 'address', 'route'], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' } });
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      restarts = 0;
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const what = classifyMonitorLine(line);
        if (what === null) continue;
        pending.push(what);
        if (!timer) timer = setTimeout(fire, debounceMs);
      }
    });
    child.on('error', (e) => log(`ip monitor failed: ${e.message}`));
    child.on('exit', () => {
      child = null;
      if (stopped) return;
      const delay = Math.min(30000, 500 * 2 ** Math.min(restarts++, 6));
      setTimeout(start, delay);
    });
  };
  start();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      child?.kill('SIGTERM');
    },
  };
}

/** What an `ip -o monitor link address route` line means for the agent, or null to ignore it.
 *  Links/addresses: "3: wan1: <NO-CARRIER,...> ..." / "Deleted 3: wan1    inet 100.64.1.2/24 ...".
 *  Routes: only default routes of the main table ("default via 100.64.2.1 dev wan2 metric 102"). */
export function classifyMonitorLine(line: string): string | null {
  const r = /^(Deleted )?default (?:via \S+ )?dev (\S+)/.exec(line);
  if (r) return / table /.test(line) ? null : `${r[1] ? 'deleted ' : ''}default route via ${r[2]}`;
  if (/^(Deleted )?(\S+\/\d+|\d+\.\d+\.\d+\.\d+|broadcast|local|multicast|unreachable|blackhole|prohibit|throw) /.test(line)) return null; // other routes
  const m = /^(Deleted )?\d+: ([^:@\s]+)[:@\s]/.exec(line);
  return m ? `${m[1] ? 'deleted ' : ''}${m[2]}` : 'link';
}

