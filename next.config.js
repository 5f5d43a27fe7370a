// Next.js config for the linkward dashboard. See docs/dashboard.md ("Security headers").
const csp = [
  "default-src 'self'",
  // Next's App Router streams its RSC payload in inline <script> tags and React injects inline
  // styles; without per-request nonces that needs 'unsafe-inline'. All data comes from our own
  // origin, no third-party script is ever loaded, and 'unsafe-eval' is not allowed.
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders = [
  { key: 'Content-Security-Policy', value: csp },
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'Referrer-Policy', value: 'no-referrer' },
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=()' },
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
];

/** Extra origins (host[:port]) allowed to call server actions, e.g. behind a reverse proxy
 *  that rewrites Host: LINKWARD_ALLOWED_ORIGINS="router.example.net". Default: same origin only. */
const allowedOrigins = (process.env.LINKWARD_ALLOWED_ORIGINS ?? '')
  .split(/[\s,]+/)
  .filter(Boolean);

/** @type {import('next').NextConfig} */
const nextConfig = {
  // The Debian package (scripts/package.sh) ships the standalone build: traced server files and
  // only the node_modules they use, instead of the whole production node_modules.
  ...(process.env.LINKWARD_STANDALONE === '1' ? { output: 'standalone' } : {}),
  poweredByHeader: false,
  reactStrictMode: true,
  serverExternalPackages: ['better-sqlite3', '@prisma/adapter-better-sqlite3', '@prisma/client'],
  experimental: {
    serverActions: {
      allowedOrigins,
      bodySizeLimit: '8mb', // config import
    },
  },
  async headers() {
    return [{ source: '/:path*', headers: securityHeaders }];
  },
};

export default nextConfig;
