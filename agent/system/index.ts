// Public API of agent/system (the only code that changes the kernel).
export { realRunner, withNetns, inNetns, CommandError, type Runner, type RunOptions, type RunResult, type Session, type SpawnedProcess, type SpawnOptions } from './runner';
export { gatherFacts, factsFromJson } from './facts';
export { readInventory, checkScript, applyScript, readCounters, tableFingerprint, readTableComment, listSetJson, deleteSetElement, NftError, type CounterValue } from './nft';
export { readRoutes, readRules, diffRoutes, diffRules, syncRoutes, syncRules, OpsError, type RouteOp, type RuleOp } from './routes';
export { readSysctls, applySysctls, SysctlError, type SysctlChange } from './sysctl';
export { deleteByMark, listConnections, parseConntrack, ConntrackError, type ConnEntry } from './conntrack';
export { applyPlan, buildTransaction, resetApplyCache, ApplyError, type ApplyCtx, type ApplyResult } from './apply';
