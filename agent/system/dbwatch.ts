// Wake-up on database writes: inotify (fs.watch) on the SQLite file's directory fires when another
// process commits (the -wal/-shm files change), so the agent sees a new desired revision within
// milliseconds instead of waiting for its next poll. Purely a hint: callers still compare
// PRAGMA data_version, and keep their poll as the fallback (fs.watch can be unavailable).
import fs from 'node:fs';
import path from 'node:path';

export interface DbWatch {
  /** inotify is watching (false: no wake-ups, the caller's poll is all there is). */
  readonly active: boolean;
  stop(): void;
}

/** Call `onWrite` (coalesced: at most once per event-loop turn) when a file of `dbFile` changes. */
export function watchDbWrites(dbFile: string, onWrite: () => void): DbWatch {
  if (!dbFile || dbFile === ':memory:') return { active: false, stop: () => undefined };
  const base = path.basename(dbFile);
  let pending = false;
  let w: fs.FSWatcher | null = null;
  try {
    w = fs.watch(path.dirname(path.resolve(dbFile)), { persistent: false }, (_ev, name) => {
      if (name && !String(name).startsWith(base)) return;
      if (pending) return;
      pending = true;
      setImmediate(() => {
        pending = false;
        onWrite();
      });
    });
    w.on('error', () => {
      w?.close();
      w = null;
    });
  } catch {
    w = null; // no inotify: the poll alone
  }
  return {
    get active() {
      return w !== null;
    },
    stop: () => {
      w?.close();
      w = null;
    },
  };
}
