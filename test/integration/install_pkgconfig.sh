#!/usr/bin/env bash
# The library as a user gets it: `cmake --install` into a fresh prefix, a program that
# includes <defender.h> built with `pkg-config --cflags --libs defender` (the seed's
# example, unchanged), run against a real broker and a peer that accepts its report.
# Usage: install_pkgconfig.sh BUILD_DIR SOURCE_DIR PEER_PROGRAM
set -euo pipefail
build=$1
source=$2
peer=$3
work=$(mktemp -d /tmp/defender-install-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib/x86_64-linux-gnu/pkgconfig:${PKG_CONFIG_PATH:-}"
flags=$(pkg-config --cflags --libs defender)
echo "pkg-config --cflags --libs defender: $flags"
cc -std=c11 -Wall -Wextra -Werror -o "$work/seed-example" \
    "$source/examples/seed/main.c" "$source/examples/seed/my_defender_init.c" $flags

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" >"$work/mosquitto.conf"
"$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$work/mosquitto.conf" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
"$peer" "$port" accept >"$work/peer.log" &
pids+=($!)
for _ in $(seq 100); do grep -q ready "$work/peer.log" 2>/dev/null && break; sleep 0.05; done

out=$(DEFENDER_ENDPOINT="127.0.0.1:$port" DEFENDER_THING_NAME=installed-example \
      DEFENDER_STATE_DIR="$work/state" "$work/seed-example")
echo "$out"
case "$out" in
    *eDefenderRepSuccess*) echo "1 passed, 0 failed" ;;
    *) echo "0 passed, 1 failed"; exit 1 ;;
esac
