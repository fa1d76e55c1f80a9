#!/usr/bin/env bash
# The servers the test suite talks to, on loopback:
#   Redis 127.0.0.1:6379, a 3-master Redis Cluster on 127.0.0.1:7101-7103,
#   a Sentinel-managed Redis (primary 6380, replica 6381, sentinels 26380-26382, master name
#   `sessions`), a Redis Cluster with 3 primaries and 3 replicas on 127.0.0.1:7201-7206,
#   MariaDB 127.0.0.1:3306 (root, empty password, database `test`),
#   PostgreSQL 127.0.0.1:5432 (role `postgres`, trust auth on loopback, database `test`),
#   a MongoDB-compatible server (SecantusDB) on 127.0.0.1:27017,
# and Debian's chromium + chromium-driver for the demo's browser test.
#
#   bash scripts/services.sh [--install]          start what is missing, print the URLs
#   source scripts/services.sh && start_all [--install]
#                                                 the same, and export REDIS_URL,
#                                                 REDIS_CLUSTER_URLS, REDIS_SENTINEL_URL,
#                                                 REDIS_REPLICATED_CLUSTER_URLS, MYSQL_URL,
#                                                 MONGODB_URL, POSTGRES_URL
#   source scripts/services.sh && install_chromium
#
# A server that is already answering is used as it is and never reset, flushed or stopped: only
# cluster nodes this script started (recorded by pidfiles in its state directory) are. Software
# (SecantusDB via cargo or pip, cmake and chromium via apt) is installed only when asked, with
# --install or SESSION_SERVICES_INSTALL=1; otherwise a missing program is reported.
# With SESSION_SERVICES_STRICT=1 (or CI=true) anything that cannot be started is an error.
#
# Safe to source: it sets no shell options, and its functions return a status instead of
# exiting. Environment: SESSION_SERVICES_DIR (state, default $TMPDIR/session-services),
# SESSION_SERVICES_CLUSTER_PORTS (default "7101 7102 7103"),
# SESSION_SERVICES_REPLICATED_CLUSTER_PORTS (default "7201 7202 7203 7204 7205 7206": the first
# half become primaries, the second half their replicas).

svc_state_dir() { printf '%s\n' "${SESSION_SERVICES_DIR:-${TMPDIR:-/tmp}/session-services}"; }
svc_say() { printf '[services] %s\n' "$*" >&2; }
svc_strict() {
  case "${CI:-}" in true | 1) return 0 ;; esac
  case "${SESSION_SERVICES_STRICT:-}" in true | 1) return 0 ;; esac
  return 1
}
svc_install_allowed() {
  case "${SESSION_SERVICES_INSTALL:-}" in true | 1) return 0 ;; esac
  return 1
}
# Under strict mode an error (status 1); otherwise a warning (status 0).
svc_fail_or_warn() {
  if svc_strict; then svc_say "ERROR: $*"; return 1; fi
  svc_say "WARNING: $*"
  return 0
}
svc_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
svc_wait_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    svc_port_open "$1" && return 0
    sleep 0.1
  done
  return 1
}
svc_cluster_ports() { printf '%s\n' "${SESSION_SERVICES_CLUSTER_PORTS:-7101 7102 7103}"; }
svc_replicated_cluster_ports() {
  printf '%s\n' "${SESSION_SERVICES_REPLICATED_CLUSTER_PORTS:-7201 7202 7203 7204 7205 7206}"
}
# The Sentinel topology: two data nodes (the first starts as primary), three sentinels, and the
# name the sentinels know the primary by.
SVC_SENTINEL_DATA_PORTS="6380 6381"
SVC_SENTINEL_PORTS="26380 26381 26382"
SVC_SENTINEL_MASTER=sessions

# Whether the redis-server on port $1 is one this script started: its pidfile in the state
# directory names a live redis-server serving that port.
svc_owns_cluster_node() { svc_owns_redis "cluster-$1" "$1"; }

# Whether the redis-server on port $2 is the one this script started in state subdirectory $1.
svc_owns_redis() {
  local pidfile pid
  pidfile="$(svc_state_dir)/$1/redis.pid"
  [ -r "$pidfile" ] || return 1
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "redis-server .*:$2\b"
}

start_redis() {
  if svc_port_open 6379 && redis-cli -p 6379 ping >/dev/null 2>&1; then return 0; fi
  if ! command -v redis-server >/dev/null; then
    svc_fail_or_warn "redis-server is not installed"
    return
  fi
  local dir
  dir="$(svc_state_dir)/redis"
  mkdir -p "$dir" || return 1
  svc_say "starting redis on 6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null 2>&1 || true
  svc_wait_port 6379 10 || svc_fail_or_warn "redis did not start (see $dir/redis.log)"
}

