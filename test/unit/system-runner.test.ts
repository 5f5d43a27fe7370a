// agent/system/runner.ts: argv only, LC_ALL=C, stdin, timeouts and typed errors (real commands,
// no network).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realRunner, withNetns, CommandError, type Runner } from '../../agent/system/runner';

const run = realRunner.run;
const startSession = (argv: string[]) => realRunner.session(argv);

test('runs argv without a shell, keeps the final newline, sets LC_ALL=C', async () => {
  const r = await run(['sh', '-c', 'printf "%s|%s\\n" "$LC_ALL" "$1"', 'sh', 'a b; $(x)']);
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, 'C|a b; $(x)\n');
  assert.equal(r.stderr, '');
});

test('discardStdout: stdout is not read (a command printing what it did), stderr and the exit code are', async () => {
  const r = await realRunner.run(['sh', '-c', 'yes flow | head -n 100000; echo "100000 deleted" >&2'], { discardStdout: true });
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim(), '100000 deleted');
  assert.equal(r.exitCode, 0);
});

test('input goes to stdin; without input stdin is empty (no hang)', async () => {
  assert.equal((await run(['cat'], { input: 'hello\nworld\n' })).stdout, 'hello\nworld\n');
  assert.equal((await run(['cat'], { timeoutMs: 2000 })).stdout, '');
});

test('non-zero exit throws CommandError with stderr and exit code; allowFail returns it', async () => {
  const argv = ['sh', '-c', 'echo out; echo boom >&2; exit 3'];
  await assert.rejects(run(argv), (e: unknown) => {
    assert.ok(e instanceof CommandError);
    assert.equal(e.exitCode, 3);
    assert.equal(e.stderr, 'boom\n');
    assert.equal(e.stdout, 'out\n');
    assert.equal(e.timedOut, false);
    assert.deepEqual(e.argv, argv);
    assert.match(e.message, /exited 3: boom/);
    return true;
  });
  const r = await run(argv, { allowFail: true });
  assert.deepEqual(r, { stdout: 'out\n', stderr: 'boom\n', exitCode: 3 });
});

test('a timeout kills the command and throws timedOut, even with allowFail', async () => {
  const t0 = performance.now();
  await assert.rejects(run(['sleep', '5'], { timeoutMs: 200, allowFail: true }), (e: unknown) => {
    assert.ok(e instanceof CommandError);
    assert.equal(e.timedOut, true);
    assert.equal(e.exitCode, undefined);
    assert.match(e.message, /timed out/);
    return true;
  });
  assert.ok(performance.now() - t0 < 3000, 'returned soon after the timeout');
});

test('a missing program throws "could not be started"; bad netns names are refused', async () => {
  await assert.rejects(run(['/nonexistent/linkward-no-such-cmd'], { allowFail: true }), (e: unknown) => {
    assert.ok(e instanceof CommandError);
    assert.equal(e.exitCode, undefined);
    assert.match(e.message, /could not be started/);
    return true;
  });
  assert.throws(() => withNetns(realRunner, 'a b'), /invalid netns name/);
  await assert.rejects(run([]), /empty argv/);
});

test('large output arrives whole', async () => {
  const r = await run(['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x']);
  assert.equal(r.stdout.length, 3000000);
});

test('startSession: one answer line per request, stderr-only answers, closes on exit', async () => {
  // A tiny line server: "ok X" answers X on stdout, "err X" answers on stderr only, "quit" exits.
  const script = 'while IFS= read -r l; do case "$l" in ok*) echo "${l#ok }";; err*) echo "E: ${l#err }" >&2;; quit) exit 0;; esac; done';
  const s = startSession(['sh', '-c', script]);
  try {
    assert.deepEqual(await s.request('ok one'), { stdout: 'one', stderr: '' });
    assert.deepEqual(await s.request('err two'), { stdout: null, stderr: 'E: two\n' });
    const [a, b] = await Promise.all([s.request('ok 3'), s.request('ok 4')]);
    assert.deepEqual([a.stdout, b.stdout], ['3', '4'], 'serialized in order');
    await assert.rejects(s.request('ok x\nok y'), /one line per request/);
    await assert.rejects(s.request('quit', 2000), (e: unknown) => e instanceof CommandError);
    assert.equal(s.alive, false);
    await assert.rejects(s.request('ok z'), /session closed/);
  } finally {
    s.close();
  }
  const slow = startSession(['sh', '-c', 'sleep 5']);
  await assert.rejects(slow.request('anything', 200), (e: unknown) => e instanceof CommandError && e.timedOut);
  assert.equal(slow.alive, false);
});

test('spawn: lines to callbacks, exit reported once, kill ends it', async () => {
  const lines: string[] = [];
  const errs: string[] = [];
  let exits = 0;
  let code: number | null = -1;
  const p = realRunner.spawn(['sh', '-c', 'echo one; echo two >&2; printf "three\\nfour"; echo'], {
    onStdoutLine: (l) => lines.push(l),
    onStderrLine: (l) => errs.push(l),
    onExit: (c) => {
      exits++;
      code = c;
    },
  });
  await p.exited;
  assert.deepEqual(lines, ['one', 'three', 'four']);
  assert.deepEqual(errs, ['two']);
  assert.equal(exits, 1);
  assert.equal(code, 0);
  let signal: string | null = null;
  const long = realRunner.spawn(['sleep', '30'], { onExit: (_c, s) => (signal = s) });
  assert.ok(long.pid);
  long.kill();
  await long.exited;
  assert.equal(signal, 'SIGTERM');
  let err: Error | undefined;
  await realRunner.spawn(['/nonexistent/linkward-no-such-cmd'], { onExit: (_c, _s, e) => (err = e) }).exited;
  assert.ok(err, 'a failed start is reported');
});

test('withNetns prefixes every kind of command with ip netns exec', async () => {
  const seen: string[][] = [];
  const rec: Runner = {
    run: async (argv) => {
      seen.push(argv);
      return { stdout: '', stderr: '', exitCode: 0 };
    },
    session: (argv) => {
      seen.push(argv);
      throw new Error('no sessions');
    },
    spawn: (argv) => {
      seen.push(argv);
      return { argv, pid: undefined, done: true, kill: () => undefined, exited: Promise.resolve() };
    },
  };
  const r = withNetns(rec, 'lab-rtr');
  await r.run(['nft', 'list', 'ruleset']);
  assert.throws(() => r.session(['nft', '-i']));
  r.spawn(['ip', 'monitor']);
  assert.deepEqual(seen, [
    ['ip', 'netns', 'exec', 'lab-rtr', 'nft', 'list', 'ruleset'],
    ['ip', 'netns', 'exec', 'lab-rtr', 'nft', '-i'],
    ['ip', 'netns', 'exec', 'lab-rtr', 'ip', 'monitor'],
  ]);
  await assert.rejects(r.run([]), /empty argv/);
});
