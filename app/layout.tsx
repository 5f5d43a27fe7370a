import type { Metadata, Viewport } from 'next';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'linkward', template: '%s · linkward' },
  description: 'Multi-uplink router dashboard',
  robots: { index: false, follow: false },
};

// Every page is rendered per request: the CSP nonce (proxy.ts) is new for each response, and a
// prerendered page (e.g. the 404 page) would carry inline scripts without it.
export const dynamic = 'force-dynamic';

export const viewport: Viewport = {
  width: 'device-width',
  initialScale: 1,
  colorScheme: 'light dark',
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-zinc-50 font-sans text-zinc-900 antialiased dark:bg-zinc-950 dark:text-zinc-100">
        {children}
      </body>
    </html>
  );
}
