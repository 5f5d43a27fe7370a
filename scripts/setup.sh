#!/usr/bin/env bash
# Installs what linkward needs on a fresh Debian machine: system packages (apt) and npm deps.
# Idempotent: does nothing that is already done. Needs root for apt (sudo npm run demo / sudo npm test).
set -euo pipefail
cd "$(dirname "$0")/.."
export CHECKPOINT_DISABLE=1 NEXT_TELEMETRY_DISABLED=1 DEBIAN_FRONTEND=noninteractive

need=()
command -v nft >/dev/null || need+=(nftables)
command -v ip >/dev/null || need+=(iproute2)
command -v conntrack >/dev/null || need+=(conntrack)
command -v iperf3 >/dev/null || need+=(iperf3)
# Not here on purpose: shorewall and lsm, the peer of `npm run bench -- --peer shorewall`, which
# installs them itself when missing (bench/peer/install.ts) so that no other run carries them.
command -v radvd >/dev/null || need+=(radvd)   # router advertisements for IPv6 LANs (the agent runs it)
command -v dhcpcd >/dev/null || need+=(dhcpcd-base)   # DHCPv6 prefix delegation (ipv6.prefix "auto"; the agent runs it)
command -v kea-dhcp6 >/dev/null || need+=(kea-dhcp6-server)   # the lab ISPs' DHCPv6-PD servers
command -v ulogd >/dev/null || need+=(ulogd2)  # the packet log: NFLOG reader (the agent runs it, agent/ulogd.ts)
[ -n "$(ls /usr/lib/*/ulogd/ulogd_output_JSON.so 2>/dev/null)" ] || need+=(ulogd2-json)  # its JSON output
command -v ping >/dev/null || need+=(iputils-ping)
command -v iptables >/dev/null || need+=(iptables)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v tc >/dev/null || need+=(iproute2)
# Observability tests (issue 17): promtool + a real Prometheus server, a real MTA (exim) run by the
# tests in a namespace with their own config, openssl for its STARTTLS certificate.
command -v promtool >/dev/null || need+=(prometheus)
command -v exim4 >/dev/null || need+=(exim4-daemon-light)
command -v openssl >/dev/null || need+=(openssl)
# Kernels without sch_netem: the lab's delay fallback is a small Python echo responder.
command -v python3 >/dev/null || need+=(python3)
# Packaging and the container boot test (scripts/package.sh, test/integration/boot-*.test.ts).
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v certutil >/dev/null || need+=(libnss3-tools)
command -v curl >/dev/null || need+=(curl)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "linkward setup: missing packages: ${need[*]} (run with sudo to install them)" >&2
    exit 1
  fi
  echo "linkward setup: installing ${need[*]}" >&2
  apt-get update -qq
  # Packages with daemons (prometheus, exim4, kea) must not start system-wide services: the tests run
  # their own instances. Without a policy-rc.d, put one in place for this install only.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  rc=0
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 || rc=$?
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ "$rc" -ne 0 ]; then exit "$rc"; fi
fi

# npm deps: install when missing or when the lockfile is newer than the install.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "linkward setup: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
# Prisma client (generated at postinstall; regenerate if the schema changed since).
if [ ! -f lib/generated/prisma/client.ts ] || [ prisma/schema.prisma -nt lib/generated/prisma/client.ts ]; then
  node scripts/prisma-generate.js >&2
fi
