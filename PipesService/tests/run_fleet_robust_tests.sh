#!/usr/bin/env bash
# The broker bridge (docs/FLEET.md) when things go wrong, end to end with the setup of
# run_fleet_tests.sh (fleet_env.sh: real mosquitto, the MSI-installed service run by the SCM
# under Wine, test tray):
# mosquitto killed with SIGKILL and restarted mid-stream, a 10 MiB publish, a flood of
# FLEET_FLOOD messages (default 1000; ./build.sh fleet-soak runs 10,000), a QoS 0 message the
# spool quota cannot take, a wrong password, and the example ACL of docs/FLEET.md on a broker of
# its own.
#   BUILD_DIR=<build> [FLEET_FLOOD=N] PipesService/tests/run_fleet_robust_tests.sh
# Each check prints "ok" or "FAIL"; exits 1 if any failed.
FLEET_WORK_NAME=fleet-robust-tests
. "$(dirname "${BASH_SOURCE[0]}")/fleet_env.sh"
FLOOD=${FLEET_FLOOD:-1000}

check "the engine connects to the broker" fleet_connect robust1
check "status: it is the service the SCM started (mode: service)" grep -q "^mode: service" "$WORK/status.out"
all_of() { # all_of FILE: every id listed in FILE reached the tray
    ! grep -vxFf <(sort -u "$TRAY_OUT") "$1" | grep -q .
}

###############################################################################################
section "mosquitto killed (SIGKILL) and restarted mid-stream: every acknowledged publish once"
# 80 at once (mosquitto_pub -l: exit 0 when the broker acknowledged them all), so the service is
# still taking them when the broker is killed; the next 20 one by one while it is down (each
# refused); then it restarts from its persistence file and the last 100 follow at once.
ACKED=$WORK/kill-acked.txt
: >"$ACKED"
# saved_after_last_ack: the broker finished a save of its database after it acknowledged the last
# publish (any line it logged after that save: it is single-threaded). Mosquitto acknowledges a
# publish before it saves it; killed in between, it restarts without a message it acknowledged
# (seen here: the 80th lost when killed right after its PUBACK). That loss is the broker's, so the
# test kills it only once the acknowledged messages are on its disk.
saved_after_last_ack() {
    awk '/Sending PUBACK to auto-/ { ack = NR; saved = 0; after = 0 }
         ack && saved && NR > saved { after = 1 }
         ack && !saved && /Saving in-memory database/ { saved = NR; after = 0 }
         END { exit !after }' "$WORK/mosquitto.log"
}
# pub_batch FIRST LAST: f-k-FIRST..f-k-LAST with one mosquitto_pub -l; listed in ACKED when acknowledged.
pub_batch() {
    notes f-k "$1" "$2" | pub -t pipes/v1/all -l 2>>"$WORK/kill-pub.err" &&
        seq "$1" "$2" | sed 's/^/f-k-/' >>"$ACKED"
}
pub_batch 1 80
wait_for 30 saved_after_last_ack || bad "the broker did not save its database"
kill -KILL "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null
echo "       broker killed after 80 publishes; $(tray_count f-k-) of them in the tray by then"
for i in $(seq 81 100); do
    pub -t pipes/v1/all -m "$(note "f-k-$i")" 2>>"$WORK/kill-pub.err" && echo "f-k-$i" >>"$ACKED"
done
broker_start || bad "mosquitto did not restart"
status_sub_start
pub_batch 101 200
echo "       $(wc -l <"$ACKED") of 200 acknowledged by the broker"
check "the 20 published while the broker was down were refused, the others acknowledged" \
    test "$(wc -l <"$ACKED")" -eq 180
check "every acknowledged message reaches the tray" wait_for 120 all_of "$ACKED"
check "none delivered twice" test "$(delivered_twice f-k-)" -eq 0
check "the service reconnected by itself (status: connected, 2 connects)" \
    wait_for 60 eval 'status_has "broker state: connected" && [ "$(status_value "broker connects")" -ge 2 ]'
grep -q "^f-k-" "$TRAY_OUT" && echo "       $(tray_count f-k-) distinct f-k- delivered; redeliveries recognised: $(status_value 'broker accepted again (redelivered)')"

