import type { Metadata } from 'next';
import { SectionPage, type SectionSearch } from '@/components/SectionPage';

export const metadata: Metadata = { title: 'Port forwards' };
export const dynamic = 'force-dynamic';

export default async function Page({ searchParams }: { searchParams: Promise<SectionSearch> }) {
  return (
    <SectionPage
      section="portForwards"
      search={await searchParams}
      intro={<>Forward a port arriving on an uplink to a host in the LAN: to an IPv4 host by address translation (DNAT), to an IPv6 host as a pinhole (its own address, same port, no translation). Replies leave through the uplink the connection came in on.</>}
      empty={<>No port forwards. Add one to make a LAN server reachable from the Internet.</>}
      columns={['protocol', 'port', 'to', 'toPort', 'uplinks', 'sources']}
    />
  );
}
