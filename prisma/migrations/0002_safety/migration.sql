-- Issue 8 (safe changes and visibility): drop records carry a packet count (the agent aggregates
-- per poll), and the port-scan bans the agent reads from the kernel set lw_banned.
ALTER TABLE "DropLog" ADD COLUMN "count" INTEGER NOT NULL DEFAULT 1;

CREATE TABLE "Ban" (
  "address" TEXT NOT NULL PRIMARY KEY,
  "expiresAt" REAL NOT NULL,
  "timeoutS" INTEGER,
  "firstSeen" REAL NOT NULL,
  "updatedAt" REAL NOT NULL
);
