'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';

export const NAV_ITEMS = [
  { href: '/', label: 'Overview' },
  { href: '/uplinks', label: 'Uplinks' },
  { href: '/lan', label: 'LAN' },
  { href: '/rules', label: 'Firewall rules' },
  { href: '/address-lists', label: 'Address lists' },
  { href: '/services', label: 'Services' },
  { href: '/port-forwards', label: 'Port forwards' },
  { href: '/policies', label: 'Policies' },
  { href: '/connections', label: 'Connections' },
  { href: '/drops', label: 'Log' },
  { href: '/bans', label: 'Bans' },
  { href: '/explain', label: 'Packet tracer' },
  { href: '/history', label: 'History' },
  { href: '/audit', label: 'Audit log' },
  { href: '/settings', label: 'Settings' },
] as const;

export function Nav() {
  const path = usePathname();
  return (
    <nav aria-label="Main" className="px-2 pb-2 md:pb-0">
      {/* Narrow screens: the items wrap (all of them visible, no sideways scrolling). */}
      <ul className="flex flex-wrap gap-1 md:flex-col md:flex-nowrap">
        {NAV_ITEMS.map((it) => {
          const active = it.href === '/' ? path === '/' : path.startsWith(it.href);
          return (
            <li key={it.href}>
              <Link
                href={it.href}
                aria-current={active ? 'page' : undefined}
                className={`block whitespace-nowrap rounded-md px-2 py-1 text-xs md:px-3 md:py-1.5 md:text-sm focus-visible:outline-2 focus-visible:outline-sky-600 ${
                  active
                    ? 'bg-sky-50 font-semibold text-sky-800 dark:bg-sky-950 dark:text-sky-200'
                    : 'text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800'
                }`}
              >
                {it.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
