-- Issue 17 (observability and alerts): write-only secrets of the configuration document, the
-- agent's notification queue, metered-uplink usage, and the agent's own metrics (counters and
-- histogram buckets that Prometheus reads through GET /metrics).
CREATE TABLE "Secret" (
  "id" TEXT NOT NULL PRIMARY KEY,
  "value" TEXT NOT NULL,
  "createdAt" REAL NOT NULL
);

CREATE TABLE "Notification" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "createdAt" REAL NOT NULL,
  "channel" TEXT NOT NULL,
  "event" TEXT NOT NULL,
  "uplink" TEXT,
  "payload" TEXT NOT NULL,
  "attempts" INTEGER NOT NULL DEFAULT 0,
  "nextAt" REAL NOT NULL,
  "sentAt" REAL,
  "failedAt" REAL,
  "lastError" TEXT
);
CREATE INDEX "Notification_pending_idx" ON "Notification"("sentAt", "failedAt", "nextAt");

CREATE TABLE "MeterUsage" (
  "uplink" TEXT NOT NULL PRIMARY KEY,
  "periodStart" REAL NOT NULL,
  "bytes" BIGINT NOT NULL DEFAULT 0,
  "lastRx" BIGINT NOT NULL DEFAULT 0,
  "lastTx" BIGINT NOT NULL DEFAULT 0,
  "notified" REAL NOT NULL DEFAULT 0,
  "updatedAt" REAL NOT NULL
);

CREATE TABLE "AgentMetric" (
  "name" TEXT NOT NULL,
  "labels" TEXT NOT NULL DEFAULT '',
  "value" REAL NOT NULL,
  PRIMARY KEY ("name", "labels")
);
