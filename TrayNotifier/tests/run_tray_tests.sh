#!/usr/bin/env bash
# End-to-end tests of TrayNotifier under Wine, on a private X server (Xvfb) with a Wine desktop
# that has a taskbar and notification area (wine explorer /desktop=shell,1024x768).
#
#   BUILD_DIR=build TrayNotifier/tests/run_tray_tests.sh
#
# Uses its own Wine prefix, $BUILD_DIR/wineprefix-tray (not the ctest prefix), and its own
# display (the first free one from :90). Everything it starts is ended on exit (trap).
# Writes $BUILD_DIR/tray-tests/ (logs, records) and $BUILD_DIR/tray-tests/tray.png (the screenshot);
# TRAY_SCREENSHOT=<path> copies the screenshot there too (docs/img/tray.png is made that way).
# Exit status 0 when every check passed.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
BIN=$BUILD_DIR/bin
WORK=$BUILD_DIR/tray-tests
PREFIX=$BUILD_DIR/wineprefix-tray

PIPE='\\.\pipe\Pipes.Notify.TrayTest'
PIPE2='\\.\pipe\Pipes.Notify.TrayTest2'
WDIR='C:\tray-tests'                      # the same folder seen from Windows ...
DIR=$PREFIX/drive_c/tray-tests           # ... and from Linux
HIST=$DIR/data/history.jsonl

PASS=0
FAIL=0
START=$(date +%s)
XVFB_PID=
TRAY_PID=

