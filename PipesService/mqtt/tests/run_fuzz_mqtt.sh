#!/usr/bin/env bash
# Fuzzes the MQTT packet codec (PipesService/mqtt/mqtt_{status,topic,encode,decode}.c) natively
# with libFuzzer, AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer; the target
# (fuzz_mqtt_codec.c) checks the round trip decode(encode(x)) == x and canonical re-encoding.
#
#   PipesService/mqtt/tests/run_fuzz_mqtt.sh [SECONDS]     (default 30)
#
# Builds into ${BUILD_DIR:-build}/fuzz-mqtt, works on a copy of the seed corpus (fuzz_corpus/ is
# never written), fails on any crash, leak, undefined behaviour, timeout or broken property.
# A failing input is kept as <BUILD_DIR>/fuzz-mqtt/artifacts/crash-* (replay: fuzz_mqtt FILE).
set -euo pipefail

seconds=${1:-30}
case $seconds in '' | *[!0-9]* | 0) echo "usage: $0 [SECONDS >= 1]" >&2; exit 2 ;; esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${BUILD_DIR:-build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
out=$build/fuzz-mqtt
cc=${FUZZ_CC:-clang}
fail() { echo "fuzz-mqtt: FAIL - $*"; exit 1; }

command -v "$cc" >/dev/null || fail "$cc not found (./build.sh deps installs clang and libclang-rt-14-dev)"
mkdir -p "$out/corpus" "$out/artifacts"
mqtt=$root/PipesService/mqtt
"$cc" -std=c17 -g -O1 -Wall -Wextra -Werror \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
    -I"$mqtt" -I"$root/PipesLib/protocol" \
    "$mqtt"/mqtt_status.c "$mqtt"/mqtt_topic.c "$mqtt"/mqtt_encode.c "$mqtt"/mqtt_decode.c \
    "$root"/PipesLib/protocol/pp_utf8.c "$here/fuzz_mqtt_codec.c" \
    -o "$out/fuzz_mqtt" >"$out/build.log" 2>&1 ||
    { cat "$out/build.log"; fail "could not build the fuzzer (see $out/build.log)"; }

cp "$here"/fuzz_corpus/* "$out/corpus/"
rm -f "$out"/artifacts/*
status=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
"$out/fuzz_mqtt" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -error_exitcode=77 -timeout_exitcode=78 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/" "$out/corpus" >"$out/fuzz.log" 2>&1 || status=$?

runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$out/fuzz.log" | grep -Eo '[0-9]+$' || true)
artifact=$(find "$out/artifacts" -type f | head -n1)
if [ "$status" -ne 0 ] || [ -n "$artifact" ]; then
    tail -n 40 "$out/fuzz.log"
    fail "exit $status after ${runs:-?} runs; input: ${artifact:-none}; log: $out/fuzz.log"
fi
[ -n "$runs" ] || fail "no statistics in $out/fuzz.log"
echo "fuzz-mqtt: PASS - ${seconds} s, $runs runs, corpus $(find "$out/corpus" -type f | wc -l) inputs"
