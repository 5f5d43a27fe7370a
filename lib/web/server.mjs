// HTTP front for the dashboard (`linkward web` runs this file with plain node, no tsx).
// It serves the built Next app and owns the one fact Next cannot know safely: the client's
// address. Next copies a client-sent X-Forwarded-For as-is, so we remove every client-sent
// forwarding header and pass, under our own names, the socket address (X-Linkward-Peer) and what
// the client sent as X-Forwarded-For/-Proto (X-Linkward-Forwarded-For/-Proto). The app reads them
// only when LINKWARD_WEB_FRONT=1, and believes the forwarded ones only when the socket address is
// a configured proxy (LINKWARD_TRUSTED_PROXIES, lib/auth/request.ts). It also tells the app the
// bind address (LINKWARD_BIND) for the Host allow-list in proxy.ts.
//
// usage: node lib/web/server.mjs [--port N] [--host ADDR] [--dir PROJECT_ROOT]
import http from 'node:http';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
    dir: { type: 'string', default: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..') },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`linkward web: bad --port ${values.port}`);
  process.exit(2);
}
const dir = values.dir;
if (!fs.existsSync(path.join(dir, '.next', 'BUILD_ID'))) {
  console.error(`linkward web: no production build in ${dir}/.next; run \`npm run build\` first`);
  process.exit(2);
}

process.env.NODE_ENV = 'production';
process.env.NEXT_TELEMETRY_DISABLED = '1';
process.env.LINKWARD_WEB_FRONT = '1';
process.env.LINKWARD_ROOT ??= dir;
process.env.LINKWARD_BIND = values.host;
if (process.env.LINKWARD_TRUST_PROXY !== undefined) {
  console.error('linkward web: LINKWARD_TRUST_PROXY is gone: list the proxy addresses in LINKWARD_TRUSTED_PROXIES (e.g. LINKWARD_TRUSTED_PROXIES=127.0.0.1)');
  process.exit(2);
}

const { default: next } = await import('next');
const app = next({ dev: false, dir, hostname: values.host, port });
await app.prepare();
const handle = app.getRequestHandler();

const STRIP = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'forwarded', 'x-real-ip', 'x-linkward-peer', 'x-linkward-forwarded-for', 'x-linkward-forwarded-proto'];
const joined = (v) => (Array.isArray(v) ? v.join(', ') : v === undefined ? '' : String(v));

const server = http.createServer((req, res) => {
  const xff = joined(req.headers['x-forwarded-for']);
  const xfp = joined(req.headers['x-forwarded-proto']);
  for (const h of STRIP) delete req.headers[h];
  req.headers['x-linkward-peer'] = req.socket.remoteAddress ?? '';
  if (xff) req.headers['x-linkward-forwarded-for'] = xff;
  if (xfp) req.headers['x-linkward-forwarded-proto'] = xfp;
  handle(req, res).catch((err) => {
    console.error('linkward web: request failed', err);
    if (!res.headersSent) res.statusCode = 500;
    res.end();
  });
});
server.requestTimeout = 60_000;
server.headersTimeout = 20_000;
server.listen(port, values.host, () => {
  const a = server.address();
  const shown = typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : String(a);
  console.log(`linkward web: dashboard on http://${shown}/`);
});
const stop = () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
