// Wrappers that every server action and route handler goes through: no session, no effect.
import { NextResponse } from 'next/server';
import { currentUser } from '../auth/request';
import type { SessionUser } from '../auth/session';

export class NotSignedIn extends Error {
  constructor() {
    super('not signed in (session expired?): reload the page and sign in again');
  }
}

/** For server actions: returns the user or throws (the action then has no effect). */
export async function actionUser(): Promise<SessionUser> {
  const u = await currentUser();
  if (!u) throw new NotSignedIn();
  return u;
}

/** For route handlers: 401 JSON unless signed in. */
export function withAuth<A extends unknown[]>(
  handler: (user: SessionUser, req: Request, ...rest: A) => Promise<Response>,
): (req: Request, ...rest: A) => Promise<Response> {
  return async (req: Request, ...rest: A) => {
    const u = await currentUser();
    if (!u) return NextResponse.json({ error: 'not signed in' }, { status: 401, headers: { 'cache-control': 'no-store' } });
    return handler(u, req, ...rest);
  };
}
