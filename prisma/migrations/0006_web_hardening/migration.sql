-- Issue 12 (web hardening): sign-in attempts counted in the database before any password hash
-- (one row per key and window: a source address or IPv6 /64, a username, or all sources), and an
-- audit log capped in rows and bytes whatever process writes it (web, CLI, agent): triggers keep
-- a running total and prune the oldest rows down to 90 % of the cap when it is exceeded.

CREATE TABLE "AuthThrottle" (
  "key" TEXT NOT NULL PRIMARY KEY,
  "windowStart" REAL NOT NULL,
  "attempts" INTEGER NOT NULL DEFAULT 0,
  "blocked" INTEGER NOT NULL DEFAULT 0,
  "auditId" INTEGER
);
CREATE INDEX "AuthThrottle_windowStart_idx" ON "AuthThrottle"("windowStart");

CREATE TABLE "AuditLogCap" (
  "id" INTEGER NOT NULL PRIMARY KEY CHECK ("id" = 1),
  "maxRows" INTEGER NOT NULL,
  "maxBytes" INTEGER NOT NULL,
  "rows" INTEGER NOT NULL,
  "bytes" INTEGER NOT NULL
);
INSERT INTO "AuditLogCap" ("id", "maxRows", "maxBytes", "rows", "bytes")
  SELECT 1, 50000, 8388608, COUNT(*),
         COALESCE(SUM(length(CAST("actor" AS BLOB)) + length(CAST("action" AS BLOB)) + length(CAST("detail" AS BLOB))), 0)
  FROM "AuditLog";

-- BEFORE: counted first (BEFORE triggers run before AFTER triggers; a failed insert rolls both back).
CREATE TRIGGER "AuditLog_count_insert" BEFORE INSERT ON "AuditLog" BEGIN
  UPDATE "AuditLogCap" SET "rows" = "rows" + 1,
    "bytes" = "bytes" + length(CAST(NEW."actor" AS BLOB)) + length(CAST(NEW."action" AS BLOB)) + length(CAST(NEW."detail" AS BLOB))
  WHERE "id" = 1;
END;

CREATE TRIGGER "AuditLog_count_delete" AFTER DELETE ON "AuditLog" BEGIN
  UPDATE "AuditLogCap" SET "rows" = "rows" - 1,
    "bytes" = "bytes" - length(CAST(OLD."actor" AS BLOB)) - length(CAST(OLD."action" AS BLOB)) - length(CAST(OLD."detail" AS BLOB))
  WHERE "id" = 1;
END;

CREATE TRIGGER "AuditLog_count_update" AFTER UPDATE OF "actor", "action", "detail" ON "AuditLog" BEGIN
  UPDATE "AuditLogCap" SET
    "bytes" = "bytes" - length(CAST(OLD."actor" AS BLOB)) - length(CAST(OLD."action" AS BLOB)) - length(CAST(OLD."detail" AS BLOB))
                      + length(CAST(NEW."actor" AS BLOB)) + length(CAST(NEW."action" AS BLOB)) + length(CAST(NEW."detail" AS BLOB))
  WHERE "id" = 1;
END;

-- After an insert that is oversized or brings the log over a cap (both rare; the WHEN keeps the
-- common insert cheap): the row is cut down first (so no single row can push the others out),
-- then, if over a cap, the oldest rows are deleted until 90 % of both caps remain.
CREATE TRIGGER "AuditLog_cap" AFTER INSERT ON "AuditLog"
WHEN length(NEW."actor") > 100 OR length(NEW."action") > 100 OR length(NEW."detail") > 2000
  OR (SELECT "rows" > "maxRows" OR "bytes" > "maxBytes" FROM "AuditLogCap" WHERE "id" = 1)
BEGIN
  UPDATE "AuditLog" SET "actor" = substr("actor", 1, 100), "action" = substr("action", 1, 100), "detail" = substr("detail", 1, 2000)
  WHERE "id" = NEW."id" AND (length(NEW."actor") > 100 OR length(NEW."action") > 100 OR length(NEW."detail") > 2000);
  DELETE FROM "AuditLog" WHERE "id" IN (
    SELECT o."id" FROM (
      SELECT "id", len,
             ROW_NUMBER() OVER (ORDER BY "id") AS n,
             SUM(len) OVER (ORDER BY "id" ROWS UNBOUNDED PRECEDING) AS cum
      FROM (SELECT "id", length(CAST("actor" AS BLOB)) + length(CAST("action" AS BLOB)) + length(CAST("detail" AS BLOB)) AS len FROM "AuditLog")
    ) o, "AuditLogCap" c
    -- over a cap: a row goes while the rows before it do not yet bring the log under 90 % of both caps
    WHERE c."id" = 1 AND (c."rows" > c."maxRows" OR c."bytes" > c."maxBytes")
      AND (o.n <= c."rows" - c."maxRows" * 9 / 10 OR o.cum - o.len < c."bytes" - c."maxBytes" * 9 / 10)
  );
END;
