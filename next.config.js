// Next.js config for the linkward dashboard. See docs/dashboard.md ("Security headers").
// The Content-Security-Policy is set per request by proxy.ts (it carries a fresh nonce).
const securityHeaders = [
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
      // One global number: the configuration import. proxy.ts bounds every other path (8 KiB on the
      // sign-in pages, 1 MiB elsewhere) by Content-Length before Next reads the body.
      bodySizeLimit: '8mb',
    },
  },
  async headers() {
    return [{ source: '/:path*', headers: securityHeaders }];
  },
};

export default nextConfig;
