#!/usr/bin/env bash
# The project's test command. Runs the whole workspace's tests, the conformance suite on every
# backend included, against real servers:
#   - with a Docker engine: the containers in integration-tests/docker-compose.yml (Redis, a
#     3-master Redis Cluster, a real mongod, MariaDB 10.11, MySQL 8 and PostgreSQL 16), torn
#     down afterwards;
#   - without one: local servers on loopback, started when installed but not running
#     (scripts/services.sh), with the SecantusDB MongoDB-compatible server for MongoDB.
# Usage:
#   bash scripts/test.sh                                   # everything
#   bash scripts/test.sh -p integration-tests --test redis # arguments replace `cargo test`'s
#                                                          # default of --workspace
# SESSION_TEST_DOCKER=0 forces local servers, =1 forces Docker.
# SESSION_SERVICES_INSTALL=1 lets scripts/services.sh install what is missing (SecantusDB,
# chromium); without it a missing program is reported, and under CI=true fails the run.
# Under CI=true a backend whose server is unreachable fails the run instead of being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# The cleanup trap comes first, so that whatever fails later leaves nothing behind: the
# containers once `compose up` was attempted, and the Redis nodes this run started (unless
# SESSION_KEEP_SERVICES=1 keeps them for the next run).
compose=(docker compose -f integration-tests/docker-compose.yml)
compose_up=0
STARTED_REDIS_CLUSTER=0
STARTED_REDIS_REPLICATED_CLUSTER=0
STARTED_REDIS_SENTINEL=0
# `cargo test --workspace` overrides any `-p`, so it is the default only.
cargo_test() {
  if [ $# -eq 0 ]; then cargo test --workspace; else cargo test "$@"; fi
}
cleanup() {
  if [ "$compose_up" = 1 ]; then
    "${compose[@]}" down -v >/dev/null 2>&1 || true
  fi
  if [ "${SESSION_KEEP_SERVICES:-0}" != 1 ]; then
    if [ "$STARTED_REDIS_CLUSTER" = 1 ]; then stop_redis_cluster; fi
    if [ "$STARTED_REDIS_REPLICATED_CLUSTER" = 1 ]; then stop_redis_replicated_cluster; fi
    if [ "$STARTED_REDIS_SENTINEL" = 1 ]; then stop_redis_sentinel; fi
  fi
}
trap cleanup EXIT

export PATH="$HOME/.cargo/bin:$PATH"
source scripts/services.sh

# The Koa and Express apps of the node_interop test (integration-tests/node): their pinned
# packages from the committed package-lock.json. `npm ci` is skipped when node_modules already
# matches the lock (npm writes its copy to node_modules/.package-lock.json).
node_dir=integration-tests/node
if command -v npm >/dev/null 2>&1; then
  if ! cmp -s "$node_dir/package-lock.json" "$node_dir/node_modules/.package-lock.json" 2>/dev/null \
      && ! (cd "$node_dir" && npm ls --depth=0 >/dev/null 2>&1 && [ "$node_dir/node_modules/.package-lock.json" -nt "$node_dir/package-lock.json" ]); then
    echo "[test] npm ci in $node_dir" >&2
    (cd "$node_dir" && npm ci --no-audit --no-fund >&2)
  fi
elif [ "${CI:-}" = true ]; then
  echo "[test] npm is missing: the node_interop test needs Node 20 and npm" >&2
  exit 1
fi

use_docker=0
case "${SESSION_TEST_DOCKER:-auto}" in
  1) use_docker=1 ;;
  auto) docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1 && use_docker=1 ;;
esac

if [ "$use_docker" = 1 ]; then
  echo "[test] Docker engine found: starting integration-tests/docker-compose.yml" >&2
  compose_up=1
  "${compose[@]}" up -d --wait
  ensure_chromium # the demo's browser test runs on the host, not in a container
  # Sentinel and the replicated cluster are not in the compose file: local servers, as without
  # Docker (the fault tests start their own redis-server processes anyway).
  start_redis_replicated_cluster
  start_redis_sentinel
  export REDIS_SENTINEL_URL="${REDIS_SENTINEL_URL:-$(svc_sentinel_url)}"
  export REDIS_REPLICATED_CLUSTER_URLS="${REDIS_REPLICATED_CLUSTER_URLS:-redis://127.0.0.1:7201,redis://127.0.0.1:7202,redis://127.0.0.1:7203,redis://127.0.0.1:7204,redis://127.0.0.1:7205,redis://127.0.0.1:7206}"
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
  export REDIS_CLUSTER_URLS="${REDIS_CLUSTER_URLS:-redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103}"
  export MYSQL_URL="${MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
  export MONGODB_URL="${MONGODB_URL:-mongodb://127.0.0.1:27017}"
  export POSTGRES_URL="${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
  mysql8_url="mysql://root@127.0.0.1:3307/test"
  echo "[test] redis: $REDIS_URL (container redis:7.4)" >&2
  echo "[test] redis cluster: $REDIS_CLUSTER_URLS (container)" >&2
  echo "[test] redis sentinel: $REDIS_SENTINEL_URL, replicated cluster: $REDIS_REPLICATED_CLUSTER_URLS (local)" >&2
  echo "[test] mysql: $MYSQL_URL (container mariadb:10.11) and $mysql8_url (container mysql:8.4)" >&2
  echo "[test] mongodb: $MONGODB_URL (container mongo:7.0)" >&2
  echo "[test] postgres: $POSTGRES_URL (container postgres:16)" >&2
  cargo_test "$@"
  if [ $# -eq 0 ]; then
    echo "[test] the MySQL suite again, against MySQL 8" >&2
    MYSQL_URL="$mysql8_url" cargo test -p integration-tests --test mysql
  fi
else
  echo "[test] no Docker engine: using local servers on loopback" >&2
  start_all
  cargo_test "$@"
fi
