#!/usr/bin/env bash
# Builds (once) the Debian 13 "trixie" root used by the container boot test
# (test/integration/boot-container.test.ts): debootstrap minbase with systemd and what the linkward
# package depends on, so `apt install ./linkward_*.deb` inside it needs nothing from the network.
# Cached under .cache/boot-root/ (gitignored); rebuilt when the package list below changes.
# usage: bash scripts/boot-root.sh [ROOT]      prints the root directory on stdout
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="${1:-$PWD/.cache/boot-root/trixie}"
# systemd-resolved is left out on purpose: the container must keep the host's DNS handling simple.
INCLUDE="systemd,systemd-sysv,dbus,nodejs,nftables,iproute2,conntrack,iputils-ping,procps,openssl,ca-certificates"
STAMP="$ROOT/.linkward-boot-root"
want="trixie minbase $INCLUDE"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "$ROOT"
  exit 0
fi
# The Debian mirror this machine's apt uses (first deb.debian.org-style URI of the apt sources).
MIRROR="${LINKWARD_DEBIAN_MIRROR:-}"
if [ -z "$MIRROR" ]; then
  MIRROR="$( (cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true) \
    | grep -oE '^(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian/?([[:space:]]|$)' | awk '{print $2}' | head -1 || true)"
fi
[ -n "$MIRROR" ] || { echo "boot-root: no Debian mirror found in the apt sources; set LINKWARD_DEBIAN_MIRROR" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "boot-root: debootstrap missing (bash scripts/setup.sh installs it)" >&2; exit 1; }
rm -rf "$ROOT.tmp"
mkdir -p "$(dirname "$ROOT")"
t0=$(date +%s.%N)
debootstrap --variant=minbase --include="$INCLUDE" trixie "$ROOT.tmp" "$MIRROR" >&2
# Container hygiene: no getty on the console, a fixed machine id for a reproducible journal, a
# hostname; apt sources kept (the root's own mirror) but never used by the test.
echo linkward-boot > "$ROOT.tmp/etc/hostname"
rm -f "$ROOT.tmp/etc/machine-id"; : > "$ROOT.tmp/etc/machine-id"
chroot "$ROOT.tmp" systemctl mask console-getty.service getty@tty1.service systemd-firstboot.service >/dev/null 2>&1 || true
rm -rf "$ROOT.tmp/var/cache/apt/archives/"*.deb
echo "$want" > "$ROOT.tmp/.linkward-boot-root"
rm -rf "$ROOT"
mv "$ROOT.tmp" "$ROOT"
echo "boot-root: built $ROOT in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" >&2
echo "$ROOT"
