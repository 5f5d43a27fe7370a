import { redirect } from 'next/navigation';
import type { Metadata } from 'next';
import { clientAddress } from '@/lib/auth/request';
import { userCount } from '@/lib/auth/session';
import { isLoopbackAddress, isPrivateAddress } from '@/lib/auth/net';
import { AuthForm } from '@/components/AuthForm';
import { setup } from '@/lib/web/actions/auth';

export const metadata: Metadata = { title: 'Set up' };
export const dynamic = 'force-dynamic';

export default async function SetupPage() {
  if ((await userCount()) > 0) redirect('/login');
  const ip = await clientAddress();
  // The token is required unless the browser runs on the router itself (loopback).
  const where = isLoopbackAddress(ip) ? 'loopback' : isPrivateAddress(ip) ? 'private' : ip ? 'public' : 'unknown';
  return <AuthForm mode="setup" action={setup} needsToken={where !== 'loopback'} where={where} />;
}
