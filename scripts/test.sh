#!/usr/bin/env bash
# The project's test command: starts (or reuses) every server the suite needs on loopback, then
# runs the whole workspace's tests, conformance suite included, against them.
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh -p session-redis  # extra arguments go to `cargo test`
# Under CI=true a backend whose server is unreachable fails the run instead of being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
start_all
# The cluster is the suite's own: tear it down afterwards if this run started it.
# (SESSION_KEEP_SERVICES=1 keeps it for the next run.)
if [ "$STARTED_REDIS_CLUSTER" = 1 ] && [ "${SESSION_KEEP_SERVICES:-0}" != 1 ]; then
  trap stop_redis_cluster EXIT
fi
cargo test --workspace "$@"
