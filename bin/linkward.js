#!/usr/bin/env node
// `linkward` CLI entry: runs the TypeScript sources directly through tsx (no build step).
// Except `linkward agent`, the long-running root daemon: it is bundled at start with esbuild
// (tsx's own dependency; ~30 ms) and run by plain node, because tsx's ESM loader hooks keep a
// second V8 isolate alive for the life of the process (~25-30 MB of the agent's RSS; measured in
// docs/performance.md). LINKWARD_AGENT_TSX=1 runs the agent through tsx as before.
import { fileURLToPath, pathToFileURL } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';

process.env.CHECKPOINT_DISABLE ??= '1';
process.env.NEXT_TELEMETRY_DISABLED ??= '1';
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
process.env.LINKWARD_ROOT ??= root;
const argv = process.argv.slice(2);

/** Bundle cli/commands/agent.ts into node_modules/.cache/linkward/ (where its external packages
 *  resolve); the file name is unique per process. Returns the file, or null (then use tsx). */
async function bundleAgent() {
  if (process.env.LINKWARD_AGENT_TSX === '1') return null;
  const out = path.join(root, 'node_modules', '.cache', 'linkward', `agent-${process.pid}.mjs`);
  try {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    // esbuild's JS API (its own service process), stopped right after the build so nothing of it
    // stays alive next to the agent.
    const esbuild = await import('esbuild');
    try {
      await esbuild.build({
        entryPoints: [path.join(root, 'cli', 'commands', 'agent.ts')],
        bundle: true, platform: 'node', format: 'esm', packages: 'external', target: 'node20', logLevel: 'error',
        outfile: out,
      });
    } finally {
      await esbuild.stop();
    }
    return out;
  } catch (e) {
    fs.rmSync(out, { force: true });
    process.stderr.write(`linkward agent: could not bundle the agent (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); running it through tsx\n`);
    return null;
  }
}

if (argv[0] === 'agent') {
  // The V8 new space (young objects) doubles from 1 MB up to 16 MB per semi-space under an
  // allocation burst (compiling and applying 1 000 rules) and stays there; a daemon that idles
  // for days does not need that. The growth factor is read at GC time, so setting it here works
  // (unlike --max-semi-space-size, which only a command-line flag could set).
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
const bundle = argv[0] === 'agent' ? await bundleAgent() : null;
if (bundle) {
  let mod;
  try {
    mod = await import(pathToFileURL(bundle).href);
  } finally {
    fs.rmSync(bundle, { force: true }); // loaded; nothing reads the file again
  }
  try {
    process.exitCode = await mod.run(argv.slice(1));
  } catch (e) {
    process.stderr.write(`linkward agent: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
} else {
  const { register } = await import('tsx/esm/api'); // not loaded at all for the bundled agent
  register();
  const { main } = await import(pathToFileURL(path.join(root, 'cli', 'main.ts')).href);
  const code = await main(argv);
  process.exitCode = typeof code === 'number' ? code : 0;
}
