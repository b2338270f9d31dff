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
lib=$build/libdefender_core_m4.a
arm-none-eabi-size "$lib" | awk 'NR==1 || /\.o/ {printf "  %-8s %-8s %-8s %s\n", $1, $2, $3, $6}'
# The budget covers the core proper (state machine, sink, encoders, response parser,
# topics); defender_names.c (texts of the status values for logs) is listed apart: a
# program that never prints a status does not link it.
sum() { arm-none-eabi-size "$lib" | awk -v col="$1" 'NR > 1 && !/defender_names/ {s += $col} END {print s}'; }
text=$(sum 1)
data=$(sum 2)
bss=$(sum 3)
echo
echo "Whole program (core + newlib-nano + libgcc + demo, after --gc-sections):"
arm-none-eabi-size "$elf" | sed 's/^/  /'
# What the core costs inside the program: its .text/.rodata input sections the linker
# kept (functions the program never reaches are dropped by --gc-sections).
linked=$(awk 'function hex(h,   i, v) {v = 0; h = tolower(substr(h, 3));
        for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
        return v}
    /^Linker script and memory map/ {m = 1} !m {next}
    /^ \.(text|rodata)/ {sec = 1; if (NF >= 4) {size = $3; obj = $4} else next}
    sec && NF >= 3 && $1 ~ /^0x/ {size = $2; obj = $3}
    sec && obj != "" {if (obj ~ /libdefender_core_m4\.a/ && obj !~ /defender_names/) s += hex(size); sec = 0; obj = ""}
    END {print s + 0}' "$build/defender_m4_demo.map" 2>/dev/null || echo "?")
ctx=$(printf '#include "defender_core.h"\nunsigned long s = sizeof(DefenderContext_t);\n' | \
      arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -I"$here/../../source/include" \
      -I"$here/../../source/interface" -I"$here" -x c -S -o - - | awk '/\.word/ {print $2; exit}')
echo
echo "Core (without defender_names.c): .text $text B (budget 8192), .data $data B, .bss $bss B (budget 256 with .data);"
echo "      linked into the demo program: $linked B of .text/.rodata;"
echo "      DefenderContext_t (caller-owned, MCU config: 10 entries/list) $ctx B"
# Builds that leave a feature out, for information: one report format
# (DEFENDER_CONFIG_FORMAT_JSON / _CBOR 0), no custom metrics (DEFENDER_CONFIG_MAX_CUSTOM_METRICS 0).
variant() { # name, label, definitions (;-separated)
    one="$build-$1"
    cmake -S "$here" -B "$one" -DCMAKE_TOOLCHAIN_FILE="$here/toolchain-arm-none-eabi.cmake" \
          -DDEFENDER_M4_DEFINITIONS="$3" >/dev/null
    cmake --build "$one" -j"$(nproc)" --target defender_core_m4 >/dev/null
    echo "      $2: .text $(arm-none-eabi-size "$one/libdefender_core_m4.a" |
          awk 'NR > 1 && !/defender_names/ {s += $1} END {print s}') B"
}
variant json-only "JSON only (DEFENDER_CONFIG_FORMAT_CBOR 0)" "DEFENDER_CONFIG_FORMAT_CBOR=0"
variant cbor-only "CBOR only (DEFENDER_CONFIG_FORMAT_JSON 0)" "DEFENDER_CONFIG_FORMAT_JSON=0"
variant no-custom "no custom metrics (DEFENDER_CONFIG_MAX_CUSTOM_METRICS 0)" \
        "DEFENDER_CONFIG_MAX_CUSTOM_METRICS=0U"
variant cbor-only-no-custom "CBOR only, no custom metrics" \
        "DEFENDER_CONFIG_FORMAT_JSON=0;DEFENDER_CONFIG_MAX_CUSTOM_METRICS=0U"
if [ $((data + bss)) -gt 256 ]; then
    echo "FAIL: the core has more than 256 B of static RAM"
    exit 1
fi
if [ "$text" -gt 8192 ]; then
    # Reported, not enforced: the core does not meet this target yet (docs/porting.md).
    echo "OVER BUDGET: core .text is $text B, $((text - 8192)) B over the 8192 B target"
fi
