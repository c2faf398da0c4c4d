#!/usr/bin/env bash
# Fuzzes the notification protocol parser/writer (PipesLib/protocol) natively with libFuzzer,
# AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer.
#
#   PipesTests/fuzz/run_fuzz.sh [SECONDS]     (default 60; also: ./build.sh fuzz [SECONDS])
#
# Builds into ${BUILD_DIR:-build}/fuzz, works on a copy of the seed corpus there (the repository's
# corpus/ is never written), and fails on any crash, leak, undefined behaviour, timeout or broken
# round-trip property. Prints one result line; the full log is <BUILD_DIR>/fuzz/fuzz.log and a
# failing input is kept as <BUILD_DIR>/fuzz/artifacts/crash-* (replay: fuzz_protocol FILE).
# Needs clang and libclang-rt-14-dev (./build.sh deps installs both).
# Environment: BUILD_DIR, FUZZ_CC (default clang).
set -euo pipefail

seconds=${1:-60}
case $seconds in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
[ "$seconds" -ge 1 ] || { echo "usage: $0 [SECONDS] (at least 1)" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
out=$build/fuzz
cc=${FUZZ_CC:-clang}

fail() { echo "fuzz: FAIL - $*"; exit 1; }

command -v "$cc" >/dev/null || fail "$cc not found (./build.sh deps installs clang and libclang-rt-14-dev)"
mkdir -p "$out/corpus" "$out/artifacts"

# One static build of the library sources plus the target; -fno-sanitize-recover makes every
# UBSan finding fatal (halt_on_error below does the same at run time).
"$cc" -std=c17 -g -O1 -Wall -Wextra -Werror \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
    -I"$root/PipesLib/protocol" \
    "$root"/PipesLib/protocol/*.c "$here/fuzz_protocol.c" \
    -o "$out/fuzz_protocol" >"$out/build.log" 2>&1 ||
    { cat "$out/build.log"; fail "could not build the fuzzer (see $out/build.log)"; }

# Seeds go into the work corpus; what the fuzzer finds stays there for the next run.
cp "$here"/corpus/* "$out/corpus/"
rm -f "$out"/artifacts/*

status=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
"$out/fuzz_protocol" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=66000 \
    -error_exitcode=77 -timeout_exitcode=78 -print_final_stats=1 \
    -dict="$here/protocol.dict" -artifact_prefix="$out/artifacts/" \
    "$out/corpus" >"$out/fuzz.log" 2>&1 || status=$?

runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$out/fuzz.log" | grep -Eo '[0-9]+$' || true)
files=$(find "$out/corpus" -type f | wc -l)
artifact=$(find "$out/artifacts" -type f | head -n1)
if [ "$status" -ne 0 ] || [ -n "$artifact" ]; then
    tail -n 40 "$out/fuzz.log"
    fail "exit $status after ${runs:-?} runs; input: ${artifact:-none}; log: $out/fuzz.log"
fi
[ -n "$runs" ] || fail "no statistics in $out/fuzz.log"
echo "fuzz: PASS - ${seconds} s, $runs runs, corpus $files inputs, no crash/leak/UB ($out)"
