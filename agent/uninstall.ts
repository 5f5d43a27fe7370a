// Take linkward out of the kernel and put back what it changed (`linkward uninstall`, the
// package's prerm on removal): table inet linkward, our ip rules (priorities 10000-10999) and
// routes (tables 200-250), and the sysctls the agent changed, to the values recorded before its
// first change (agent/bootstate.ts). Nothing else is touched: the main table (and its default
// route), other nft/iptables tables, DNS. The boot ruleset is forgotten too, so the next boot
// loads nothing of linkward's (or, while the package stays installed, the safe default).
import fs from 'node:fs';
import path from 'node:path';
import type { Runner } from './system/runner';
import { syncRoutes, syncRules, type RouteOp, type RuleOp } from './system/routes';
import { applySysctls, type SysctlChange } from './system/sysctl';
import { BootState, SYSCTL_BEFORE } from './bootstate';
import { NFT_FAMILY, NFT_TABLE } from '../lib/compile/constants';

export interface UninstallResult {
  nftTableRemoved: boolean;
  ruleOps: RuleOp[];
  routeOps: RouteOp[];
  sysctls: SysctlChange[];
}

export async function uninstallKernelState(runner: Runner, bootDir: string | null): Promise<UninstallResult> {
  const list = await runner.run(['nft', 'list', 'table', NFT_FAMILY, NFT_TABLE], { allowFail: true });
  let nftTableRemoved = false;
  if (list.exitCode === 0) {
    await runner.run(['nft', 'delete', 'table', NFT_FAMILY, NFT_TABLE]);
    nftTableRemoved = true;
  }
  // rules first: once they are gone nothing is routed by our tables any more
  const ruleOps = await syncRules(runner, []);
  const routeOps = await syncRoutes(runner, []);
  let sysctls: SysctlChange[] = [];
  if (bootDir) {
    const state = new BootState(bootDir);
    const before = state.sysctlsBefore();
    if (Object.keys(before).length) sysctls = await applySysctls(runner, before);
    state.clear();
    fs.rmSync(path.join(bootDir, SYSCTL_BEFORE), { force: true });
  }
  return { nftTableRemoved, ruleOps, routeOps, sysctls };
}
