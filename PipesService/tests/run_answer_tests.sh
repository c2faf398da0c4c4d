#!/usr/bin/env bash
# End-to-end test of answers (issue 13, docs/PROTOCOL.md 5a) through the real pieces under Wine and
# Xvfb, in their own prefix ($BUILD_DIR/wineprefix-answers): PipesService installed and started by
# the SCM, the real TrayNotifier on session 1's tray pipe, pipes-notify --wait-response waiting
# while a real mouse click (xdotool, TrayNotifier/tests/popup_helpers.sh) answers the question; the
# answer survives a restart of the service before --query asks for it; a service connection made
# while the service still reports START_PENDING is taken as the service's.
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
wine "$BIN/TrayNotifier.exe" --pipe "$P6" --data-dir "$(winpath "$WORK/tray")" --log "$(winpath "$WORK/tray.log")" \
    --popup-timeout-ms 60000 --theme light >"$WORK/tray.out" 2>&1 &
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
