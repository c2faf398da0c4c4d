#!/usr/bin/env bash
# check_exports.sh - pipes.dll exports exactly the functions pipes.h declares, and pipes.def
# lists exactly those: the three lists must be equal (objdump reads the built DLL).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${BUILD_DIR:?BUILD_DIR must be set (./build.sh exports it)}"
dll=$BUILD_DIR/bin/pipes.dll
[ -f "$dll" ] || { echo "check_exports: $dll not built"; exit 1; }

header=$(grep -o 'PIPES_CALL *[a-z_0-9]\+ *(' "$ROOT/PipesLib/include/pipes.h" |
         sed 's/PIPES_CALL *//; s/ *(//' | grep -v '^$' | sort -u)
# Callback typedefs also carry PIPES_CALL, written "(PIPES_CALL *name)": not functions.
def=$(sed -n 's/^ \+\([a-z_0-9]\+\)$/\1/p' "$ROOT/PipesLib/pipes.def" | sort -u)
dllnames=$(x86_64-w64-mingw32-objdump -p "$dll" |
           sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | grep -v 'Ordinal/Name' |
           sed -n 's/^.*\] \([A-Za-z_0-9]\+\)$/\1/p' | sort -u)

fail=0
compare() {
    if [ "$2" != "$4" ]; then
        echo "check_exports: $1 and $3 differ:"
        diff <(echo "$2") <(echo "$4") | sed 's/^/    /' || true
        fail=1
    fi
}
compare "pipes.h" "$header" "pipes.def" "$def"
compare "pipes.h" "$header" "pipes.dll exports" "$dllnames"
n=$(echo "$header" | wc -l)
[ "$n" -ge 19 ] || { echo "check_exports: only $n functions found in pipes.h"; fail=1; }
[ "$fail" -eq 0 ] && echo "check_exports: pipes.dll exports exactly the $n functions of pipes.h"
exit "$fail"
