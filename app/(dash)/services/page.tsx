import type { Metadata } from 'next';
import { SectionPage, type SectionSearch } from '@/components/SectionPage';

export const metadata: Metadata = { title: 'Services' };
export const dynamic = 'force-dynamic';

export default async function Page({ searchParams }: { searchParams: Promise<SectionSearch> }) {
  return (
    <SectionPage
      section="services"
      search={await searchParams}
      intro={<>Services running on the router itself (input chain) that should be reachable, e.g. SSH or a VPN, on chosen uplinks and from chosen sources.</>}
      empty={<>No services exposed: nothing on the router is reachable from the uplinks except what the firewall settings allow (ICMP). The dashboard is reachable from the LAN only.</>}
      columns={['protocol', 'port', 'uplinks', 'sources', 'helper']}
    />
  );
}
