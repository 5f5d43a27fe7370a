// Sequential TCP connection rate, run inside a lab namespace (plain JS: no tsx start-up).
// Usage: node conn-client.mjs HOST PORT COUNT [MAX_SECONDS] → prints one JSON line
// {ok, failed, ms, aborted}. Each connection: connect, send one byte, wait for the echo server's
// answer, close (1 s timeout each). Bounded: it gives up after 5 failures in a row (no forwarding:
// measuring further only waits) or after MAX_SECONDS (default 60), and says so in `aborted`.
import net from 'node:net';

const [host, portS, countS, maxS] = process.argv.slice(2);
const port = Number(portS);
const count = Number(countS);
const maxMs = (maxS === undefined ? 60 : Number(maxS)) * 1000;
if (!net.isIPv4(host ?? '') || !Number.isInteger(port) || port < 1 || port > 65535 || !Number.isInteger(count) || count < 1 || count > 100000 || !(maxMs > 0 && maxMs <= 3600000)) {
  process.stderr.write('usage: conn-client.mjs HOST PORT COUNT [MAX_SECONDS]\n');
  process.exit(2);
}

function once() {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => { s.destroy(); resolve(false); }, 1000);
    s.once('connect', () => s.write('x\n'));
    s.once('data', () => { clearTimeout(timer); s.destroy(); resolve(true); });
    s.once('error', () => { clearTimeout(timer); s.destroy(); resolve(false); });
  });
}

let ok = 0;
let failed = 0;
let inRow = 0;
let aborted = null;
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  if (await once()) {
    ok++;
    inRow = 0;
  } else {
    failed++;
    if (++inRow >= 5) {
      aborted = `${inRow} connections in a row failed`;
      break;
    }
  }
  if (performance.now() - t0 > maxMs) {
    aborted = `time limit ${maxMs / 1000} s`;
    break;
  }
}
process.stdout.write(JSON.stringify({ ok, failed, ms: performance.now() - t0, aborted }) + '\n');
