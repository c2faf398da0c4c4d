# e2e_chain.sh - sourced by installer/e2e.sh once the tray started from the Run value receives (its
# helpers w, check, abort, sc_state, reg_value; $APP, $HIST, $WORK, the Xvfb display and the Wine
# desktop). The whole interactive chain through the MSI-installed service, with only the installed
# programs doing the work:
#   3a a question: the installed pipes-notify --wait-response with two actions waits while a real
#      mouse click (xdotool) on "Restart now" in the installed tray's popup answers it; it prints
#      the action and exits 0; after a restart of the service (net stop / net start) --query says
#      answered, action now
#   3b fleet: the installed service configured for a local mosquitto (the MQTT suites' test broker,
#      PipesService/mqtt/tests/mqtt_broker.sh) with the registry values of docs/FLEET.md and the
#      installed `PipesService fleet-password`, restarted; mosquitto_pub to <prefix>/all, /host/<computer>
#      and /user/<user>: each once in the tray history, accepted and displayed on the status topic
#      (mosquitto_sub); a question published over the broker, answered by a real click, comes back
#      on the status topic as a `response` event with the clicked action.
# Test tools besides the installed files: xdotool clicks, and the build's tray_sender.exe tells where
# on the screen a popup's button is (TrayNotifier/tests/popup_helpers.sh); mosquitto and its clients
# play the broker and the publisher. BROKER_PID and STATUS_SUB_PID are for e2e.sh's cleanup.

BIN=$BUILD_DIR/bin            # tray_sender.exe, the probe of popup_helpers.sh
P6='\\.\pipe\Pipes.Notify.1'  # the installed tray's pipe (every Wine process is in session 1)
. "$ROOT/TrayNotifier/tests/popup_helpers.sh"   # click TITLE WHAT: a real click on a popup's control
command -v xdotool >/dev/null || abort "xdotool is missing (./build.sh deps)"
[ -f "$BIN/tray_sender.exe" ] || abort "$BIN/tray_sender.exe is missing (a test program of the build)"

first_line_is() { [ "$(tr -d '\r' <"$1" | head -n1)" = "$2" ]; }
sc_is() { [ "$(sc_state)" = "$1" ]; }
# service_restart: net stop and net start of the installed service, each state waited for.
service_restart() {
    w net-stop net stop PipesService
    pipes_wait_for 30 sc_is STOPPED || return 1
    w net-start net start PipesService
    pipes_wait_for 30 sc_is RUNNING
}
# in_history ID: the number of notification lines of ID in the tray's history (answers not counted).
in_history() { grep -v '"type" *: *"response"' "$HIST" | grep -c "\"id\" *: *\"$1\""; }
in_history_once() { [ "$(in_history "$1")" = 1 ]; }
all_once() { local id; for id in "$@"; do in_history_once "$id" || return 1; done; }

# ---- 3a. a question answered by a click ------------------------------------------------------
step "3a. a question (pipes-notify --wait-response, two actions) answered by a real click on the tray's popup"
wine "$APP/pipes-notify.exe" --title "Install updates now?" --body "A restart is needed." --sticky \
    --action now="Restart now" --action later=Later --id e2e-ask --wait-response --timeout 120 \
    </dev/null >"$WORK/ask.out" 2>"$WORK/ask.err" &
ask=$!
check "pipes-notify says accepted and displayed in session 1 (stderr), and waits" \
    pipes_wait_for 40 grep -q 'displayed e2e-ask in session 1' "$WORK/ask.err"
check "... still waiting for the answer" kill -0 "$ask"
if click "Install updates" action0; then
    ok "a real mouse click (xdotool) on 'Restart now' in the tray's popup"
else
    bad "no 'Restart now' button on the screen to click ($(cat "$WORK/ui6.err"))"
    kill "$ask" 2>/dev/null
fi
wait "$ask"
rc=$?
check "pipes-notify --wait-response exits 0 (answered with an action; got $rc)" test "$rc" -eq 0
check "... and prints the clicked action alone on stdout: now" first_line_is "$WORK/ask.out" now
check "the service restarts (net stop, net start)" service_restart
w query "$APP/pipes-notify.exe" --query e2e-ask
check "after the restart pipes-notify --query says: answered action now in session 1" \
    grep -Eq '^answered action now in session 1 by .+ at [0-9T:.-]+Z' "$WORK/query.out"
check "the question is once in the tray history, and its answer (action now) once" \
    test "$(in_history e2e-ask)" = 1 -a "$(grep -c '"type":"response","id":"e2e-ask".*"action":"now"' "$HIST")" = 1

# ---- 3b. fleet ------------------------------------------------------------------------------------
step "3b. fleet: the installed service configured for a local mosquitto (docs/FLEET.md)"
for tool in mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd openssl python3; do
    command -v "$tool" >/dev/null || abort "$tool is missing (./build.sh deps)"