###############################################################################################
section "a 10 MiB publish: refused, acknowledged, reported; local submitters served; memory bounded"
head -c $((10 << 20)) /dev/zero | tr '\0' 'x' >"$WORK/big.txt"
KIB0=$(engine_kib)
CONNECTS0=$(status_value 'broker connects')
REJECTED0=$(status_value 'broker rejected')
pub -t pipes/v1/all -f "$WORK/big.txt"
check "the broker took it (mosquitto_pub exit 0)" test $? -eq 0
check "status topic: rejected, too_large" wait_for 60 grep -q '"event":"rejected","host":"[^"]*","id":null,"topic":"pipes/v1/all","reason":"too_large"' "$WORK/status-topic.txt"
KIB1=$(engine_kib)
check "a local submitter is served meanwhile (pipes-notify exit 0, in the tray)" \
    eval 'local_notify big-local "after the big one" && wait_for 30 tray_has big-local'
pub -t pipes/v1/all -m "$(note f-after-big)"
check "the next message arrives" wait_for 30 tray_has f-after-big
check "acknowledged once, on the same connection (rejected +1, connects unchanged)" \
    eval '[ "$(status_value "broker rejected")" = $((REJECTED0 + 1)) ] && [ "$(status_value "broker connects")" = "$CONNECTS0" ]'
echo "       engine anonymous memory: $KIB0 KiB before, $KIB1 KiB after the 10 MiB publish"
check "the engine's memory grew by less than 2 MiB (the payload is discarded, never buffered)" \
    test $((KIB1 - KIB0)) -lt 2048

###############################################################################################
section "a flood of $FLOOD messages (mosquitto_pub -l): each accepted once; local submitters served; memory bounded"
notes f-fl 1 "$FLOOD" >"$WORK/flood.txt"
sed 's/.*"id":"\([^"]*\)".*/\1/' "$WORK/flood.txt" >"$WORK/flood-ids.txt"
KIB0=$(engine_kib)
pub -t pipes/v1/all -l <"$WORK/flood.txt" >"$WORK/flood-pub.out" 2>&1 &
FLOODPUB=$!
EXTRA_PIDS=$FLOODPUB
wait_for 60 eval '[ "$(tray_count f-fl-)" -ge 1 ]'
check "a local submitter is served during the flood (pipes-notify exit 0, in the tray)" \
    eval 'local_notify flood-local "during the flood" && wait_for 60 tray_has flood-local'
echo "       $(tray_count f-fl-) of $FLOOD flood messages were in the tray when the local one was"
wait "$FLOODPUB"
check "mosquitto_pub: the broker acknowledged all $FLOOD (exit 0)" test $? -eq 0
check "all $FLOOD reach the tray" wait_for $((60 + FLOOD / 5)) all_of "$WORK/flood-ids.txt"
check "none delivered twice" test "$(delivered_twice f-fl-)" -eq 0
flood_reported() { # every flood id accepted and displayed on the status topic
    ! grep -vxFf <(sed -n 's/.*"event":"displayed".*"id":"\(f-fl-[0-9]*\)".*/\1/p' "$WORK/status-topic.txt" | sort -u) \
        "$WORK/flood-ids.txt" | grep -q . &&
    ! grep -vxFf <(sed -n 's/.*"event":"accepted".*"id":"\(f-fl-[0-9]*\)".*/\1/p' "$WORK/status-topic.txt" | sort -u) \
        "$WORK/flood-ids.txt" | grep -q .
}
check "the status topic reports each one accepted and displayed, no status event dropped" \
    eval 'wait_for 120 eval "flood_reported || [ \"\$(status_value \"broker status events dropped\")\" != 0 ]";
          [ "$(status_value "broker status events dropped")" = 0 ] && flood_reported'
KIB1=$(engine_kib)
status
grep -E "^(broker (not stored yet|status events)|spool|queue depth)" "$WORK/status.out" | tr -d '\r' | sed 's/^/       /'
echo "       engine anonymous memory: $KIB0 KiB before, $KIB1 KiB after $FLOOD messages"
check "the engine's memory grew by less than 8 MiB" test $((KIB1 - KIB0)) -lt 8192

###############################################################################################
section "QoS 0 past the broker's spool quota: lost, and said to be (status topic, log, status)"
# The tray away and MaxSpoolCountPerUser 1: the broker submitter's one pending record fills its
# quota. A QoS 1 message would then wait at the broker (no PUBACK, redelivered later); a QoS 0
# one is never redelivered, so the service reports it lost instead of leaving it there in silence.
check "nothing is pending before (queue depth 0: the tray took every earlier record)" \
    wait_for 30 eval '[ "$(status_value "queue depth")" = 0 ]'
