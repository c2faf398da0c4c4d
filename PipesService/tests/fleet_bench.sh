#!/usr/bin/env bash
# Throughput of the broker bridge (./build.sh fleet-bench): COUNT QoS 1 messages (default 1000)
# published with one `mosquitto_pub -l` to <prefix>/all while the service is connected, on the
# setup of the fleet suites (fleet_env.sh: mosquitto on loopback, plain TCP, the MSI-installed
# service run by the SCM under Wine, the test tray on session 1). Prints messages/s from the publish's start to the
# last one in the tray, and the engine's memory. A figure, never a pass/fail on time: it fails
# only when messages are lost or delivered twice. The broker saves its database every 1800 s (its
# default, as deployed) unless FLEET_BENCH_SAVE_EACH=1 keeps the test broker's save after each change.
#   BUILD_DIR=<build> [FLEET_BENCH_SAVE_EACH=1] PipesService/tests/fleet_bench.sh [COUNT]
FLEET_WORK_NAME=fleet-bench
[ "${FLEET_BENCH_SAVE_EACH:-0}" = 1 ] || FLEET_BROKER_AUTOSAVE=1800
. "$(dirname "${BASH_SOURCE[0]}")/fleet_env.sh"
COUNT=${1:-1000}
case $COUNT in '' | *[!0-9]*) bad "COUNT must be a number, not '$COUNT'"; exit 2 ;; esac

check "the engine connects to the broker" fleet_connect bench
notes b 1 "$COUNT" >"$WORK/bench.txt"
now_ms() { date +%s%3N; }
arrived() { [ "$(tray_count b-)" -ge "$COUNT" ]; }
KIB0=$(engine_kib)
START=$(now_ms)
pub -t pipes/v1/all -l <"$WORK/bench.txt" >"$WORK/bench-pub.out" 2>&1 &
EXTRA_PIDS=$!
wait "$EXTRA_PIDS"
PUBLISHED=$(now_ms)
check "all $COUNT in the tray" wait_for $((120 + COUNT / 2)) arrived
END=$(now_ms)
KIB1=$(engine_kib)
check "none delivered twice" test "$(delivered_twice b-)" -eq 0
echo "fleet-bench: $COUNT messages, mosquitto_pub -l -q 1 on loopback to the tray:"
echo "  publish acknowledged by the broker after $((PUBLISHED - START)) ms"
echo "  last one in the tray after $((END - START)) ms: $((COUNT * 1000 / (END - START + 1))) messages/s"
echo "  engine anonymous memory: $KIB0 KiB before, $KIB1 KiB after"
echo "  left with the broker for a while (status events above the high-water mark): $(status_value 'broker not stored yet (left for redelivery)')"
echo "  broker database saved $([ -n "${FLEET_BROKER_AUTOSAVE:-}" ] && echo "every $FLEET_BROKER_AUTOSAVE s" || echo "after each change")"
echo "  commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, $(wine --version), $(mosquitto -h | head -n1)"
engine_stop
fleet_done "fleet bench"
