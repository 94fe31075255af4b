#!/usr/bin/env bash
# A logged fuzzing campaign over the cargo-fuzz targets in fuzz/ (libFuzzer, nightly):
#
#   bench/fuzz/run.sh                 # every target, 60 s each
#   FUZZ_SECONDS=600 bench/fuzz/run.sh json_reader display_text
#
# Each target starts from its committed seeds (fuzz/corpus/<t>/) and regression inputs
# (fuzz/regressions/<t>/); what it adds goes to a scratch corpus under fuzz/target/campaign/,
# never into the committed one. `cargo fuzz run` defaults (release, debug assertions, ASan),
# one job, the dictionary fuzz/oauth.dict, -print_final_stats=1.
#
# Written to bench/fuzz/logs/<UTC time>/: summary.md (the table bench/fuzz/README.md
# records: executions, exec/s, coverage, features, corpus added, findings), <t>.tail (the last
# lines of each log, with libFuzzer's final stats) and env.txt (toolchains, commit, machine).
# The full logs and any crash inputs stay under fuzz/target/campaign/<UTC time>/. A finding
# (a crash, a failed check, a leak or a timeout) makes the script exit 1 once every target ran;
# copy its input to fuzz/regressions/<t>/ when fixed, so the normal test run replays it.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECS=${FUZZ_SECONDS:-60}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
logs=$ROOT/bench/fuzz/logs/$stamp
scratch=$ROOT/fuzz/target/campaign/$stamp
mkdir -p "$logs" "$scratch"

command -v rustup >/dev/null || { echo "bench/fuzz: rustup is needed (nightly toolchain)" >&2; exit 1; }
rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
cargo fuzz --version 2>/dev/null | grep -q 0.13.2 || cargo install cargo-fuzz --locked --version 0.13.2

cd fuzz
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
{
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- "$ROOT/core" "$ROOT/fuzz" || echo ' (with local changes to core/ or fuzz/)')"
  echo "rustc: $(rustup run nightly rustc --version)"
  echo "cargo-fuzz: $(cargo fuzz --version)"
  echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "seconds per target: $SECS"
} >"$logs/env.txt"

# Builds first, so the timed runs are only fuzzing.
cargo +nightly fuzz build >"$scratch/build.log" 2>&1 || { tail -30 "$scratch/build.log"; exit 1; }

{
  echo "| target | executions | exec/s | coverage (edges) | features | corpus added | findings |"
  echo "|---|---|---|---|---|---|---|"
} >"$logs/summary.md"
found=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/corpus/$t" "$scratch/artifacts/$t"
  seeds=("$ROOT/fuzz/corpus/$t")
  [ -d "$ROOT/fuzz/regressions/$t" ] && seeds+=("$ROOT/fuzz/regressions/$t")
  echo "fuzzing $t for $SECS s"
  status=0
  cargo +nightly fuzz run "$t" "$scratch/corpus/$t" "${seeds[@]}" -- \
    -max_total_time="$SECS" -print_final_stats=1 -dict=oauth.dict \
    -artifact_prefix="$scratch/artifacts/$t/" >"$scratch/$t.log" 2>&1 || status=$?
  tail -n 40 "$scratch/$t.log" >"$logs/$t.tail"
  stat() { grep -m1 "^stat::$1:" "$scratch/$t.log" | awk '{print $2}'; }
  last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$scratch/$t.log" | tail -n1 || true)
  cov=$(sed -E 's/.*cov: ([0-9]+).*/\1/' <<<"$last")
  ft=$(sed -E 's/.*ft: ([0-9]+).*/\1/' <<<"$last")
  artifacts=$(find "$scratch/artifacts/$t" -type f | wc -l)
  if [ "$status" -eq 0 ] && [ "$artifacts" -eq 0 ]; then
    findings=none
  else
    found=1
    findings="exit $status, $artifacts input(s) in fuzz/target/campaign/$stamp/artifacts/$t/: $(grep -m1 -E '^==[0-9]+==ERROR|panicked at|SUMMARY' "$scratch/$t.log" | cut -c1-160 || true)"
  fi
  printf '| `%s` | %s | %s | %s | %s | %s | %s |\n' "$t" "$(stat number_of_executed_units)" \
    "$(stat average_exec_per_sec)" "$cov" "$ft" "$(stat new_units_added)" "$findings" >>"$logs/summary.md"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$logs/env.txt"
cat "$logs/summary.md"
echo "logged to ${logs#"$ROOT"/}"
exit "$found"
