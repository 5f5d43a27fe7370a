// Small pieces of rule text shared by several chains.
import { parsePortSpec } from '../../validations/net';
import { MARK_MASK, hexMask } from '../constants';

/** "22" or "8000-8100" from a validated port spec. */
export const portStr = (p: number | string): string => {
  const r = parsePortSpec(p);
  if (!r) throw new Error(`invalid port ${String(p)}`); // unreachable for validated configs
  return r[0] === r[1] ? String(r[0]) : `${r[0]}-${r[1]}`;
};

/** Reference to a named counter object. */
export const cnt = (name: string): string => `counter name "${name}"`;

/** The uplink bits of a mark, and the match "no uplink chosen yet". */
export const MASK = hexMask(MARK_MASK);
export const UNMARKED = `ct mark and ${MASK} == 0`;
