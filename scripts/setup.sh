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
command -v ping >/dev/null || need+=(iputils-ping)
command -v iptables >/dev/null || need+=(iptables)
[ -x /usr/bin/chromium ] || need+=(chromium)
# Packaging and the container boot test (scripts/package.sh, test/integration/boot-*.test.ts).
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v openssl >/dev/null || need+=(openssl)
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
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
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
