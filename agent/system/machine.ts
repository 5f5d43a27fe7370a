// Reads the machine as it is (for `linkward init`, the dashboard's first-run proposal and the
// certificate's names): ip -j link/addr/route, nft tables, iptables tables, DNS servers. Read only.
import fs from 'node:fs';
import os from 'node:os';
import { machineFromTexts, type MachineFacts } from '../../lib/setup/machine';
import type { Runner } from './runner';

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export async function readMachine(runner: Runner, files: { resolvConf?: string; iptablesNames?: string } = {}): Promise<MachineFacts> {
  const [links, addrs, routes4, routes6, nft] = await Promise.all([
    runner.run(['ip', '-j', '-d', 'link', 'show']),
    runner.run(['ip', '-j', 'addr', 'show']),
    runner.run(['ip', '-j', '-4', 'route', 'show', 'table', 'main']),
    runner.run(['ip', '-j', '-6', 'route', 'show', 'table', 'main'], { allowFail: true }),
    runner.run(['nft', '-j', 'list', 'tables'], { allowFail: true }),
  ]);
  return machineFromTexts({
    hostname: os.hostname(),
    links: links.stdout,
    addrs: addrs.stdout,
    routes4: routes4.stdout,
    routes6: routes6.exitCode === 0 ? routes6.stdout : '[]',
    nftTables: nft.exitCode === 0 ? nft.stdout : '{"nftables":[]}',
    iptablesNames: readFile(files.iptablesNames ?? '/proc/net/ip_tables_names'),
    resolvConf: readFile(files.resolvConf ?? '/etc/resolv.conf'),
  });
}
