import path from 'node:path';
import { defineConfig } from 'prisma/config';

// Generation needs no schema engine; we point PRISMA_SCHEMA_ENGINE_BINARY at an existing
// executable (scripts/prisma-generate.js) so the CLI never tries to download one.
// Migrations are plain SQL in prisma/migrations, applied by lib/db/migrate.ts.
export default defineConfig({
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  datasource: { url: `file:${process.env.LINKWARD_DB ?? path.join('data', 'linkward.db')}` },
});
