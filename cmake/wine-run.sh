#!/usr/bin/env bash
# Runs a Windows executable under Wine in a build folder's private prefix. CMake uses it as
# CMAKE_CROSSCOMPILING_EMULATOR (see the top-level CMakeLists.txt), so ctest calls
#   wine-run.sh <BUILD_DIR>/wineprefix <program.exe> [args...]
# The prefix is created on first use (once per build folder, safe under `ctest -j`).
# The program's stdout+stderr go to a file, not a pipe (a service that Wine auto-starts would
# inherit a pipe and could keep a reader waiting forever), and are printed when it exits.
# If the run is killed (e.g. a ctest timeout) the partial output stays in <BUILD_DIR>/wine-run-logs/.
# Exit status: the program's (cut to 8 bits by Unix), or 125 if the prefix could not be made.
# Set PIPES_WINEDEBUG (e.g. "+seh,+pipe") to get Wine traces; the default is WINEDEBUG=-all.
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 WINEPREFIX PROGRAM.exe [ARGS...]" >&2
    exit 2
fi
prefix=$1
shift

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PIPES_WINE_ENV_NO_INIT=1 . "$here/wine-env.sh"
pipes_wine_env "$prefix" || exit 125

logdir=$(dirname "$WINEPREFIX")/wine-run-logs
mkdir -p "$logdir"
out=$(mktemp "$logdir/$(basename "$1").XXXXXX.log")

wine "$@" </dev/null >"$out" 2>&1 &
pid=$!
# On Ctrl-C or TERM: stop the program, but still show what it printed.
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; cat "$out"; rm -f "$out"; exit 143' INT TERM
wait "$pid"
rc=$?
trap - INT TERM
cat "$out"
rm -f "$out"
exit "$rc"
