#!/usr/bin/env bash
# End-to-end test of answers (issue 13, docs/PROTOCOL.md 5a) through the real pieces under Wine and
# Xvfb, in their own prefix ($BUILD_DIR/wineprefix-answers): PipesService installed and started by
# the SCM, the real TrayNotifier on session 1's tray pipe, pipes-notify --wait-response waiting
# while a real mouse click (xdotool, TrayNotifier/tests/popup_helpers.sh) answers the question; the
# answer survives a restart of the service before --query asks for it; a service connection made
# while the service still reports START_PENDING is taken as the service's.
# Then two sessions: Wine has one, so the service is replaced by the test program
# PipesService-twosession.exe (the same service plus session 2, played by session 1's processes:
# PipesService/tests/standin_session.c) and a second TrayNotifier serves session 2's pipe. First
# answer wins (a click in tray A; tray B's window is withdrawn), a click in B that raced it is
# acknowledged late and changes nothing, a question answered before B's tray came up never
# reaches it, and an answer file planted in the spool as a symbolic link is not followed.
# Usage: BUILD_DIR=<build> PipesService/tests/run_answer_tests.sh   (a ./build.sh test suite)
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${BUILD_DIR:?BUILD_DIR must be set}"
BIN=$BUILD_DIR/bin
WORK=$BUILD_DIR/answer-tests
PREFIX=$BUILD_DIR/wineprefix-answers
P6='\\.\pipe\Pipes.Notify.1'   # session 1's tray pipe (every Wine process is in session 1)
FAILS=0
T0=$(date +%s)
XVFB_PID=

PIPES_WINE_ENV_NO_INIT=1 . "$ROOT/cmake/wine-env.sh"
pipes_wine_env "$PREFIX" || { echo "answer tests: cannot create $PREFIX"; exit 1; }
command -v xdotool >/dev/null || { echo "answer tests: xdotool is missing (./build.sh deps)"; exit 1; }
. "$ROOT/TrayNotifier/tests/popup_helpers.sh"

rm -rf "$WORK"
mkdir -p "$WORK"
winpath() { printf 'Z:%s' "${1//\//\\}"; }

cleanup() {
    local p
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    wineserver -k >/dev/null 2>&1
    wineserver -w >/dev/null 2>&1
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null && wait "$XVFB_PID" 2>/dev/null
    return 0
}
trap cleanup EXIT
wineserver -k >/dev/null 2>&1
wineserver -w >/dev/null 2>&1
wineserver -p

