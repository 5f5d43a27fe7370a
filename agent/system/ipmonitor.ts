// Watches link, address and main-table default-route changes with a long-running
// `ip -o monitor link address route` (argv array, LC_ALL=C). Events are debounced so a burst
// (DHCP renew, ifup) triggers one reconcile. Route events count only for default routes outside
// our own tables (a DHCP client installing or removing the gateway we learn for "auto"); the
// agent's own route changes in tables 200-250 are ignored, so an apply does not wake it again.
import type { Runner, SpawnedProcess } from './runner';

export interface LinkWatcher {
  stop(): void;
}

export function watchLinks(runner: Runner, onChange: (what: string) => void, log: (m: string) => void, debounceMs = 100): LinkWatcher {
  let child: SpawnedProcess | null = null;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let restartTimer: ReturnType<typeof setTimeout> | null = null;
  let pending: string[] = [];
  let restarts = 0;

  const fire = () => {
    timer = null;
    const what = [...new Set(pending)].slice(0, 4).join(', ');
    pending = [];
    onChange(what);
  };

  const start = () => {
    restartTimer = null;
    if (stopped) return;
    const p = runner.spawn(['ip', '-o', 'monitor', 'link', 'address', 'route'], {
      unref: true,
      onStdoutLine: (line) => {
        restarts = 0;
        const what = classifyMonitorLine(line);
        if (what === null) return;
        pending.push(what);
        if (!timer) timer = setTimeout(fire, debounceMs);
      },
      onExit: (code, signal, err) => {
        if (child === p) child = null;
        if (stopped) return;
        if (err) log(`ip monitor failed: ${err.message}`);
        else log(`ip monitor exited (${signal ?? code}); restarting`);
        const delay = Math.min(30000, 500 * 2 ** Math.min(restarts++, 6));
        restartTimer = setTimeout(start, delay);
        restartTimer.unref();
      },
    });
    child = p;
  };
  start();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (restartTimer) clearTimeout(restartTimer);
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

