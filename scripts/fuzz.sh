#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with Clang in build-fuzz and runs each for
# SECONDS_PER_TARGET seconds (default 10) on a copy of its seed corpus. Exits non-zero on any
# crash, leak, timeout or out-of-memory, after printing the reproducer's path.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]
#   FUZZ_TARGETS="tight_decoder zrle_decoder" bash scripts/fuzz.sh 600   # a subset, longer
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "usage: $0 [SECONDS_PER_TARGET]" >&2
  exit 2
fi

bash scripts/install-deps.sh
missing=()
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi
  echo "fuzz: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

all_targets=(raw_decoder copyrect_decoder rre_decoder corre_decoder hextile_decoder zlib_decoder
  zrle_decoder trle_decoder tight_decoder server_message_reader client_message_parser
  server_handshake client_handshake ard_auth zstd_decoder zstdrle_decoder repeater_header
  proxy_protocol http_request websocket_frame_reader extended_clipboard)
read -r -a targets <<<"${FUZZ_TARGETS:-${all_targets[*]}}"

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DRFBCAST_FUZZ=ON -DRFBCAST_TESTS=ON \
  -DRFBCAST_BENCH=OFF >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=("${t}_fuzz"); done
cmake --build build-fuzz --target "${build_targets[@]}"

work="build-fuzz/fuzz-work"
# One target per core at a time: each libFuzzer run is single-threaded.
parallel="${FUZZ_JOBS:-$(nproc)}"

# Runs one target on a copy of its seeds; its summary goes to $dir/summary, and $dir/failed
# marks a finding.
run_target() {
  local t="$1" dir="$work/$1" seeds="tests/fuzz/corpus/$1"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if [[ -d "$seeds" ]]; then cp "$seeds"/* "$dir/corpus/"; fi
  # -timeout: one input taking 10 s is a hang. -rss_limit_mb: a 16384x16384 framebuffer is a
  # legal 1 GiB; more than that is a leak or a runaway.
  if ! "build-fuzz/tests/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" >"$dir/log" 2>&1; then
    {
      echo "fuzz: $t FAILED (log: $dir/log)"
      grep -E "ERROR|SUMMARY|invariant failed" "$dir/log" | head -5 || true
      for a in "$dir"/artifacts/*; do
        [[ -e "$a" ]] || continue
        echo "fuzz: reproducer: $a"
        echo "fuzz:   rerun with: build-fuzz/tests/fuzz/${t}_fuzz $a"
      done
    } >"$dir/summary"
    touch "$dir/failed"
  else
    echo "fuzz: $t for ${seconds}s: $(grep -E "stat::number_of_executed_units|stat::peak_rss_mb" \
      "$dir/log" | tr -s ' \n' ' ')" >"$dir/summary"
  fi
}

running=0
for t in "${targets[@]}"; do
  if ((running >= parallel)); then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait

failed=()
for t in "${targets[@]}"; do
  cat "$work/$t/summary"
  if [[ -e "$work/$t/failed" ]]; then failed+=("$t"); fi
done

if ((${#failed[@]})); then
  echo "fuzz: failures in: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ran ${seconds}s each without a finding"
