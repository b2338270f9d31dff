#!/usr/bin/env bash
# Runs the core on a Cortex-M4 for real: builds qemu/selftest.c for QEMU's mps2-an386
# board (Cortex-M4) and runs it there. It encodes and parses the protocol spec's worked
# examples byte for byte and runs the state machine; exit status 0 only when every check
# held. Usage: ports/cortex-m4/run-selftest.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build-cortex-m4}
cmake -S "$here" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$here/toolchain-arm-none-eabi.cmake" >/dev/null
cmake --build "$build" -j"$(nproc)" --target defender_m4_selftest >/dev/null
# Semihosting carries the output and the exit status; nothing else is attached.
timeout 120 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$build/defender_m4_selftest.elf"
