#!/usr/bin/env bash
# The service's broker bridge (docs/FLEET.md) end to end: a real mosquitto (the MQTT suite's test
# broker, PipesService/mqtt/tests/mqtt_broker.sh), PipesService run in the console under Wine in
# its own prefix ($BUILD_DIR/wineprefix-fleet), the test tray (pipes-svctest tray) on session 1.
# Publishes with mosquitto_pub, reads the status topic with mosquitto_sub.
#   BUILD_DIR=<build> PipesService/tests/run_fleet_tests.sh
# Each check prints "ok" or "FAIL"; exits 1 if any failed.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
: "${BUILD_DIR:?BUILD_DIR must be set}"
BIN=$BUILD_DIR/bin
WORK=$BUILD_DIR/fleet-tests
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

BROKER_PID= ENGINE= TRAY= SUB=
cleanup() {
    local p
    for p in $ENGINE $TRAY $SUB $BROKER_PID; do kill "$p" 2>/dev/null; done
    wineserver -k >/dev/null 2>&1
}
trap cleanup EXIT
wineserver -k >/dev/null 2>&1
wineserver -w >/dev/null 2>&1
wineserver -p

. "$ROOT/PipesService/mqtt/tests/mqtt_broker.sh"
section "setup: mosquitto (plain and TLS), broker configuration, tray, engine"
mqtt_broker_setup || { bad "broker setup failed (see $WORK/setup.log)"; exit 1; }
broker_start || { bad "mosquitto did not start (see $WORK/mosquitto.log)"; exit 1; }
pub() { mosquitto_pub -h 127.0.0.1 -p "$PLAIN" -u pipes -P 's3cret!' -q 1 "$@"; }
note() { printf '{"v":1,"id":"%s","title":"%s"}' "$1" "${2:-fleet test}"; }

reg_import() {
    { echo "REGEDIT4"; echo; printf '%s\n' "$@"; } >"$WORK/config.reg"
    wine regedit /S "$(winpath "$WORK/config.reg")" </dev/null >"$WORK/regedit.out" 2>&1
}
KEY='[HKEY_LOCAL_MACHINE\SOFTWARE\Pipes\Service]'
reg_import '[-HKEY_LOCAL_MACHINE\SOFTWARE\Pipes\Service]'
rm -rf "$WINEPREFIX/drive_c/ProgramData/Pipes"
reg_import "$KEY" "\"BrokerUrl\"=\"mqtt://127.0.0.1:$PLAIN\"" '"BrokerAllowPlainText"=dword:00000001' \
    '"BrokerUserName"="pipes"' '"BrokerKeepAliveSeconds"=dword:0000000a'
printf 's3cret!\n' >"$WORK/pw.txt"
wine "$BIN/PipesService.exe" fleet-password <"$WORK/pw.txt" >"$WORK/fleet-password.out" 2>&1
check "fleet-password stores the password (exit 0)" test $? -eq 0
wine reg query 'HKLM\SOFTWARE\Pipes\Service' /v BrokerPassword </dev/null >"$WORK/pwreg.out" 2>&1
check "BrokerPassword is a REG_BINARY without the clear text" \
    bash -c 'grep -q REG_BINARY "$1" && ! grep -q "s3cret" "$1"' _ "$WORK/pwreg.out"

TRAY_OUT=$WORK/tray.txt
wine "$BIN/pipes-svctest.exe" tray --session 1 --out "$(winpath "$TRAY_OUT")" \
    </dev/null >"$WORK/tray.log" 2>&1 &
TRAY=$!
wait_for 20 test -s "$TRAY_OUT.pid" || bad "the test tray did not start"

# engine_start NAME [VAR=VALUE...]: PipesService run in the background, output in NAME.out.
engine_start() {
    local name=$1; shift
    env "$@" wine "$BIN/PipesService.exe" run </dev/null >"$WORK/$name.out" 2>&1 &
    ENGINE=$!
    wait_for 30 grep -qs "running in the console" "$WORK/$name.out"
}
engine_stop() { kill -INT "$ENGINE" 2>/dev/null; wait "$ENGINE" 2>/dev/null; ENGINE=; }
status() { wine "$BIN/PipesService.exe" status </dev/null >"$WORK/status.out" 2>&1; }
status_has() { status && grep -q -- "$1" "$WORK/status.out"; }
status_value() { status; sed -n "s/^$1: \([0-9]*\).*/\1/p" "$WORK/status.out" | tr -d '\r' | head -n1; }
shown() { grep -c "^$1\$" "$TRAY_OUT.raw" 2>/dev/null; } # times the service delivered id $1
shown_once() { [ "$(shown "$1")" = 1 ]; }
tray_has() { grep -q "^$1\$" "$TRAY_OUT" 2>/dev/null; }
events() { grep -c "\"event\":\"$1\".*\"id\":\"$2\"" "$WORK/status-topic.txt"; }
event_seen() { [ "$(events "$1" "$2")" -ge "${3:-1}" ]; }

