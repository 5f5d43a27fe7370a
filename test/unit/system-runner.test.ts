// agent/system/runner.ts: argv only, LC_ALL=C, stdin, timeouts and typed errors (real commands,
// no network).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, CommandError } from '../../agent/system/runner';

test('runs argv without a shell, keeps the final newline, sets LC_ALL=C', async () => {
  const r = await run(['sh', '-c', 'printf "%s|%s\\n" "$LC_ALL" "$1"', 'sh', 'a b; $(x)']);
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, 'C|a b; $(x)\n');
  assert.equal(r.stderr, '');
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
  await assert.rejects(run(['true'], { netns: 'a b' }), /invalid netns name/);
  await assert.rejects(run([]), /empty argv/);
});

test('large output arrives whole', async () => {
  const r = await run(['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x']);
  assert.equal(r.stdout.length, 3000000);
});