# Set to 1 by start_redis_cluster (STARTED_REDIS_REPLICATED_CLUSTER by
# start_redis_replicated_cluster) when it built the cluster (from nodes it started, now or in
# an earlier run), so that the caller may stop it afterwards with stop_redis_cluster
# (stop_redis_replicated_cluster).
STARTED_REDIS_CLUSTER=${STARTED_REDIS_CLUSTER:-0}
STARTED_REDIS_REPLICATED_CLUSTER=${STARTED_REDIS_REPLICATED_CLUSTER:-0}

start_redis_cluster() {
  local ports
  read -r -a ports <<<"$(svc_cluster_ports)"
  svc_start_cluster 0 "${ports[@]}" || return
  if [ "$SVC_CLUSTER_BUILT" = 1 ]; then STARTED_REDIS_CLUSTER=1; fi
  return 0
}

start_redis_replicated_cluster() {
  local ports
  read -r -a ports <<<"$(svc_replicated_cluster_ports)"
  svc_start_cluster 1 "${ports[@]}" || return
  if [ "$SVC_CLUSTER_BUILT" = 1 ]; then STARTED_REDIS_REPLICATED_CLUSTER=1; fi
  return 0
}

# Starts a Redis Cluster on the given ports with <replicas> replicas per primary, unless one is
# already healthy there. Sets SVC_CLUSTER_BUILT=1 when it built the cluster from its own nodes.
# Usage: svc_start_cluster replicas port...
svc_start_cluster() {
  local replicas=$1 first p dir i ports
  shift
  ports=("$@")
  first=${ports[0]}
  SVC_CLUSTER_BUILT=0
  if ! command -v redis-server >/dev/null; then
    svc_fail_or_warn "redis-server is not installed"
    return
  fi
  if redis-cli -p "$first" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
    return 0
  fi
  # A node this script did not start may hold someone's data: never reset or join it.
  for p in "${ports[@]}"; do
    if svc_port_open "$p" && ! svc_owns_cluster_node "$p"; then
      svc_fail_or_warn "port $p is taken by a server this script did not start; not touching it"
      return
    fi
  done
  svc_say "starting a ${#ports[@]}-node redis cluster ($replicas replica(s) per primary) on ${ports[*]}"
  SVC_CLUSTER_BUILT=1
  for p in "${ports[@]}"; do
    svc_port_open "$p" && continue # ours, left from an earlier run: reset below
    dir="$(svc_state_dir)/cluster-$p"
    rm -rf "$dir" && mkdir -p "$dir" || return 1
    redis-server --daemonize yes --bind 127.0.0.1 --port "$p" --cluster-enabled yes \
      --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 2000 \
      --save "" --appendonly no --dir "$dir" --pidfile "$dir/redis.pid" \
      --logfile "$dir/redis.log" >/dev/null 2>&1 || true
  done
  for p in "${ports[@]}"; do
    if ! svc_wait_port "$p" 10; then
      svc_fail_or_warn "cluster node $p did not start"
      return
    fi
  done
  # Our nodes left over from an earlier, half-built cluster would refuse to join: reset them.
  # (The check above made sure every node on these ports is ours.)
  for p in "${ports[@]}"; do
    svc_owns_cluster_node "$p" || { svc_fail_or_warn "cluster node $p is not ours"; return; }
    redis-cli -p "$p" flushall >/dev/null 2>&1 || true
    redis-cli -p "$p" cluster reset hard >/dev/null 2>&1 || true
  done
  local nodes=() log
  for p in "${ports[@]}"; do nodes+=("127.0.0.1:$p"); done
  log="$(svc_state_dir)/cluster-create-$first.log"
  if ! redis-cli --cluster create "${nodes[@]}" --cluster-replicas "$replicas" --cluster-yes \
    >"$log" 2>&1; then
    svc_fail_or_warn "redis-cli --cluster create failed (see $log)"
    return
  fi
  for ((i = 0; i < 100; i++)); do
    if redis-cli -p "$first" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then return 0; fi
    sleep 0.1
  done
  svc_fail_or_warn "redis cluster on ${ports[*]} did not reach cluster_state:ok"
}

# Stops the cluster nodes this script started; leaves any other server alone.
stop_redis_cluster() {
  # shellcheck disable=SC2046 # the port list is split on purpose
  svc_stop_owned cluster $(svc_cluster_ports)
}

