// LAN listeners of the dashboard (used by lib/web/server.mjs; plain node, no tsx):
// - HTTPS with the router's certificate (/etc/linkward/tls in the package), HSTS on every answer;
// - HTTP that only redirects to HTTPS;
// - both either bound here (--https ADDR:PORT, --http-redirect ADDR:PORT) or handed over by systemd
//   socket activation (linkward-web.socket / linkward-web-http.socket: LISTEN_FDS with the names
//   "https" and "http"), so the web process needs no capability for ports 443 and 80;
// - connections addressed to anything but loopback or a LAN address of the router are closed at
//   once (socket activation binds every address; the firewall drops uplink traffic anyway).
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';

export const HSTS = 'max-age=31536000';
const SD_LISTEN_FDS_START = 3;

/** Sockets passed by systemd (sd_listen_fds): [{ fd, name }], [] when not socket-activated.
 *  @param {Record<string, string | undefined>} [env] @param {number} [pid] */
export function listenFds(env = process.env, pid = process.pid) {
  if (String(env.LISTEN_PID ?? '') !== String(pid)) return [];
  const n = Number(env.LISTEN_FDS ?? 0);
  if (!Number.isInteger(n) || n <= 0 || n > 64) return [];
  const names = String(env.LISTEN_FDNAMES ?? '').split(':');
  return Array.from({ length: n }, (_, i) => ({ fd: SD_LISTEN_FDS_START + i, name: names[i] || 'unknown' }));
}

/** "ADDR:PORT" or "[v6]:PORT" → { host, port }; throws naming the flag. */
export function parseHostPort(s, flag) {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(String(s));
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 0 || port > 65535) throw new Error(`--${flag}: expected ADDR:PORT, got ${JSON.stringify(s)}`);
  const host = m[1] ?? m[2];
  if (net.isIP(host) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(host)) throw new Error(`--${flag}: bad address ${JSON.stringify(host)}`);
  return { host, port };
}

const v4 = (a) => {
  const p = a.split('.').map(Number);
  return p.length === 4 && p.every((x) => Number.isInteger(x) && x >= 0 && x <= 255) ? ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0 : null;
};
const inNet = (a, base, bits) => bits === 0 || ((a ^ base) >>> (32 - bits)) === 0;

/** Strip the IPv4-mapped prefix and any zone id. */
export function normalizeAddress(a) {
  let s = String(a ?? '').toLowerCase();
  if (s.startsWith('::ffff:') && v4(s.slice(7)) !== null) s = s.slice(7);
  const pct = s.indexOf('%');
  return pct >= 0 ? s.slice(0, pct) : s;
}

export function isLoopback(a) {
  const s = normalizeAddress(a);
  const x = v4(s);
  return x !== null ? inNet(x, 0x7f000000, 8) : s === '::1';
}

/** RFC 1918, IPv4 link-local, IPv6 ULA and link-local: where a LAN lives before any config says so. */
export function isLanCandidate(a) {
  const s = normalizeAddress(a);
  const x = v4(s);
  if (x !== null) return inNet(x, 0x0a000000, 8) || inNet(x, 0xac100000, 12) || inNet(x, 0xc0a80000, 16) || inNet(x, 0xa9fe0000, 16);
  return /^f[cd][0-9a-f]{0,2}:/.test(s) || /^fe[89ab][0-9a-f]?:/.test(s);
}

/** The LAN interfaces of the latest stored configuration (null: no configuration yet).
 *  @param {string} [dbFile] @returns {Promise<string[] | null> | null} */
function lanInterfaces(dbFile) {
  if (!dbFile || !fs.existsSync(dbFile)) return null;
  return import('better-sqlite3').then(({ default: Database }) => {
    const db = new Database(dbFile, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 2000');
      const row = db.prepare('SELECT config FROM Revision ORDER BY id DESC LIMIT 1').get();
      if (!row) return null;
      const doc = JSON.parse(row.config);
      return Array.isArray(doc.lan) ? doc.lan.map((l) => String(l.interface)) : [];
    } finally {
      db.close();
    }
  }).catch(() => null);
}

/** Which local addresses the LAN listeners answer on: loopback, the addresses of the configured LAN
 *  interfaces, or — with no configuration yet — any private (RFC 1918 / ULA / link-local) address.
 *  `refresh()` re-reads the configuration and the interfaces; `allows()` decides synchronously
 *  from the last refresh (the server refreshes at start and every few seconds).
 *  @param {{ dbFile?: string, interfaces?: () => Record<string, { address: string }[] | undefined>, lanOf?: (dbFile?: string) => Promise<string[] | null> | null }} [opts] */
export function lanAddressPolicy({ dbFile, interfaces = () => /** @type {Record<string, { address: string }[] | undefined>} */ (os.networkInterfaces()), lanOf = lanInterfaces } = {}) {
  let allow = null;
  return {
    async refresh() {
      const ifs = await lanOf(dbFile);
      if (ifs === null) {
        allow = null;
        return;
      }
      const all = interfaces();
      const next = new Set();
      for (const name of ifs) for (const a of all[name] ?? []) next.add(normalizeAddress(a.address));
      allow = next;
    },
    allows(localAddress) {
      const a = normalizeAddress(localAddress);
      if (isLoopback(a)) return true;
      return allow === null ? isLanCandidate(a) : allow.has(a);
    },
  };
}

/** The Location of the HTTP → HTTPS redirect: the host the client asked for (validated), else the
 *  address it connected to; the HTTPS port when it is not 443. */
export function redirectLocation(hostHeader, localAddress, httpsPort, url) {
  let host = null;
  const h = String(hostHeader ?? '');
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(?::\d{1,5})?$/.exec(h);
  if (m) host = m[1];
  if (!host) {
    const a = normalizeAddress(localAddress);
    host = a.includes(':') ? `[${a}]` : a;
  }
  const path = typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') ? url : '/';
  return `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${path}`;
}

/** Read the certificate and key (PEM) named by the flags or LINKWARD_TLS_CERT / LINKWARD_TLS_KEY. */
export function loadTls(certFile, keyFile) {
  if (!certFile || !keyFile) throw new Error('HTTPS needs a certificate and a key (--tls-cert/--tls-key or LINKWARD_TLS_CERT/LINKWARD_TLS_KEY); `linkward tls` makes them');
  return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
}
