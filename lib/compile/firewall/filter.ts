// Pieces the filter chains input and forward share: the head (bans, conntrack state) and the
// tail (drop logging and recording, the counted default drop).
import { comment, counterBuiltin, logPrefixDrop, SADDR64, SET_BANNED, SET_BANNED6, SET_NEVER_BAN6, SET_DROP_FORWARD, SET_DROP_FORWARD6, SET_DROP_INPUT, SET_DROP_INPUT6 } from '../constants';
import type { FirewallContext } from './context';
import { cnt } from './fragments';

/** Established/related accept, invalid drop, then port-scan bans: a ban only stops NEW
 *  connections, so no forged scan can break a connection the router (or the LAN) opened —
 *  e.g. the health probes' replies from the probe targets. */
export function filterHead(ctx: FirewallContext, chain: 'input' | 'forward'): string[] {
  const rules: string[] = [];
  const est = chain === 'input' ? 'established-in' : 'established-fwd';
  rules.push(`ct state established,related ${cnt(counterBuiltin(est))} accept ${comment('builtin', 'established')}`);
  rules.push(`ct state invalid ${cnt(counterBuiltin('invalid'))} drop ${comment('builtin', 'invalid')}`);
  if (ctx.fw.portScan.enabled) {
    rules.push(`ip saddr @${SET_BANNED} ${cnt(counterBuiltin('banned'))} drop ${comment('builtin', 'banned')}`);
    // An IPv6 ban covers the source's /64; the never-ban addresses inside a banned /64 (a trusted
    // host next door to a forged scanner) stay reachable.
    rules.push(`ip6 saddr != @${SET_NEVER_BAN6} ${SADDR64} @${SET_BANNED6} ${cnt(counterBuiltin('banned'))} drop ${comment('builtin', 'banned6')}`);
  }
  return rules;
}

/** The counted default drop, preceded (logDrops) by a rate-limited log and a drop record. */
export function filterTail(ctx: FirewallContext, chain: 'input' | 'forward'): string[] {
  const { fw } = ctx;
  const rules: string[] = [];
  if (fw.logDrops) {
    rules.push(`limit rate ${fw.logRatePerMinute}/minute ${ctx.log(logPrefixDrop(chain))} ${comment('builtin', `log-drop-${chain}`)}`);
    // Every dropped packet is recorded (not rate-limited) in a bounded kernel set per family the agent reads.
    const set = chain === 'input' ? SET_DROP_INPUT : SET_DROP_FORWARD;
    const set6 = chain === 'input' ? SET_DROP_INPUT6 : SET_DROP_FORWARD6;
    rules.push(`update @${set} { iifname . ip saddr . ip daddr . meta l4proto . th dport } ${comment('builtin', `record-drop-${chain}`)}`);
    rules.push(`update @${set6} { iifname . ip6 saddr . ip6 daddr . meta l4proto . th dport } ${comment('builtin', `record-drop6-${chain}`)}`);
  }
  rules.push(`${cnt(counterBuiltin(`drop-${chain}`))} drop ${comment('builtin', `drop-${chain}`)}`);
  return rules;
}
