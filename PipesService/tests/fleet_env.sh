# fleet_env.sh - the shared setup of the service's broker suites (run_fleet_tests.sh,
# run_fleet_robust_tests.sh) and of ./build.sh fleet-bench (fleet_bench.sh): a real mosquitto (the
# MQTT suite's test broker, PipesService/mqtt/tests/mqtt_broker.sh), the service's configuration
# for it in the Wine prefix $BUILD_DIR/wineprefix-fleet, the test tray (pipes-svctest tray) on
# session 1, a mosquitto_sub on the status topic, and the helpers the checks use.
# Source it from bash after setting FLEET_WORK_NAME (the folder under $BUILD_DIR for this run).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${BUILD_DIR:?BUILD_DIR must be set}"
BIN=$BUILD_DIR/bin
WORK=$BUILD_DIR/${FLEET_WORK_NAME:?FLEET_WORK_NAME must be set}
FAILS=0
T0=$(date +%s)

ok() { echo "  ok   [$(($(date +%s) - T0))] $*"; }
bad() { echo "  FAIL [$(($(date +%s) - T0))] $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
section() { echo "== [$(($(date +%s) - T0)) s] $*"; }

for tool in mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd openssl python3; do
    command -v "$tool" >/dev/null || { bad "$tool not installed (./build.sh deps)"; exit 1; }
done
PIPES_WINE_ENV_NO_INIT=1 . "$ROOT/cmake/wine-env.sh"
pipes_wine_env "$BUILD_DIR/wineprefix-fleet" || { bad "cannot create the Wine prefix"; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK"
winpath() { printf 'Z:%s' "${1//\//\\}"; }
regpath() { winpath "$1" | sed 's/\\/\\\\/g'; } # a path as a REGEDIT4 string value

BROKER_PID= ENGINE= TRAY= SUB= EXTRA_PIDS=
cleanup() {
    local p
    for p in $ENGINE $TRAY $SUB $BROKER_PID $EXTRA_PIDS; do kill "$p" 2>/dev/null; done
    wineserver -k >/dev/null 2>&1
}
trap cleanup EXIT
wineserver -k >/dev/null 2>&1
wineserver -w >/dev/null 2>&1
wineserver -p

. "$ROOT/PipesService/mqtt/tests/mqtt_broker.sh"
section "setup: mosquitto (plain and TLS), broker configuration, tray, engine"
mqtt_broker_setup || { bad "broker setup failed (see $WORK/setup.log)"; exit 1; }
# FLEET_BROKER_AUTOSAVE=SECONDS: the broker saves its database every SECONDS instead of after each
# change (the test broker's setting, which makes every acknowledgement cost a save): for figures.
if [ -n "${FLEET_BROKER_AUTOSAVE:-}" ]; then
    sed -i "s/^autosave_interval .*/autosave_interval $FLEET_BROKER_AUTOSAVE/; /^autosave_on_changes/d" \
        "$WORK/mosquitto.conf"
fi
broker_start || { bad "mosquitto did not start (see $WORK/mosquitto.log)"; exit 1; }
pub() { mosquitto_pub -h 127.0.0.1 -p "$PLAIN" -u pipes -P 's3cret!' -q 1 "$@"; }
note() { printf '{"v":1,"id":"%s","title":"%s"}' "$1" "${2:-fleet test}"; }
# notes PREFIX FIRST LAST: notifications PREFIX-FIRST..PREFIX-LAST, one a line (for mosquitto_pub -l).
notes() { local i; for i in $(seq "$2" "$3"); do note "$1-$i"; echo; done; }

reg_import() {
    { echo "REGEDIT4"; echo; printf '%s\n' "$@"; } >"$WORK/config.reg"
    wine regedit /S "$(winpath "$WORK/config.reg")" </dev/null >"$WORK/regedit.out" 2>&1
}
# fleet_password PASSWORD: stores it with the verb an administrator uses; its exit status.
fleet_password() {
    printf '%s\n' "$1" >"$WORK/pw.txt"
    wine "$BIN/PipesService.exe" fleet-password <"$WORK/pw.txt" >"$WORK/fleet-password.out" 2>&1
}
KEY='[HKEY_LOCAL_MACHINE\SOFTWARE\Pipes\Service]'
reg_import '[-HKEY_LOCAL_MACHINE\SOFTWARE\Pipes\Service]'
rm -rf "$WINEPREFIX/drive_c/ProgramData/Pipes"
reg_import "$KEY" "\"BrokerUrl\"=\"mqtt://127.0.0.1:$PLAIN\"" '"BrokerAllowPlainText"=dword:00000001' \
    '"BrokerUserName"="pipes"' '"BrokerKeepAliveSeconds"=dword:0000000a'
fleet_password 's3cret!'
check "fleet-password stores the password (exit 0)" test $? -eq 0

TRAY_OUT=$WORK/tray.txt
wine "$BIN/pipes-svctest.exe" tray --session 1 --out "$(winpath "$TRAY_OUT")" \
    </dev/null >"$WORK/tray.log" 2>&1 &
TRAY=$!
wait_for 20 test -s "$TRAY_OUT.pid" || bad "the test tray did not start"

# engine_start NAME [VAR=VALUE...]: PipesService run in the background, output in NAME.out.
# ENGINE is the pid of the Windows process itself (env and wine exec into it).
engine_start() {
    local name=$1; shift
    env "$@" wine "$BIN/PipesService.exe" run </dev/null >"$WORK/$name.out" 2>&1 &
    ENGINE=$!
    wait_for 30 grep -qs "running in the console" "$WORK/$name.out"
}
engine_stop() { kill -INT "$ENGINE" 2>/dev/null; wait "$ENGINE" 2>/dev/null; ENGINE=; }
# The engine's anonymous resident memory in KiB (its heap: what private bytes are on Windows).
engine_kib() { sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$ENGINE/status"; }
status() { wine "$BIN/PipesService.exe" status </dev/null >"$WORK/status.out" 2>&1; }
status_has() { status && grep -q -- "$1" "$WORK/status.out"; }
status_value() { status; sed -n "s/^$1: \([0-9]*\).*/\1/p" "$WORK/status.out" | tr -d '\r' | head -n1; }
shown() { grep -c "^$1\$" "$TRAY_OUT.raw" 2>/dev/null; } # times the service delivered id $1
shown_once() { [ "$(shown "$1")" = 1 ]; }
tray_has() { grep -q "^$1\$" "$TRAY_OUT" 2>/dev/null; }
tray_count() { grep -c "^$1" "$TRAY_OUT" 2>/dev/null; } # distinct ids starting with $1 delivered
delivered_twice() { grep "^$1" "$TRAY_OUT.raw" | sort | uniq -d | wc -l; }
events() { grep -c "\"event\":\"$1\".*\"id\":\"$2\"" "$WORK/status-topic.txt"; }
event_seen() { [ "$(events "$1" "$2")" -ge "${3:-1}" ]; }
# local_notify ID TITLE: a local submitter (pipes-notify) to session 1 through the console
# engine's pipe (--pipe: the console engine is not the SCM's service); its exit status.
local_notify() {
    wine "$BIN/pipes-notify.exe" --pipe '\\.\pipe\Pipes.Service' --session 1 --id "$1" --title "$2" \
        </dev/null >"$WORK/$1.out" 2>&1
}

# status_sub_start: mosquitto_sub on every status topic, appending to status-topic.txt (again
# after the broker restarted: each start waits for its own SUBACK).
status_sub_start() {
    local subacks
    [ -z "$SUB" ] || { kill "$SUB" 2>/dev/null; wait "$SUB" 2>/dev/null; }
    subacks=$(grep -c "Sending SUBACK to fleet-status-sub" "$WORK/mosquitto.log")
    mosquitto_sub -h 127.0.0.1 -p "$PLAIN" -u pipes -P 's3cret!' -q 1 -i fleet-status-sub \
        -t 'pipes/v1/status/#' -v >>"$WORK/status-topic.txt" 2>&1 &
    SUB=$!
    wait_for 10 eval '[ "$(grep -c "Sending SUBACK to fleet-status-sub" "$WORK/mosquitto.log")" -gt "$subacks" ]'
}
status_sub_start

# fleet_connect NAME: starts the engine and reads its topics from status (HOST_TOPIC, USER_TOPIC,
# STATUS_TOPIC); 1 when it does not connect.
fleet_connect() {
    engine_start "$1"
    wait_for 30 status_has "broker state: connected" || return 1
    HOST_TOPIC=$(sed -n 's/^broker subscription: \(pipes\/v1\/host\/.*\)$/\1/p' "$WORK/status.out" | tr -d '\r')
    USER_TOPIC=$(sed -n 's/^broker subscription: \(pipes\/v1\/user\/.*\)$/\1/p' "$WORK/status.out" | tr -d '\r' | head -n1)
    STATUS_TOPIC=$(sed -n 's/^broker status topic: \(.*\)$/\1/p' "$WORK/status.out" | tr -d '\r')
}

# fleet_done: the summary line and exit status of a suite.
fleet_done() {
    section "done in $(($(date +%s) - T0)) s"
    touch "$TRAY_OUT.stop"
    if [ "$FAILS" -ne 0 ]; then
        echo "$1: $FAILS check(s) FAILED (logs in $WORK)"
        exit 1
    fi
    echo "$1: all checks passed"
}
