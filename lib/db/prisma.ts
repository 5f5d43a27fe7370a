import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from '../generated/prisma/client';
import { dbPath } from './path';
import { openDb, closeWriteDb } from './sqlite';

export type { PrismaClient };

const g = globalThis as unknown as { __lwPrisma?: { file: string; client: PrismaClient } };

/** One Prisma client per process and database file (better-sqlite3 driver adapter, no engine binary).
 *  Migrations are applied (once) before the first client is handed out. */
export function prisma(file = dbPath()): PrismaClient {
  if (g.__lwPrisma && g.__lwPrisma.file === file) return g.__lwPrisma.client;
  openDb(file).close(); // migrate + set WAL (persistent in the file)
  const adapter = new PrismaBetterSqlite3({ url: `file:${file}`, timeout: 5000 });
  const client = new PrismaClient({ adapter });
  g.__lwPrisma = { file, client };
  return client;
}

/** Close this process's database connections (the Prisma client and the write connection). */
export async function disconnect(): Promise<void> {
  closeWriteDb();
  if (g.__lwPrisma) {
    await g.__lwPrisma.client.$disconnect();
    g.__lwPrisma = undefined;
  }
}