stop_redis_replicated_cluster() {
  # shellcheck disable=SC2046
  svc_stop_owned cluster $(svc_replicated_cluster_ports)
}

# Shuts down the servers on the given ports that this script started in state subdirectories
# <kind>-<port>. Usage: svc_stop_owned kind port...
svc_stop_owned() {
  local kind=$1 p
  shift
  for p in "$@"; do
    if svc_owns_redis "$kind-$p" "$p"; then
      redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true
    fi
  done
  return 0
}

# Set to 1 by start_redis_sentinel when it started any node of the Sentinel topology.
STARTED_REDIS_SENTINEL=${STARTED_REDIS_SENTINEL:-0}

# One primary, one replica and three sentinels watching them as $SVC_SENTINEL_MASTER, with a
# down-after of 1 s so that a failover takes a few seconds. Nodes already answering are used as
# they are (after a failover the primary may be either data node: the sentinels know which).
start_redis_sentinel() {
  local data sentinels p dir primary addr i
  read -r -a data <<<"$SVC_SENTINEL_DATA_PORTS"
  read -r -a sentinels <<<"$SVC_SENTINEL_PORTS"
  if ! command -v redis-server >/dev/null; then
    svc_fail_or_warn "redis-server is not installed"
    return
  fi
  for p in "${data[@]}" "${sentinels[@]}"; do
    if svc_port_open "$p" && ! svc_owns_redis "sentinel-$p" "$p"; then
      svc_fail_or_warn "port $p is taken by a server this script did not start; not touching it"
      return
    fi
  done
  # A sentinel still running knows the current primary; a restarted data node must follow it.
  primary=
  for p in "${sentinels[@]}"; do
    primary=$(redis-cli -p "$p" sentinel get-master-addr-by-name "$SVC_SENTINEL_MASTER" \
      2>/dev/null | sed -n 2p)
    [ -n "$primary" ] && break
  done
  primary=${primary:-${data[0]}}
  for p in "${data[@]}" "${sentinels[@]}"; do
    svc_port_open "$p" && continue
    if [ "$STARTED_REDIS_SENTINEL" = 0 ]; then
      svc_say "starting redis $SVC_SENTINEL_DATA_PORTS with sentinels $SVC_SENTINEL_PORTS"
    fi
    STARTED_REDIS_SENTINEL=1
    dir="$(svc_state_dir)/sentinel-$p"
    rm -rf "$dir" && mkdir -p "$dir" || return 1
    case " ${sentinels[*]} " in
      *" $p "*)
        # A sentinel rewrites its configuration file, so each gets its own.
        printf '%s\n' "port $p" "bind 127.0.0.1" "daemonize yes" "dir $dir" \
          "pidfile $dir/redis.pid" "logfile $dir/redis.log" \
          "sentinel monitor $SVC_SENTINEL_MASTER 127.0.0.1 $primary 2" \
          "sentinel down-after-milliseconds $SVC_SENTINEL_MASTER 1000" \
          "sentinel failover-timeout $SVC_SENTINEL_MASTER 3000" \
          "sentinel parallel-syncs $SVC_SENTINEL_MASTER 1" >"$dir/sentinel.conf" || return 1
        redis-server "$dir/sentinel.conf" --sentinel >/dev/null 2>&1 || true
        ;;
      *)
        local follow=()
        [ "$p" = "$primary" ] || follow=(--replicaof 127.0.0.1 "$primary")
        redis-server --daemonize yes --bind 127.0.0.1 --port "$p" --save "" --appendonly no \
          --repl-diskless-sync-delay 0 \
          --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "${follow[@]}" \
          >/dev/null 2>&1 || true
        ;;
    esac
  done
  for p in "${data[@]}" "${sentinels[@]}"; do
    if ! svc_wait_port "$p" 10; then
      svc_fail_or_warn "sentinel topology: port $p did not start (see $(svc_state_dir)/sentinel-$p)"
      return
    fi
  done
  # Ready when a sentinel names a primary whose replica is attached.
  for ((i = 0; i < 100; i++)); do
    addr=$(redis-cli -p "${sentinels[0]}" sentinel get-master-addr-by-name \
      "$SVC_SENTINEL_MASTER" 2>/dev/null | sed -n 2p)
    if [ -n "$addr" ] &&
      redis-cli -p "$addr" info replication 2>/dev/null | grep -q '^connected_slaves:1'; then
      return 0
    fi
    sleep 0.1
  done
  svc_fail_or_warn "the sentinel topology did not become ready"
}

