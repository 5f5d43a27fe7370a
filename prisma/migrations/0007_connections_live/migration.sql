-- Issue 16: the Connection table becomes a live mirror of conntrack kept by the agent from the
-- kernel's event stream (rows inserted and deleted as flows come and go, bytes/rate refreshed
-- while someone watches), paginated and aggregated by the dashboard in SQL. The rows are
-- transient (the agent rewrites them at start), so the table is recreated.
-- id: the conntrack id as a signed 32-bit integer (a hash of the tuple when the kernel gives none).
DROP TABLE "Connection";
CREATE TABLE "Connection" (
  "id" INTEGER NOT NULL PRIMARY KEY,
  "family" INTEGER NOT NULL DEFAULT 4,
  "proto" TEXT NOT NULL,
  "src" TEXT NOT NULL,
  "dst" TEXT NOT NULL,
  "sport" INTEGER,
  "dport" INTEGER,
  "state" TEXT,
  "uplink" TEXT,
  "host" TEXT,
  "local" INTEGER NOT NULL DEFAULT 0,
  "packets" BIGINT NOT NULL DEFAULT 0,
  "bytes" BIGINT NOT NULL DEFAULT 0,
  "rate" REAL,
  "firstSeen" REAL NOT NULL,
  "ts" REAL NOT NULL
);
CREATE INDEX "Connection_uplink_bytes_idx" ON "Connection"("uplink", "bytes");
CREATE INDEX "Connection_host_idx" ON "Connection"("host");
CREATE INDEX "Connection_bytes_idx" ON "Connection"("bytes");

-- Someone is looking (the Connections page, a counters reader): until when. The agent reads what
-- is expensive to read (per-flow bytes) only while a watch is fresh.
CREATE TABLE "Watch" (
  "name" TEXT NOT NULL PRIMARY KEY,
  "until" REAL NOT NULL
);
