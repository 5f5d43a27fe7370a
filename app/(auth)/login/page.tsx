import { redirect } from 'next/navigation';
import type { Metadata } from 'next';
import { currentUser } from '@/lib/auth/request';
import { userCount } from '@/lib/auth/session';
import { AuthForm } from '@/components/AuthForm';
import { login } from '@/lib/web/actions/auth';

export const metadata: Metadata = { title: 'Sign in' };
export const dynamic = 'force-dynamic';

export default async function LoginPage() {
  if ((await userCount()) === 0) redirect('/setup');
  if (await currentUser()) redirect('/');
  return <AuthForm mode="login" action={login} needsToken={false} />;
}
