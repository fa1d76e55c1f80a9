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
# containers once `compose up` was attempted, and the cluster nodes this run started (unless
# SESSION_KEEP_SERVICES=1 keeps them for the next run).
compose=(docker compose -f integration-tests/docker-compose.yml)
compose_up=0
STARTED_REDIS_CLUSTER=0
# `cargo test --workspace` overrides any `-p`, so it is the default only.
cargo_test() {
  if [ $# -eq 0 ]; then cargo test --workspace; else cargo test "$@"; fi
}
cleanup() {
  if [ "$compose_up" = 1 ]; then
    "${compose[@]}" down -v >/dev/null 2>&1 || true
  fi
  if [ "$STARTED_REDIS_CLUSTER" = 1 ] && [ "${SESSION_KEEP_SERVICES:-0}" != 1 ]; then
    stop_redis_cluster
  fi
}
trap cleanup EXIT

export PATH="$HOME/.cargo/bin:$PATH"
source scripts/services.sh

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
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
  export REDIS_CLUSTER_URLS="${REDIS_CLUSTER_URLS:-redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103}"
  export MYSQL_URL="${MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
  export MONGODB_URL="${MONGODB_URL:-mongodb://127.0.0.1:27017}"
  export POSTGRES_URL="${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
  mysql8_url="mysql://root@127.0.0.1:3307/test"
  echo "[test] redis: $REDIS_URL (container redis:7.4)" >&2
  echo "[test] redis cluster: $REDIS_CLUSTER_URLS (container)" >&2
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