engine_stop
check "the test tray stops (so what is accepted stays pending)" tray_stop
reg_import "$KEY" '"MaxSpoolCountPerUser"=dword:00000001'
engine_start robust-q0
check "the engine connects with a quota of 1" wait_for 30 status_has "broker state: connected"
pub -t pipes/v1/all -m "$(note f-q0-held)"
check "a QoS 1 message takes the one place (accepted)" wait_for 20 event_seen accepted f-q0-held
pub -q 0 -t pipes/v1/all -m "$(note f-q0-lost)"
check "status topic: the QoS 0 one rejected, queue_full, with its id and why" wait_for 20 grep -q \
    '"event":"rejected","host":"[^"]*","id":"f-q0-lost","topic":"pipes/v1/all","reason":"queue_full","detail":"the broker.s share of the spool is full .*QoS 0' \
    "$WORK/status-topic.txt"
check "status: counted as lost, not as left for redelivery" eval \
    '[ "$(status_value "broker lost (QoS 0, not stored then, never redelivered)")" = 1 ] &&
     [ "$(status_value "broker not stored yet (left for redelivery)")" = 0 ]'
check "logged as not stored (not as left with the broker)" eval \
    'wait_for 10 grep -q "message f-q0-lost on pipes/v1/all not stored: " "$WORK/robust-q0.out" &&
     ! grep -q "f-q0-lost left with the broker" "$WORK/robust-q0.out"'
engine_stop
reg_import "$KEY" '"MaxSpoolCountPerUser"=-'
check "the test tray starts again" tray_start
engine_start robust-q0b
check "the QoS 1 one reaches the tray once it is back; the QoS 0 one never does" \
    eval 'wait_for 30 tray_has f-q0-held && ! grep -q "^f-q0-lost" "$TRAY_OUT.raw"'

###############################################################################################
section "a wrong password: refused with a clear status, local submitters served, retried with backoff"
engine_stop
fleet_password 'not the password'
LOG0=$(wc -l <"$WORK/mosquitto.log")
engine_start robust-pw
check "status: the refusal as last error (refused-not-authorized)" \
    wait_for 30 status_has "broker last error: refused-not-authorized: "
check "status: not connected (waiting to retry, or connecting)" grep -Eq "broker state: (waiting|connecting)" "$WORK/status.out"
check "a local submitter is served (pipes-notify exit 0, in the tray)" \
    eval 'local_notify pw-local "broker refused us" && wait_for 30 tray_has pw-local'
# attempt_times: the broker's clock (seconds) at each connection it refused since this run began
# (mosquitto 2.0.11 logs "Client <unknown> disconnected, not authorised.").
attempt_times() {
    tail -n +$((LOG0 + 1)) "$WORK/mosquitto.log" | grep "disconnected, not authorised" | cut -d: -f1
}
check "retried: 4 attempts (connection failures counted by status)" \
    wait_for 60 eval '[ "$(attempt_times | wc -l)" -ge 4 ] && [ "$(status_value "broker connection failures")" -ge 3 ]'
GAPS=$(attempt_times | head -n 4 | awk 'NR > 1 { printf "%d ", $1 - prev } { prev = $1 }')
echo "       seconds between the first 4 attempts (broker clock): $GAPS"
# Backoff from 1 s doubling, each delay drawn between half and all of it: the 3rd delay is at
# least 2 s (a loop without backoff would retry within the same second).
check "the delays grow (the 3rd is at least 2 s)" test "$(echo "$GAPS" | cut -d' ' -f3)" -ge 2
check "logged once, not at every attempt" test "$(grep -c "not connected: refused-not-authorized" "$WORK/robust-pw.out")" -eq 1
engine_stop

