#!/usr/bin/env bash
# Each backend crate must stay usable on its own: depending on one backend never pulls in
# another backend's driver. Fails with the offending dependency path otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
check() { # crate, then drivers it must not depend on
  local crate=$1; shift
  local tree
  tree=$(cargo tree -q -p "$crate" -e normal --prefix none)
  for driver in "$@"; do
    if grep -qE "^$driver v" <<<"$tree"; then
      echo "$crate depends on $driver:"; cargo tree -q -p "$crate" -e normal -i "$driver" | head -5
      status=1
    fi
  done
}
check session-core redis sqlx mongodb moka
check session-memory redis sqlx mongodb
check session-redis sqlx mongodb
check session-mysql redis mongodb
check session-mongo redis sqlx
check session-sql redis sqlx mongodb
# The SQL backends share sqlx but each pulls in only its own driver.
check session-mysql sqlx-postgres sqlx-sqlite libsqlite3-sys
check session-postgres redis mongodb sqlx-mysql sqlx-sqlite libsqlite3-sys
check session-sqlite redis mongodb sqlx-mysql sqlx-postgres
# session-config with only its default feature compiles in the memory store alone.
tree=$(cargo tree -q -p session-config -e normal --prefix none)
for driver in redis sqlx mongodb; do
  if grep -qE "^$driver v" <<<"$tree"; then echo "session-config (default features) depends on $driver"; status=1; fi
done
# session-adapters pins the frameworks' majors: its own tree (dependencies and the tests'
# dev-dependencies) holds exactly one version of each framework's core crate. Scoped to this
# crate: session-bench deliberately pulls older tower-sessions-core releases for its peers.
for pair in tower-sessions:tower-sessions-core actix-session:actix-session; do
  feature=${pair%%:*} core=${pair#*:}
  versions=$(cargo tree -q -p session-adapters --features "$feature" -e normal,dev --prefix none \
    --format '{p}' | grep -E "^$core v" | cut -d' ' -f1,2 | sort -u)
  if [ "$(grep -c . <<<"$versions")" != 1 ]; then
    echo "session-adapters --features $feature: expected exactly one $core, found: ${versions:-none}"
    status=1
  fi
done
[ "$status" = 0 ] && echo "dependency isolation: each backend crate pulls in only its own driver"
[ "$status" = 0 ] && echo "framework versions: session-adapters has one tower-sessions-core and one actix-session"
exit "$status"
