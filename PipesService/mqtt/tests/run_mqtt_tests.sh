#!/usr/bin/env bash
# The MQTT client (PipesService/mqtt) against a real broker: Debian's mosquitto, started here on
# 127.0.0.1 on free ports with a config written here (persistence on, password file made with
# mosquitto_passwd, TLS listeners with a CA and a valid and an expired server certificate made
# with openssl), checked
# with mosquitto_pub / mosquitto_sub (clients that are not ours); then a broken fake broker
# (fake_broker.py) for malformed input; and first the codec fuzzer for a short time.
#   BUILD_DIR=<build> PipesService/mqtt/tests/run_mqtt_tests.sh
#   BUILD_DIR=<build> PipesService/mqtt/tests/run_mqtt_tests.sh bench [COUNT]
#       (a longer run, not in the suite: COUNT (10000) QoS 1 messages queued while the client is
#       away, then drained; prints messages/s and the probe's peak commit, asserts nothing on time)
# Our client is mqtt-probe.exe (mqtt_probe.c) under Wine in its own prefix, $BUILD_DIR/wineprefix-mqtt.
# Each check prints "ok" or "FAIL"; exits 1 if any failed. Environment: MQTT_FUZZ_SECONDS (15).
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
: "${BUILD_DIR:?BUILD_DIR must be set}"
PROBE=$BUILD_DIR/bin/mqtt-probe.exe
WORK=$BUILD_DIR/mqtt-tests
FAILS=0
T0=$(date +%s)

