// `node --import tsx bench/prober-floor.ts [seconds=30] [rounds=2]`: bench/probers.ts alone.
import { proberBench, proberTable } from './probers';

const seconds = Number(process.argv[2] ?? 30);
const rounds = Number(process.argv[3] ?? 2);
const rows = await proberBench({ seconds, rounds, log: (s) => console.log(s) });
console.log(`\n${seconds} s windows, median of ${rounds}:`);
console.log(proberTable(rows));
