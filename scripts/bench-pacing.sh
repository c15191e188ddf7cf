#!/usr/bin/env bash
# Per-viewer pacing (issue 5): rfbcast and x11vnc -reflect behind the same upstream (1920x1080,
# 30 fps, bench/fanout's own server), viewers asking for Tight with JPEG quality level 8, in two
# cases each: (a) 20 fast viewers alone, (b) the same 20 plus 3 viewers that read at 256 kbit/s.
# Prints one markdown table: what the fast viewers get with and without the slow ones, what the
# slow ones get (frame rate, age of the backlog they are shown, JPEG quality), and the
# reflector's CPU. Every run is bounded by `timeout`.
#
# Environment (all optional):
#   PACING_BUILD       build directory (default build-fanout; configured Release here)
#   PACING_REFLECTORS  default "rfbcast x11vnc"
#   PACING_FAST        fast viewers (default 20)
#   PACING_SLOW        slow viewers as K@RATE (default 3@256kbit)
#   PACING_QUALITY     JPEG quality level 0-9 viewers ask for (default 8)
#   PACING_SECONDS     measured window per run (default 15)
#   PACING_WARMUP      seconds of updates before the window (default 10: a slow viewer's first,
#                      full-screen update alone takes seconds at 256 kbit/s)
#   PACING_EXTRA       extra fanout arguments for every run
#   PACING_OUT         directory for the JSON lines and logs (default: a new mktemp -d)
set -euo pipefail
cd "$(dirname "$0")/.."

build=${PACING_BUILD:-build-fanout}
reflectors=${PACING_REFLECTORS:-"rfbcast x11vnc"}
fast=${PACING_FAST:-20}
slow=${PACING_SLOW:-3@256kbit}
quality=${PACING_QUALITY:-8}
window=${PACING_SECONDS:-15}
warmup=${PACING_WARMUP:-10}
read -r -a extra <<< "${PACING_EXTRA:-}"
out=${PACING_OUT:-$(mktemp -d /tmp/bench-pacing.XXXXXX)}
mkdir -p "$out"
command -v jq > /dev/null || { echo "bench-pacing.sh needs jq" >&2; exit 1; }
slow_count=${slow%%@*}
[[ $slow_count =~ ^[0-9]+$ ]] || { echo "PACING_SLOW must be K@RATE" >&2; exit 1; }

# Release at -O2: GCC 12 at -O3 reports a false -Werror=restrict in reflector/socket_address.cpp.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
  -DRFBCAST_BENCH=ON > "$out/cmake.log"
cmake --build "$build" --target rfbcast fanout > "$out/build.log"
tool="$build/bench/fanout"

# One table row from one run's JSON line; the "vs alone" cell compares with the same
# reflector's run without slow viewers ($2, possibly empty).
row() {
  jq -r --argjson alone "${2:-null}" '
    def f1: if . == null then "–" else
      (. * 10 | round) as $t | ($t | fabs) as $a
      | (if $t < 0 then "-" else "" end) + "\($a / 10 | floor).\($a % 10)" end;
    def f0: if . == null then "–" else (. | round | tostring) end;
    def q: if . == null then "–" else tostring end;
    def share: if . == null then "–" else ((. * 100 | round | tostring) + " %") end;
    def viewers: (.viewers_ready | tostring) + (if .slow > 0 then " (" + (.slow | tostring) + " slow)" else "" end);
    "| \(.reflector) | \(viewers) | \(.probe_frames_per_s | f1) | "
    + "\(.latency_ms.p50 | f1) / \(.latency_ms.p99 | f1) | "
    + (if .slow > 0 then
         "\(.slow_frames_per_s.median | f1) | "
         + (if .slow_latency_ms.samples > 0
              then "\(.slow_latency_ms.p50 | f0) / \(.slow_latency_ms.p99 | f0) / \(.slow_latency_ms.max | f0)"
              else "none shown" end) + " | "
       else "– | – | " end)
    + "\(.jpeg.fast.quality_median | q) / \(.jpeg.slow.quality_median | q) | "
    + "\(.jpeg.fast.jpeg_share | share) / \(.jpeg.slow.jpeg_share | share) | "
    + "\(.reflector_cpu_pct | f0) | "
    + (if $alone == null or .slow == 0 then "–"
       elif ($alone.probe_frames_per_s // 0) > 0 then
         "fps \(.probe_frames_per_s / $alone.probe_frames_per_s * 100 | round) %, p99 "
         + (if .latency_ms.p99 >= $alone.latency_ms.p99 then "+" else "" end)
         + "\(.latency_ms.p99 - $alone.latency_ms.p99 | f1) ms"
       else "–" end) + " | "
    + ([(if .failed + .disconnected > 0 then "\(.failed) failed, \(.disconnected) dropped" else empty end),
        (if .slow_latency_ms.viewers_without_frames > 0
           then "\(.slow_latency_ms.viewers_without_frames) slow viewers showed no new frame" else empty end),
        (if .error != "" then .error else empty end)] | join("; ")) + " |"
  ' <<< "$1"
}

rows=()
for reflector in $reflectors; do
  if [[ $reflector == x11vnc ]] && ! command -v x11vnc > /dev/null; then
    rows+=("| x11vnc | | | | | | | | | | skipped: x11vnc not installed |")
    continue
  fi
  alone=""
  for case in alone slow; do
    args=(--viewers "$fast")
    name="$reflector-$fast"
    if [[ $case == slow ]]; then
      args=(--viewers $(( fast + slow_count )) --slow "$slow")
      name="$reflector-$fast+$slow"
    fi
    limit=$(( window + warmup + 120 ))
    # A reflector that dies before it listens (x11vnc -reflect now and then segfaults while
    # it connects to the upstream, before any viewer) gets one more try; nothing else does.
    for attempt in 1 2; do
      echo "== $reflector, $case (at most ${limit} s)" >&2
      status=0
      timeout --kill-after=10 "$limit" "$tool" --reflector "$reflector" "${args[@]}" \
        --encoding tight --quality "$quality" --fps 30 --width 1920 --height 1080 \
        --seconds "$window" --warmup "$warmup" --child-log "$out/$name.log" --json \
        "${extra[@]}" > "$out/$name.out" 2> "$out/$name.err" || status=$?
      grep -q 'does not listen on port' "$out/$name.err" || break
      cp "$out/$name.log" "$out/$name.attempt$attempt.log" 2> /dev/null || true
    done
    json=$(grep '^{' "$out/$name.out" || true)
    if [[ -z $json ]]; then
      why=$(tail -n 1 "$out/$name.err" | tr '|' '/')
      (( status == 124 || status == 137 )) && why="timed out after ${limit} s"
      rows+=("| $reflector | $case | | | | | | | | | failed: ${why:-exit $status} |")
      continue
    fi
    echo "$json" >> "$out/results.jsonl"
    [[ $case == alone ]] && alone=$json
    rows+=("$(row "$json" "$alone")")
  done
done

echo
echo "Command: PACING_FAST=$fast PACING_SLOW=$slow PACING_QUALITY=$quality" \
  "PACING_SECONDS=$window PACING_WARMUP=$warmup bash scripts/bench-pacing.sh" \
  "${PACING_EXTRA:+(PACING_EXTRA=\"$PACING_EXTRA\")}"
echo
echo "| reflector | viewers | fast fps | fast latency p50/p99 ms | slow fps |" \
  "slow backlog age p50/p99/max ms | JPEG q fast/slow | JPEG share fast/slow | CPU % |" \
  "fast vs alone | notes |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "JSON lines: $out/results.jsonl; reflector logs: $out/*.log" >&2
