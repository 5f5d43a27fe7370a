#!/usr/bin/env bash
# `sudo npm run demo`: install what is missing, build, start the lab network, the agent (inside the
# lab's router namespace) and the dashboard on the embedded SQLite database. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHECKPOINT_DISABLE=1 NEXT_TELEMETRY_DISABLED=1
if [ "$(id -u)" -ne 0 ]; then
  echo "linkward demo: needs root for the lab network and the agent: sudo npm run demo" >&2
  exit 1
fi
bash scripts/setup.sh
PREFIX="${LINKWARD_LAB_PREFIX:-lw}"
PORT="${PORT:-3000}"
HOST="${HOST:-127.0.0.1}"
# One database for the demo and every `npx linkward …` run from this checkout: the CLI's own
# default (data/linkward.db, asked from the CLI so the two cannot disagree). A LINKWARD_DB given to
# the demo is passed on in the hints below.
DB_DEFAULT="$(env -u LINKWARD_DB node bin/linkward.js db path)"
export LINKWARD_DB="${LINKWARD_DB:-$DB_DEFAULT}"
if [ "$LINKWARD_DB" = "$DB_DEFAULT" ]; then CLI_ENV=""; else CLI_ENV="LINKWARD_DB=$LINKWARD_DB "; fi
mkdir -p "$(dirname "$LINKWARD_DB")" .lab

if [ ! -f .next/BUILD_ID ] || [ -n "$(find app components lib -newer .next/BUILD_ID -type f 2>/dev/null | head -1)" ]; then
  echo "linkward demo: building the dashboard (about a minute)" >&2
  npx next build >&2
fi

L="node bin/linkward.js"
$L lab up --prefix "$PREFIX" --config-out ".lab/$PREFIX-config.json"
$L import ".lab/$PREFIX-config.json"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo >&2; echo "linkward demo: stopping" >&2
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  $L lab down --prefix "$PREFIX" >&2 || true
  exit 0
}
trap cleanup INT TERM EXIT

LINKWARD_DEMO_LAB="$PREFIX" ip netns exec "$PREFIX-rtr" node bin/linkward.js agent > .lab/agent.log 2>&1 &
pids+=($!)
LINKWARD_DEMO=1 $L web --host "$HOST" --port "$PORT" > .lab/web.log 2>&1 &
pids+=($!)

for _ in $(seq 1 60); do
  if node -e "fetch('http://$HOST:$PORT/login').then(r=>process.exit(r.status<500?0:1)).catch(()=>process.exit(1))" 2>/dev/null; then break; fi
  sleep 1
done

cat <<MSG

  linkward demo is running
  ------------------------
  Dashboard:  http://$HOST:$PORT/
  Lab:        namespaces $PREFIX-lan (LAN host 192.168.1.10), $PREFIX-rtr (router, agent), $PREFIX-isp1/2, $PREFIX-net ("Internet")
  Database:   $LINKWARD_DB
  Logs:       .lab/agent.log  .lab/web.log

  First run: open the dashboard and create the admin account (allowed from this machine).
  Try:       ${CLI_ENV}npx linkward status
             sudo ${CLI_ENV}npx linkward lab whoami --count 20   (which uplink addresses 20 new LAN connections used)
             "simulate failure" on an uplink card, then watch failover on the overview.

  Ctrl-C stops the agent, the dashboard and removes the lab.
MSG
wait -n "${pids[@]}" || true
echo "linkward demo: a process exited; see .lab/agent.log and .lab/web.log" >&2
