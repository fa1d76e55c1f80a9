#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ for a bounded time each, then minimizes their corpus.
# Not part of CI's default run (it takes minutes per target and a separate build).
#
#   scripts/fuzz.sh                 # every target, 300 s each
#   scripts/fuzz.sh 60 cookie       # one target, 60 s
#
# Targets: cookie (session-tower's session cookie parser), record (session_core::decode).
# Runs on stable Rust: `--sanitizer none` needs no nightly flag (no AddressSanitizer, which this
# workspace's `forbid(unsafe_code)` crates need least). New inputs go to fuzz/corpus/<target>/
# (committed, minimized here); fuzz/seeds/<target>/ holds hand-written starting inputs. A crash
# is saved under fuzz/artifacts/<target>/ and fails this script; turn it into a regression
# test in the crate that owns the code, then commit the fix.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(cookie record)
fi

if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked
fi
# Its own target directory: the coverage instrumentation rebuilds every crate anyway.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"

for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  echo "== fuzzing $target for ${seconds}s" >&2
  cargo fuzz run --fuzz-dir fuzz --sanitizer none "$target" \
    "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1
  echo "== minimizing fuzz/corpus/$target" >&2
  cargo fuzz cmin --fuzz-dir fuzz --sanitizer none "$target" "fuzz/corpus/$target"
done