done
BROKER_WORK=$WORK/broker
mkdir -p "$BROKER_WORK"
. "$ROOT/PipesService/mqtt/tests/mqtt_broker.sh"   # mqtt_broker_setup, broker_start: PLAIN, BROKER_PID
WORK=$BROKER_WORK mqtt_broker_setup || abort "broker setup (see $BROKER_WORK/setup.log)"
WORK=$BROKER_WORK broker_start || abort "mosquitto did not start (see $BROKER_WORK/mosquitto.log)"
ok "mosquitto listens on 127.0.0.1:$PLAIN (user pipes)"
pub() { mosquitto_pub -h 127.0.0.1 -p "$PLAIN" -u pipes -P 's3cret!' -q 1 "$@"; }
# The topic names an administrator publishes to: the computer and user names as Windows gives them,
# in lower case (FLEET.md), not as the service reports them.
w names cmd /c 'echo %COMPUTERNAME% %USERNAME%'
read -r COMPUTER USERN < <(tr -d '\r' <"$WORK/names.out" | tr '[:upper:]' '[:lower:]')
echo "       computer $COMPUTER, user $USERN"
mosquitto_sub -h 127.0.0.1 -p "$PLAIN" -u pipes -P 's3cret!' -q 1 -i e2e-status -v \
    -t "pipes/v1/status/$COMPUTER" >"$WORK/status-topic.txt" 2>&1 &
STATUS_SUB_PID=$!
check "mosquitto_sub reads pipes/v1/status/$COMPUTER" \
    pipes_wait_for 10 grep -q 'Sending SUBACK to e2e-status' "$BROKER_WORK/mosquitto.log"

printf 'REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Pipes\\Service]\n"BrokerUrl"="mqtt://127.0.0.1:%s"\n"BrokerAllowPlainText"=dword:00000001\n"BrokerUserName"="pipes"\n' \
    "$PLAIN" >"$WORK/fleet.reg"
wine regedit /S "$(winpath "$WORK/fleet.reg")" </dev/null >"$WORK/fleet-regedit.out" 2>&1
check "BrokerUrl, BrokerAllowPlainText, BrokerUserName in HKLM\\SOFTWARE\\Pipes\\Service" \
    test "$(reg_value 'HKLM\SOFTWARE\Pipes\Service' BrokerUrl)" = "mqtt://127.0.0.1:$PLAIN"
printf 's3cret!\n' | wine "$APP/PipesService.exe" fleet-password >"$WORK/fleet-password.out" 2>&1
check "the installed PipesService.exe fleet-password stores the password (exit 0)" test $? -eq 0
check "the service restarts with the broker configured" service_restart
subscribed() { grep -qF "$1 (QoS 1)" "$BROKER_WORK/mosquitto.log"; }
for topic in pipes/v1/all "pipes/v1/host/$COMPUTER" "pipes/v1/user/$USERN"; do
    check "the service subscribed to $topic" pipes_wait_for 40 subscribed "$topic"
done
w status "$APP/PipesService.exe" status
check "PipesService status: broker state: connected" grep -q 'broker state: connected' "$WORK/status.out"

# event_seen EVENT ID [MORE]: a status event on the topic, MORE a regular expression after the id.
event_seen() { grep -Eq "\"event\":\"$1\",\"host\":\"$COMPUTER\",\"id\":\"$2\"${3:-}" "$WORK/status-topic.txt"; }
note() { printf '{"v":1,"id":"%s","title":"%s","source":"fleet-e2e"}' "$1" "$2"; }
pub -t pipes/v1/all -m "$(note e2e-f-all 'Fleet: to every desktop')"
pub -t "pipes/v1/host/$COMPUTER" -m "$(note e2e-f-host 'Fleet: to this machine')"
pub -t "pipes/v1/user/$USERN" -m "$(note e2e-f-user 'Fleet: to this user')"
for id in e2e-f-all e2e-f-host e2e-f-user; do
    if pipes_wait_for 30 event_seen displayed "$id" ',"session":1,"user":"[^"]+"'; then
        ok "$id: displayed (session 1, with the user) on the status topic"
    else
        bad "$id: no displayed event on the status topic"
    fi
    check "  ... and accepted" event_seen accepted "$id" ',"topic":"pipes/v1/'
    check "  ... in the tray history once" pipes_wait_for 10 in_history_once "$id"
done

# The tray believes the sender the service wrote only on the service's own connection (after the
# restart above the service connects while it still reports START_PENDING).
check "the tray shows the broker as the sender (kind broker, origin: the broker URL and the topic)" \
    grep -q "\"id\":\"e2e-f-all\".*\"sender\":{\"kind\":\"broker\".*\"origin\":\"mqtt://127.0.0.1:$PLAIN pipes/v1/all\"" "$HIST"

pub -t pipes/v1/all -m '{"v":1,"id":"e2e-f-ask","title":"Fleet: restart tonight?","sticky":true,"actions":[{"id":"now","label":"Restart now"},{"id":"later","label":"Later"}]}'
check "a question published to pipes/v1/all: displayed (status topic)" pipes_wait_for 30 event_seen displayed e2e-f-ask
check "a real mouse click (xdotool) on its 'Restart now'" click "Fleet: restart tonight" action0
check "the status topic reports the answer: response, session 1, the user, action now" \
    pipes_wait_for 30 event_seen response e2e-f-ask ',"session":1,"user":"[^"]+","action":"now"\}'
check "each broker notification is still once in the tray history" all_once e2e-f-all e2e-f-host e2e-f-user e2e-f-ask
sed 's/^/       /' "$WORK/status-topic.txt" | cut -c1-160
