-- Issue 15 (packet log): DropLog also holds the packets NFLOG hands to ulogd2 (agent/ulogd.ts):
-- hits of admin rules with `log: true` (rule = its name, verdict = its action) and the built-in
-- drop log (rule NULL, verdict 'drop'); `via` says where a row came from ('set': the kernel
-- drop-record sets, counted per poll; 'nflog': one packet), `len` the packet's length in bytes.
-- (Numbered 0008: 0007 is taken by the connections work of issue 16.)
ALTER TABLE "DropLog" ADD COLUMN "rule" TEXT;
ALTER TABLE "DropLog" ADD COLUMN "verdict" TEXT;
ALTER TABLE "DropLog" ADD COLUMN "via" TEXT NOT NULL DEFAULT 'set';
ALTER TABLE "DropLog" ADD COLUMN "len" INTEGER;
CREATE INDEX "DropLog_rule_idx" ON "DropLog"("rule");
