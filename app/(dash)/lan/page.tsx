import type { Metadata } from 'next';
import { SectionPage, type SectionSearch } from '@/components/SectionPage';

export const metadata: Metadata = { title: 'LAN' };
export const dynamic = 'force-dynamic';

export default async function Page({ searchParams }: { searchParams: Promise<SectionSearch> }) {
  return (
    <SectionPage
      section="lan"
      search={await searchParams}
      intro={<>The local networks behind the router. Traffic from them is balanced over the uplinks, and the dashboard port stays reachable from them (anti-lockout, see Settings).</>}
      empty={<>No LAN network yet. Add the interface facing your local network and the router address on it, e.g. <code>192.168.1.1/24</code>.</>}
      
    />
  );
}
