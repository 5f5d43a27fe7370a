// The dashboard's data access layer: every read a page, a component or a route handler makes
// goes through a function of this file, and every one of them checks the session first.
//
// Why here and not (only) in app/(dash)/layout.tsx: a client-side navigation is an RSC request
// that renders only the segments that changed; the layout is not rendered again, so a crafted
// request (RSC: 1 + a Next-Router-State-Tree that claims the layout is already there) with any
// cookie reached the page and its data. A check in the data layer cannot be skipped that way:
// no valid session, no data (requireUser redirects to /login, or /setup before the first admin).
// test/unit/layering.test.ts keeps pages and components from importing the unguarded modules
// (lib/store, lib/db, lib/web/queries) directly; test/e2e/web-hardening.test.ts replays every
// page's navigation with a bogus cookie.
import { cache } from 'react';
import { requireUser } from '../auth/request';
import * as q from './queries';
import * as revisions from '../store/revisions';
import * as safety from '../store/safety';
import * as auditStore from '../store/audit';
import * as drops from '../store/drops';
import { eventStream } from './live';
import { validateSession } from '../auth/session';
import * as conns from './connections';
import { markWatched } from './watch';
import { metricsDb } from '../metrics/read';

export type { StatusInfo, UplinkView, CounterView, Sample } from './queries';
export type { LiveTopics, LiveMessage, LiveUplink, LiveCounters, LiveConnections, LiveEvent, LiveApply } from './live';
export { isDemo, uplinkCounterNames, AGENT_STALE_MS } from './queries';
export { emptyConfig, invalidMessage } from '../store/revisions';
export { auditFilterFrom, auditCsv } from '../store/audit';
export { redactSecrets } from '../store/secrets';

/** The session check of every read: at most one database lookup per request (React cache in
 *  server components; in route handlers and actions it simply runs again). */
export const sessionUser = cache(requireUser);

/** `fn` behind the session check. */
function guarded<A extends unknown[], R>(fn: (...a: A) => Promise<R> | R): (...a: A) => Promise<R> {
  return async (...a: A) => {
    await sessionUser();
    return fn(...a);
  };
}

// Status, uplinks, counters, connections (lib/web/queries).
export const getStatus = guarded(q.getStatus);
export const getUplinksAt = guarded(q.getUplinksAt);
export const pendingRevisions = guarded(q.pendingRevisions);
export const revisionNeighbors = guarded(q.revisionNeighbors);
export const recentEvents = guarded(q.recentEvents);
export const getCounters = guarded(q.getCounters);
export const getSamples = guarded(q.getSamples);
/** A reader of live counters is here: the agent reads them every 2 s (else every 10 s). */
export const markCountersWatched = guarded(() => markWatched(metricsDb(), 'counters'));
/** The Connections page and /api/connections: one page of flows + aggregates (lib/web/connections). */
export const connectionsPage = guarded(conns.connectionsView);
export const pendingLabRequests = guarded(q.pendingLabRequests);
export const recentNotifications = guarded(q.recentNotifications);
export const backupFile = guarded(q.backupFile);
export const restoreBackupUpload = guarded(q.restoreBackupUpload);

// Desired state and history (lib/store).
// One parse of the desired state per request (the layout and the page both read it).
const desiredOnce = cache(revisions.desiredState);
export const desiredState = guarded(desiredOnce);
export const latestRevision = guarded(async () => (await desiredOnce()).revision);
export const readRevision = guarded(revisions.readRevision);
export const listRevisions = guarded(revisions.listRevisions);
export const history = guarded(safety.history);
export const lastFacts = guarded(safety.lastFacts);
export const pendingConfirmation = guarded(safety.pendingConfirmation);
export const appliedRevision = guarded(safety.appliedRevision);

// Audit log, drops, bans.
export const listAudit = guarded(auditStore.listAudit);
export const auditFacets = guarded(auditStore.auditFacets);
export const dropSummary = guarded(drops.dropSummary);
export const recentDrops = guarded(drops.recentDrops);
export const logBackend = guarded(drops.logBackend);
export const listBans = guarded(drops.listBans);
export const listBanEvents = guarded(drops.listBanEvents);
export const allowRuleFromDrop = guarded(drops.allowRuleFromDrop);

// The live feed (GET /api/events): opened behind the session check; the stream re-checks the
// session (token from the request's cookie) every 10 s and ends when it is gone (signed out,
// expired, the user deleted).
export const liveStream = guarded(async (token: string | undefined, signal?: AbortSignal) =>
  eventStream({ signal, stillAllowed: async () => (await validateSession(token)) !== null }));
