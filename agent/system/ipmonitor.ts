// Watches link and address changes with a long-running `ip -o monitor link address`
// (argv array, LC_ALL=C). Events are debounced so a burst (DHCP renew, ifup) triggers one reconcile.
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
    child = spawn('ip', ['-o', 'monitor', 'link', 'address'], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' } });
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      restarts = 0;
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        // e.g. "3: wan1: <NO-CARRIER,...> ..." or "Deleted 3: wan1    inet 100.64.1.2/24 ..."
        const m = /^(Deleted )?\d+: ([^:@\s]+)[:@\s]/.exec(line);
        pending.push(m ? `${m[1] ? 'deleted ' : ''}${m[2]}` : 'link');
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
