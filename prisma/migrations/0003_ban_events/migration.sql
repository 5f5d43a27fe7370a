-- Issue 12: every port-scan ban is an event — which closed ports the source probed (from the
-- kernel set lw_scan_ports, first 64, as JSON) and on which uplink(s).
ALTER TABLE "Ban" ADD COLUMN "ports" TEXT NOT NULL DEFAULT '[]';
ALTER TABLE "Ban" ADD COLUMN "uplink" TEXT;
