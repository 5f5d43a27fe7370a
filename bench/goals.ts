// The issue-16 goals against what one `npm run bench` run measured: one row per goal with the
// figure, the goal beside it and met / missed / not measured. Pure: it reads the result record
// that bench/run.ts builds (the same keys as bench/results/<date>.json), nothing else.

export type GoalStatus = 'met' | 'missed' | 'not measured';
export interface GoalRow { goal: string; measured: string; target: string; status: GoalStatus; from: string }

type Rec = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Rec | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : null);

/** A "≤ target" row: met when the figure is at or under the target. */
function atMost(goal: string, from: string, value: number | null, target: number, unit: string): GoalRow {
  return {
    goal,
    from,
    target: `≤ ${target} ${unit}`,
    measured: value === null ? '–' : `${value} ${unit}`,
    status: value === null ? 'not measured' : value <= target ? 'met' : 'missed',
  };
}

export function goalRows(result: Rec): GoalRow[] {
  const rows: GoalRow[] = [];
  rows.push(atMost('one-rule change with 10 000 rules (p50, commit → kernel)', 'apply', num(result.apply_p50_ms_10000_rules), 300, 'ms'));
  rows.push(atMost('full apply of 10 000 rules (p50)', 'apply', num(result.apply_p50_ms_10000_rules_load), 1000, 'ms'));
  rows.push(atMost('one-rule change with 100 rules (p50)', 'apply', num(result.apply_p50_ms_100), 50, 'ms'));
  rows.push(atMost('idle agent incl. children (4 uplinks, probes every 250 ms, 1 000 rules)', 'footprint', num(result.agent_total_cpu_pct), 0.5, '% CPU'));
  rows.push(atMost('50 000 tracked flows: agent CPU incl. children', 'conntrack', num(result.agent_cpu_pct_50k_flows), 1, '% CPU'));
  const rssWin = num(result.agent_rss_mb_50k_flows);
  const rssStart = num(result.agent_rss_mb_50k_flows_start);
  rows.push(atMost('50 000 tracked flows: agent RSS (max of the window and the start-up)', 'conntrack', rssWin === null ? null : Math.max(rssWin, rssStart ?? 0), 100, 'MB'));
  const ev = num(result.agent_cpu_pct_50k_flows);
  const po = num(result.agent_cpu_pct_50k_flows_poll);
  rows.push({
    goal: 'conntrack: event stream vs full listing every 5 s (keep the cheaper)',
    from: 'conntrack',
    target: 'events cheaper',
    measured: ev !== null && po !== null ? `${ev} % vs ${po} %` : '–',
    status: ev === null || po === null ? 'not measured' : ev < po ? 'met' : 'missed',
  });
  const clear = num(obj(result.conntrack_failover)?.detectToKernelClearMs);
  rows.push(atMost('failover deletes the dead uplink\'s flows after detection (50 000 flows)', 'conntrack', clear, 1000, 'ms'));
  const fo = obj(result.failover);
  const profiles = Array.isArray(fo?.profiles) ? (fo!.profiles as Rec[]) : [];
  const measuredHere = fo?.measured === true;
  for (const [name, target] of [['default', 1500], ['fast', 500]] as const) {
    const p = profiles.find((x) => x.profile === name);
    const med = num(p?.failoverMedianMs);
    const falseT = num(p?.falseTransitions);
    const filt = num(p?.filteredTargetTransitions);
    const row = atMost(`failover, ${name} profile (median; 0 false transitions under 20 % loss and with one of three targets filtered)`, measuredHere ? 'failover' : `failover (${String(fo?.file ?? 'no file')}, not this run)`, med, target, 'ms');
    if (med !== null) {
      row.measured = `${med} ms, ${falseT ?? '–'} + ${filt ?? '–'} false`;
      if (!measuredHere) row.status = 'not measured';
      else if (row.status === 'met' && (falseT !== 0 || filt !== 0)) row.status = 'missed';
    }
    rows.push(row);
  }
  const peer = obj(result.peer);
  const peerRows = Array.isArray(peer?.rows) ? (peer!.rows as Rec[]) : [];
  const both = peerRows.filter((x) => x.linkward !== null && x.shorewall !== null).length;
  rows.push({
    goal: 'side by side with Shorewall + LSM (same lab, alternated)',
    from: 'peer',
    target: 'both columns',
    measured: peerRows.length ? `${both} of ${peerRows.length} figures in both columns` : '–',
    status: !peerRows.length ? 'not measured' : both === peerRows.length ? 'met' : 'missed',
  });
  return rows;
}
