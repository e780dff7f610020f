#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/fuzz_targets/ for a while, on the stable toolchain.
#
# Usage: tests/fuzz.sh [SECONDS_PER_TARGET]   (default 20; e.g. 3600 for a longer hunt)
#
# Builds without a sanitizer (`-s none`): the build then needs no nightly flag, so stable rustc
# runs it as is. libFuzzer still gets its coverage (SanitizerCoverage is a stable codegen pass),
# panics, overflow checks and debug assertions abort the run, and -rss_limit_mb / -timeout
# catch runaway memory and hangs. FUZZ_SANITIZER=address (or leak, memory, thread) asks for a
# sanitizer, which is a -Z flag: only then is RUSTC_BOOTSTRAP=1 set, for the cargo-fuzz
# commands of this script alone. Other knobs: FUZZ_TIMEOUT (seconds for one input, default
# 30), FUZZ_TARGETS ("detect pdf_text" to run a few), CARGO_TARGET_DIR (default fuzz/target).
#
# Prints one summary line per target; exits non-zero if any target crashed, hung, ran out of
# memory or failed to build, with the artifact's path (fuzz/artifacts/<target>/) in the output.
# Full logs: fuzz/artifacts/logs/<target>.log. Installs cargo-fuzz (and a C++ compiler, which
# libfuzzer-sys needs to build libFuzzer) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: tests/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac
timeout_s="${FUZZ_TIMEOUT:-30}"
sanitizer="${FUZZ_SANITIZER:-none}"
cargo_fuzz_version=0.13.2

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v c++ >/dev/null; then
  echo "installing g++ (libfuzzer-sys compiles libFuzzer)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ >/dev/null
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz $cargo_fuzz_version"
  start=$SECONDS
  cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
  echo "cargo-fuzz installed in $((SECONDS - start)) s"
fi

# The fuzz package is its own workspace (not a member of the root one). Its lock file is not
# committed: it starts from the root Cargo.lock every run, so the fuzzed code builds with the
# same dependency versions as the tested workspace; cargo only adds libfuzzer-sys and its deps.
cp Cargo.lock fuzz/Cargo.lock

fuzz_env=(env RUST_BACKTRACE=1)
if [ "$sanitizer" != none ]; then
  fuzz_env+=(RUSTC_BOOTSTRAP=1)
fi
build_flags=(-s "$sanitizer")

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for file in fuzz/fuzz_targets/*.rs; do
    targets+=("$(basename "$file" .rs)")
  done
fi

mkdir -p fuzz/artifacts/logs
echo "building ${#targets[@]} fuzz targets (sanitizer: $sanitizer)"
start=$SECONDS
if ! "${fuzz_env[@]}" cargo fuzz build "${build_flags[@]}" >fuzz/artifacts/logs/build.log 2>&1; then
  tail -40 fuzz/artifacts/logs/build.log
  echo "fuzz build FAILED (full log: fuzz/artifacts/logs/build.log)"
  exit 1
fi
echo "fuzz build: $((SECONDS - start)) s"

failed=0
for target in "${targets[@]}"; do
  log="fuzz/artifacts/logs/$target.log"
  mkdir -p "fuzz/corpus/$target"
  status=0
  # The corpus directory grows (libFuzzer adds what finds new coverage; fuzz/.gitignore keeps
  # only the seed-* files in git), so later runs start where earlier ones stopped.
  "${fuzz_env[@]}" cargo fuzz run "${build_flags[@]}" "$target" -- \
    -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  final_stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  runs=$(final_stat number_of_executed_units)
  per_sec=$(final_stat average_exec_per_sec)
  new_units=$(final_stat new_units_added)
  rss=$(final_stat peak_rss_mb)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$last")
  if [ "$status" = 0 ]; then
    echo "$target: ok: ${runs:-?} runs (${per_sec:-?}/s), cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?} (+${new_units:-?}), peak rss ${rss:-?} MB"
  else
    failed=1
    artifact=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -1)
    kind=$(grep -m1 -oE 'ERROR: libFuzzer: [a-z-]+( [a-z]+)?|panicked at [^:]+:[0-9]+:[0-9]+' "$log" || true)
    echo "$target: FAILED (exit $status, ${kind:-see log}): ${runs:-?} runs, cov ${cov:-?} ft ${ft:-?}; log $log"
    if [ -n "$artifact" ]; then
      echo "  artifact: $artifact ($(wc -c <"$artifact") bytes)"
      echo "  first bytes: $(head -c 256 "$artifact" | od -An -tx1 -v | tr -s ' \n' ' ' | sed 's/^ //')"
      echo "  reproduce: cargo fuzz run ${build_flags[*]} $target $artifact"
    fi
    # The panic and the frames of our code and its dependencies, up to libFuzzer's (std frames left out).
    awk '/panicked at/ && !seen { seen = 1; print; getline; print; next }
         seen && /^ +[0-9]+: rust_fuzzer_test_input/ { exit }
         seen && /^ +[0-9]+: / { frame = $0; next }
         seen && /^ +at / && !/\/rustc\// && shown < 8 { print frame; print; shown++ }' \
      "$log" | sed 's/^/  | /'
  fi
done
exit "$failed"