stop_redis_sentinel() {
  # shellcheck disable=SC2086 # the port lists are split on purpose
  svc_stop_owned sentinel $SVC_SENTINEL_PORTS $SVC_SENTINEL_DATA_PORTS
}

start_mariadb() {
  if mariadb -h127.0.0.1 -uroot -e 'select 1' >/dev/null 2>&1; then
    mariadb -h127.0.0.1 -uroot -e 'create database if not exists test' >/dev/null 2>&1 || true
    return 0
  fi
  if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
    svc_fail_or_warn "mariadbd is not installed"
    return
  fi
  svc_say "starting mariadb"
  { mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld; } 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >/dev/null 2>&1 || true
  local i
  for ((i = 0; i < 300; i++)); do
    if mariadb -h127.0.0.1 -uroot -e 'create database if not exists test' >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  svc_fail_or_warn "mariadb did not start"
}

svc_pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
svc_psql() { psql -h 127.0.0.1 -U postgres -d postgres -Atq "$@" 2>/dev/null; }

# PostgreSQL from Debian's packages: an installed cluster on port 5432 is started when it is not
# running (never reconfigured); with installing allowed and none installed, Debian's postgresql
# is installed and its fresh cluster set to trust loopback connections, as the suite expects.
start_postgres() {
  local version i
  if ! svc_pg_ready; then
    if ! command -v pg_lsclusters >/dev/null; then
      if svc_install_allowed; then
        svc_say "installing postgresql from Debian"
        svc_apt_install postgresql postgresql || { svc_fail_or_warn "could not install postgresql"; return; }
        version=$(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1; exit }')
        # Our own fresh cluster: let loopback connect without a password, like the other servers.
        sed -i -E 's/^(host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1\/32|::1\/128)[[:space:]]+).*/\1trust/' \
          "/etc/postgresql/$version/main/pg_hba.conf" 2>/dev/null || true
      else
        svc_fail_or_warn "postgresql is not installed (SESSION_SERVICES_INSTALL=1 or --install installs it)"
        return
      fi
    fi
    version=$(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1; exit }')
    if [ -z "$version" ]; then
      svc_fail_or_warn "no postgresql cluster on port 5432"
      return
    fi
    svc_say "starting postgresql $version"
    pg_ctlcluster "$version" main start >/dev/null 2>&1 || pg_ctlcluster "$version" main reload >/dev/null 2>&1 || true
    for ((i = 0; i < 300; i++)); do
      svc_pg_ready && break
      sleep 0.1
    done
    svc_pg_ready || { svc_fail_or_warn "postgresql did not start"; return; }
  fi
  if [ "$(svc_psql -c "select 1 from pg_database where datname = 'test'")" != 1 ]; then
    svc_psql -c 'create database test' >/dev/null || true
  fi
  [ "$(svc_psql -d test -c 'select 1')" = 1 ] ||
    svc_fail_or_warn "postgresql answers, but not to postgres@127.0.0.1/test without a password"
}

# Installs Debian packages, logging to $(svc_state_dir)/apt-<log>.log. Usage: svc_apt_install log pkg...
svc_apt_install() {
  local log
  log="$(svc_state_dir)/apt-$1.log"
  shift
  mkdir -p "$(svc_state_dir)" || return 1
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >"$log" 2>&1 ||
    { svc_say "apt-get install $* failed (see $log)"; return 1; }
}

# Installs SecantusDB's Rust server with cargo (and cmake, which it builds with, from Debian).
install_secantus() {
  local log
  log="$(svc_state_dir)/secantus-install.log"
  svc_say "installing SecantusDB (MongoDB-compatible server); this takes a few minutes once"
  command -v cmake >/dev/null || svc_apt_install cmake cmake
  cargo install secantus-mdb --version 0.5.3-beta.196 --locked --ignore-rust-version >"$log" 2>&1 ||
    { svc_say "cargo install secantus-mdb failed (see $log)"; return 1; }
  export PATH="${HOME:-}/.cargo/bin:$PATH"
}

