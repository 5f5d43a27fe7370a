// Anti-lockout refusal (issue 8). The compiler always puts the anti-lockout accept rule
// (LAN → dashboard port, and 22 with an ssh service) before the admin rules, so the kernel
// cannot lock the LAN out; this check refuses configs that *explicitly try*, so the admin learns
// about it at validation time (forms, `linkward import`, the agent) instead of being surprised by
// a rule that never matches. Overridden by firewall.allowLockout (advanced settings).
import { parseCidr, cidrsOverlap, cidrContains, parsePortSpec, type Cidr } from './net';

export interface LockoutIssue {
  path: (string | number)[];
  message: string;
}

interface LockoutInput {
  lan: { name: string; address: string }[];
  uplinks: unknown[];
  services: { enabled: boolean; protocol: string; port: number | string }[];
  rules: {
    enabled: boolean; chain: string; action: string; protocol: string; source?: string; destination?: string;
    sourceList?: string; destinationList?: string; port?: number | string; uplink?: string;
  }[];
  addressLists: { name: string; entries: string[] }[];
  firewall: { dashboardPort: number; allowLockout: boolean };
}

const OVERRIDE = 'set firewall.allowLockout to override';

/** Ports the anti-lockout rule protects: the dashboard, and 22 when an enabled tcp service covers it. */
export function protectedPorts(c: Pick<LockoutInput, 'services' | 'firewall'>): number[] {
  const ports = [c.firewall.dashboardPort];
  const ssh = (Array.isArray(c.services) ? c.services : []).some((s) => {
    if (!s.enabled || s.protocol !== 'tcp') return false;
    const r = parsePortSpec(s.port);
    return r !== null && r[0] <= 22 && 22 <= r[1];
  });
  if (ssh && !ports.includes(22)) ports.push(22);
  return ports;
}

const cidrs = (xs: unknown): Cidr[] => (Array.isArray(xs) ? xs : []).map((x) => parseCidr(x)).filter((x): x is Cidr => x !== null);

/** Every issue (empty when allowLockout is set or nothing would lock the LAN out). */
export function lockoutIssues(c: LockoutInput): LockoutIssue[] {
  // Refinements run even when fields failed: tolerate missing/invalid parts.
  if (!c.firewall || c.firewall.allowLockout || !Array.isArray(c.rules) || !Array.isArray(c.lan)) return [];
  const out: LockoutIssue[] = [];
  const ports = protectedPorts(c);
  const what = `the dashboard (tcp ${c.firewall.dashboardPort})`;
  const lanNets = c.lan.map((l) => parseCidr(l?.address, false)).filter((x): x is Cidr => x !== null);
  const routerAddrs = lanNets.map((n) => n.address);
  const lists = new Map((Array.isArray(c.addressLists) ? c.addressLists : []).map((l) => [l.name, cidrs(l.entries)]));
  const overlapsLan = (nets: Cidr[]) => nets.some((n) => lanNets.some((l) => cidrsOverlap(n, l)));
  const holdsRouter = (nets: Cidr[]) => nets.some((n) => routerAddrs.some((a) => cidrContains(n, a)));
  c.rules.forEach((r, i) => {
    if (!r.enabled || r.chain !== 'input' || r.action === 'accept' || r.uplink !== undefined) return;
    if (r.protocol !== 'any' && r.protocol !== 'tcp') return;
    let hit = ports;
    if (r.port !== undefined) {
      const range = parsePortSpec(r.port);
      if (!range) return;
      hit = ports.filter((p) => range[0] <= p && p <= range[1]);
    }
    if (hit.length === 0) return;
    if (r.source !== undefined && !overlapsLan(cidrs([r.source]))) return;
    if (r.sourceList !== undefined && !overlapsLan(lists.get(r.sourceList) ?? [])) return;
    if (r.destination !== undefined && !holdsRouter(cidrs([r.destination]))) return;
    if (r.destinationList !== undefined && !holdsRouter(lists.get(r.destinationList) ?? [])) return;
    const blocked = hit.includes(c.firewall.dashboardPort) ? what : `ssh (tcp ${hit.join(', ')})`;
    out.push({ path: ['rules', i], message: `would block ${blocked} from the LAN; ${OVERRIDE}` });
  });
  return out;
}

/** Transition check for the write path (saveConfig): removing every LAN network while uplinks
 *  remain leaves the dashboard reachable from nowhere. Not a schema rule, because a config without
 *  a LAN is a legitimate starting point; taking the LAN away from a working router is not. */
export function lanRemovalIssue(prev: { lan: unknown[] } | null, next: { lan: unknown[]; uplinks: unknown[]; firewall: { dashboardPort: number; allowLockout: boolean } }): string | null {
  if (!prev || prev.lan.length === 0 || next.lan.length > 0 || next.uplinks.length === 0 || next.firewall.allowLockout) return null;
  return `lan: removes every LAN network: the dashboard (tcp ${next.firewall.dashboardPort}) would be unreachable from the LAN; ${OVERRIDE}`;
}
