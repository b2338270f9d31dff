#!/usr/bin/env bash
# Builds the core for Cortex-M4 at -Os, links the demo program, fails if any heap or
# printf-family function is linked, and prints .text/.data/.bss of the core and the
# program. Usage: ports/cortex-m4/check-size.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build-cortex-m4}
cmake -S "$here" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$here/toolchain-arm-none-eabi.cmake" >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

elf=$build/defender_m4_demo.elf
forbidden='^(malloc|free|calloc|realloc|_malloc_r|_free_r|printf|sprintf|snprintf|vsnprintf|vprintf|fprintf|puts|_printf_r|_vfprintf_r|_svfprintf_r)$'
if arm-none-eabi-nm "$elf" | awk '{print $NF}' | grep -E "$forbidden"; then
    echo "FAIL: the Cortex-M4 program links heap or printf-family functions (listed above)"
    exit 1
fi
echo "Cortex-M4 (-mcpu=cortex-m4 -mthumb, -Os): no malloc/free/printf-family symbol linked"
echo
echo "Core objects (libdefender_core_m4.a):"
arm-none-eabi-size -t "$build/libdefender_core_m4.a" | awk 'NR==1 || /\.o/ || /TOTALS/ {printf "  %-8s %-8s %-8s %s\n", $1, $2, $3, $6}'
text=$(arm-none-eabi-size -t "$build/libdefender_core_m4.a" | awk '/TOTALS/ {print $1}')
data=$(arm-none-eabi-size -t "$build/libdefender_core_m4.a" | awk '/TOTALS/ {print $2}')
bss=$(arm-none-eabi-size -t "$build/libdefender_core_m4.a" | awk '/TOTALS/ {print $3}')
echo
echo "Whole program (core + newlib-nano + libgcc + demo, after --gc-sections):"
arm-none-eabi-size "$elf" | sed 's/^/  /'
ctx=$(printf '#include "defender_core.h"\nunsigned long s = sizeof(DefenderContext_t);\n' | \
      arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -I"$here/../../source/include" \
      -I"$here/../../source/interface" -I"$here" -x c -S -o - - | awk '/\.word/ {print $2; exit}')
echo
echo "Core: .text $text B (budget 8192), .data $data B, .bss $bss B (budget 256 with .data);"
echo "      DefenderContext_t (caller-owned, MCU config: 10 entries/list) $ctx B"
if [ $((data + bss)) -gt 256 ]; then
    echo "FAIL: the core has more than 256 B of static RAM"
    exit 1
fi
if [ "$text" -gt 8192 ]; then
    # Reported, not enforced: the figure is tracked in the notes until the core meets it.
    echo "OVER BUDGET: core .text is $text B, $((text - 8192)) B over the 8192 B target"
fi
