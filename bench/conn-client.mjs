// Sequential TCP connection rate, run inside a lab namespace (plain JS: no tsx start-up).
// Usage: node conn-client.mjs HOST PORT COUNT → prints one JSON line {ok, failed, ms}.
// Each connection: connect, send one byte, wait for the echo server's answer, close.
import net from 'node:net';

const [host, portS, countS] = process.argv.slice(2);
const port = Number(portS);
const count = Number(countS);
if (!net.isIPv4(host ?? '') || !Number.isInteger(port) || port < 1 || port > 65535 || !Number.isInteger(count) || count < 1 || count > 100000) {
  process.stderr.write('usage: conn-client.mjs HOST PORT COUNT\n');
  process.exit(2);
}

function once() {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => { s.destroy(); resolve(false); }, 2000);
    s.once('connect', () => s.write('x\n'));
    s.once('data', () => { clearTimeout(timer); s.destroy(); resolve(true); });
    s.once('error', () => { clearTimeout(timer); resolve(false); });
  });
}

let ok = 0;
const t0 = performance.now();
for (let i = 0; i < count; i++) if (await once()) ok++;
process.stdout.write(JSON.stringify({ ok, failed: count - ok, ms: performance.now() - t0 }) + '\n');