ok() { echo "  ok   [$(($(date +%s) - T0))] $*"; }
bad() { echo "  FAIL [$(($(date +%s) - T0))] $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
svc() { local name=$1; shift; wine "$BIN/PipesService.exe" "$@" </dev/null >"$WORK/$name.out" 2>&1; }
notify() { local name=$1; shift; wine "$BIN/pipes-notify.exe" "$@" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err"; }
tray_log_has() { grep -Eq -- "$1" "$WORK/tray.log" 2>/dev/null; }
first_line_is() { [ "$(tr -d '\r' <"$1" | head -n1)" = "$2" ]; }

pipes_start_xvfb "$WORK/xvfb.log" || { echo "answer tests: no free X display"; exit 1; }
echo "== display $DISPLAY, prefix $PREFIX"
wine explorer /desktop=shell,1024x768 >"$WORK/explorer.log" 2>&1 &
rm -rf "$PREFIX/drive_c/ProgramData/Pipes" "$PREFIX/drive_c/users/Public/Pipes"
svc uninstall-pre uninstall
check "the service installs and starts" bash -c 'wine "$1" install </dev/null >"$2/install.out" 2>&1 && wine "$1" start </dev/null >"$2/start.out" 2>&1' _ "$BIN/PipesService.exe" "$WORK"
start_tray_a() {
    wine "$BIN/TrayNotifier.exe" --pipe "$P6" --data-dir "$(winpath "$WORK/tray")" --log "$(winpath "$WORK/tray.log")" \
        --popup-timeout-ms 60000 --theme light >"$WORK/tray.out" 2>&1 &
}
start_tray_a
check "the tray sees the service's connection as the service's" \
    pipes_wait_for 40 tray_log_has "peer [0-9]+ pid=[0-9]+ service"

echo "== a question answered by a real click reaches the waiting pipes-notify"
wine "$BIN/pipes-notify.exe" --title "Install updates now?" --body "A restart is needed." --sticky \
    --action now="Restart now" --action later=Later --id upd-42 --wait-response --timeout 120 \
    </dev/null >"$WORK/ask.out" 2>"$WORK/ask.err" &
ask=$!
check "the question is shown in the Pipes window" pipes_wait_for 40 tray_log_has "popup shown upd-42 "
check "pipes-notify said accepted and displayed on stderr" \
    pipes_wait_for 20 grep -q "displayed upd-42 in session 1" "$WORK/ask.err"
check "pipes-notify is still waiting (no answer yet)" kill -0 "$ask"
check "a real mouse click on 'Restart now'" click "Install updates" action0
wait "$ask"; rc=$?
check "pipes-notify --wait-response exits 0 (answered with an action)" test "$rc" -eq 0
check "... and prints the chosen action alone on stdout: now" first_line_is "$WORK/ask.out" now
check "the tray's response was acknowledged by the service" \
    pipes_wait_for 20 tray_log_has "response upd-42 acknowledged by the service"

echo "== the answer survives a restart of the service"
check "stop" svc stop stop
check "start" svc start start
notify q1 --query upd-42; rc=$?
check "--query exits 0" test "$rc" -eq 0
check "--query says answered now in session 1 by the user" \
    grep -Eq '^answered action now in session 1 by .+ at [0-9T:.-]+Z' "$WORK/q1.out"
notify again --title "Install updates now?" --action now="Restart now" --action later=Later \
    --id upd-42 --wait-response --timeout 20; rc=$?
check "a resend with --wait-response gets the stored answer at once (exit 0, 'now')" \
    test "$rc" -eq 0 -a "$(tr -d '\r' <"$WORK/again.out")" = now
notify q2 --query never-sent; rc=$?
check "--query of an id never sent: unknown" test "$rc" -eq 0 -a "$(tr -d '\r' <"$WORK/q2.out")" = unknown

echo "== dismissing answers too: Esc"
wine "$BIN/pipes-notify.exe" --title "Reboot tonight?" --sticky --action yes=Yes --id night-1 \
    --wait-response --timeout 120 </dev/null >"$WORK/esc.out" 2>"$WORK/esc.err" &
esc=$!
pipes_wait_for 40 tray_log_has "popup shown night-1 "
click "Reboot tonight" margin && xdotool key --delay 100 Escape
wait "$esc"; rc=$?
check "Esc (a real keystroke): exit 9 and 'dismissed'" test "$rc" -eq 9 -a "$(tr -d '\r' <"$WORK/esc.out")" = dismissed
notify q3 --query night-1
check "--query says answered dismissed" grep -q '^answered dismissed in session 1' "$WORK/q3.out"

###############################################################################################
echo "== two sessions: session 2 played by session 1's processes (PipesService-twosession.exe)"
PB='\\.\pipe\Pipes.Notify.2'   # session 2's tray pipe: tray B
# The service's data folder: %ProgramData%\Pipes, wherever this Wine puts it.
svclog() { find "$PREFIX/drive_c" -path '*/Pipes/logs/PipesService.log' 2>/dev/null | head -n1; }
trayb_log_has() { grep -Eq -- "$1" "$WORK/trayb.log" 2>/dev/null; }
status_has() { svc status status && tr -d '\r' <"$WORK/status.out" | grep -Eq -- "$1"; }
TRAYB_PID=
start_tray_b() {
    wine "$BIN/TrayNotifier.exe" --pipe "$PB" --data-dir "$(winpath "$WORK/trayb")" \
        --log "$(winpath "$WORK/trayb.log")" --popup-timeout-ms 60000 --theme dark \
        >>"$WORK/trayb.out" 2>&1 &
    TRAYB_PID=$!
}
# tray_b_up [N]: tray B runs and took the service's connection for the N-th time (default 1; its
# log is appended to); when not, says what became of its process (once a fresh-Debian run found no
# trayb.log at all; its output is the clue).
service_peers_b() { grep -Ec "peer [0-9]+ pid=[0-9]+ service" "$WORK/trayb.log" 2>/dev/null; }
tray_b_up() {
    pipes_wait_for 40 bash -c '[ "$(grep -Ec "peer [0-9]+ pid=[0-9]+ service" "$1" 2>/dev/null)" -ge "$2" ]' \
        _ "$WORK/trayb.log" "${1:-1}" && return 0
    if kill -0 "$TRAYB_PID" 2>/dev/null; then echo "    tray B (pid $TRAYB_PID) runs"; else
        wait "$TRAYB_PID"; echo "    tray B (pid $TRAYB_PID) ended with $?"; fi
    echo "    its log: $(tail -n 3 "$WORK/trayb.log" 2>/dev/null || echo none); its output:"
    tail -n 20 "$WORK/trayb.out" 2>/dev/null | sed 's/^/      /'
    return 1
}
# The popup helpers for the tray on pipe $1 (they use $P6). click_in raises the popup above the
# other tray's first: both trays place theirs bottom-right of the one desktop here (on Windows each
# session has its own desktop); tray_ui's point refuses a point another window covers.
click_in() { local P6=$1; ui6 "raise:$2"; [ "$RC" -eq 0 ] && click "$2" "$3"; }
gone_in() { local P6=$1; wait_gone "$2"; }
shown_in() { local P6=$1; [ "$(popups_titled "$2")" = 1 ]; }
# in_spool ID EXT: the spool file of that id's record (found by its .ntf), with extension EXT.
in_spool() {
    local f
    f=$(find "$PREFIX/drive_c" -path '*/Pipes/spool/*.ntf' -exec grep -l "\"id\":\"$1\"" {} + 2>/dev/null | head -n1)
    [ -n "$f" ] && echo "${f%.ntf}.$2"
}
check "the shipped service tracks one session here" status_has "^sessions tracked: 1"
svc stop-one stop
svc uninstall-one uninstall
check "the two-session test program installs and starts as the service" bash -c 'wine "$1" install </dev/null >"$2/install2.out" 2>&1 && wine "$1" start </dev/null >"$2/start2.out" 2>&1' _ "$BIN/PipesService-twosession.exe" "$WORK"
check "it tracks sessions 1 and 2" status_has "^session 2: "
start_tray_b
check "tray B (session 2's pipe) sees the service's connection as the service's" tray_b_up
notify mark1 --title "Session 2 is served" --id mark-1
check "tray B stores a broadcast sent after it came up" pipes_wait_for 30 trayb_log_has "stored mark-1"
check "the questions answered before session 2 existed never reached it (upd-42, night-1)" \
    bash -c 'test -f "$1" && ! grep -Eq "upd-42|night-1" "$1"' _ "$WORK/trayb.log"

echo "== first answer wins: a real click in tray A, tray B's window is withdrawn"
wine "$BIN/pipes-notify.exe" --title "Deploy to production?" --sticky --action go=Deploy \
    --action hold=Wait --id dep-7 --wait-response --timeout 120 \
    </dev/null >"$WORK/dep.out" 2>"$WORK/dep.err" &
dep=$!
check "tray A shows the question" pipes_wait_for 40 tray_log_has "popup shown dep-7 "
check "tray B shows the question" pipes_wait_for 40 trayb_log_has "popup shown dep-7 "
check "both windows are on the screen" \
    eval 'shown_in "$P6" "Deploy to production" && shown_in "$PB" "Deploy to production"'
# Side by side, not stacked: a real click goes where the X server's stacking says, which follows a
# raise only later (a click meant for A's window once reached B's).
check "tray B's window moved aside (both in full view)" \
    eval '(P6=$PB; ui6 "aside:Deploy to production"; [ "$RC" -eq 0 ])'
check "a real mouse click on 'Deploy' in tray A" click_in "$P6" "Deploy to production" action0
wait "$dep"; rc=$?
check "pipes-notify --wait-response exits 0 and prints A's action: go" \
    test "$rc" -eq 0 -a "$(tr -d '\r' <"$WORK/dep.out" | head -n1)" = go
check "tray B's window is withdrawn by the service" \
    pipes_wait_for 30 trayb_log_has "popup dep-7 withdrawn by the service"
check "... and gone from the screen" gone_in "$PB" "Deploy to production"
check "... without an answer of its own (no response from tray B)" \
    bash -c 'test -f "$1" && ! grep -q "popup dep-7 action\|response dep-7" "$1"' _ "$WORK/trayb.log"
(P6=$PB; ui6 copy)
check "tray B's history says: Answered elsewhere: Deploy (..., session 1)" \
    grep -Eq "Deploy to production.*Answered elsewhere: Deploy \(.+, session 1\)" "$WORK/ui6.out"
notify qdep --query dep-7
check "--query: answered go in session 1" grep -Eq '^answered action go in session 1 ' "$WORK/qdep.out"


echo "== a click in tray B that raced A's answer: acknowledged late, changes nothing"
# The race made certain: B's answer is given while B's tray cannot reach the service (stopped), and
# reaches it only after A's answer won (B's tray keeps it in responses.jsonl until acknowledged).
# Tray A is down meanwhile, so that B's window is the only one on the screen when it is clicked.
tray_exit() { wine "$BIN/TrayNotifier.exe" --exit --pipe "$1" </dev/null >"$WORK/exit.out" 2>&1; }
check "tray A exits (--exit)" tray_exit "$P6"
notify ask-rb --title "Reboot web01?" --sticky --action yes=Reboot --action no="Not now" --id rb-9
check "tray B shows the question" pipes_wait_for 40 trayb_log_has "popup shown rb-9 "
check "stop the service" svc stop-rb stop
check "a real click on 'Not now' in tray B, which cannot send it" click_in "$PB" "Reboot web01" action1
check "... so tray B keeps it to send later" pipes_wait_for 20 grep -q '"id":"rb-9".*"action":"no"' "$WORK/trayb/responses.jsonl"
check "tray B exits (--exit), its answer still waiting on disk" tray_exit "$PB"
# A link planted as rb-9's answer file while the service is stopped, pointing outside the spool
# at a well-formed answer (dep-7's, copied): were it followed, rb-9 would load as answered (go).
RB_ANS=$(in_spool rb-9 ans)
TARGET=$WORK/link-target
mkdir -p "$TARGET"
check "(dep-7's answer file is in the spool to copy)" cp "$(in_spool dep-7 ans)" "$TARGET/answer.ans"
ln -s "$TARGET/answer.ans" "$RB_ANS"
target_before=$(cksum <"$TARGET/answer.ans")
check "start the service with a link as rb-9's answer file" svc start-rb start
check "the link is not followed: --query says rb-9 is displayed (by B), not answered" \
    eval 'notify qrb0 --query rb-9; grep -q "^displayed in session 2" "$WORK/qrb0.out"'
check "... the service logs it as damaged, left where it is" \
    grep -qF "$(basename "$RB_ANS") (not a plain file of the spool (a link)): left where it is" "$(svclog)"
start_tray_a
check "tray A comes back and shows the question" pipes_wait_for 40 tray_log_has "popup shown rb-9 "
check "a real click on 'Reboot' in tray A: the first answer" click_in "$P6" "Reboot web01" action0
check "tray A's response is acknowledged" pipes_wait_for 30 tray_log_has "response rb-9 acknowledged by the service"
check "the answer replaced the link with a file of the spool" test -f "$RB_ANS" -a ! -L "$RB_ANS"
check "the link's target is unchanged" test "$target_before" = "$(cksum <"$TARGET/answer.ans")"
notify qrb1 --query rb-9
check "--query: answered yes in session 1" grep -Eq '^answered action yes in session 1 ' "$WORK/qrb1.out"

echo "== a question answered while tray B is down never reaches it"
notify ask-key --title "Rotate the keys?" --sticky --action rot=Rotate --id key-3
check "tray A shows it" pipes_wait_for 40 tray_log_has "popup shown key-3 "
check "a real click on 'Rotate' in tray A" click_in "$P6" "Rotate the keys" action0
check "tray A's response is acknowledged" pipes_wait_for 30 tray_log_has "response key-3 acknowledged by the service"

echo "== tray B comes back: its raced answer is late, the withdraw arrives, key-3 does not"
peers_before=$(service_peers_b)
start_tray_b
check "tray B is back" tray_b_up $((peers_before + 1))
check "tray B sends its waiting answer and the service acknowledges it" \
    pipes_wait_for 40 trayb_log_has "response rb-9 acknowledged by the service"
check "... and logs it as late (event 1021)" \
    grep -Eq "rb-9 was answered in session 2: action no by .*late: another session answered first" "$(svclog)"
check "status counts one late answer" status_has "^answers stored: [0-9]+ \(late: 1\)"
check "tray B no longer keeps it" bash -c '! grep -q "rb-9" "$1"' _ "$WORK/trayb/responses.jsonl"
check "tray B gets the withdraw of rb-9 and acknowledges it" pipes_wait_for 30 trayb_log_has "withdraw rb-9: ack"
notify qrb2 --query rb-9
check "--query still says A's answer: yes in session 1" grep -Eq '^answered action yes in session 1 ' "$WORK/qrb2.out"
notify mark2 --title "Session 2 is served again" --id mark-2
check "tray B stores a broadcast sent after it came back" pipes_wait_for 30 trayb_log_has "stored mark-2"
check "key-3, answered while tray B was down, never reached it" \
    bash -c 'test -f "$1" && ! grep -q "key-3" "$1" "$2"' _ "$WORK/trayb.log" "$WORK/trayb/history.jsonl"

# Each tray judges each connection once, when it comes: every one the service made must have been
# taken for the service's (before the service reported RUNNING only after its first tray
# connection, a tray sometimes judged it a direct sender's: seen as tray A's "peer 3 pid=656
# direct", its answer to dep-7 then never sent to the service).
check "every connection of the service was taken for the service's by both trays" \
    bash -c '! grep -h "^[0-9:.]* peer [0-9]* pid=[0-9]* direct" "$1" "$2"' _ "$WORK/tray.log" "$WORK/trayb.log"

svc stop-end stop
svc uninstall uninstall

# PipesService connects to the trays before it reports RUNNING (core.c delivers the spool while
# starting): a tray already running sees that connection while the SCM still says START_PENDING,
# as after every restart or upgrade. tray_sender --starting-service plays such a service under
# the name PipesService and stays START_PENDING until told, so the moment is not left to chance.
echo "== a connection the service makes while it is still starting is the service's"
STARTING_OUT=$WORK/starting.out
wine sc create PipesService binpath= "$(winpath "$BIN/tray_sender.exe") --starting-service --pipe $P6 --out $(winpath "$STARTING_OUT") --until $(winpath "$WORK/started")" \
    </dev/null >"$WORK/sc-create.out" 2>&1
wine sc start PipesService </dev/null >"$WORK/sc-start.out" 2>&1 &
check "the starting service connected to the tray" pipes_wait_for 30 grep -qs '^connected ' "$STARTING_OUT"
spid=$(sed -n 's/^connected \([0-9]*\).*/\1/p' "$STARTING_OUT" | tr -d '\r')
wine sc query PipesService </dev/null >"$WORK/sc-query.out" 2>&1
check "... and the SCM still says START_PENDING" grep -q 'START_PENDING' "$WORK/sc-query.out"
check "the tray takes that connection (pid ${spid:-?}) as the service's, not as a direct one" \
    pipes_wait_for 20 tray_log_has "peer [0-9]+ pid=${spid:-none} service"
touch "$WORK/started"
wine sc stop PipesService </dev/null >"$WORK/sc-stop.out" 2>&1
pipes_wait_for 20 bash -c 'wine sc query PipesService </dev/null 2>&1 | grep -q STOPPED'
wine sc delete PipesService </dev/null >"$WORK/sc-delete.out" 2>&1

echo "answer tests: $FAILS failed"
[ "$FAILS" -eq 0 ]
