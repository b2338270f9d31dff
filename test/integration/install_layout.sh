#!/usr/bin/env bash
# The installed layout: `DESTDIR=STAGE cmake --install` of a build, then every installed
# systemd unit must name files that the same install put there: the ExecStart program,
# its --config file, the Documentation= pages; the installed guides' links must name installed
# pages; the agent's example configuration must
# name its certificates in the configuration's folder. Installing again keeps an edited
# configuration (the new one goes beside it as .example).
#
# Usage:
#   install_layout.sh BUILD_DIR UNIT...
#       the build as configured (its CMAKE_INSTALL_PREFIX; /usr/local by default)
#   install_layout.sh --prefix PREFIX SOURCE_DIR WORK_DIR C_COMPILER UNIT...
#       a build of SOURCE_DIR configured in WORK_DIR with -DCMAKE_INSTALL_PREFIX=PREFIX and
#       -DDEFENDER_BUILD_TESTS=OFF (which must generate no test program), then as above
# UNIT: the unit names expected (defender-agent, defender-detect).
set -euo pipefail

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if [ "$1" = "--prefix" ]; then
    prefix=$2 source=$3 build=$4 compiler=$5
    shift 5
    cmake -S "$source" -B "$build" -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_C_COMPILER="$compiler" \
        -DDEFENDER_BUILD_TESTS=OFF -DDEFENDER_BUILD_BENCH=OFF -DDEFENDER_BUILD_FUZZERS=OFF >/dev/null
    tests=$(cmake --build "$build" --target help |
            grep -E '^\.\.\. (unit_|integration_|service_(test|itest)|rules_test|defender_test_support|defender-test-peer)' || true)
    [ -z "$tests" ] ||
        fail "DEFENDER_BUILD_TESTS=OFF still generates $(echo "$tests" | wc -l) test programs:" \
             "$(echo "$tests" | head -n 3 | sed 's/^\.\.\. //' | tr '\n' ' ')..."
    cmake --build "$build" -j2 >/dev/null
else
    build=$1
    shift
fi
cached() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
prefix=$(cached CMAKE_INSTALL_PREFIX)
units=("$@")
stage=$(mktemp -d /tmp/defender-layout-XXXXXX)
trap 'rm -rf "$stage"' EXIT

install_to_stage() {
    DESTDIR="$stage" cmake --install "$build" >"$stage.log" 2>&1 || {
        cat "$stage.log"
        rm -f "$stage.log"
        echo "FAIL: cmake --install"
        exit 1
    }
    rm -f "$stage.log"
}
install_to_stage
echo "installed prefix $prefix into a staging folder"

# Where GNUInstallDirs puts the programs and the configuration of a prefix.
bin=$(cached CMAKE_INSTALL_BINDIR)
case "$bin" in /*) ;; *) bin=$prefix/$bin ;; esac
etc=$(cached CMAKE_INSTALL_SYSCONFDIR)
case "$etc:$prefix" in
    /*) ;;
    etc:/usr | etc:/) etc=/etc ;;
    etc:/opt/*) etc=/etc$prefix ;;
    *) etc=$prefix/$etc ;;
esac

for unit in "${units[@]}"; do
    files=$(find "$stage" -name "$unit.service")
    if [ "$(echo "$files" | grep -c .)" != 1 ]; then
        fail "$unit.service: installed $(echo "$files" | grep -c .) times"
        continue
    fi
    file=$files
    grep -q '@' "$file" && fail "$unit.service: unconfigured @VARIABLE@: $(grep '@' "$file")"
    exec_line=$(sed -n 's/^ExecStart=//p' "$file")
    program=${exec_line%% *}
    config=$(echo "$exec_line" | sed -n 's/.*--config \([^ ]*\).*/\1/p')
    echo "$unit.service: ExecStart=$exec_line"
    [ "$program" = "$bin/$unit" ] || fail "$unit.service: program $program, expected $bin/$unit"
    [ "$config" = "$etc/$unit/$unit.conf" ] || fail "$unit.service: --config $config, expected $etc/$unit/$unit.conf"
    [ -x "$stage$program" ] || fail "$unit.service: $program not installed"
    grep -q '@' "$stage$config" 2>/dev/null && fail "$config: unconfigured @VARIABLE@"
    # Documentation= holds a space-separated list of addresses.
    # shellcheck disable=SC2013
    for doc in $(sed -n 's/^Documentation=//p' "$file"); do
        case "$doc" in
            file://*) [ -f "$stage${doc#file://}" ] || fail "$unit.service: $doc not installed" ;;
            man:*)
                page=${doc#man:}
                name=${page%%(*}
                section=${page#*(}
                section=${section%)}
                [ -n "$(find "$stage" -path "*/man$section/$name.$section")" ] ||
                    fail "$unit.service: $doc not installed"
                ;;
            *) fail "$unit.service: Documentation=$doc" ;;
        esac
    done
    if [ ! -f "$stage$config" ]; then
        fail "$unit.service: $config not installed"
    elif [ "$unit" = defender-agent ]; then
        for name in ca cert key; do
            path=$(sed -n "s/^$name = //p" "$stage$config")
            [ "$(dirname "$path")" = "$etc/defender-agent" ] ||
                fail "$config: $name = $path, not in $etc/defender-agent"
        done
    fi
done
# The installed guides' links to other pages (the specifications in spec/ ...) name
# installed files.
guides=$(find "$stage" -path '*/doc/*' -name agent.md -printf '%h\n' | head -n 1)
if [ -z "$guides" ]; then
    fail "the guides (docs/*.md) are not installed"
else
    while IFS= read -r page; do
        for link in $(grep -o '](\([^)#]*\.md\)\(#[^)]*\)\?)' "$page" | sed 's/^](\([^)#]*\).*/\1/'); do
            case "$link" in
                *://*) ;;
                *) [ -f "$(dirname "$page")/$link" ] ||
                       fail "${page#"$stage"}: links to $link, which is not installed" ;;
            esac
        done
    done < <(find "$guides" -name '*.md')
fi
if [ "$etc" = /etc ] && [ -e "$stage$prefix/etc" ]; then
    fail "configuration installed under $prefix/etc, the units read $etc"
fi

# Installing again keeps an edited configuration.
edited=()
for unit in "${units[@]}"; do
    if [ -f "$stage$etc/$unit/$unit.conf" ]; then
        echo "# edited" >>"$stage$etc/$unit/$unit.conf"
        edited+=("$unit")
    fi
done
install_to_stage
for unit in "${edited[@]}"; do
    [ "$(tail -n 1 "$stage$etc/$unit/$unit.conf")" = "# edited" ] ||
        fail "$etc/$unit/$unit.conf: an edited configuration was overwritten"
    [ -f "$stage$etc/$unit/$unit.conf.example" ] ||
        fail "$etc/$unit/$unit.conf.example: not installed beside the edited configuration"
done

if [ "$failures" -ne 0 ]; then
    echo "0 passed, $failures failed"
    exit 1
fi
echo "1 passed, 0 failed"
