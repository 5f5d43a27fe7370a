// Public API of agent/system (the only code that changes the kernel).
export { type SysCtx } from './context';
export { gatherFacts, factsFromJson } from './facts';
export {
  readInventory, checkScript, applyScript, readCounters, tableFingerprint, readTableComment,
  basicRenderTransaction, NftError, type CounterValue,
} from './nft';
export { readRoutes, readRules, diffRoutes, diffRules, syncRoutes, syncRules, OpsError, type RouteOp, type RuleOp } from './routes';
export { readSysctls, applySysctls, sysctlPath, SysctlError, type SysctlChange } from './sysctl';
export { deleteByMark, listConnections, parseConntrack, ConntrackError, type ConnEntry } from './conntrack';
export { applyPlan, buildTransaction, resetApplyCache, ApplyError, type ApplyCtx, type ApplyResult } from './apply';
