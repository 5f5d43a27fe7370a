#!/usr/bin/env bash
# The full test suite: `sudo npm test` (CI: plain `npm test` as root, via .ci/run).
# Unit + golden tests run anywhere; nft -c, lab integration and browser E2E need root.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHECKPOINT_DISABLE=1 NEXT_TELEMETRY_DISABLED=1 LC_ALL=C
bash scripts/setup.sh

# Unit + golden tests first, two files at a time (pure, no kernel, no fixed ports: they share
# nothing); then everything that uses the kernel, the lab or a browser, one file at a time.
unit=()
while IFS= read -r f; do unit+=("$f"); done < <(find test/unit test/golden -name '*.test.ts' 2>/dev/null | sort)
rc=0
# Options given to npm test (npm test -- --test-name-pattern=x) go before the files: node 20
# takes anything after the first file for a file. TAP on stdout as before; a second reporter,
# scripts/test-file-times.mjs, adds each file's time on stderr at the end.
report=(--test-reporter=tap --test-reporter-destination=stdout --test-reporter=./scripts/test-file-times.mjs --test-reporter-destination=stderr)
node --import tsx --test "${report[@]}" --test-concurrency=2 --test-timeout=600000 "$@" "${unit[@]}" || rc=$?

files=()
if [ "$(id -u)" -eq 0 ]; then
  while IFS= read -r f; do files+=("$f"); done < <(find test/integration -name '*.test.ts' 2>/dev/null | sort)
  if [ -d test/e2e ] && [ -n "$(find test/e2e -name '*.test.ts' 2>/dev/null)" ]; then
    echo "linkward test: building the dashboard for the browser tests" >&2
    # standalone output too: the package boot test (scripts/package.sh) reuses this build
    LINKWARD_STANDALONE=1 npx next build >&2
    while IFS= read -r f; do files+=("$f"); done < <(find test/e2e -name '*.test.ts' | sort)
  fi
  node --import tsx --test "${report[@]}" --test-concurrency=1 --test-timeout=600000 "$@" "${files[@]}" || rc=$?
else
  echo "linkward test: not root: skipping kernel (nft, netns) and browser tests; run with sudo for the full suite" >&2
fi
exit "$rc"
