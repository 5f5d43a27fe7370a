-- Issue 14: the IPv6 side of each uplink, as the agent sees it (JSON: state, reason, address,
-- gateway, prefix, latencyMs, lossPct), NULL when the uplink has no IPv6 configured.
ALTER TABLE "UplinkStatus" ADD COLUMN "ipv6" TEXT;
