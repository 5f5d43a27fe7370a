// A notification receiver for lab tests (run inside a namespace): every request is appended to
// --out as one JSON line {t, method, path, headers, body}; requests to /hang… are never answered.
// usage: node --import tsx test/helpers/http-receiver.ts --bind ADDR --port N --out FILE
import http from 'node:http';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { bind: { type: 'string' }, port: { type: 'string' }, out: { type: 'string' } } });
const out = values.out!;
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    fs.appendFileSync(out, JSON.stringify({ t: Date.now(), method: req.method, path: req.url, headers: req.headers, body }) + '\n');
    if ((req.url ?? '').startsWith('/hang')) return; // a receiver that hangs
    res.end('ok');
  });
});
server.listen(Number(values.port), values.bind, () => process.stdout.write(`listening ${values.bind}:${values.port}\n`));
process.on('SIGTERM', () => process.exit(0));
