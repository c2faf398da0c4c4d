#!/usr/bin/env bash
# The service's broker bridge (docs/FLEET.md) end to end: a real mosquitto (the MQTT suite's test
# broker, PipesService/mqtt/tests/mqtt_broker.sh), the MSI-installed service under Wine in its own
# fresh prefix ($BUILD_DIR/wineprefix-fleet), started and stopped with net start / net stop, the
# test tray (pipes-svctest tray) on session 1 (fleet_env.sh). Publishes with mosquitto_pub, reads
# the status topic with mosquitto_sub.
# One case runs the installed exe as `PipesService run` instead: the kill between the spool write
# and the PUBACK (the test hook PIPES_FLEET_TEST_EXIT_AFTER_SPOOL is an environment variable, and
# Wine's services.exe ignores the service's Environment value; see fleet_env.sh), on the service's
# data folder, so the SCM-run service that starts next finds the record it wrote.
#   BUILD_DIR=<build> PipesService/tests/run_fleet_tests.sh
# Each check prints "ok" or "FAIL"; exits 1 if any failed.
FLEET_WORK_NAME=fleet-tests
. "$(dirname "${BASH_SOURCE[0]}")/fleet_env.sh"
wine reg query 'HKLM\SOFTWARE\Pipes\Service' /v BrokerPassword </dev/null >"$WORK/pwreg.out" 2>&1
check "BrokerPassword is a REG_BINARY without the clear text" \
    bash -c 'grep -q REG_BINARY "$1" && ! grep -q "s3cret" "$1"' _ "$WORK/pwreg.out"

check "the engine connects to the broker (status: connected)" fleet_connect run1
check "status: it is the service the SCM started (mode: service)" grep -q "^mode: service" "$WORK/status.out"
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
notes f-p 1 100 | pub -t pipes/v1/all -l
engine_start run2
all100() { [ "$(grep -c '^f-p-' "$TRAY_OUT" 2>/dev/null)" -ge 100 ]; }
check "all 100 reach the tray" wait_for 90 all100
check "none delivered twice" test "$(grep '^f-p-' "$TRAY_OUT.raw" | sort | uniq -d | wc -l)" -eq 0

section "killed between the spool write and the PUBACK: redelivered, shown once"
engine_stop
engine_run run3 PIPES_FLEET_TEST_EXIT_AFTER_SPOOL=1
check "run3 (PipesService run, the installed exe) connected" wait_for 30 status_has "broker state: connected"
check "run3 is the console engine, not the SCM's service (status: mode: console)" grep -q "^mode: console" "$WORK/status.out"
pub -t pipes/v1/all -m "$(note f-kill)"
wait "$ENGINE"; rc=$?
ENGINE= ENGINE_CONSOLE=
check "the engine ended right after the spool write (exit 99)" test "$rc" -eq 99
engine_start run4
check "after the restart f-kill reaches the tray" wait_for 30 tray_has f-kill
check "the broker redelivered it and it was recognised (accepted again)" wait_for 20 \
    bash -c 'grep -q "\"event\":\"accepted\".*\"id\":\"f-kill\".*\"again\":true" "$1"' _ "$WORK/status-topic.txt"
check "f-kill delivered once" shown_once f-kill

###############################################################################################
section "refusals: plain text not allowed, wrong CA, wrong host name; the pinned CA connects over TLS"
engine_stop
reg_import "$KEY" '"BrokerAllowPlainText"=dword:00000000'
engine_start run5
check "mqtt:// without BrokerAllowPlainText: refused, logged (plain-not-allowed)" \
    wait_for 20 grep -q "plain-not-allowed" "$WORK/run5.out"
engine_stop
reg_import "$KEY" "\"BrokerUrl\"=\"mqtts://localhost:$TLS\"" "\"BrokerCaFile\"=\"$(regpath "$WORK/other.pem")\""
engine_start run6
check "another CA pinned: refused, logged (tls-untrusted)" wait_for 30 grep -q "not connected: tls-untrusted" "$WORK/run6.out"
check "status shows it as the last error" status_has "broker last error: tls-untrusted: "
engine_stop
# The right CA, but the broker's certificate names localhost, not 127.0.0.1.
reg_import "$KEY" "\"BrokerUrl\"=\"mqtts://127.0.0.1:$TLS\"" "\"BrokerCaFile\"=\"$(regpath "$WORK/ca.pem")\""
engine_start run6b
check "a certificate for another host name: refused, logged (tls-hostname)" \
    wait_for 30 grep -q "not connected: tls-hostname" "$WORK/run6b.out"
check "status shows it as the last error" status_has "broker last error: tls-hostname: "
engine_stop
reg_import "$KEY" "\"BrokerUrl\"=\"mqtts://localhost:$TLS\""
engine_start run7
check "the right CA pinned: connected over TLS" wait_for 30 status_has "broker state: connected"
pub -t pipes/v1/all -m "$(note f-tls)"
check "a message arrives over TLS" wait_for 30 tray_has f-tls
engine_stop

. "$ROOT/PipesService/tests/fleet_cert_checks.sh" # client certificates (BrokerClientCertificate)

fleet_done "fleet tests"
