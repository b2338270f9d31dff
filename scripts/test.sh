#!/usr/bin/env bash
# Runs every test of the project on this machine: installs what is missing, builds
# (gcc, -Werror), runs the unit, integration and end-to-end tests (real Mosquitto
# broker, real sockets, real database), then the same unit tests and fuzzers under
# ASan+UBSan (clang), the unit tests under valgrind, the Cortex-M4 build with its size
# budget, and the format check.
#
# Usage: scripts/test.sh [--quick | --tsan]
#   --quick: only the first build and its tests
#   --tsan:  only a ThreadSanitizer build (clang) and the tests that run threads: the seed
#            API, the agent's connection, the service and Rules Detect (not part of CI)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DEFENDER_BUILD_DIR:-$root/build}
jobs=$(nproc)
quick=false
[ "${1:-}" = "--quick" ] && quick=true

step() { printf '\n=== %s\n' "$*"; }

step "Dependencies"
"$root/scripts/install-deps.sh"

if [ "${1:-}" = "--tsan" ]; then
    step "ThreadSanitizer build (clang) and the multi-threaded tests"
    CC=clang cmake -S "$root" -B "$build-tsan" -DCMAKE_BUILD_TYPE=Debug -DDEFENDER_TSAN=ON \
        -DDEFENDER_BUILD_BENCH=OFF >/dev/null
    cmake --build "$build-tsan" -j"$jobs"
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/test/sanitizers/tsan.supp" \
        ctest --test-dir "$build-tsan" --output-on-failure -j"$jobs" --timeout 300 \
        -R 'unit_seed_api|integration_seed|integration_mosquitto|integration_agent|service_|rules_' \
        -E 'memcheck|fuzz'
    step "All tests passed"
    exit 0
fi

step "Format check (clang-format, .clang-format)"
cd "$root"
mapfile -t sources < <(git ls-files '*.c' '*.h' | grep -v '^examples/seed/my_defender_init.c$')
if ! clang-format --dry-run -Werror "${sources[@]}" 2>/tmp/defender-format.log; then
    head -40 /tmp/defender-format.log
    echo "FAIL: files above are not formatted; run: clang-format -i <file>"
    exit 1
fi
echo "ok: ${#sources[@]} files formatted"

step "Build (gcc, -Wall -Wextra -Werror)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDEFENDER_VALGRIND_TESTS=ON >/dev/null
cmake --build "$build" -j"$jobs"

step "Tests (unit, integration, end to end; unit tests again under valgrind)"
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 300

if ! $quick; then
    step "ASan+UBSan build (clang) with libFuzzer targets: every test and the fuzz runs"
    CC=clang cmake -S "$root" -B "$build-asan" -DCMAKE_BUILD_TYPE=Debug -DDEFENDER_SANITIZE=ON \
        -DDEFENDER_BUILD_FUZZERS=ON >/dev/null
    cmake --build "$build-asan" -j"$jobs"
    # Everything again under the sanitizers (the valgrind runs belong to the first build).
    ctest --test-dir "$build-asan" --output-on-failure -j"$jobs" -LE memcheck --timeout 300

    step "Cortex-M4 build of the core (-Os), no heap/printf, size report"
    "$root/ports/cortex-m4/check-size.sh" "$build-cortex-m4"

    step "The core on a Cortex-M4 (QEMU mps2-an386): the spec's examples and the state machine"
    "$root/ports/cortex-m4/run-selftest.sh" "$build-cortex-m4"
fi

step "All tests passed"
