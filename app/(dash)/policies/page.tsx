import type { Metadata } from 'next';
import { SectionPage, type SectionSearch } from '@/components/SectionPage';

export const metadata: Metadata = { title: 'Policies' };
export const dynamic = 'force-dynamic';

export default async function Page({ searchParams }: { searchParams: Promise<SectionSearch> }) {
  return (
    <SectionPage
      section="policies"
      search={await searchParams}
      intro={<>Route chosen traffic through a chosen uplink instead of the weighted choice, e.g. VoIP via the fiber line.</>}
      empty={<>No policies: all new connections are balanced by uplink weight.</>}
      columns={['source', 'destination', 'protocol', 'port', 'uplink', 'sticky']}
    />
  );
}
