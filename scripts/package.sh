#!/usr/bin/env bash
# `npm run package`: build the Debian package dist/linkward_<version>_<arch>.deb with dpkg-deb,
# offline (no download: the dashboard is Next.js's standalone build, the CLI and agent one
# esbuild bundle, everything from this checkout and its node_modules).
#   LINKWARD_PKG_VERSION=0.1.1 npm run package    another version from the same build (upgrade tests)
#   LINKWARD_PKG_OUT=DIR                           where the .deb goes (default dist/)
# The Next build is reused when it is a standalone build newer than every source file.
# Layout inside the package: docs/install.md "What the package installs".
set -euo pipefail
cd "$(dirname "$0")/.."
export CHECKPOINT_DISABLE=1 NEXT_TELEMETRY_DISABLED=1 LC_ALL=C
t0=$(date +%s.%N)
VERSION="${LINKWARD_PKG_VERSION:-$(node -p 'require("./package.json").version')}"
[[ "$VERSION" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || { echo "package: bad version ${VERSION@Q}" >&2; exit 2; }
ARCH="$(dpkg --print-architecture)"
OUT="${LINKWARD_PKG_OUT:-$PWD/dist}"
STAGE="$PWD/.cache/pkg/stage"
DEB="$OUT/linkward_${VERSION}_${ARCH}.deb"

fresh_build() {
  [ -f .next/BUILD_ID ] && [ -f .next/standalone/server.js ] || return 1
  [ -z "$(find app components lib proxy.ts next.config.js package-lock.json prisma -newer .next/BUILD_ID -type f 2>/dev/null | grep -v '^lib/generated/' | head -1)" ]
}
if fresh_build; then
  echo "package: reusing the standalone build in .next" >&2
else
  echo "package: building the dashboard (next build, standalone output)" >&2
  LINKWARD_STANDALONE=1 npx next build >&2
fi
tb=$(date +%s.%N)

# The standalone trace holds .next, node_modules, package.json and prisma/migrations (read at run
# time by lib/db/migrate.ts). A computed file path in server
# code without /*turbopackIgnore: true*/ makes the tracer take the whole checkout (sources, tests,
# next.config.js — which then needs webpack at run time): refuse such a build.
extra=$(ls -A .next/standalone | grep -vxE '\.next|node_modules|package\.json|server\.js|prisma' || true)
if [ -n "$extra" ]; then
  echo "package: the standalone build traced files of the checkout ($(echo $extra | tr '\n' ' ')); mark the fs calls with /*turbopackIgnore: true*/ (see lib/db/migrate.ts)" >&2
  exit 1
fi
rm -rf "$STAGE"
L="$STAGE/usr/lib/linkward"
mkdir -p "$L" "$OUT"
# the dashboard: traced server files + node_modules, static assets beside them
cp -a .next/standalone/. "$L/"
rm -f "$L/server.js"   # Next's own server; ours is lib/web/server.mjs
mkdir -p "$L/.next"
cp -a .next/static "$L/.next/static"
[ -d public ] && cp -a public "$L/public"
rm -rf "$L/.next/cache"
# next/image is not used: its optional image library (sharp + libvips, ~20 MB) is left out
rm -rf "$L/node_modules/sharp" "$L/node_modules/@img"
# what the standalone trace cannot see: our HTTP front, the SQL migrations (read at run time)
mkdir -p "$L/lib/web" "$L/prisma"
cp lib/web/server.mjs lib/web/listen.mjs "$L/lib/web/"
cp -a prisma/migrations "$L/prisma/migrations"
# CLI + agent, prebuilt (nothing is compiled or cached at run time)
node --import tsx packaging/build.ts "$L/cli" >&2
for m in better-sqlite3 @prisma/client @prisma/adapter-better-sqlite3; do
  [ -e "$L/node_modules/$m/package.json" ] || { echo "package: $m missing from the standalone node_modules" >&2; exit 1; }
done
install -D -m 0644 packaging/boot/default.nft "$L/boot/default.nft"
install -D -m 0755 packaging/libexec/linkward-restore "$L/libexec/linkward-restore"
install -D -m 0755 packaging/bin/linkward "$STAGE/usr/bin/linkward"
for u in packaging/systemd/*; do install -D -m 0644 "$u" "$STAGE/usr/lib/systemd/system/$(basename "$u")"; done
install -D -m 0644 packaging/web.env "$STAGE/etc/linkward/web.env"
install -D -m 0644 docs/install.md "$STAGE/usr/share/doc/linkward/install.md"
install -D -m 0644 README.md "$STAGE/usr/share/doc/linkward/README.md"
printf 'linkward\nLicense: MIT (see package.json). Bundled npm packages keep their own licenses.\n' > "$STAGE/usr/share/doc/linkward/copyright"
echo "$VERSION" > "$L/VERSION"

# ownership comes from dpkg-deb --root-owner-group; modes: no group/other write anywhere
chmod -R u+rwX,go+rX,go-w "$STAGE"
mkdir -p "$STAGE/DEBIAN"
SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" packaging/debian/control.in > "$STAGE/DEBIAN/control"
install -m 0644 packaging/debian/conffiles "$STAGE/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "packaging/debian/$s" "$STAGE/DEBIAN/$s"; done
rm -f "$DEB"
# xz for what you ship; LINKWARD_PKG_COMPRESS=gzip is faster (tests)
case "${LINKWARD_PKG_COMPRESS:-xz}" in
  xz) comp=(-Zxz -z6) ;; gzip) comp=(-Zgzip -z6) ;; none) comp=(-Znone) ;;
  *) echo "package: LINKWARD_PKG_COMPRESS must be xz, gzip or none" >&2; exit 2 ;;
esac
dpkg-deb --root-owner-group "${comp[@]}" --build "$STAGE" "$DEB" >&2
t1=$(date +%s.%N)
printf 'package: %s (%s KiB, installed %s KiB); next build %.1f s, packaging %.1f s\n' "$DEB" "$(( $(stat -c %s "$DEB") / 1024 ))" "$SIZE" \
  "$(awk -v a="$t0" -v b="$tb" 'BEGIN { print b - a }')" "$(awk -v a="$tb" -v b="$t1" 'BEGIN { print b - a }')" >&2
echo "$DEB"
