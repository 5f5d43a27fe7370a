// HTTP front for the dashboard (`linkward web` runs this file with plain node, no tsx).
// It serves the built Next app and owns the one fact Next cannot know safely: the client's
// address. Next copies a client-sent X-Forwarded-For as-is, so we remove every client-sent
// forwarding header and pass, under our own names, the socket address (X-Linkward-Peer) and what
// the client sent as X-Forwarded-For/-Proto (X-Linkward-Forwarded-For/-Proto), and X-Linkward-TLS
// on our own HTTPS listener. The app reads them only when LINKWARD_WEB_FRONT=1, and believes the
// forwarded ones only when the socket address is a configured proxy (LINKWARD_TRUSTED_PROXIES,
// lib/auth/request.ts). It also tells the app the bind address (LINKWARD_BIND) for the Host
// allow-list in proxy.ts.
//
// usage: node lib/web/server.mjs [--port N] [--host ADDR] [--dir PROJECT_ROOT]
//          [--https ADDR:PORT] [--http-redirect ADDR:PORT] [--tls-cert FILE --tls-key FILE]
// --host/--port is the plain HTTP listener (loopback by default). The LAN listeners (HTTPS, and
// HTTP that only redirects) come from the flags or from systemd socket activation; see
// lib/web/listen.mjs and docs/install.md.
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { listenFds, parseHostPort, lanAddressPolicy, redirectLocation, loadTls, HSTS } from './listen.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
    dir: { type: 'string', default: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..') },
    https: { type: 'string' },
    'http-redirect': { type: 'string' },
    'tls-cert': { type: 'string', default: process.env.LINKWARD_TLS_CERT },
    'tls-key': { type: 'string', default: process.env.LINKWARD_TLS_KEY },
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
// A standalone build (the package) has no next.config.js: Next takes the build's own config.
const rsf = path.join(dir, '.next', 'required-server-files.json');
if (!fs.existsSync(path.join(dir, 'next.config.js')) && fs.existsSync(rsf)) {
  process.env.__NEXT_PRIVATE_STANDALONE_CONFIG ??= JSON.stringify(JSON.parse(fs.readFileSync(rsf, 'utf8')).config);
}
let lan;
try {
  lan = {
    fds: listenFds(),
    https: values.https ? parseHostPort(values.https, 'https') : null,
    redirect: values['http-redirect'] ? parseHostPort(values['http-redirect'], 'http-redirect') : null,
  };
  lan.wantsTls = Boolean(lan.https) || lan.fds.some((f) => f.name === 'https');
  lan.tls = lan.wantsTls ? loadTls(values['tls-cert'], values['tls-key']) : null;
  // The Host allow-list (proxy.ts): with LAN listeners every local address is a valid Host (the
  // LAN listeners close connections to anything but LAN addresses and loopback), and the DNS
  // names of the certificate are the router's names (LINKWARD_HOSTNAMES adds more).
  if (lan.fds.length || lan.https || lan.redirect) process.env.LINKWARD_BIND = '';
  if (lan.tls) {
    const sans = (new crypto.X509Certificate(lan.tls.cert).subjectAltName ?? '').split(',').map((x) => x.trim()).filter((x) => x.startsWith('DNS:')).map((x) => x.slice(4).toLowerCase());
    const names = new Set([...(process.env.LINKWARD_HOSTNAMES ?? '').split(/[\s,]+/).filter(Boolean), ...sans.filter((n) => /^[a-z0-9.-]{1,253}$/.test(n))]);
    process.env.LINKWARD_HOSTNAMES = [...names].join(',');
  }
} catch (e) {
  console.error(`linkward web: ${e.message}`);
  process.exit(2);
}

const { default: next } = await import('next');
const app = next({ dev: false, dir, hostname: values.host, port });
await app.prepare();
const handle = app.getRequestHandler();

const STRIP = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'forwarded', 'x-real-ip', 'x-linkward-peer', 'x-linkward-forwarded-for', 'x-linkward-forwarded-proto', 'x-linkward-tls'];
const joined = (v) => (Array.isArray(v) ? v.join(', ') : v === undefined ? '' : String(v));

/** One handler for every listener; `proto` is what the client used (https on the TLS listener). */
const handler = (proto) => (req, res) => {
  const xff = joined(req.headers['x-forwarded-for']);
  const xfp = joined(req.headers['x-forwarded-proto']);
  for (const h of STRIP) delete req.headers[h];
  req.headers['x-linkward-peer'] = req.socket.remoteAddress ?? '';
  if (xff) req.headers['x-linkward-forwarded-for'] = xff;
  if (xfp) req.headers['x-linkward-forwarded-proto'] = xfp;
  if (proto === 'https') {
    // our own TLS listener: lib/auth sets Secure cookies (a client-sent value was stripped above)
    req.headers['x-linkward-tls'] = '1';
    res.setHeader('Strict-Transport-Security', HSTS);
  }
  handle(req, res).catch((err) => {
    console.error('linkward web: request failed', err);
    if (!res.headersSent) res.statusCode = 500;
    res.end();
  });
};
const server = http.createServer(handler('http'));
server.requestTimeout = 60_000;
server.headersTimeout = 20_000;
server.listen(port, values.host, () => {
  const a = server.address();
  const shown = typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : String(a);
  console.log(`linkward web: dashboard on http://${shown}/`);
});

// LAN listeners: HTTPS (+ HSTS) and HTTP → HTTPS redirect, only for LAN/loopback local addresses.
const lanServers = [];
if (lan.fds.length || lan.https || lan.redirect) {
  const policy = lanAddressPolicy({ dbFile: process.env.LINKWARD_DB });
  await policy.refresh();
  setInterval(() => void policy.refresh().catch(() => undefined), 5000).unref();
  const guard = (srv) => {
    srv.on('connection', (sock) => {
      if (!policy.allows(sock.localAddress)) sock.destroy();
    });
    srv.requestTimeout = 60_000;
    srv.headersTimeout = 20_000;
    lanServers.push(srv);
    return srv;
  };
  const httpsPort = lan.https?.port ?? Number(process.env.LINKWARD_HTTPS_PORT ?? 443);
  const redirect = (req, res) => {
    res.writeHead(308, { Location: redirectLocation(req.headers.host, req.socket.localAddress, httpsPort, req.url), 'Content-Length': '0' });
    res.end();
  };
  const tlsServer = () => guard(https.createServer({ ...lan.tls, minVersion: 'TLSv1.2' }, handler('https')));
  const shownAt = (srv, what) => () => {
    const a = srv.address();
    console.log(`linkward web: ${what} on ${typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : a}`);
  };
  for (const { fd, name } of lan.fds) {
    if (name === 'https') { const s = tlsServer(); s.listen({ fd }, shownAt(s, 'dashboard (HTTPS, socket activation)')); }
    else if (name === 'http') { const s = guard(http.createServer(redirect)); s.listen({ fd }, shownAt(s, 'redirect to HTTPS (socket activation)')); }
    else console.error(`linkward web: ignoring socket fd ${fd} named ${JSON.stringify(name)} (expected https or http)`);
  }
  if (lan.https) { const s = tlsServer(); s.listen(lan.https.port, lan.https.host, shownAt(s, 'dashboard (HTTPS)')); }
  if (lan.redirect) { const s = guard(http.createServer(redirect)); s.listen(lan.redirect.port, lan.redirect.host, shownAt(s, 'redirect to HTTPS')); }
}

const stop = () => {
  for (const s of lanServers) s.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
