import type { Metadata } from 'next';
import { SectionPage, type SectionSearch } from '@/components/SectionPage';

export const metadata: Metadata = { title: 'Uplinks' };
export const dynamic = 'force-dynamic';

export default async function Page({ searchParams }: { searchParams: Promise<SectionSearch> }) {
  return (
    <SectionPage
      section="uplinks"
      search={await searchParams}
      intro={<>Internet connections. New connections are spread over the enabled uplinks of the lowest healthy priority tier by weight; an uplink whose health check fails stops taking traffic until it recovers.</>}
      empty={<>No uplinks yet. Add one per Internet connection: its interface (e.g. <code>eth1</code>), the gateway (or <code>auto</code>) and probe targets for the health check.</>}
      columns={['interface', 'gateway', 'weight', 'priority', 'failback', 'health.targets']}
    />
  );
}
