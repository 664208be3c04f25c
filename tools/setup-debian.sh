#!/bin/sh
# Installs the Debian 12 packages gort needs, if any is missing.
#   tools/setup-debian.sh          build and test dependencies
#   tools/setup-debian.sh bench    also golang-go, wrk, gnuplot, slowhttptest (benchmarks)
#   tools/setup-debian.sh fuzz     also clang-14 and its libFuzzer/sanitizer runtimes (make fuzz)
set -eu
pkgs="cmake ninja-build g++ make libboost1.81-dev libboost-context1.81-dev catch2 libspdlog-dev curl"
if [ "${1:-}" = "bench" ]; then
  pkgs="$pkgs golang-go wrk gnuplot-nox python3 slowhttptest"
fi
if [ "${1:-}" = "fuzz" ]; then
  pkgs="$pkgs clang-14 libclang-rt-14-dev"
fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
