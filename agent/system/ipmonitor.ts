// Watches link, address and main-table default-route changes with a long-running
// `ip -o monitor link address route rule` (argv array, LC_ALL=C). Route events in our tables and
// rule events are drift evidence only (onDrift: the periodic resync verifies after them). Events
// are debounced so a burst (DHCP renew, ifup) triggers one reconcile. Route events count only for default routes outside
// our own tables (a DHCP client installing or removing the gateway we learn for "auto"); the
// agent's own route changes in tables 200-250 are ignored, so an apply does not wake it again.
import type { Runner, SpawnedProcess } from './runner';
import { TABLE_MIN, TABLE_MAX } from '../../lib/compile/constants';

export interface LinkWatcher {
  stop(): void;
}

/** Drift evidence for the periodic resync (agent/system/driftwatch.ts): called for every route
 *  event in our tables and every ip rule event (ours or anyone's), and when the monitor (re)starts. */
export type DriftSink = (what: string) => void;

export function watchLinks(runner: Runner, onChange: (what: string) => void, log: (m: string) => void, debounceMs = 100, onDrift?: DriftSink): LinkWatcher {
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
    onDrift?.('ip monitor started');
    const p = runner.spawn(['ip', '-o', 'monitor', 'link', 'address', 'route', 'rule'], {
      unref: true,
      onStdoutLine: (line) => {
        restarts = 0;
        if (isDriftLine(line)) {
          onDrift?.('route/rule'); // never a wake-up: the agent's own applies make these
          return;
        }
        const what = classifyMonitorLine(line);
        if (what === null) return;
        pending.push(what);
        if (!timer) timer = setTimeout(fire, debounceMs);
      },
      onExit: (code, signal, err) => {
        if (child === p) child = null;
        onDrift?.('ip monitor exited');
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

/** A line that can mean our routes or ip rules changed: a rule event ("1000:\tfrom … lookup 201",
 *  the tab tells it from a link line) or a route event in one of our tables (200–250). */
export function isDriftLine(line: string): boolean {
  if (/^(Deleted )?\d+:\t/.test(line)) return true;
  const t = / table (\d+)\b/.exec(line);
  return t !== null && Number(t[1]) >= TABLE_MIN && Number(t[1]) <= TABLE_MAX;
}
