import { sessionUser, getStatus, desiredState, invalidMessage } from '@/lib/web/data';
import { Nav } from '@/components/Nav';
import { StatusBar } from '@/components/StatusBar';
import { logout } from '@/lib/web/actions/session';
import { ActionForm } from '@/components/ActionForm';
import { ConfirmBanner } from '@/components/ConfirmBanner';
import { confirmAction } from '@/lib/web/actions/revisions';
import { LiveProvider } from '@/components/Live';

export const dynamic = 'force-dynamic';

export default async function DashLayout({ children }: { children: React.ReactNode }) {
  const user = await sessionUser();
  const [status, desired] = await Promise.all([getStatus(), desiredState()]);
  return (
    <LiveProvider initialStatus={status}>
    <div className="min-h-screen md:flex">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 btn">Skip to content</a>
      {/* The aside stretches to the page's full height (its background and border reach the
          bottom of a long page); its content sticks to the top of the viewport while scrolling. */}
      <aside className="border-b border-zinc-200 bg-white md:w-52 md:shrink-0 md:border-b-0 md:border-r dark:border-zinc-800 dark:bg-zinc-900" data-testid="sidebar">
        <div className="md:sticky md:top-0 md:max-h-screen md:overflow-y-auto">
        <div className="flex items-center gap-2 px-4 py-3">
          <img src="/icon.svg" alt="" width={24} height={24} />
          <span className="font-semibold tracking-tight">linkward</span>
        </div>
        <Nav />
        <div className="hidden px-4 py-3 text-xs muted md:block">
          <p>Signed in as <strong className="text-zinc-700 dark:text-zinc-200">{user.username}</strong></p>
          <ActionForm action={logout} className="mt-2">
            <button type="submit" className="btn btn-sm">Sign out</button>
          </ActionForm>
        </div>
        </div>
      </aside>
      <div className="min-w-0 flex-1">
        <StatusBar initial={status} />
        <ConfirmBanner confirm={confirmAction} />
        {desired.invalid.length > 0 && (
          <div role="alert" className="border-b border-red-300 bg-red-50 px-4 py-2 text-sm text-red-900 dark:border-red-900 dark:bg-red-950 dark:text-red-100" data-testid="invalid-revision">
            {invalidMessage(desired)}. The agent does not apply a revision that does not validate; it keeps what it applied last.
          </div>
        )}
        <div className="flex items-center justify-end gap-2 px-4 pt-2 text-xs muted md:hidden">
          <span>{user.username}</span>
          <ActionForm action={logout}>
            <button type="submit" className="btn btn-sm">Sign out</button>
          </ActionForm>
        </div>
        <main id="main" className="mx-auto max-w-6xl space-y-6 p-4 md:p-6">{children}</main>
      </div>
    </div>
    </LiveProvider>
  );
}