say() { printf '[tray-tests %3ss] %s\n' "$(($(date +%s) - START))" "$*"; }
ok() { PASS=$((PASS + 1)); say "ok   - $*"; }
bad() { FAIL=$((FAIL + 1)); say "FAIL - $*"; }
check() { # check "description" command...
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

for f in TrayNotifier.exe tray_sender.exe pipes.dll; do
    [ -f "$BIN/$f" ] || { echo "run_tray_tests.sh: $BIN/$f is missing (build first)" >&2; exit 1; }
done
for tool in Xvfb import identify; do
    command -v "$tool" >/dev/null || { echo "run_tray_tests.sh: $tool is missing (./build.sh deps)" >&2; exit 1; }
done

cleanup() {
    WINEPREFIX=$PREFIX wineserver -k >/dev/null 2>&1 || true
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null && wait "$XVFB_PID" 2>/dev/null
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PIPES_WINE_ENV_NO_INIT=1 . "$ROOT/cmake/wine-env.sh"
pipes_wine_env "$PREFIX" || { echo "run_tray_tests.sh: cannot create $PREFIX" >&2; exit 1; }
WINEPREFIX=$PREFIX wineserver -k >/dev/null 2>&1 || true   # nothing left from an earlier run
rm -rf "$WORK" "$DIR"
mkdir -p "$WORK" "$DIR"

# ---- display: the first free number from :90, started and verified ----
pipes_start_xvfb "$WORK/xvfb.log" || { echo "run_tray_tests.sh: no free X display" >&2; exit 1; }
say "display $DISPLAY, prefix $PREFIX"
wine explorer /desktop=shell,1024x768 >"$WORK/explorer.log" 2>&1 &
sleep 2

# ---- helpers ----
log_lines() {
    local n
    n=$(grep -c -- "$1" "$DIR/tray.log" 2>/dev/null)
    echo "${n:-0}"
}
# wait_log PATTERN [SECONDS [LOG]]: wait until the tray's log (or $DIR/LOG) has a line matching
# PATTERN (grep -E).
wait_log() {
    local i
    for i in $(seq 1 $((${2:-5} * 10))); do
        grep -Eq -- "$1" "$DIR/${3:-tray.log}" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# wait_until SECONDS COMMAND...: retry COMMAND (evaluated each time) until it succeeds.
wait_until() {
    local i limit=$(($1 * 10))
    shift
    for i in $(seq 1 "$limit"); do
        eval "$@" && return 0
        sleep 0.1
    done
    return 1
}

# stop_pid PID [SECONDS]: wait until a background program has ended; after SECONDS (default 20)
# kill it (a crashed Wine program waits for its debugger).
stop_pid() {
    wait_until "${2:-20}" "! kill -0 $1 2>/dev/null" || kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# start_tray NAME [ARGS...]: start the tray (main test pipe) and wait until it listens.
start_tray() {
    local name=$1 before i
    shift
    before=$(log_lines ' listening$')
    wine "$BIN/TrayNotifier.exe" --pipe "$PIPE" --data-dir "$WDIR\\data" --log "$WDIR\\tray.log" "$@" \
        >"$WORK/$name.out" 2>&1 &
    TRAY_PID=$!
    for i in $(seq 1 300); do
        [ "$(log_lines ' listening$')" -gt "$before" ] && return 0
        kill -0 "$TRAY_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# send NAME ARGS...: run tray_sender (record in $DIR/NAME.rec), leaves its exit code in RC.
send() {
    local name=$1
    shift
    wine "$BIN/tray_sender.exe" --pipe "$PIPE" --out "$WDIR\\$name.rec" "$@" >"$WORK/$name.out" 2>&1
    RC=$?
}

hist_ids() { grep -o '"id":"[^"]*"' "$HIST" | cut -d'"' -f4; }
acked() { grep '^ack ' "$DIR/$1.rec" | cut -d' ' -f2; }
alive() { kill -0 "$TRAY_PID" 2>/dev/null; }

# In per-sender order and each once: the ids of prefix $1 in history are exactly $1-00001..$1-$2.
history_has_sequence() {
    local p=$1 n=$2
    diff <(hist_ids | grep "^$p-") <(seq -f "$p-%05g" 1 "$n") >"$WORK/diff-$p.txt"
}

# ---- 0. the Pipes notification window (popup_tests.sh); TRAY_TESTS_ONLY=popups: only this ----
# shellcheck source=TrayNotifier/tests/popup_tests.sh
. "$ROOT/TrayNotifier/tests/popup_tests.sh"
if [ "${TRAY_TESTS_ONLY:-}" = popups ]; then
    say "$PASS passed, $FAIL failed in $(($(date +%s) - START)) s"
    [ "$FAIL" -eq 0 ]
    exit
fi

# ---- 1. start, 500 notifications from 4 concurrent senders ----
check "tray starts and listens on $PIPE" start_tray tray1
pids=()
for s in 1 2 3 4; do
    wine "$BIN/tray_sender.exe" --pipe "$PIPE" --out "$WDIR\\p$s.rec" --prefix "p$s" --count 125 \
        --window 16 >"$WORK/p$s.out" 2>&1 &
    pids+=($!)
done
rcs=""
for p in "${pids[@]}"; do wait "$p"; rcs="$rcs $?"; done
check "4 senders: every notification acknowledged (exit codes:$rcs)" test "$rcs" = " 0 0 0 0"
total_acks=$(cat "$DIR"/p[1-4].rec 2>/dev/null | grep -c '^ack ')
check "4 senders: 500 acks recorded ($total_acks)" test "$total_acks" -eq 500
n_hist=$(hist_ids | grep -c '^p[1-4]-')
n_uniq=$(hist_ids | grep '^p[1-4]-' | sort -u | wc -l)
check "history holds all 500 exactly once ($n_hist lines, $n_uniq distinct)" \
    test "$n_hist" -eq 500 -a "$n_uniq" -eq 500
for s in 1 2 3 4; do
    check "history keeps sender p$s's order" history_has_sequence "p$s" 125
done
check "every notification was displayed once (500 'show' lines)" test "$(log_lines ' show p[1-4]-')" -eq 500
n_balloons=$(log_lines ' balloon shown ')
check "hold-off: a burst of 500 gave a few balloons, not 500 ($n_balloons)" \
    test "$n_balloons" -ge 1 -a "$n_balloons" -le 40
check "a held-back burst is summarised as \"(+N more)\"" wait_log 'balloon shown .*\(\+[0-9]+ more\)' 5

# ---- 2. duplicates: acknowledged again, stored and shown once ----
send dup --prefix p1 --start 1 --count 10
check "10 repeated ids are acknowledged again" test "$RC" -eq 0 -a "$(grep -c '^ack ' "$DIR/dup.rec")" -eq 10
check "repeated ids are not stored twice" history_has_sequence p1 125
check "the tray logged 10 duplicates" test "$(log_lines ' duplicate p1-000')" -eq 10
check "a repeated id is shown once (p1-00001)" test "$(log_lines ' show p1-00001$')" -eq 1

# ---- 3. malformed messages: rejected with their reason; the tray keeps running ----
send malformed --malformed
check "20 malformed messages rejected with the expected error and reason, then an ack" test "$RC" -eq 0
check "20 rejections recorded" test "$(grep -c '^rejected ' "$DIR/malformed.rec")" -eq 20
check "the tray logged 20 rejections" test "$(log_lines ' rejected id=')" -eq 20
check "the tray is still running" alive
check "no rejected message reached the history" test "$(hist_ids | grep -c '^m[0-9]')" -eq 0

# ---- 3b. pause: stored and acknowledged, no balloon; one summary balloon on resume ----
sleep 2.2   # let the hold-off show what it still holds, so the pause starts clean
wine "$BIN/TrayNotifier.exe" --pause --pipe "$PIPE" >"$WORK/pause.out" 2>&1
check "--pause reaches the running tray" test $? -eq 0
check "the tray paused" wait_log ' paused$' 5
balloons_before=$(log_lines ' balloon shown ')
send paused --prefix q --count 5
check "while paused, notifications are acknowledged and stored" test "$RC" -eq 0
check "while paused, the history has them" history_has_sequence q 5
sleep 2.2
check "while paused, no balloon appears" test "$(log_lines ' balloon shown ')" -eq "$balloons_before"
wine "$BIN/TrayNotifier.exe" --resume --pipe "$PIPE" >"$WORK/resume.out" 2>&1
check "--resume reaches the running tray" test $? -eq 0
check "on resume one summary balloon names the count and the latest" \
    wait_log 'balloon shown .*title=5 notifications while paused text=Latest: Build q #5 finished' 5

# ---- 3c. Explorer restarted: "TaskbarCreated" makes the tray add its icon again ----
icons_before=$(log_lines ' icon added ')
wine "$BIN/tray_sender.exe" --taskbar-created >"$WORK/taskbar.out" 2>&1
check "TaskbarCreated broadcast sent" test $? -eq 0
check "on TaskbarCreated the tray re-adds its icon" \
    wait_until 10 test '$(log_lines " icon added ")' -gt "$icons_before"

# ---- 4. killed mid-stream, restarted: history intact, the sender resends the rest ----
wine "$BIN/tray_sender.exe" --pipe "$PIPE" --out "$WDIR\\k1.rec" --prefix k --count 400 --window 4 \
    --delay-ms 10 >"$WORK/k1.out" 2>&1 &
kpid=$!
for i in $(seq 1 200); do
    [ "$(grep -c '^ack ' "$DIR/k1.rec" 2>/dev/null || echo 0)" -ge 60 ] && break
    sleep 0.05
done
wine taskkill /F /IM TrayNotifier.exe >"$WORK/taskkill.out" 2>&1 || kill -9 "$TRAY_PID" 2>/dev/null
wait "$kpid"
krc=$?
wait "$TRAY_PID" 2>/dev/null
k_acked=$(grep -c '^ack ' "$DIR/k1.rec")
check "the sender saw the connection break (exit 3) after $k_acked of 400 acks" \
    test "$krc" -eq 3 -a "$k_acked" -ge 60 -a "$k_acked" -lt 400
missing=$(comm -23 <(acked k1 | sort) <(hist_ids | sort) | wc -l)
check "every acknowledged notification is in the history after the kill ($missing missing)" test "$missing" -eq 0
lines_before=$(grep -c '' "$HIST")
check "tray restarts after the kill" start_tray tray2
check "the restarted tray loaded the history intact" \
    grep -Eq "history opened(, torn last line removed)?: $lines_before entries" "$DIR/tray.log"
send k2 --prefix k --count 400 --resend "$WDIR\\k1.rec" --window 16
k2_sent=$(grep -c '' "$DIR/k2.rec")
check "the sender resent the $k2_sent unacknowledged ones, all acknowledged" \
    test "$RC" -eq 0 -a "$((k_acked + k2_sent))" -eq 400
check "after the resend all 400 are in history once, in order" history_has_sequence k 400
check "earlier notifications survived the kill" history_has_sequence p4 125

# ---- 5. a second start shows the running instance's window; screenshot ----
send demo0 --id demo-build --title "Build failed: pipes main #1842" --body "2 tests failed in PipesTests (lib_concurrency)." \
    --level error --source ci
send demo1 --id demo-disk --title "Disk almost full" --body "C: has 2.1 GB free (3%). Empty the recycle bin or move files." \
    --level warning --source monitor
sleep 2.2   # past the balloon hold-off, so the next one is shown at once
send demo2 --id demo-backup --title "Backup finished" \
    --body "Documents: 1,204 files, 3.1 GB in 4 min." --level info --source nightly-backup
wine "$BIN/TrayNotifier.exe" --pipe "$PIPE" >"$WORK/second.out" 2>&1
check "a second start exits with 0" test $? -eq 0
check "a second start opened the history window of the first" wait_log 'history window shown' 5
check "the first instance is still the one running" alive
check "the last demo notification got its balloon" wait_log 'balloon shown .*title=Backup finished' 8
sleep 3     # Wine's explorer creates a balloon about two seconds after the call
import -window root "$WORK/tray.png" 2>"$WORK/import.log"
colours=$(identify -format '%k' "$WORK/tray.png" 2>/dev/null || echo 0)
check "screenshot is not blank ($colours colours)" test "$colours" -ge 64
if [ -n "${TRAY_SCREENSHOT:-}" ] && [ -f "$WORK/tray.png" ]; then
    cp "$WORK/tray.png" "$TRAY_SCREENSHOT" && say "screenshot copied to $TRAY_SCREENSHOT"
fi

# ---- 5b. the menu commands a click runs (WM_COMMAND with the item's id) ----
ui() { # ui ACTION: drive one menu command through tray_sender --ui; exit code in RC
    wine "$BIN/tray_sender.exe" --ui "$1" --pipe "$PIPE" >"$WORK/ui-$1.out" 2>"$WORK/ui-$1.err"
    RC=$?
}
ui about
check "About opens a message box that closes on OK" test "$RC" -eq 0
check "About names the version" grep -Eq 'Pipes Notifier [0-9]+\.[0-9]+\.[0-9]+' "$WORK/ui-about.out"
check "About names the pipe" grep -qF "Pipe: $PIPE" "$WORK/ui-about.out"
check "About names the history folder" grep -q '^History: .*tray-tests' "$WORK/ui-about.out"
ui copy
check "Copy in Recent notifications puts the history on the clipboard" test "$RC" -eq 0
rows=$(grep -c $'\t' "$WORK/ui-copy.out")
check "the clipboard has one tab-separated row per entry shown ($rows)" test "$rows" -ge 3 -a "$rows" -le 200
check "the clipboard has the newest notification with its source" \
    grep -q $'nightly-backup\tBackup finished' "$WORK/ui-copy.out"
ui folder
check "Open data folder hands the folder to the shell (ShellExecute succeeded)" \
    wait_log 'open data folder: ok' 10
check "the tray still runs after the menu commands" alive

# ---- 6. --exit; a torn last line and a corrupt file on the next start ----
wine "$BIN/TrayNotifier.exe" --exit --pipe "$PIPE" >"$WORK/exit1.out" 2>&1
check "--exit stops the running tray (exit 0)" test $? -eq 0
wait "$TRAY_PID" 2>/dev/null
check "the tray process has ended" test "$(kill -0 "$TRAY_PID" 2>/dev/null && echo up || echo gone)" = gone
entries=$(grep -c '' "$HIST")
printf '{"v":1,"id":"torn-1","title":"cut sh' >>"$HIST"
check "tray starts with a torn last line" start_tray tray3
check "the torn line was cut and the rest kept" \
    grep -q "history opened, torn last line removed: $entries entries" "$DIR/tray.log"
check "the history file ends with a whole line again" test "$(tail -c 1 "$HIST" | od -An -c | tr -d ' ')" = '\n'
wine "$BIN/TrayNotifier.exe" --exit --pipe "$PIPE" >"$WORK/exit2.out" 2>&1
wait "$TRAY_PID" 2>/dev/null
{ echo 'this is not a notification'; cat "$HIST"; } >"$WORK/corrupt.jsonl" && cp "$WORK/corrupt.jsonl" "$HIST"
check "tray starts with a corrupt history" start_tray tray4
aside=$(ls "$DIR"/data/history.corrupt-*.jsonl 2>/dev/null | head -n1)
check "the corrupt file was kept aside unchanged" cmp -s "$WORK/corrupt.jsonl" "${aside:-/nonexistent}"
check "a fresh history was started" test "$(grep -c '' "$HIST")" -eq 0
check "a balloon tells the user where the damaged file went" \
    wait_log "balloon shown .*title=history set aside text=.*$(basename "${aside:-none}")" 5
send fresh --id fresh-1 --title "After recovery"
check "the recovered tray stores and acknowledges" test "$RC" -eq 0 -a "$(hist_ids)" = fresh-1

# ---- 7. compaction keeps the newest N and the file bounded ----
wine "$BIN/TrayNotifier.exe" --pipe "$PIPE2" --data-dir "$WDIR\\small" --log "$WDIR\\small.log" \
    --history-limit 50 >"$WORK/small.out" 2>&1 &
small_pid=$!
wine "$BIN/tray_sender.exe" --pipe "$PIPE2" --out "$WDIR\\c.rec" --prefix c --count 230 --window 16 \
    >"$WORK/c.out" 2>&1
check "230 notifications to a tray limited to 50" test $? -eq 0
small_lines=$(grep -c '' "$DIR/small/history.jsonl")
check "the history file was compacted ($small_lines lines, bound 50..100)" \
    test "$small_lines" -ge 50 -a "$small_lines" -le 100
check "after compaction the newest notification is the last line" \
    test "$(grep -o '"id":"[^"]*"' "$DIR/small/history.jsonl" | tail -n1 | cut -d'"' -f4)" = c-00230
wine "$BIN/TrayNotifier.exe" --exit --pipe "$PIPE2" >"$WORK/exit3.out" 2>&1
wait "$small_pid" 2>/dev/null

# ---- 7b. a history limit below the batch size: one batch larger than the whole history ----
# The tray's GUI thread is suspended while 40 notifications are written, so they are handled as
# one batch when it resumes; committing that batch evicts most of its own entries (limit 2).
PIPE3='\\.\pipe\Pipes.Notify.TrayTest3'
wine "$BIN/TrayNotifier.exe" --pipe "$PIPE3" --data-dir "$WDIR\\tiny" --log "$WDIR\\tiny.log" \
    --history-limit 2 >"$WORK/tiny.out" 2>&1 &
tiny_pid=$!
check "a tray limited to 2 entries listens" \
    wait_until 30 "grep -q ' listening\$' '$DIR/tiny.log' 2>/dev/null"
wine "$BIN/tray_sender.exe" --ui suspend --pipe "$PIPE3" >"$WORK/tiny-suspend.out" 2>&1
check "its GUI thread is suspended" test $? -eq 0
wine "$BIN/tray_sender.exe" --pipe "$PIPE3" --out "$WDIR\\b.rec" --prefix b --count 40 --window 64 \
    --written "$WDIR\\b.written" >"$WORK/b.out" 2>&1 &
b_pid=$!
check "40 notifications written into its pipe while it is suspended" \
    wait_until 30 test -f "$DIR/b.written"
wine "$BIN/tray_sender.exe" --ui resume --pipe "$PIPE3" >"$WORK/tiny-resume.out" 2>&1
check "its GUI thread is resumed" test $? -eq 0
wait "$b_pid"
b_rc=$?
check "all 40 acknowledged (sender exit $b_rc, $(grep -c '^ack ' "$DIR/b.rec") acks)" \
    test "$b_rc" -eq 0 -a "$(grep -c '^ack ' "$DIR/b.rec")" -eq 40
big_batch=$(sed -n 's/.* batch [0-9]* messages, \([0-9]*\) new$/\1/p' "$DIR/tiny.log" | sort -n | tail -n1)
check "one batch stored more than the history holds (largest: ${big_batch:-none} new)" \
    test "${big_batch:-0}" -gt 2
check "each of the 40 was displayed once" \
    wait_until 10 test '$(grep -c " show b-000[0-9][0-9]$" "$DIR/tiny.log")' -eq 40
check "the latest is summarised in a balloon" \
    wait_until 10 "grep -q 'balloon shown .*title=Build b #40 finished' '$DIR/tiny.log'"
wine "$BIN/tray_sender.exe" --pipe "$PIPE3" --out "$WDIR\\b2.rec" --prefix b --start 41 --count 1 \
    >"$WORK/b2.out" 2>&1
check "the tray survived it: one more is acknowledged" test $? -eq 0 -a "$(grep -c '^ack ' "$DIR/b2.rec")" -eq 1
check "the history keeps the newest 2" \
    test "$(grep -o '"id":"[^"]*"' "$DIR/tiny/history.jsonl" | tail -n2 | cut -d'"' -f4 | tr '\n' ' ')" = "b-00040 b-00041 "
wine "$BIN/TrayNotifier.exe" --exit --pipe "$PIPE3" >"$WORK/exit-tiny.out" 2>&1
stop_pid "$tiny_pid"

# ---- 7c. a squatter holds the tray's pipe name: the tray says who, retries, takes it when free ----
PIPE4='\\.\pipe\Pipes.Notify.TrayTest4'
wine "$BIN/tray_sender.exe" --squat "$PIPE4" --until "$WDIR\\squat.release" --out "$WDIR\\squat.rec" \
    >"$WORK/squat.out" 2>&1 &
squat_pid=$!
check "a squatter holds $PIPE4" wait_until 20 "grep -q '^pid ' '$DIR/squat.rec' 2>/dev/null"
spid=$(sed -n 's/^pid //p' "$DIR/squat.rec")
wine "$BIN/TrayNotifier.exe" --pipe "$PIPE4" --data-dir "$WDIR\\sq" --log "$WDIR\\sq.log" \
    >"$WORK/sq.out" 2>&1 &
sq_pid=$!
check "the tray logs who holds its pipe (process ${spid:-?}, tray_sender.exe)" \
    wait_log "is held by process ${spid:-none} \(.*tray_sender\.exe\); retrying" 30 sq.log
check "a balloon tells the user who holds it" \
    wait_log "balloon shown level=1 title=Notifications are not being received text=.*process ${spid:-none} \(tray_sender\.exe\)" 10 sq.log
check "the tray keeps looking (a second look at the holder: it retries)" \
    wait_until 20 test '$(grep -c "^connection " "$DIR/squat.rec")' -ge 2
check "the tray keeps running and does not listen while the name is held" \
    test "$(kill -0 "$sq_pid" 2>/dev/null && echo up)" = up -a "$(grep -c ' listening$' "$DIR/sq.log")" -eq 0
: >"$DIR/squat.release"
wait "$squat_pid"
check "the squatter left (it saw $(sed -n 's/^left after \([0-9]*\).*/\1/p' "$DIR/squat.rec") connections)" \
    test $? -eq 0
check "the tray takes the name once it is free" wait_log ' listening$' 30 sq.log
check "and says so" wait_log 'balloon shown level=0 .*received again' 10 sq.log
wine "$BIN/tray_sender.exe" --pipe "$PIPE4" --out "$WDIR\\sq.rec" --prefix sq --count 3 >"$WORK/sq-send.out" 2>&1
check "the tray receives after taking the name (3 acks)" test $? -eq 0 -a "$(grep -c '^ack ' "$DIR/sq.rec")" -eq 3
check "... and stores them" test "$(grep -c '"id":"sq-' "$DIR/sq/history.jsonl")" -eq 3
wine "$BIN/TrayNotifier.exe" --exit --pipe "$PIPE4" >"$WORK/exit-sq.out" 2>&1
stop_pid "$sq_pid"

# ---- 8. command line ----
wine "$BIN/TrayNotifier.exe" --help >"$WORK/help.out" 2>&1
check "--help prints the usage and exits 0" test $? -eq 0 -a "$(grep -c -- '--exit' "$WORK/help.out")" -ge 1
wine "$BIN/TrayNotifier.exe" --bogus >"$WORK/bogus.out" 2>&1
check "an unknown argument exits 2 and says which" test $? -eq 2 -a "$(grep -c -- "--bogus" "$WORK/bogus.out")" -ge 1
wine "$BIN/TrayNotifier.exe" --exit --pipe "$PIPE" >"$WORK/exit4.out" 2>&1
check "final --exit (exit 0)" test $? -eq 0
wine "$BIN/TrayNotifier.exe" --pause --pipe "$PIPE" >"$WORK/pause2.out" 2>&1
check "--pause without a running tray exits 1" test $? -eq 1

# ---- 9. the product programs load no DLL planted in their current directory or on PATH ----
# Each runs with a copy of pipes.dll as planted_cwd.dll in its current directory and as
# planted_path.dll in a folder first on PATH; once it is past the start of its main, the probe makes
# it LoadLibraryW both by name (see tests/dll_probe.c). A control program (the squatter, which does
# not restrict its DLL search) shows that the probe sees such a load.
mkdir -p "$DIR/plant-cwd" "$DIR/plant-path"
cp "$BIN/pipes.dll" "$DIR/plant-cwd/planted_cwd.dll"
cp "$BIN/pipes.dll" "$DIR/plant-path/planted_path.dll"
WBIN="Z:${BIN//\//\\}"
PIPE5='\\.\pipe\Pipes.Notify.TrayTest5'
probe() { # probe NAME PROBE-OPTIONS... -- PROGRAM ARGS...: exit code in RC, result lines in SEEN
    local name=$1
    shift
    wine "$BIN/tray_sender.exe" --dll-probe --cwd "$WDIR\\plant-cwd" --path "$WDIR\\plant-path" "$@" \
        >"$WORK/probe-$name.out" 2>&1
    RC=$?
    SEEN=$(tr -d '\r' <"$WORK/probe-$name.out" | grep -E '^[a-z0-9_]+\.dll: ' | tr '\n' ' ')
}
probe control --ready-pipe "$PIPE5" --expect loaded -- "$WBIN\\tray_sender.exe" --squat "$PIPE5" \
    --until "$WDIR\\never" --out "$WDIR\\probe-squat.rec"
check "control: a program with the default DLL search loads both planted DLLs ($SEEN)" test "$RC" -eq 0
probe tray --ready-pipe "$PIPE5" -- "$WBIN\\TrayNotifier.exe" --pipe "$PIPE5" --data-dir "$WDIR\\probe" \
    --log "$WDIR\\probe.log"
check "TrayNotifier loads neither planted DLL, and msimg32.dll from System32 ($SEEN)" test "$RC" -eq 0
probe service --ready-pipe '\\.\pipe\Pipes.Service' -- "$WBIN\\PipesService.exe" run
check "PipesService (run) loads neither planted DLL, and msimg32.dll from System32 ($SEEN)" test "$RC" -eq 0
probe notify --serve-pipe '\\.\pipe\Pipes.ProbeSubmit' -- "$WBIN\\pipes-notify.exe" \
    --pipe '\\.\pipe\Pipes.ProbeSubmit' --title probe --id probe-1 --timeout 30
check "pipes-notify loads neither planted DLL, and msimg32.dll from System32 ($SEEN)" test "$RC" -eq 0

say "$PASS passed, $FAIL failed in $(($(date +%s) - START)) s"
[ "$FAIL" -eq 0 ]