###############################################################################################
section "the example ACL of docs/FLEET.md, as written there, on a broker of its own"
# The ACL file is read out of the guide, so the guide's text is what is tested.
ACL=$WORK/acl
mkdir -p "$ACL"
COMPUTER=${HOST_TOPIC##*/}
sed -n '/^4\. ACLs/,/^5\. /p' "$ROOT/docs/FLEET.md" | sed -n '/^   ```$/,/^   ```$/p' | grep -v '```' |
    sed 's/^   //' >"$ACL/acl"
check "the guide's ACL example was found" grep -q "pattern write pipes/v1/status/%u" "$ACL/acl"
{
    mosquitto_passwd -b -c "$ACL/passwd" publisher pub-pw
    mosquitto_passwd -b "$ACL/passwd" "$COMPUTER" host-pw
    mosquitto_passwd -b "$ACL/passwd" pc-other other-pw
} >>"$ACL/setup.log" 2>&1
ACL_PORT=$(free_port)
broker_conf "$ACL/mosquitto.conf" "per_listener_settings false" "allow_anonymous false" \
    "password_file $ACL/passwd" "acl_file $ACL/acl" "listener $ACL_PORT 127.0.0.1"
mosquitto -c "$ACL/mosquitto.conf" -v >"$ACL/mosquitto.log" 2>&1 &
EXTRA_PIDS=$!
wait_for 10 port_open "$ACL_PORT" || bad "the ACL broker did not start (see $ACL/mosquitto.log)"
acl_pub() { local u=$1 p=$2; shift 2; mosquitto_pub -h 127.0.0.1 -p "$ACL_PORT" -u "$u" -P "$p" -q 1 "$@"; }
acl_sub() { # acl_sub USER PASSWORD OUT TOPIC...: mosquitto_sub in the background, waits for SUBACK
    local u=$1 p=$2 out=$3 t args=(); shift 3
    for t in "$@"; do args+=(-t "$t"); done
    mosquitto_sub -h 127.0.0.1 -p "$ACL_PORT" -u "$u" -P "$p" -q 1 -i "sub-$u" -v "${args[@]}" >"$out" 2>&1 &
    EXTRA_PIDS="$EXTRA_PIDS $!"
    wait_for 10 grep -q "Sending SUBACK to sub-$u" "$ACL/mosquitto.log"
}
acl_sub publisher pub-pw "$ACL/publisher-status.txt" 'pipes/v1/status/#'
acl_sub pc-other other-pw "$ACL/other.txt" "$HOST_TOPIC" "$STATUS_TOPIC" "pipes/v1/status/#"
reg_import "$KEY" "\"BrokerUrl\"=\"mqtt://127.0.0.1:$ACL_PORT\"" "\"BrokerUserName\"=\"$COMPUTER\""
fleet_password host-pw
check "the service, as machine user $COMPUTER, connects" fleet_connect robust-acl
acl_pub publisher pub-pw -t "$HOST_TOPIC" -m "$(note a-host)"
acl_pub publisher pub-pw -t "$USER_TOPIC" -m "$(note a-user)"
acl_pub publisher pub-pw -t pipes/v1/all -m "$(note a-all)"
for id in a-host a-user a-all; do
    check "$id (host, user and all topics readable by the machine) reaches the tray" wait_for 30 tray_has "$id"
done
check "the publisher reads the machine's status topic (displayed a-host)" \
    wait_for 30 grep -q "^$STATUS_TOPIC .*\"event\":\"displayed\".*\"id\":\"a-host\"" "$ACL/publisher-status.txt"
check "no subscription refused, nothing logged as refused" bash -c '! grep -qi "refused" "$1"' _ "$WORK/robust-acl.out"
check "another machine's user receives nothing of this host's topic or status topic" \
    bash -c '! grep -q . "$1"' _ "$ACL/other.txt"
# A machine may not publish notifications: the broker takes the message (QoS 1 is acknowledged)
# and drops it. The publisher's next message on the same topic shows the first one was not passed on.
acl_pub "$COMPUTER" host-pw -t pipes/v1/all -m "$(note a-forged)"
acl_pub publisher pub-pw -t pipes/v1/all -m "$(note a-after-forged)"
check "a machine's publish to the all topic is not delivered" \
    eval 'wait_for 30 tray_has a-after-forged && ! tray_has a-forged'
acl_pub pc-other other-pw -t "$STATUS_TOPIC" -m '{"event":"written-by-another-machine"}'
acl_pub "$COMPUTER" host-pw -t "$STATUS_TOPIC" -m '{"event":"written-by-the-machine"}'
check "a machine writes its own status topic, not another's" \
    eval 'wait_for 20 grep -q written-by-the-machine "$ACL/publisher-status.txt" && ! grep -q written-by-another-machine "$ACL/publisher-status.txt"'
engine_stop

fleet_done "fleet robust tests"
