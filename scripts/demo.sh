#!/usr/bin/env bash
# Installs the build dependencies, builds rfbcast and runs it. With no arguments it serves the
# built-in demo session on 0.0.0.0:5900: try `vncviewer 127.0.0.1::5900`. Arguments are passed
# to rfbcast, e.g. `bash scripts/demo.sh --upstream 127.0.0.1:5901 --listen 0.0.0.0:5900`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DRFBCAST_TESTS=OFF -DRFBCAST_BENCH=OFF
cmake --build build --target rfbcast
exec ./build/rfbcast "$@"
