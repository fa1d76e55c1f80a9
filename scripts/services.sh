#!/usr/bin/env bash
# Starts, idempotently, every server the test suite talks to, on loopback:
#   Redis 127.0.0.1:6379, a 3-master Redis Cluster on 127.0.0.1:7101-7103,
#   MariaDB 127.0.0.1:3306 (root, empty password, database `test`),
#   a MongoDB-compatible server (SecantusDB) on 127.0.0.1:27017,
# and installs Debian's chromium + chromium-driver for the browser test.
# A server that is already answering is left alone. Prints the URL of each server and exports
# REDIS_URL, REDIS_CLUSTER_URLS, MYSQL_URL and MONGODB_URL when sourced.
# With SESSION_SERVICES_STRICT=1 (or CI=true) a server that cannot be started is an error.

set -u
STATE_DIR="${SESSION_SERVICES_DIR:-${TMPDIR:-/tmp}/session-services}"
mkdir -p "$STATE_DIR"
strict=0
case "${CI:-}${SESSION_SERVICES_STRICT:-}" in *true*|*1*) strict=1 ;; esac

say() { printf '[services] %s\n' "$*" >&2; }
fail_or_warn() {
  if [ "$strict" = 1 ]; then say "ERROR: $*"; return 1; fi
  say "WARNING: $*"; return 0
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do port_open "$1" && return 0; sleep 0.1; done
  return 1
}

start_redis() {
  if port_open 6379 && redis-cli -p 6379 ping >/dev/null 2>&1; then return 0; fi
  command -v redis-server >/dev/null || { fail_or_warn "redis-server is not installed"; return; }
  say "starting redis on 6379"
  mkdir -p "$STATE_DIR/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$STATE_DIR/redis" --logfile "$STATE_DIR/redis/redis.log" >/dev/null
  wait_port 6379 10 || fail_or_warn "redis did not start"
}

CLUSTER_PORTS=(7101 7102 7103)
STARTED_REDIS_CLUSTER=0
start_redis_cluster() {
  command -v redis-server >/dev/null || { fail_or_warn "redis-server is not installed"; return; }
  if redis-cli -p "${CLUSTER_PORTS[0]}" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
    return 0
  fi
  say "starting a 3-master redis cluster on ${CLUSTER_PORTS[*]}"
  STARTED_REDIS_CLUSTER=1
  local p
  for p in "${CLUSTER_PORTS[@]}"; do
    if ! port_open "$p"; then
      rm -rf "$STATE_DIR/cluster-$p" && mkdir -p "$STATE_DIR/cluster-$p"
      redis-server --daemonize yes --bind 127.0.0.1 --port "$p" --cluster-enabled yes \
        --cluster-config-file "$STATE_DIR/cluster-$p/nodes.conf" --cluster-node-timeout 2000 \
        --save "" --appendonly no --dir "$STATE_DIR/cluster-$p" \
        --pidfile "$STATE_DIR/cluster-$p/redis.pid" \
        --logfile "$STATE_DIR/cluster-$p/redis.log" >/dev/null
    fi
  done
  for p in "${CLUSTER_PORTS[@]}"; do wait_port "$p" 10 || { fail_or_warn "cluster node $p did not start"; return; }; done
  # Nodes left over from an earlier, half-built cluster would refuse to join: reset them.
  for p in "${CLUSTER_PORTS[@]}"; do
    redis-cli -p "$p" flushall >/dev/null 2>&1
    redis-cli -p "$p" cluster reset hard >/dev/null 2>&1
  done
  redis-cli --cluster create 127.0.0.1:7101 127.0.0.1:7102 127.0.0.1:7103 \
    --cluster-replicas 0 --cluster-yes >"$STATE_DIR/cluster-create.log" 2>&1 ||
    { fail_or_warn "redis-cli --cluster create failed (see $STATE_DIR/cluster-create.log)"; return; }
  local i
  for ((i = 0; i < 100; i++)); do
    if redis-cli -p 7101 cluster info | grep -q 'cluster_state:ok'; then return 0; fi
    sleep 0.1
  done
  fail_or_warn "redis cluster did not reach cluster_state:ok"
}

