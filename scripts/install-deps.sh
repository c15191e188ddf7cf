#!/usr/bin/env bash
# Installs what rfbcast needs on Debian 12 (bookworm): the build dependencies, and with --test
# also the real peers the integration tests run against (Xvnc, x11vnc, vncsnapshot, libvncclient,
# TigerVNC's viewer, Xvfb, wayvnc under a headless sway with Xwayland). Safe to run again: it
# installs only what is missing.
set -euo pipefail

build_pkgs=(build-essential cmake ninja-build pkg-config git
  liburing-dev libxxhash-dev libturbojpeg0-dev libzstd-dev zlib1g-dev libisal-dev nettle-dev libgmp-dev
  libgnutls28-dev prometheus-cpp-dev libcli11-dev libtomlplusplus-dev libgtest-dev libgmock-dev libbenchmark-dev)
test_pkgs=(tigervnc-standalone-server tigervnc-tools tigervnc-viewer x11vnc xvfb vncsnapshot
  tightvncserver xfonts-base qemu-system-x86 libvncserver-dev libx11-dev x11-apps x11-utils
  xdotool imagemagick clang-format clang libclang-rt-14-dev procps iproute2
  sway swaybg wayvnc xwayland openssl gnutls-bin valgrind chromium prometheus
  yamllint python3-jsonschema python3-yaml golang-go golang-github-masterminds-sprig-dev
  golang-gopkg-yaml.v3-dev python3-seccomp tini)

# The browser viewer's noVNC comes through npm at build time. A machine whose Node.js came from
# elsewhere (nodesource) already has npm, and Debian's npm package would conflict with it.
if ! command -v npm >/dev/null 2>&1; then build_pkgs+=(nodejs npm); fi

pkgs=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then pkgs+=("${test_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi

sudo=""
if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
