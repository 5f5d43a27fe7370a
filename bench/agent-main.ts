// Entry point of the bundled agent the footprint bench measures next to the tsx-run one:
// `esbuild bench/agent-main.ts --bundle --platform=node --format=esm --packages=external`.
// Same code as `linkward agent` (cli/commands/agent.ts), without tsx's loader thread at run time.
import { run } from '../cli/commands/agent';

process.exitCode = await run(process.argv.slice(2));
