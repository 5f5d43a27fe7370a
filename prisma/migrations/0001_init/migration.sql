CREATE TABLE "Revision" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "createdAt" REAL NOT NULL,
  "author" TEXT NOT NULL,
  "source" TEXT NOT NULL,
  "summary" TEXT NOT NULL,
  "config" TEXT NOT NULL,
  "confirmWithin" INTEGER,
  "confirmedAt" REAL,
  "rolledBackAt" REAL
);

CREATE TABLE "AgentState" (
  "id" INTEGER NOT NULL PRIMARY KEY,
  "appliedRevision" INTEGER,
  "appliedAt" REAL,
  "applyMs" REAL,
  "applyError" TEXT,
  "errorRevision" INTEGER,
  "errorAt" REAL,
  "facts" TEXT NOT NULL DEFAULT '{}',
  "heartbeatAt" REAL,
  "pid" INTEGER,
  "startedAt" REAL,
  "pendingConfirm" INTEGER,
  "confirmDeadline" REAL
);

CREATE TABLE "UplinkStatus" (
  "name" TEXT NOT NULL PRIMARY KEY,
  "state" TEXT NOT NULL,
  "since" REAL NOT NULL,
  "reason" TEXT NOT NULL DEFAULT '',
  "address" TEXT,
  "gateway" TEXT,
  "latencyMs" REAL,
  "lossPct" REAL,
  "connections" INTEGER NOT NULL DEFAULT 0,
  "rxBytes" BIGINT NOT NULL DEFAULT 0,
  "txBytes" BIGINT NOT NULL DEFAULT 0,
  "updatedAt" REAL NOT NULL
);

CREATE TABLE "Counter" (
  "name" TEXT NOT NULL PRIMARY KEY,
  "kind" TEXT NOT NULL,
  "ref" TEXT NOT NULL,
  "packets" BIGINT NOT NULL,
  "bytes" BIGINT NOT NULL,
  "updatedAt" REAL NOT NULL
);

CREATE TABLE "CounterSample" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "name" TEXT NOT NULL,
  "ts" REAL NOT NULL,
  "packets" BIGINT NOT NULL,
  "bytes" BIGINT NOT NULL
);
CREATE INDEX "CounterSample_name_ts_idx" ON "CounterSample"("name", "ts");

CREATE TABLE "Event" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "ts" REAL NOT NULL,
  "type" TEXT NOT NULL,
  "uplink" TEXT,
  "message" TEXT NOT NULL
);
CREATE INDEX "Event_ts_idx" ON "Event"("ts");

CREATE TABLE "Connection" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "proto" TEXT NOT NULL,
  "src" TEXT NOT NULL,
  "dst" TEXT NOT NULL,
  "sport" INTEGER,
  "dport" INTEGER,
  "state" TEXT,
  "uplink" TEXT,
  "packets" BIGINT NOT NULL DEFAULT 0,
  "bytes" BIGINT NOT NULL DEFAULT 0,
  "ts" REAL NOT NULL
);

CREATE TABLE "User" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "username" TEXT NOT NULL,
  "passwordHash" TEXT NOT NULL,
  "createdAt" REAL NOT NULL
);
CREATE UNIQUE INDEX "User_username_key" ON "User"("username");

CREATE TABLE "Session" (
  "id" TEXT NOT NULL PRIMARY KEY,
  "userId" INTEGER NOT NULL,
  "createdAt" REAL NOT NULL,
  "expiresAt" REAL NOT NULL,
  "ip" TEXT NOT NULL DEFAULT '',
  CONSTRAINT "Session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE "AuditLog" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "ts" REAL NOT NULL,
  "actor" TEXT NOT NULL,
  "action" TEXT NOT NULL,
  "detail" TEXT NOT NULL DEFAULT ''
);
CREATE INDEX "AuditLog_ts_idx" ON "AuditLog"("ts");

CREATE TABLE "AgentRequest" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "createdAt" REAL NOT NULL,
  "type" TEXT NOT NULL,
  "args" TEXT NOT NULL DEFAULT '{}',
  "doneAt" REAL,
  "result" TEXT
);

CREATE TABLE "DropLog" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "ts" REAL NOT NULL,
  "chain" TEXT NOT NULL,
  "inIf" TEXT,
  "outIf" TEXT,
  "uplink" TEXT,
  "src" TEXT NOT NULL,
  "dst" TEXT NOT NULL,
  "proto" TEXT NOT NULL,
  "sport" INTEGER,
  "dport" INTEGER
);
CREATE INDEX "DropLog_ts_idx" ON "DropLog"("ts");

CREATE TABLE "Setting" (
  "key" TEXT NOT NULL PRIMARY KEY,
  "value" TEXT NOT NULL
);
