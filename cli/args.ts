// The one argument parser of the `linkward` command: known flags only, clear errors, one exit code
// for every usage error. Every command in cli/commands/ is `command(name, USAGE, fn)` and parses
// with parseArgs(); a wrong invocation (unknown flag, missing value, not an integer, missing or
// extra arguments) throws UsageError, which command() turns into the message + usage on stderr
// and exit code 2 (docs/cli.md "Exit codes"). `--help`/`-h` prints the usage and exits 0.

export const EXIT_OK = 0;
/** The operation failed (invalid configuration document, apply error, unknown name…). */
export const EXIT_FAILED = 1;
/** The command line itself is wrong. */
export const EXIT_USAGE = 2;

export type FlagKind = 'bool' | 'string';

export interface FlagSpec {
  [flag: string]: FlagKind;
}

export interface ParseOptions {
  /** One-letter aliases, e.g. { p: 'port' } for `-p 3000`. */
  short?: Record<string, string>;
  /** What follows `--`: more positional arguments (default), or `rest` (a command line to run). */
  dashDash?: 'positional' | 'rest';
}

export interface Parsed {
  flags: Record<string, string | boolean>;
  positional: string[];
  /** Arguments after `--` when `dashDash: 'rest'`. */
  rest: string[];
}

export class UsageError extends Error {
  readonly exitCode = EXIT_USAGE;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError'; // checked by name where the class may be a bundled copy (bin/linkward.js)
  }
}

/** `--help` / `-h` anywhere before `--`. */
export class HelpRequested extends Error {
  constructor() {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

export function parseArgs(args: readonly string[], spec: FlagSpec, opts: ParseOptions = {}): Parsed {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  let rest: string[] = [];
  const flag = (name: string, shown: string, inline: string | undefined, next: () => string | undefined) => {
    const kind = spec[name];
    if (!kind) {
      if (name === 'help') throw new HelpRequested();
      throw new UsageError(`unknown option ${shown}`);
    }
    if (kind === 'bool') {
      if (inline !== undefined) throw new UsageError(`${shown} takes no value`);
      flags[name] = true;
      return;
    }
    const v = inline ?? next();
    if (v === undefined) throw new UsageError(`${shown} needs a value`);
    flags[name] = v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = () => args[++i];
    if (a === '--') {
      if (opts.dashDash === 'rest') rest = args.slice(i + 1);
      else positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      flag(name, `--${name}`, eq > 0 ? a.slice(eq + 1) : undefined, next);
    } else if (/^-[A-Za-z]$/.test(a)) {
      const name = opts.short?.[a[1]] ?? (a === '-h' ? 'help' : undefined);
      if (!name) throw new UsageError(`unknown option ${a}`);
      flag(name, a, undefined, next);
    } else if (a.startsWith('-') && a !== '-') {
      throw new UsageError(`unknown option ${a}`);
    } else positional.push(a);
  }
  return { flags, positional, rest };
}

/** A string flag's value (undefined when absent). */
export function strFlag(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** An integer flag in [min, max]; undefined when absent. */
export function intFlag(v: string | boolean | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  return intArg(typeof v === 'string' ? v : '', `--${name}`, min, max);
}

/** An integer argument in [min, max] (`what` names it in the error). */
export function intArg(v: string | undefined, what: string, min: number, max: number): number {
  if (v === undefined || !/^[0-9]+$/.test(v)) throw new UsageError(`${what} must be an integer, got ${JSON.stringify(v ?? '')}`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}`);
  return n;
}

/**
 * A `linkward` command: `fn` parses its arguments with parseArgs() and returns the exit code.
 * A UsageError becomes `linkward NAME: message` + the usage on stderr and exit 2; `--help` the
 * usage on stdout and exit 0. Anything else propagates (cli/main.ts: message, exit 1).
 */
export function command(name: string, usage: string, fn: (args: string[]) => Promise<number>): (args: string[]) => Promise<number> {
  const text = usage.endsWith('\n') ? usage : `${usage}\n`;
  return async (args) => {
    try {
      return await fn(args);
    } catch (e) {
      if (e instanceof HelpRequested) {
        process.stdout.write(text);
        return EXIT_OK;
      }
      if (e instanceof UsageError) {
        process.stderr.write(`linkward ${name}: ${e.message}\n${text}`);
        return EXIT_USAGE;
      }
      throw e;
    }
  };
}
