#!/usr/bin/env bash
# Start one dhakacart-bench load worker and keep it serving its master.
#
# Used by the systemd unit and the cloud-init recipe in this folder (the
# Kubernetes manifest runs `bench worker` directly). Configuration comes from the environment:
#
#   BENCH_MASTER      HOST[:PORT] of the master (`bench master --bind ...`)    required
#   BENCH_BIN         the bench executable (default: bench on PATH)
#   BENCH_TARGET      optional URL: aim this worker's users at it instead of the
#                     master's target (e.g. a per-zone load balancer address)
#   BENCH_CONNECT_TIMEOUT  seconds to keep trying to reach the master (default 120)
#
# Locust's master/worker channel is unauthenticated: keep it on a private network.
set -euo pipefail

: "${BENCH_MASTER:?set BENCH_MASTER to HOST[:PORT] of the master}"
bench="${BENCH_BIN:-bench}"

# One worker holds one socket per user: raise the open-files limit as far as allowed.
hard=$(ulimit -Hn)
ulimit -Sn "$hard" 2>/dev/null || true

args=(worker --master "$BENCH_MASTER" --connect-timeout "${BENCH_CONNECT_TIMEOUT:-120}")
if [ -n "${BENCH_TARGET:-}" ]; then
    args+=(--host "$BENCH_TARGET")
fi
exec "$bench" "${args[@]}"