mosquitto_sub -h 127.0.0.1 -p "$PLAIN" -u pipes -P 's3cret!' -q 1 -i fleet-status-sub \
    -t 'pipes/v1/status/#' -v >"$WORK/status-topic.txt" 2>&1 &
SUB=$!
wait_for 10 grep -q "Sending SUBACK to fleet-status-sub" "$WORK/mosquitto.log"

engine_start run1
check "the engine connects to the broker (status: connected)" wait_for 30 status_has "broker state: connected"
HOST_TOPIC=$(sed -n 's/^broker subscription: \(pipes\/v1\/host\/.*\)$/\1/p' "$WORK/status.out" | tr -d '\r')
USER_TOPIC=$(sed -n 's/^broker subscription: \(pipes\/v1\/user\/.*\)$/\1/p' "$WORK/status.out" | tr -d '\r' | head -n1)
STATUS_TOPIC=$(sed -n 's/^broker status topic: \(.*\)$/\1/p' "$WORK/status.out" | tr -d '\r')
echo "       host topic $HOST_TOPIC, user topic ${USER_TOPIC:-none}, status topic $STATUS_TOPIC"
check "subscribed to the host topic and to the user topic of session 1's user" \
    test -n "$HOST_TOPIC" -a -n "$USER_TOPIC"
check "the broker granted the user topic" wait_for 20 grep -q "$USER_TOPIC (QoS 1)" "$WORK/mosquitto.log"

###############################################################################################
section "all / host / user topics: each arrives once, accepted and displayed on the status topic"
pub -t pipes/v1/host/not-this-one -m "$(note f-other)"
pub -t pipes/v1/all -m "$(note f-all 'to every desktop')"
pub -t "$HOST_TOPIC" -m "$(note f-host 'to this machine')"
pub -t "$USER_TOPIC" -m "$(note f-user 'to this user')"
for id in f-all f-host f-user; do
    check "$id reaches the tray" wait_for 30 tray_has "$id"
done
for id in f-all f-host f-user; do
    check "$id: delivered once; status topic: accepted and displayed (session 1)" \
        bash -c 'test "$(grep -c "^$1\$" "$2")" = 1' _ "$id" "$TRAY_OUT.raw"
    wait_for 20 event_seen displayed "$id"
    check "$id: accepted and displayed on $STATUS_TOPIC" \
        bash -c 'grep -q "\"event\":\"accepted\".*\"id\":\"$1\"" "$2" && grep -q "\"event\":\"displayed\".*\"id\":\"$1\",\"session\":1" "$2"' \
        _ "$id" "$WORK/status-topic.txt"
done
check "a host topic not ours is not received" bash -c '! grep -q f-other "$1"' _ "$TRAY_OUT.raw"
check "the tray sees the broker as the sender (kind broker, origin with the topic)" \
    grep -q '"id":"f-all".*"sender":{"kind":"broker".*"origin":"mqtt://127.0.0.1:[0-9]* pipes/v1/all"' "$TRAY_OUT.json"

section "the same id again (a redelivery): acknowledged, reported as accepted again, shown once"
pub -t pipes/v1/all -m "$(note f-all 'to every desktop')"
check "status topic: accepted again" wait_for 20 bash -c 'grep -q "\"event\":\"accepted\".*\"id\":\"f-all\".*\"again\":true" "$1"' _ "$WORK/status-topic.txt"
check "still delivered once" shown_once f-all

