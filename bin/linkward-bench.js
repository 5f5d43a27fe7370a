#!/usr/bin/env node
// `npm run bench [-- --quick]`: runs bench/run.ts through tsx (no build step), like bin/linkward.js.
import { register } from 'tsx/esm/api';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

process.env.CHECKPOINT_DISABLE ??= '1';
process.env.NEXT_TELEMETRY_DISABLED ??= '1';
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
process.env.LINKWARD_ROOT ??= root;
register();
const { main } = await import(pathToFileURL(path.join(root, 'bench', 'run.ts')).href);
const code = await main(process.argv.slice(2));
process.exitCode = typeof code === 'number' ? code : 0;
