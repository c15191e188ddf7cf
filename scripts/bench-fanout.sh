#!/usr/bin/env bash
# Fan-out comparison (issue 4): rfbcast and x11vnc -reflect behind the same upstream (1920x1080,
# 30 fps, bench/fanout's own server) with N viewers each, one short window per run, printed as
# one markdown table. Every run is bounded by `timeout`; x11vnc stops being tried at larger N
# once it has collapsed (median below 1 update/s per viewer) or failed.
#
# Environment (all optional):
#   FANOUT_BUILD      build directory (default build-fanout; configured Release here)
#   FANOUT_COUNTS     viewer counts (default "1 10 100 300 1000")
#   FANOUT_X11VNC_MAX largest N tried with x11vnc (default 1000; it is skipped sooner if it
#                     collapses, and libvncserver's select() cannot go past ~1000 sockets)
#   FANOUT_SECONDS    measured window per run (default 10), FANOUT_WARMUP (default 3)
#   FANOUT_ENCODING   what viewers ask for (default zrle)
#   FANOUT_EXTRA      extra fanout arguments for every run (e.g. "--slow 3@256kbit", or
#                     "--stall 2 --reflector-arg=--viewer-stall-timeout --reflector-arg=5")
#   FANOUT_OUT        directory for the JSON lines and logs (default: a new mktemp -d)
#   FANOUT_NICE       run the tool and the reflector at this niceness (e.g. -5, as root) so that
#                     other work on the machine disturbs the numbers less; default unchanged
set -euo pipefail
cd "$(dirname "$0")/.."

build=${FANOUT_BUILD:-build-fanout}
counts=${FANOUT_COUNTS:-"1 10 100 300 1000"}
x11vnc_max=${FANOUT_X11VNC_MAX:-1000}
window=${FANOUT_SECONDS:-10}
warmup=${FANOUT_WARMUP:-3}
encoding=${FANOUT_ENCODING:-zrle}
read -r -a extra <<< "${FANOUT_EXTRA:-}"
prio=()
[[ -n ${FANOUT_NICE:-} ]] && prio=(nice -n "$FANOUT_NICE")
out=${FANOUT_OUT:-$(mktemp -d /tmp/bench-fanout.XXXXXX)}
mkdir -p "$out"

# Release at -O2: GCC 12 at -O3 reports a false -Werror=restrict in reflector/socket_address.cpp.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
  -DRFBCAST_BENCH=ON > "$out/cmake.log"
cmake --build "$build" --target rfbcast fanout > "$out/build.log"
tool="$build/bench/fanout"
have_x11vnc=1
command -v x11vnc > /dev/null || have_x11vnc=0

rows=()
# A row for a run that produced no numbers: reflector, N and encoding, the note in the notes
# column, every other cell empty. The cell count comes from the tool's own header, so the row
# stays in step when columns are added.
header=$("$tool" --print-header | head -n 1)
columns=$(awk -F'|' '{ print NF - 2 }' <<< "$header")
notes_column=$(awk -F'|' '{ for (i = 2; i < NF; i++) if ($i ~ /^ *notes *$/) print i - 1 }' <<< "$header")
empty_row() {
  local row="| $1 | $2 | $encoding |" i
  for (( i = 4; i <= columns; i++ )); do
    if (( i == notes_column )); then row+=" $3 |"; else row+=" |"; fi
  done
  echo "$row"
}
x11vnc_done=""  # set to a reason once x11vnc has collapsed or failed
for n in $counts; do
  for reflector in rfbcast x11vnc; do
    if [[ $reflector == x11vnc ]]; then
      if (( ! have_x11vnc )); then x11vnc_done="x11vnc not installed"; fi
      if (( n > x11vnc_max )); then x11vnc_done="not tried above N=$x11vnc_max"; fi
      if [[ -n $x11vnc_done ]]; then
        rows+=("$(empty_row x11vnc "$n" "skipped: $x11vnc_done")")
        continue
      fi
    fi
    limit=$(( window + warmup + 120 + n / 10 ))
    log="$out/$reflector-$n.log"
    echo "== $reflector, $n viewers (at most ${limit} s)" >&2
    status=0
    timeout --kill-after=10 "$limit" "${prio[@]}" "$tool" --reflector "$reflector" --viewers "$n" \
      --encoding "$encoding" --seconds "$window" --warmup "$warmup" --child-log "$log" \
      --json --markdown "${extra[@]}" > "$out/$reflector-$n.out" 2> "$out/$reflector-$n.err" ||
      status=$?
    json=$(grep '^{' "$out/$reflector-$n.out" || true)
    row=$(grep '^|' "$out/$reflector-$n.out" || true)
    [[ -n $json ]] && echo "$json" >> "$out/results.jsonl"
    if [[ -z $row ]]; then
      why=$(tail -n 1 "$out/$reflector-$n.err" | tr '|' '/')
      (( status == 124 || status == 137 )) && why="timed out after ${limit} s"
      (( status == 142 )) && why="hit its own time limit (SIGALRM)"
      row=$(empty_row "$reflector" "$n" "failed: ${why:-exit $status}")
      [[ $reflector == x11vnc ]] && x11vnc_done="failed at N=$n"
    elif [[ $reflector == x11vnc ]]; then
      median=$(sed -n 's/.*"updates_per_s":{[^}]*"median":\([0-9.]*\).*/\1/p' <<< "$json")
      if [[ -n $median ]] && awk "BEGIN{exit !($median < 1)}"; then
        x11vnc_done="collapsed at N=$n"
      fi
    fi
    rows+=("$row")
  done
done

echo
echo "Command: FANOUT_COUNTS=\"$counts\" FANOUT_SECONDS=$window FANOUT_WARMUP=$warmup" \
  "FANOUT_ENCODING=$encoding ${FANOUT_NICE:+FANOUT_NICE=$FANOUT_NICE }bash scripts/bench-fanout.sh" \
  "${FANOUT_EXTRA:+(FANOUT_EXTRA=\"$FANOUT_EXTRA\")}"
echo
"$tool" --print-header
printf '%s\n' "${rows[@]}"
echo
echo "JSON lines: $out/results.jsonl; reflector logs: $out/*.log" >&2
