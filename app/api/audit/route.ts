// Audit log export: /api/audit?format=csv|json&actor=&action=&q=&hours= (same filter as the page).
import { withAuth } from '@/lib/web/auth-action';
import { listAudit, auditFilterFrom, auditCsv } from '@/lib/web/data';

export const dynamic = 'force-dynamic';

export const GET = withAuth(async (_user, req) => {
  const url = new URL(req.url);
  const filter = { ...auditFilterFrom(Object.fromEntries(url.searchParams)), limit: 100000 };
  const rows = await listAudit(filter);
  const csv = url.searchParams.get('format') === 'csv';
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  return new Response(csv ? auditCsv(rows) : JSON.stringify(rows.map((r) => ({ ...r, time: new Date(r.ts).toISOString() })), null, 2) + '\n', {
    headers: {
      'content-type': csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="linkward-audit-${stamp}.${csv ? 'csv' : 'json'}"`,
      'cache-control': 'no-store',
    },
  });
});