ok() { echo "  ok   [$(($(date +%s) - T0))] $*"; }
bad() { echo "  FAIL [$(($(date +%s) - T0))] $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
section() { echo "== [$(($(date +%s) - T0)) s] $*"; }

BENCH=0
[ "${1:-}" = bench ] && BENCH=${2:-10000}
if [ "$BENCH" -eq 0 ]; then
    section "codec fuzzer (${MQTT_FUZZ_SECONDS:-15} s)"
    check "fuzz: round trip, canonical form, no crash/leak/UB" \
        bash "$HERE/run_fuzz_mqtt.sh" "${MQTT_FUZZ_SECONDS:-15}"
fi

for tool in mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd openssl python3; do
    command -v "$tool" >/dev/null || { bad "$tool not installed (./build.sh deps)"; exit 1; }
done
[ -f "$PROBE" ] || { bad "$PROBE not built"; exit 1; }

PIPES_WINE_ENV_NO_INIT=1 . "$ROOT/cmake/wine-env.sh"
pipes_wine_env "$BUILD_DIR/wineprefix-mqtt" || { bad "cannot create the Wine prefix"; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK/db"
W='Z:'"${WORK//\//\\}"
BROKER_PID=
FAKE_PID=
cleanup() {
    [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
    wineserver -k >/dev/null 2>&1
}
trap cleanup EXIT
wineserver -p   # one server for all the probe runs below

. "$HERE/mqtt_broker.sh"
section "setup: CA, server certificate (openssl), password file, mosquitto"
mqtt_broker_setup || { bad "setup failed (see $WORK/setup.log)"; exit 1; }
broker_start || { bad "mosquitto did not start (see $WORK/mosquitto.log)"; exit 1; }
ok "mosquitto on 127.0.0.1:$PLAIN (plain) and :$TLS (TLS)"

AUTH=(--user pipes --pass 's3cret!')
PLAIN_URL=(--url "mqtt://127.0.0.1:$PLAIN" --allow-plain)
pub() { mosquitto_pub -h 127.0.0.1 -p "$PLAIN" -u pipes -P 's3cret!' -q 1 "$@"; }
# probe NAME ARGS...: runs mqtt-probe under Wine (output in $WORK/NAME.out), bounded by timeout(1).
probe() {
    local name=$1; shift
    timeout -k 5 90 wine "$PROBE" "$@" </dev/null >"$WORK/$name.out" 2>&1
}
has() { grep -q -- "$2" "$WORK/$1.out"; }
lines() { [ -f "$WORK/$1" ] && wc -l <"$WORK/$1" || echo 0; }
count_at_least() { [ "$(lines "$1")" -ge "$2" ]; }
probe_bg() { # probe_bg NAME ARGS...: as probe, in the background; PROBE_PID
    local name=$1; shift
    timeout -k 5 90 wine "$PROBE" "$@" </dev/null >"$WORK/$name.out" 2>&1 &
    PROBE_PID=$!
}

if [ "$BENCH" -gt 0 ]; then
    section "bench: $BENCH QoS 1 messages queued while the client is away, then drained"
    probe bench-1 listen "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-bench --topic pipes/v1/all \
        --expect 0 --timeout 20
    seq -f "b-%g" 1 "$BENCH" | pub -t pipes/v1/all -l
    probe bench-2 listen "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-bench --topic pipes/v1/all \
        --expect "$BENCH" --timeout 600
    check "all $BENCH arrive" has bench-2 "result: done"
    ms=$(grep -Eo 'first_to_last_ms=[0-9]+' "$WORK/bench-2.out" | cut -d= -f2)
    kb=$(grep -Eo 'peak_commit_kb=[0-9]+' "$WORK/bench-2.out" | cut -d= -f2)
    echo "       $BENCH messages in ${ms:-?} ms from first to last delivery:" \
        "$(python3 -c "print(round($BENCH * 1000 / max(1, ${ms:-0})))") messages/s; probe peak commit ${kb:-?} KiB"
    exit $((FAILS != 0))
fi

# ---- configuration refusals ----
section "plain text and credentials"
probe plain-refused connect --url "mqtt://127.0.0.1:$PLAIN" "${AUTH[@]}" --timeout 5
check "mqtt:// without allow-plain is refused before connecting (plain-not-allowed)" \
    has plain-refused "result: plain-not-allowed"
probe plain-allowed connect "${PLAIN_URL[@]}" "${AUTH[@]}" --timeout 10
check "mqtt:// with allow-plain connects" has plain-allowed "result: ok"
probe badpass connect "${PLAIN_URL[@]}" --user pipes --pass wrong --timeout 10
check "a wrong password is refused with a clear status (refused-*)" \
    grep -Eq "result: refused-(credentials|not-authorized)" "$WORK/badpass.out"
grep -h "result:" "$WORK/badpass.out" | sed 's/^/       /'

# ---- delivery ----
section "subscriptions: all and host topics"
probe_bg topics listen "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-topics \
    --topic pipes/v1/all --topic pipes/v1/host/PC1 --expect 2 --timeout 30 --out "$W\\topics.txt"
wait_for 30 has topics "event subscribed status=ok filter=pipes/v1/host/PC1"
pub -t pipes/v1/host/OTHER -m "not for us"
pub -t pipes/v1/all -m "to all"
pub -t pipes/v1/host/PC1 -m "to PC1"
wait "$PROBE_PID"
check "both subscribed topics arrive" has topics "result: done"
check "each once, and nothing from an unsubscribed topic" \
    test "$(sort "$WORK/topics.txt" | cut -f1,3 | tr '\n' '|')" = "pipes/v1/all	to all|pipes/v1/host/PC1	to PC1|"

section "subscriptions that change while connected (as logons come and go)"
probe_bg change listen "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-change --topic pipes/v1/all \
    --add-topic pipes/v1/user/alice --remove-topic-after 2 --expect 3 --timeout 30 --out "$W\\change.txt"
wait_for 30 has change "event subscribed status=ok filter=pipes/v1/user/alice"
pub -t pipes/v1/user/alice -m "u1"
pub -t pipes/v1/all -m "a1"
wait_for 30 has change "event unsubscribed status=ok filter=pipes/v1/user/alice"
pub -t pipes/v1/user/alice -m "u2"
pub -t pipes/v1/all -m "a2"
wait "$PROBE_PID"
check "added filter receives, removed filter no longer does" \
    test "$(cut -f1,3 "$WORK/change.txt" | sort | tr '\n' '|')" = "pipes/v1/all	a1|pipes/v1/all	a2|pipes/v1/user/alice	u1|"

section "persistent session: 100 QoS 1 messages while the client is stopped"
probe persist-1 listen "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-persist \
    --topic pipes/v1/all --expect 0 --timeout 20
check "first run subscribes and stops" has persist-1 "result: done"
seq -f "p-%g" 1 100 | pub -t pipes/v1/all -l
probe persist-2 listen "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-persist \
    --topic pipes/v1/all --expect 100 --timeout 40 --out "$W\\persist.txt"
check "after reconnecting, all 100 arrive (session present)" has persist-2 "result: done"
check "none twice" test "$(lines persist.txt)" -eq 100 -a "$(cut -f3 "$WORK/persist.txt" | sort -u | wc -l)" -eq 100
check "the broker kept the session (CONNACK session present)" has persist-2 "event connected status=ok filter= sp=1"

section "broker killed with SIGKILL mid-stream and restarted"
probe persist-3 listen "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-kill \
    --topic pipes/v1/all --expect 0 --timeout 20
seq -f "k-%g" 1 100 | pub -t pipes/v1/all -l
# The broker saves after each change (autosave_on_changes, interval 1): wait for a save that
# follows the 100th PUBLISH, so what the SIGKILL hits is the client's stream, not the broker's disk.
saved_after_last_publish() {
    awk '/Received PUBLISH .*m100, .pipes\/v1\/all/ {p = NR} /Saving in-memory database/ {s = NR}
         END {exit !(p && s > p)}' "$WORK/mosquitto.log"
}
check "the broker saved the 100 queued messages" wait_for 10 saved_after_last_publish
probe_bg kill listen "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-kill --topic pipes/v1/all \
    --expect 100 --delay-ms 40 --timeout 60 --out "$W\\kill.txt" --backoff-max 1000
if wait_for 40 count_at_least kill.txt 30; then
    kill -9 "$BROKER_PID"
    wait "$BROKER_PID" 2>/dev/null
    echo "       SIGKILL after $(lines kill.txt) deliveries"
    broker_start || bad "mosquitto did not restart"
fi
wait "$PROBE_PID"
check "nothing lost: all 100 distinct messages arrive" has kill "result: done"
check "the client reconnected to the restarted broker" grep -Eq "connects=([2-9]|[1-9][0-9])" "$WORK/kill.out"
echo "       $(grep -c . "$WORK/kill.txt") deliveries for 100 messages; $(grep -Eo 'dups=[0-9]+' "$WORK/kill.out") redelivered and recognised"

section "not yet stored: no PUBACK, the broker redelivers"
probe_bg notyet listen "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-notyet \
    --topic pipes/v1/all --expect 1 --not-yet 1 --timeout 30 --out "$W\\notyet.txt"
wait_for 30 has notyet "event subscribed status=ok"
pub -t pipes/v1/all -m "later please"
wait "$PROBE_PID"
check "the message is stored on its redelivery" has notyet "result: done"
check "first delivery not-yet, then redelivered with DUP and stored" \
    test "$(cut -f2,3,4 "$WORK/notyet.txt" | tr '\n' '|')" = "0	later please	not-yet|1	later please	stored|"
check "counted: not_yet=1 acknowledged=1" grep -q "acknowledged=1 rejected=0 not_yet=1" "$WORK/notyet.out"

section "not yet stored, published with QoS 0: lost, and said to be (no redelivery to wait for)"
probe_bg lost listen "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-lost \
    --topic pipes/v1/all --expect 1 --not-yet 1 --timeout 30 --out "$W\\lost.txt"
wait_for 30 has lost "event subscribed status=ok"
pub -q 0 -t pipes/v1/all -m "gone for good"
pub -t pipes/v1/all -m "the next one"
wait "$PROBE_PID"
check "reported: event lost on its topic" has lost "event lost status=ok filter=pipes/v1/all"
check "the QoS 0 one never comes back; the next is stored on the same connection" \
    test "$(cut -f2,3,4 "$WORK/lost.txt" | tr '\n' '|')" = "0	gone for good	not-yet|0	the next one	stored|" \
    -a "$(grep -c 'event connected' "$WORK/lost.out")" -eq 1
check "counted as lost, not as left for redelivery: not_yet=0 lost=1" \
    grep -q "received=2 acknowledged=1 rejected=0 not_yet=0 lost=1" "$WORK/lost.out"

section "10 MiB PUBLISH: refused without buffering, acknowledged, the next one arrives"
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'x' >"$WORK/big.bin"
probe_bg big listen "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-big \
    --topic pipes/v1/all --expect 1 --timeout 40 --out "$W\\big.txt"
wait_for 30 has big "event subscribed status=ok"
pub -t pipes/v1/all -f "$WORK/big.bin"
pub -t pipes/v1/all -m "after the big one"
wait "$PROBE_PID"
check "refused with packet-too-large" has big "event rejected status=packet-too-large filter=pipes/v1/all"
check "the next message still arrives on the same connection" \
    test "$(cut -f3 "$WORK/big.txt")" = "after the big one" -a "$(grep -c 'event connected' "$WORK/big.out")" -eq 1
check "counted: received=2 acknowledged=2 rejected=1" grep -q "received=2 acknowledged=2 rejected=1" "$WORK/big.out"

section "publishing: QoS 1 status messages reach mosquitto_sub"
mosquitto_sub -h 127.0.0.1 -p "$PLAIN" -u pipes -P 's3cret!' -q 1 -t 'pipes/v1/status/#' -v -C 20 \
    -i pipes-test-sub >"$WORK/sub.txt" 2>&1 &
SUB_PID=$!
wait_for 10 grep -q "Sending SUBACK to pipes-test-sub" "$WORK/mosquitto.log"
probe publish publish "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-pub \
    --topic pipes/v1/status/PC1 --count 20 --timeout 30
check "every publish acknowledged by the broker" grep -q "published=20 inflight=0 queued=0" "$WORK/publish.out"
wait_for 10 bash -c "! kill -0 $SUB_PID 2>/dev/null"
check "mosquitto_sub received all 20, in order" \
    test "$(grep -o 'pipes/v1/status/PC1 msg-[0-9]*' "$WORK/sub.txt" | tr '\n' ' ')" = \
    "$(seq -f 'pipes/v1/status/PC1 msg-%g' 1 20 | tr '\n' ' ')"

mosquitto_sub -h 127.0.0.1 -p "$PLAIN" -u pipes -P 's3cret!' -q 1 -t 'pipes/v1/status/#' -C 400 \
    -i pipes-test-sub2 >"$WORK/sub2.txt" 2>&1 &
SUB_PID=$!
wait_for 10 grep -q "Sending SUBACK to pipes-test-sub2" "$WORK/mosquitto.log"
probe threads publish "${PLAIN_URL[@]}" "${AUTH[@]}" --client-id pipes-threads \
    --topic pipes/v1/status/PC2 --count 400 --threads 4 --max-inflight 8 --timeout 60
check "4 threads publishing (and changing subscriptions) at once: all 400 acknowledged" \
    grep -q "published=400 inflight=0 queued=0" "$WORK/threads.out"
wait_for 20 bash -c "! kill -0 $SUB_PID 2>/dev/null"
check "mosquitto_sub received 400 distinct messages" test "$(sort -u "$WORK/sub2.txt" | grep -c '^msg-')" -eq 400

# ---- TLS ----
section "TLS (Schannel)"
probe tls-ok connect --url "mqtts://localhost:$TLS" --ca "$W\\ca.pem" "${AUTH[@]}" --timeout 15
check "pinned CA: connects" has tls-ok "result: ok"
probe tls-ca connect --url "mqtts://localhost:$TLS" --ca "$W\\other.pem" "${AUTH[@]}" --timeout 15
check "wrong pinned CA: refused (tls-untrusted)" has tls-ca "result: tls-untrusted"
probe tls-host connect --url "mqtts://127.0.0.1:$TLS" --ca "$W\\ca.pem" "${AUTH[@]}" --timeout 15
check "wrong host name: refused (tls-hostname)" has tls-host "result: tls-hostname"
probe tls-expired connect --url "mqtts://localhost:$EXPIRED" --ca "$W\\ca.pem" "${AUTH[@]}" --timeout 15
check "expired server certificate: refused (tls-expired)" has tls-expired "result: tls-expired"
probe tls-store1 connect --url "mqtts://localhost:$TLS" "${AUTH[@]}" --timeout 15
check "Windows store without the CA: refused (tls-untrusted)" has tls-store1 "result: tls-untrusted"
probe trust trust "$W\\ca.pem"
probe tls-store2 connect --url "mqtts://localhost:$TLS" "${AUTH[@]}" --timeout 15
check "Windows store with the CA in LocalMachine Root: connects" has tls-store2 "result: ok"
probe tls-plainport connect --url "mqtts://localhost:$PLAIN" --ca "$W\\ca.pem" "${AUTH[@]}" --timeout 15
check "TLS to a plain port: a clear failure, no hang" \
    grep -Eq "result: (connection-closed|tls-failed)" "$WORK/tls-plainport.out"
probe tls-data listen --url "mqtts://localhost:$TLS" --ca "$W\\ca.pem" "${AUTH[@]}" \
    --client-id pipes-tls --topic pipes/v1/all --expect 0 --timeout 15
seq -f "t-%g" 1 20 | pub -t pipes/v1/all -l
probe tls-data2 listen --url "mqtts://localhost:$TLS" --ca "$W\\ca.pem" "${AUTH[@]}" \
    --client-id pipes-tls --topic pipes/v1/all --expect 20 --timeout 30
check "20 queued messages arrive over TLS" has tls-data2 "result: done"

# ---- a broken broker ----
section "malformed broker input (fake_broker.py): a clear status, no crash, no hang"
# One fake broker serves one connection per mode, in this order; one probe run reconnects
# after each failure (backoff at most 300 ms) and reports why each connection ended.
MODES=(len5 overlong badflags reserved wildcard badutf8 qos2 pidzero truncated connect garbage
       badconnack earlypublish subackmismatch silent deadpeer)
WANT=(bad-remaining-length bad-remaining-length bad-header-flags bad-packet-type topic-wildcard
      bad-utf8 protocol-violation malformed-packet connection-closed protocol-violation
      bad-header-flags malformed-packet protocol-violation protocol-violation timeout dead-peer)
start_fake() { # start_fake MODE,... LOGNAME: FAKE_PORT; the broker's log is $WORK/LOGNAME
    rm -f "$WORK/fake.port"
    python3 "$HERE/fake_broker.py" "$WORK/fake.port" "$WORK/$2" "$1" &
    FAKE_PID=$!
    wait_for 10 test -s "$WORK/fake.port"
    FAKE_PORT=$(cat "$WORK/fake.port")
}
stop_fake() { kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; FAKE_PID=; }
start_fake "$(IFS=,; echo "${MODES[*]}")" fake.log
rc=0
probe fake listen --url "mqtt://127.0.0.1:$FAKE_PORT" --allow-plain --topic pipes/v1/all \
    --expect 1 --keep-alive 1 --backoff-max 300 --stop-after-disconnects ${#MODES[@]} --timeout 60 || rc=$?
stop_fake
check "the probe ended normally after ${#MODES[@]} broken connections (exit $rc)" \
    test "$rc" -eq 0 -a "$(grep -c '^stats ' "$WORK/fake.out")" -eq 1
mapfile -t GOT < <(grep -o 'event disconnected status=[a-z0-9-]*' "$WORK/fake.out" | cut -d= -f2)
for i in "${!MODES[@]}"; do
    check "${MODES[$i]} -> ${WANT[$i]}" test "${GOT[$i]:-none}" = "${WANT[$i]}"
done
check "the fake broker saw all ${#MODES[@]} connections (the client reconnected after each)" \
    test "$(grep -c 'connection [0-9]*:' "$WORK/fake.log")" -eq ${#MODES[@]}

start_fake noack3,ack fake-publish.log
probe fake-publish publish --url "mqtt://127.0.0.1:$FAKE_PORT" --allow-plain --topic pipes/v1/status/PC1 \
    --count 5 --max-inflight 3 --backoff-max 300 --timeout 20
stop_fake
check "publish window: 3 in flight, resent with DUP and the same ids after a reconnect, then the rest" \
    test "$(grep -o 'PUBLISH.*' "$WORK/fake-publish.log" | tr '\n' '|')" = "PUBLISH dup=0 pid=1 msg-1|PUBLISH dup=0 pid=2 msg-2|PUBLISH dup=0 pid=3 msg-3|PUBLISH dup=1 pid=1 msg-1|PUBLISH dup=1 pid=2 msg-2|PUBLISH dup=1 pid=3 msg-3|PUBLISH dup=0 pid=4 msg-4|PUBLISH dup=0 pid=5 msg-5|"
check "all 5 acknowledged in the end" grep -q "published=5 inflight=0 queued=0" "$WORK/fake-publish.out"

start_fake suback80 fake-suback80.log
probe fake-suback80 listen --url "mqtt://127.0.0.1:$FAKE_PORT" --allow-plain \
    --topic pipes/v1/all --expect 1 --timeout 3
stop_fake
check "SUBACK 0x80 -> subscribe-refused event, connection kept" \
    has fake-suback80 "event subscribed status=subscribe-refused filter=pipes/v1/all"

section "done in $(($(date +%s) - T0)) s"
if [ "$FAILS" -ne 0 ]; then
    echo "MQTT tests: $FAILS check(s) FAILED (logs in $WORK)"
    exit 1
fi
echo "MQTT tests: all checks passed"