start_mongo() {
  if svc_port_open 27017; then return 0; fi
  local dir
  dir="$(svc_state_dir)/mongo"
  mkdir -p "$dir" || return 1
  if ! command -v secantusd-rs >/dev/null && [ -x "${HOME:-}/.cargo/bin/secantusd-rs" ]; then
    export PATH="${HOME:-}/.cargo/bin:$PATH"
  fi
  if command -v secantusd-rs >/dev/null || { svc_install_allowed && install_secantus; }; then
    svc_say "starting secantusd-rs on 27017"
    nohup secantusd-rs --port 27017 --storage-path "$dir" --log-file-max 16MB \
      --cache-size 256M >"$dir/server.out" 2>&1 &
  elif python3 -c 'import secantus' 2>/dev/null ||
    { svc_install_allowed && svc_say "falling back to the Python SecantusDB server" &&
      python3 -m pip install -q 'SecantusDB==0.7.0b3' >"$(svc_state_dir)/pip.log" 2>&1; }; then
    nohup python3 -m secantus --host 127.0.0.1 --port 27017 --storage-path "$dir" \
      >"$dir/server.out" 2>&1 &
  elif svc_install_allowed; then
    svc_fail_or_warn "could not install any MongoDB-compatible server"
    return
  else
    svc_fail_or_warn "no MongoDB-compatible server is installed (SESSION_SERVICES_INSTALL=1 or --install installs SecantusDB)"
    return
  fi
  svc_wait_port 27017 60 ||
    svc_fail_or_warn "the MongoDB-compatible server did not start (see $dir/server.out)"
}

# Installs Debian's Chromium and ChromeDriver, for the end-to-end browser test of the demo.
install_chromium() {
  svc_say "installing chromium and chromium-driver from Debian"
  svc_apt_install chromium chromium chromium-driver ||
    svc_fail_or_warn "could not install chromium"
}

# Chromium and ChromeDriver when present; installed only when installing is allowed.
ensure_chromium() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then return 0; fi
  if svc_install_allowed; then
    install_chromium
    return
  fi
  svc_fail_or_warn "chromium and chromedriver are not installed (SESSION_SERVICES_INSTALL=1 or --install installs them)"
}

# The session-config URL of the Sentinel topology.
svc_sentinel_url() {
  local p hosts=()
  for p in $SVC_SENTINEL_PORTS; do hosts+=("127.0.0.1:$p"); done
  printf 'redis+sentinel://%s/%s\n' "$(IFS=,; printf '%s' "${hosts[*]}")" "$SVC_SENTINEL_MASTER"
}

start_all() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      --install) SESSION_SERVICES_INSTALL=1 ;;
      *) svc_say "unknown argument $arg (expected --install)"; return 2 ;;
    esac
  done
  start_redis || return 1
  start_redis_cluster || return 1
  start_redis_replicated_cluster || return 1
  start_redis_sentinel || return 1
  start_mariadb || return 1
  start_mongo || return 1
  start_postgres || return 1
  ensure_chromium || return 1
  local p urls=()
  for p in $(svc_cluster_ports); do urls+=("redis://127.0.0.1:$p"); done
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
  export REDIS_CLUSTER_URLS="${REDIS_CLUSTER_URLS:-$(IFS=,; printf '%s' "${urls[*]}")}"
  urls=()
  for p in $(svc_replicated_cluster_ports); do urls+=("redis://127.0.0.1:$p"); done
  export REDIS_REPLICATED_CLUSTER_URLS="${REDIS_REPLICATED_CLUSTER_URLS:-$(IFS=,; printf '%s' "${urls[*]}")}"
  export REDIS_SENTINEL_URL="${REDIS_SENTINEL_URL:-$(svc_sentinel_url)}"
  export MYSQL_URL="${MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
  export MONGODB_URL="${MONGODB_URL:-mongodb://127.0.0.1:27017}"
  export POSTGRES_URL="${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
  local mysql_version mongo_kind postgres_version
  mysql_version=$(mariadb -h127.0.0.1 -uroot -N -e 'select version()' 2>/dev/null) ||
    mysql_version=unreachable
  if command -v secantusd-rs >/dev/null; then mongo_kind=SecantusDB; else mongo_kind='whatever answers on 27017'; fi
  svc_say "redis:         $REDIS_URL"
  svc_say "redis cluster: $REDIS_CLUSTER_URLS"
  svc_say "redis replicated cluster: $REDIS_REPLICATED_CLUSTER_URLS"
  svc_say "redis sentinel: $REDIS_SENTINEL_URL"
  svc_say "mysql:         $MYSQL_URL ($mysql_version)"
  svc_say "mongodb:       $MONGODB_URL ($mongo_kind)"
  postgres_version=$(svc_psql -d test -c 'show server_version') || postgres_version=unreachable
  svc_say "postgres:      $POSTGRES_URL ($postgres_version)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  start_all "$@"
  exit
fi
