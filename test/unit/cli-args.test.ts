// cli/args.ts, the one argument parser of the `linkward` command (in-process; the real CLI's exit
// codes are tested in cli.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, intFlag, intArg, command, UsageError, HelpRequested, EXIT_USAGE } from '../../cli/args';

test('flags, values, short aliases, -- handling', () => {
  const spec = { json: 'bool', port: 'string', prefix: 'string' } as const;
  assert.deepEqual(parseArgs(['a', '--json', '--port', '80', '--prefix=lw', 'b', '-'], spec), { flags: { json: true, port: '80', prefix: 'lw' }, positional: ['a', 'b', '-'], rest: [] });
  assert.deepEqual(parseArgs(['-p', '81'], spec, { short: { p: 'port' } }).flags, { port: '81' });
  assert.deepEqual(parseArgs(['x', '--', '--json', '-c'], spec), { flags: {}, positional: ['x', '--json', '-c'], rest: [] });
  assert.deepEqual(parseArgs(['x', '--', 'ping', '-c', '1'], spec, { dashDash: 'rest' }), { flags: {}, positional: ['x'], rest: ['ping', '-c', '1'] });
});

test('every wrong command line is a UsageError', () => {
  const spec = { json: 'bool', port: 'string' } as const;
  const bad: [string[], RegExp][] = [
    [['--bogus'], /unknown option --bogus/],
    [['-x'], /unknown option -x/],
    [['-xyz'], /unknown option -xyz/],
    [['--port'], /--port needs a value/],
    [['--json=1'], /--json takes no value/],
  ];
  for (const [args, re] of bad) assert.throws(() => parseArgs(args, spec), (e: unknown) => e instanceof UsageError && re.test(e.message), args.join(' '));
  assert.throws(() => parseArgs(['--help'], spec), HelpRequested);
  assert.throws(() => parseArgs(['-h'], spec), HelpRequested);
  assert.equal(intFlag(undefined, 'n', 1, 5), undefined);
  assert.equal(intFlag('5', 'n', 1, 5), 5);
  assert.throws(() => intFlag('6', 'n', 1, 5), /--n must be between 1 and 5/);
  assert.throws(() => intFlag('-1', 'n', 1, 5), /--n must be an integer/);
  assert.throws(() => intFlag('1e3', 'n', 1, 5000), /--n must be an integer/);
  assert.throws(() => intArg(undefined, 'REVISION', 1, 9), /REVISION must be an integer, got ""/);
});

test('command(): usage error → exit 2 with the usage on stderr; --help → usage on stdout, exit 0; others propagate', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const w = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(s), true)) as typeof process.stderr.write;
  try {
    const run = command('demo', 'usage: linkward demo [--n N]', async (args) => {
      const { flags } = parseArgs(args, { n: 'string' });
      if (flags.n === 'boom') throw new Error('failed');
      return intFlag(flags.n, 'n', 0, 9) ?? 0;
    });
    assert.equal(await run(['--n', '3']), 3);
    assert.equal(await run(['--n', 'x']), EXIT_USAGE);
    assert.equal(await run(['--help']), 0);
    await assert.rejects(run(['--n', 'boom']), /failed/);
  } finally {
    process.stdout.write = w.out;
    process.stderr.write = w.err;
  }
  assert.deepEqual(err, ['linkward demo: --n must be an integer, got "x"\nusage: linkward demo [--n N]\n']);
  assert.deepEqual(out, ['usage: linkward demo [--n N]\n']);
});