stop_redis_cluster() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1; done
}

start_mariadb() {
  if mariadb -h127.0.0.1 -uroot -e 'select 1' >/dev/null 2>&1; then
    mariadb -h127.0.0.1 -uroot -e 'create database if not exists test' >/dev/null 2>&1
    return 0
  fi
  if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
    fail_or_warn "mariadbd is not installed"; return
  fi
  say "starting mariadb"
  mkdir -p /run/mysqld 2>/dev/null && chown mysql:mysql /run/mysqld 2>/dev/null
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >/dev/null 2>&1
  local i
  for ((i = 0; i < 300; i++)); do
    if mariadb -h127.0.0.1 -uroot -e 'create database if not exists test' >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  fail_or_warn "mariadb did not start"
}

install_secantus() {
  command -v secantusd-rs >/dev/null && return 0
  [ -x "$HOME/.cargo/bin/secantusd-rs" ] && { export PATH="$HOME/.cargo/bin:$PATH"; return 0; }
  say "installing SecantusDB (MongoDB-compatible server); this takes a few minutes once"
  if ! command -v cmake >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq cmake) >"$STATE_DIR/apt.log" 2>&1 ||
      say "apt-get install cmake failed (see $STATE_DIR/apt.log)"
  fi
  cargo install secantus-mdb --version 0.5.3-beta.196 --locked --ignore-rust-version \
    >"$STATE_DIR/secantus-install.log" 2>&1 || { say "cargo install secantus-mdb failed"; return 1; }
}

start_mongo() {
  if port_open 27017; then return 0; fi
  mkdir -p "$STATE_DIR/mongo"
  if install_secantus; then
    say "starting secantusd-rs on 27017"
    nohup secantusd-rs --port 27017 --storage-path "$STATE_DIR/mongo" --log-file-max 16MB \
      --cache-size 256M >"$STATE_DIR/mongo/server.out" 2>&1 &
  else
    say "falling back to the Python SecantusDB server"
    python3 -m pip install -q 'SecantusDB==0.7.0b3' >"$STATE_DIR/pip.log" 2>&1 ||
      { fail_or_warn "could not install any MongoDB-compatible server"; return; }
    nohup python3 -m secantus --host 127.0.0.1 --port 27017 --storage-path "$STATE_DIR/mongo" \
      >"$STATE_DIR/mongo/server.out" 2>&1 &
  fi
  wait_port 27017 60 || fail_or_warn "the MongoDB-compatible server did not start (see $STATE_DIR/mongo/server.out)"
}

# Debian's Chromium and ChromeDriver, for the end-to-end browser test of the demo.
install_chromium() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then return 0; fi
  say "installing chromium and chromium-driver from Debian"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
    >"$STATE_DIR/apt-chromium.log" 2>&1; then
    fail_or_warn "could not install chromium (see $STATE_DIR/apt-chromium.log)"
    return
  fi
}

start_all() {
  start_redis || return 1
  start_redis_cluster || return 1
  start_mariadb || return 1
  start_mongo || return 1
  install_chromium || return 1
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
  export REDIS_CLUSTER_URLS="${REDIS_CLUSTER_URLS:-redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103}"
  export MYSQL_URL="${MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
  export MONGODB_URL="${MONGODB_URL:-mongodb://127.0.0.1:27017}"
  say "redis:         $REDIS_URL"
  say "redis cluster: $REDIS_CLUSTER_URLS"
  say "mysql:         $MYSQL_URL ($(mariadb -h127.0.0.1 -uroot -N -e 'select version()' 2>/dev/null || echo unreachable))"
  say "mongodb:       $MONGODB_URL ($(command -v secantusd-rs >/dev/null && echo SecantusDB || echo 'whatever answers on 27017'))"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  start_all
fi