section "malformed payloads: rejected, acknowledged, logged and reported"
pub -t pipes/v1/all -m 'not json at all'
pub -t pipes/v1/all -m '{"v":1,"id":"bad-notitle"}'
pub -t pipes/v1/all -m '{"v":1,"id":"bad-sender","title":"x","sender":{"kind":"user","sid":"S-1-5-18"}}'
pub -t "$USER_TOPIC" -m '{"v":1,"id":"bad-target","title":"x","target":{"session":7}}'
check "status topic: 4 rejections, with reasons" wait_for 20 bash -c \
    '[ "$(grep -c "\"event\":\"rejected\"" "$1")" -ge 4 ]' _ "$WORK/status-topic.txt"
grep '"event":"rejected"' "$WORK/status-topic.txt" | sed 's/^/       /' | cut -c1-180
check "rejected: malformed, with its id when it had one" \
    grep -q '"event":"rejected".*"id":"bad-notitle".*"reason":"malformed"' "$WORK/status-topic.txt"
check "the rejections are logged" grep -q "bad-sender on pipes/v1/all rejected" "$WORK/run1.out"
check "status: broker rejected 4" test "$(status_value 'broker rejected')" = 4
check "none of them reached the tray" bash -c '! grep -q "^bad-" "$1"' _ "$TRAY_OUT.raw"
check "nothing waits unacknowledged at the broker (in flight 0)" test "$(status_value 'broker in flight')" = 0

###############################################################################################
section "service stopped while 100 are published: all 100 after the start, once each"
engine_stop
for i in $(seq 1 100); do note "f-p-$i"; echo; done | pub -t pipes/v1/all -l
engine_start run2
all100() { [ "$(grep -c '^f-p-' "$TRAY_OUT" 2>/dev/null)" -ge 100 ]; }
check "all 100 reach the tray" wait_for 90 all100
check "none delivered twice" test "$(grep '^f-p-' "$TRAY_OUT.raw" | sort | uniq -d | wc -l)" -eq 0

section "killed between the spool write and the PUBACK: redelivered, shown once"
engine_stop
engine_start run3 PIPES_FLEET_TEST_EXIT_AFTER_SPOOL=1
check "run3 connected" wait_for 30 status_has "broker state: connected"
pub -t pipes/v1/all -m "$(note f-kill)"
wait "$ENGINE"; rc=$?
ENGINE=
check "the engine ended right after the spool write (exit 99)" test "$rc" -eq 99
engine_start run4
check "after the restart f-kill reaches the tray" wait_for 30 tray_has f-kill
check "the broker redelivered it and it was recognised (accepted again)" wait_for 20 \
    bash -c 'grep -q "\"event\":\"accepted\".*\"id\":\"f-kill\".*\"again\":true" "$1"' _ "$WORK/status-topic.txt"
check "f-kill delivered once" shown_once f-kill

###############################################################################################
section "refusals: plain text not allowed, wrong CA; the pinned CA connects over TLS"
engine_stop
reg_import "$KEY" '"BrokerAllowPlainText"=dword:00000000'
engine_start run5
check "mqtt:// without BrokerAllowPlainText: refused, logged (plain-not-allowed)" \
    wait_for 20 grep -q "plain-not-allowed" "$WORK/run5.out"
engine_stop
reg_import "$KEY" "\"BrokerUrl\"=\"mqtts://localhost:$TLS\"" "\"BrokerCaFile\"=\"$(winpath "$WORK/other.pem" | sed 's/\\/\\\\/g')\""
engine_start run6
check "another CA pinned: refused, logged (tls-untrusted)" wait_for 30 grep -q "not connected: tls-untrusted" "$WORK/run6.out"
check "status shows it as the last error" status_has "broker last error: tls-untrusted: "
engine_stop
reg_import "$KEY" "\"BrokerCaFile\"=\"$(winpath "$WORK/ca.pem" | sed 's/\\/\\\\/g')\""
engine_start run7
check "the right CA pinned: connected over TLS" wait_for 30 status_has "broker state: connected"
pub -t pipes/v1/all -m "$(note f-tls)"
check "a message arrives over TLS" wait_for 30 tray_has f-tls
engine_stop

. "$HERE/fleet_cert_checks.sh" # client certificates (BrokerClientCertificate)

section "done in $(($(date +%s) - T0)) s"
touch "$TRAY_OUT.stop"
if [ "$FAILS" -ne 0 ]; then
    echo "fleet tests: $FAILS check(s) FAILED (logs in $WORK)"
    exit 1
fi
echo "fleet tests: all checks passed"
