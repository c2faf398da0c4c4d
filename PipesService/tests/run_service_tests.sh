#!/usr/bin/env bash
# End-to-end tests of PipesService and pipes-notify under Wine, in their own prefix
# ($BUILD_DIR/wineprefix-svc), with a test tray (pipes-svctest tray) on \\.\pipe\Pipes.Notify.1.
# Usage: BUILD_DIR=<build> PipesService/tests/run_service_tests.sh
# Each check prints "ok" or "FAIL"; the script exits 1 if any check failed.
# The wineserver of the prefix runs persistent (-p) so the service survives between commands
# (see docs/SERVICE.md); it is always killed at the end.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${BUILD_DIR:?BUILD_DIR must be set}"
BIN=$BUILD_DIR/bin
WORK=$BUILD_DIR/svc-tests
PREFIX=$BUILD_DIR/wineprefix-svc
FAILS=0
T0=$(date +%s)

PIPES_WINE_ENV_NO_INIT=1 . "$ROOT/cmake/wine-env.sh"
pipes_wine_env "$PREFIX" || { echo "service tests: cannot create $PREFIX"; exit 1; }

rm -rf "$WORK"
mkdir -p "$WORK"
winpath() { printf 'Z:%s' "${1//\//\\}"; }
WWORK=$(winpath "$WORK")

cleanup() {
    # Background wine launchers of ours, then this prefix's server (services included).
    local p
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    wineserver -k >/dev/null 2>&1
    wineserver -w >/dev/null 2>&1
}
trap cleanup EXIT
wineserver -k >/dev/null 2>&1   # a leftover from an earlier run
wineserver -w >/dev/null 2>&1
wineserver -p

ok() { echo "  ok   [$(($(date +%s) - T0))] $*"; }
bad() { echo "  FAIL [$(($(date +%s) - T0))] $*"; FAILS=$((FAILS + 1)); }
check() { # check DESCRIPTION COMMAND...: passes when COMMAND succeeds
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
section() { echo "== [$(($(date +%s) - T0)) s] $*"; }

# w NAME PROGRAM ARGS...: runs a Windows program, output in $WORK/NAME.out; returns its exit code.
w() {
    local name=$1
    shift
    wine "$@" </dev/null >"$WORK/$name.out" 2>&1
}
svc() { local name=$1; shift; w "$name" "$BIN/PipesService.exe" "$@"; }
notify() { local name=$1; shift; w "$name" "$BIN/pipes-notify.exe" "$@"; }
# guarded LIMIT NAME PROGRAM ARGS...: w, for a program whose own --timeout is far below LIMIT
# seconds: one still running after LIMIT is hung (a timeout that never fires is a defect), so its
# threads' stacks are saved, it is killed and reported as a FAIL naming it, and the run goes on
# instead of stalling. Returns the program's exit code, or 124 for a hang.
guarded() {
    local limit=$1 name=$2 pid watchdog rc
    shift 2
    rm -f "$WORK/$name.stacks"
    wine "$@" </dev/null >"$WORK/$name.out" 2>&1 &
    pid=$!
    # The watchdog: past the limit, the hung process's stacks first (the one thing a hang that
    # does not reproduce leaves behind), then the kill.
    (
        sleep "$limit" & wait $!
        kill -0 "$pid" 2>/dev/null || exit 0
        dump_stacks "$pid" >"$WORK/$name.stacks" 2>&1
        kill -9 "$pid" 2>/dev/null
    ) &
    watchdog=$!
    wait "$pid"
    rc=$?
    pkill -P "$watchdog" sleep 2>/dev/null
    wait "$watchdog" 2>/dev/null
    if [ -s "$WORK/$name.stacks" ]; then
        bad "$(basename "$1") ($name, output in $WORK/$name.out) hung: still running after $limit s; killed (its threads' stacks: $WORK/$name.stacks)"
        return 124
    fi
    return "$rc"
}
# dump_stacks PID: what each thread of PID (and of its children) waits in, the PE modules' load
# addresses (for x86_64-w64-mingw32-addr2line) and, when gdb is there, every thread's backtrace.
dump_stacks() {
    local p t
    for p in "$1" $(pgrep -P "$1"); do
        echo "== process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
        for t in /proc/"$p"/task/*; do echo "thread ${t##*/}: $(cat "$t/wchan" 2>/dev/null)"; done
        grep -Ei '\.(dll|exe)$' "/proc/$p/maps" 2>/dev/null | awk '!seen[$6]++ { print $1, $6 }'
        command -v gdb >/dev/null &&
            timeout 60 gdb -batch -p "$p" -ex 'thread apply all bt' </dev/null 2>&1 | tail -n 400
    done
}
# notify_guarded NAME ARGS...: notify with a hang guard of 60 s (for --timeout of 10 s or less).
notify_guarded() { local name=$1; shift; guarded 60 "$name" "$BIN/pipes-notify.exe" "$@"; }
tool() { local name=$1; shift; w "$name" "$BIN/pipes-svctest.exe" "$@"; }
has() { grep -q -- "$2" "$WORK/$1.out"; }

# sc_state: the STATE word `sc query` reports, or "NONE" when the service does not exist.
sc_state() {
    wine sc query PipesService </dev/null >"$WORK/sc.out" 2>&1
    local s
    s=$(sed -n 's/.*STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p' "$WORK/sc.out" | head -n1)
    echo "${s:-NONE}"
}


# Config: regedit imports a .reg file (one wine start for many values).
reg_import() {
    local f=$WORK/config.reg
    { echo "REGEDIT4"; echo; printf '%s\n' "$@"; } >"$f"
    wine regedit /S "$(winpath "$f")" </dev/null >"$WORK/regedit.out" 2>&1
}
CFG='[HKEY_LOCAL_MACHINE\SOFTWARE\Pipes\Service]'
reset_config() { reg_import '[-HKEY_LOCAL_MACHINE\SOFTWARE\Pipes\Service]'; }

TRAY_OUT=
TRAY_JOB=
tray_start() { # tray_start NAME: a test tray for session 1 recording into $WORK/NAME.txt
    TRAY_OUT=$WORK/$1.txt
    rm -f "$TRAY_OUT.stop" "$TRAY_OUT.pid"
    wine "$BIN/pipes-svctest.exe" tray --session 1 --out "$(winpath "$TRAY_OUT")" \
        </dev/null >"$WORK/$1.tray.log" 2>&1 &
    TRAY_JOB=$!
    pipes_wait_for 20 test -s "$TRAY_OUT.pid"
}
tray_stop() {
    [ -n "$TRAY_OUT" ] || return 0
    touch "$TRAY_OUT.stop"
    wait "$TRAY_JOB" 2>/dev/null
    TRAY_OUT=
}
lines() { [ -f "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0; }
count_ge() { # count_ge FILE PREFIX N: at least N lines of FILE start with PREFIX
    [ "$(grep -c "^$2" "$1" 2>/dev/null)" -ge "$3" ]
}
sc_is() { [ "$(sc_state)" = "$1" ]; }
queue_depth_is() { [ "$(status_value 'queue depth')" = "$1" ]; }
status_value() { # status_value KEY: a number from `PipesService status`
    svc status status >/dev/null
    sed -n "s/^$1: \([0-9]*\).*/\1/p" "$WORK/status.out" | tr -d '\r' | head -n1
}
log_file() { find "$PREFIX/drive_c" -path '*/Pipes/logs/PipesService.log' 2>/dev/null | head -n1; }
spool_dir() { find "$PREFIX/drive_c" -type d -path '*/Pipes/spool' 2>/dev/null | head -n1; }
log_has() { local f; f=$(log_file); [ -n "$f" ] && grep -q -- "$1" "$f"; }

# every_acked_displayed_once ACKED TRAYFILE: each acked id is in TRAYFILE exactly once and
# TRAYFILE holds nothing else of that prefix.
every_acked_displayed_once() {
    local acked=$1 shown=$2 prefix=$3 missing dups extra
    missing=$(sort -u "$acked" | comm -23 - <(grep "^$prefix-" "$shown" | sort -u) | wc -l)
    dups=$(grep "^$prefix-" "$shown" | sort | uniq -d | wc -l)
    extra=$(grep "^$prefix-" "$shown" | sort -u | comm -13 <(sort -u "$acked") - | wc -l)
    echo "    acked $(sort -u "$acked" | wc -l), displayed $(grep -c "^$prefix-" "$shown"), missing $missing, shown twice $dups, never acked $extra"
    # An id displayed without an acknowledgement is allowed only if the service was killed
    # between writing it and replying (the submitter resends it, so it is acked in the end).
    [ "$missing" -eq 0 ] && [ "$dups" -eq 0 ] && [ "$extra" -eq 0 ]
}

reset_config
# Start from no data: the log, spool and damaged records of an earlier run.
rm -rf "$PREFIX/drive_c/users/Public/Pipes" "$PREFIX/drive_c/ProgramData/Pipes"
###############################################################################################
section "lifecycle: install, start, status, stop, uninstall; sc query agrees"
svc uninstall-pre uninstall >/dev/null   # clean slate if an earlier run left it
check "install exits 0" svc install install
check "install made it run as the virtual account NT SERVICE\PipesService" \
    has install 'as NT SERVICE.PipesService'
# Wine's sc has no qc: the service's registry key says what the SCM stored. (Wine refuses the
# delayed-start, service SID and required-privileges settings with error 124: configure logs
# that; only Windows shows them, docs/SECURITY.md.)
wine reg query 'HKLM\SYSTEM\CurrentControlSet\Services\PipesService' </dev/null >"$WORK/svckey.out" 2>&1
check "the SCM stored the account NT SERVICE\PipesService (ObjectName) and automatic start (Start 2)" \
    bash -c 'grep -q "ObjectName.*REG_SZ.*NT SERVICE.PipesService" "$1" && grep -q "Start.*REG_DWORD.*0x2" "$1"' _ "$WORK/svckey.out"
check "install registered the Event Log source" has install "registered the Event Log source"
EVKEY='HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\PipesService'
wine reg query "$EVKEY" /v EventMessageFile </dev/null >"$WORK/evsrc.out" 2>&1
check "the source's EventMessageFile is PipesService.exe (its message table)" \
    grep -qi 'EventMessageFile.*PipesService\.exe' "$WORK/evsrc.out"
check "sc query: STOPPED after install" test "$(sc_state)" = STOPPED
svc install2 install; rc=$?
check "a second install exits 5 (already installed)" test "$rc" -eq 5
svc status0 status; rc=$?
check "status of a stopped service exits 6 and says STOPPED" test "$rc" -eq 6 -a -n "$(grep 'state: STOPPED' "$WORK/status0.out")"
check "start exits 0" svc start start
check "sc query: RUNNING" test "$(sc_state)" = RUNNING
check "status exits 0" svc status1 status
check "status shows RUNNING and live numbers" has status1 "state: RUNNING"
check "status shows the queue depth" has status1 "queue depth: 0"
check "status shows session 1 tracked" has status1 "session 1:"
check "configure re-applies the extras (exit 0)" svc configure configure
check "stop exits 0" svc stop stop
check "sc query: STOPPED after stop" test "$(sc_state)" = STOPPED
check "the stop was logged (Event Log text in the log file)" log_has "PipesService stopped"
check "uninstall exits 0" svc uninstall uninstall
check "sc query: no such service after uninstall" test "$(sc_state)" = NONE
check "uninstall removed the Event Log source" \
    bash -c 'wine reg query "$1" </dev/null >/dev/null 2>&1; test $? -ne 0' _ "$EVKEY"
svc status2 status; rc=$?
check "status exits 4 when not installed" test "$rc" -eq 4
# The console engine: `run`, reachable by status and pipes-notify, stopped by Ctrl+C (Wine turns
# SIGINT into CTRL_C_EVENT).
wine "$BIN/PipesService.exe" run </dev/null >"$WORK/run.out" 2>&1 &
RUN=$!
pipes_wait_for 20 grep -qs "running in the console" "$WORK/run.out"
svc status-run status; rc=$?
check "status reaches the console engine (exit 0, mode: console)" test "$rc" -eq 0 -a -n "$(grep 'mode: console' "$WORK/status-run.out")"
# The console engine is not the service the SCM runs: pipes-notify's server check refuses it
# unless --pipe names the pipe explicitly (how one talks to a debugging engine).
notify run-refused --title "console" --session 1 --ttl 2; rc=$?
check "pipes-notify refuses the console engine by default (exit 8: not the service)" test "$rc" -eq 8
check "pipes-notify --pipe reaches the console engine (exit 0)" \
    notify run-notify --pipe '\\.\pipe\Pipes.Service' --title "console" --session 1 --ttl 2
kill -INT "$RUN"
wait "$RUN"; rc=$?
check "Ctrl+C stops run cleanly (exit 0, stop logged)" test "$rc" -eq 0 -a -n "$(grep 'PipesService stopped' "$WORK/run.out")"
# Exit codes for the service's answers, from a fake service on another pipe (--pipe: no server
# check) that answers by title.
FAKE=$WORK/fake.txt
FAKEPIPE='\\.\pipe\Pipes.FakeService'
wine "$BIN/pipes-svctest.exe" tray --pipe "$FAKEPIPE" --reply by-title --out "$(winpath "$FAKE")" \
    </dev/null >"$WORK/fake.log" 2>&1 &
FAKEJOB=$!
pipes_wait_for 20 test -s "$FAKE.pid"
notify fake-rej --pipe "$FAKEPIPE" --title "reply:rejected"; rc=$?
check "pipes-notify exits 3 for a permanent rejection (not_allowed)" test "$rc" -eq 3 -a -n "$(grep not_allowed "$WORK/fake-rej.out")"
notify fake-none --pipe "$FAKEPIPE" --title "reply:none" --timeout 2; rc=$?
check "pipes-notify exits 6 when no reply comes within --timeout" test "$rc" -eq 6
notify fake-close --pipe "$FAKEPIPE" --title "reply:close"; rc=$?
check "pipes-notify exits 7 when the connection ends before the reply" test "$rc" -eq 7
# What pipes-notify says on stderr is in its output at once, not only when it exits: a run killed
# (by a script, or by a hang guard) still shows why. Wine's msvcrt held fwprintf to a redirected
# stderr until exit. reply:garbage: a message that is no reply, then nothing (it waits on).
wine "$BIN/pipes-notify.exe" --pipe "$FAKEPIPE" --title "reply:garbage" --timeout 30 \
    </dev/null >"$WORK/fake-garbage.out" 2>&1 &
GARBAGE=$!
pipes_wait_for 20 grep -q "ignoring an unreadable reply" "$WORK/fake-garbage.out"
check "pipes-notify's stderr message is in its output while it still runs (stderr unbuffered)" \
    bash -c 'kill -0 "$1" && grep -q "ignoring an unreadable reply" "$2"' _ "$GARBAGE" \
    "$WORK/fake-garbage.out"
kill "$GARBAGE" 2>/dev/null
wait "$GARBAGE" 2>/dev/null
touch "$FAKE.stop"
wait "$FAKEJOB" 2>/dev/null
svc bad-verb frobnicate; rc=$?
check "unknown verb exits 2" test "$rc" -eq 2
notify notrunning --title x; rc=$?
check "pipes-notify exits 5 when the service is not running" test "$rc" -eq 5
notify usage --body x; rc=$?
check "pipes-notify exits 2 without --title" test "$rc" -eq 2
notify usage2 --title x --level loud; rc=$?
check "pipes-notify exits 2 for a bad --level" test "$rc" -eq 2

###############################################################################################
section "restricted config: rate limit, invalid values, squatting tray in the wrong session"
reg_import "$CFG" '"RateLimitPerMinute"=dword:00000001' '"RateLimitBurst"=dword:00000014' \
    '"MaxSpoolCount"="lots"' '"DefaultTtlSeconds"=dword:00000000' \
    '"RequiredServerSessionOverride"=dword:00000002'
svc install install >/dev/null
check "start with the restricted config" svc start start
check "an invalid MaxSpoolCount was logged" log_has "MaxSpoolCount is invalid"
check "an out-of-range DefaultTtlSeconds was logged" log_has "DefaultTtlSeconds is invalid"
tool sddl pipe-sddl
check "the submit pipe carries the configured DACL (no create-instance right for users)" \
    grep -q '(A;;0x12019b;;;AU)' "$WORK/sddl.out"
SVCSID=S-1-5-80-3957959930-3555412087-1735592967-3833301536-2774221309
check "  ... full access for the service's SID ($SVCSID: it creates the instances), none for SYSTEM" \
    bash -c 'grep -Eq "\(A;;(FA|0x1f01ff);;;$1\)" "$2" && ! grep -q ";;;SY)" "$2"' _ "$SVCSID" "$WORK/sddl.out"
tray_start squat
notify squat --title "to a squatter" --session 1; rc=$?
check "a notification is accepted while only a wrong-session tray exists" test "$rc" -eq 0
sleep 3
check "the wrong-session tray received nothing" test "$(lines "$TRAY_OUT")" -eq 0
notify squat-wait --title "to a squatter, waiting" --session 1 --wait --timeout 3; rc=$?
check "--wait of a notification only a wrong-session tray could take times out (6), not displayed" \
    test "$rc" -eq 6 -a "$(lines "$TRAY_OUT")" -eq 0
check "status counts identity mismatches" test "$(status_value 'identity mismatches')" -gt 0
pipes_wait_for 40 log_has "does not run in session 2"
check "the refusal was logged (MSG_IDENTITY_MISMATCH)" log_has "does not run in session 2"
tray_stop
tool raw raw --data '{"v":1,"id":"bad-1","title":"t","level":"loud"}'
check "a malformed submission is rejected with its reason" \
    grep -q '"type":"rejected","id":"bad-1","reason":"malformed","error":"bad_level"' "$WORK/raw.out"
tool raw2 raw --data '{"v":1,"title":"no id"'
check "broken JSON is rejected as malformed" grep -q '"reason":"malformed","error":"unexpected_end"' "$WORK/raw2.out"
tool burst load --count 40 --prefix rl --acked "$WWORK\\rl.acked" --no-retry
# Every message takes a token, malformed ones too: the 4 above (squat, squat-wait, raw, raw2)
# leave 16 of the burst of 20 (17 if a token came back meanwhile).
check "the rate limit lets the rest of the burst through, then rejects" \
    grep -Eq 'stopped by rate_limited after (16|17) accepted' "$WORK/burst.out"
notify rl-cli --title "one more"; rc=$?
check "pipes-notify exits 4 (retry later) when rate limited" test "$rc" -eq 4
check "pipes-notify says rate_limited" has rl-cli "rate_limited"
check "status counts the rate-limited rejections" test "$(status_value 'rejected rate_limited')" -gt 0
check "stop" svc stop stop
check "the rejections were logged, rate-limited" log_has "submission(s) rejected since the last report"
REJ=$(grep -c 'submission(s) rejected since the last report' "$(log_file)")
echo "    $REJ rejection events in the log"
check "at most 2 rejection events (the first at once, the rest summed) for 20+ rejections" \
    test "$REJ" -ge 1 -a "$REJ" -le 2

###############################################################################################
section "a squatter serves the submit pipe while the service is stopped; the service waits it out"
# Any local process may create \\.\pipe\Pipes.Service while the service is stopped; the
# squatter here answers `accepted` like the service would and records what it receives.
SQ=$WORK/squatter.txt
wine "$BIN/pipes-svctest.exe" tray --pipe '\\.\pipe\Pipes.Service' --reply accepted \
    --out "$(winpath "$SQ")" </dev/null >"$WORK/squatter.log" 2>&1 &
SQJOB=$!
pipes_wait_for 20 test -s "$SQ.pid"
notify squatted --title "secret" --body "for the service only" --id sq-1; rc=$?
check "pipes-notify refuses a squatter on the submit pipe (exit 8)" test "$rc" -eq 8
check "pipes-notify says why (not the service's process; nothing sent)" \
    has squatted "but the PipesService service is not running"
check "the squatter saw pipes-notify connect" test "$(lines "$SQ.conn")" -ge 1
check "the squatter received nothing" test "$(lines "$SQ.raw")" -eq 0
notify squatted2 --pipe '\\.\pipe\Pipes.Service' --verify-service --title "secret" --id sq-2; rc=$?
check "--pipe with --verify-service refuses it too (exit 8)" test "$rc" -eq 8
check "still nothing received" test "$(lines "$SQ.raw")" -eq 0
notify squatted3 --pipe '\\.\pipe\Pipes.Service' --title "unchecked" --id sq-3; rc=$?
check "control: unchecked (--pipe), the squatter gets it and answers accepted" \
    test "$rc" -eq 0 -a "$(tr -d '\r' <"$SQ.raw")" = sq-3
# The service starts anyway and waits the squatter out (before: it exited with 8, and the
# failure actions ended it STOPPED): it runs, says so, and takes the name once it is free.
svc start-squatted start; rc=$?
check "the service starts on a squatted submit pipe (exit $rc, sc query RUNNING)" \
    test "$rc" -eq 0 -a "$(sc_state)" = RUNNING
svc status-sq status
check "status says the submit pipe waits for a name another process holds" \
    has status-sq "^submit pipe: waiting, the name is held by another process"
check "the wait is logged with the holder's process id (MSG_SUBMIT_PIPE_IN_USE)" \
    log_has "is served by another process (process $(tr -d '\r' <"$SQ.pid"))"
notify squatted4 --title "secret" --id sq-4; rc=$?
check "meanwhile pipes-notify still refuses the squatter (exit 8)" test "$rc" -eq 8
check "  ... which received nothing from it" test "$(tr -d '\r' <"$SQ.raw")" = sq-3
touch "$SQ.stop"
wait "$SQJOB" 2>/dev/null
submit_served() { svc status-sq2 status; has status-sq2 "^submit pipe: serving"; }
check "once the squatter is gone the service serves the submit pipe (within the 1-2-4-8-16 s backoff)" \
    pipes_wait_for 60 submit_served
check "  ... and logs it (MSG_SUBMIT_PIPE_STARTED)" log_has "is served now, after"
notify after-squat --title "after the squatter" --session 1 --ttl 2; rc=$?
check "  ... and accepts submissions (pipes-notify exit 0)" test "$rc" -eq 0
check "stop" svc stop-sq stop
# The status pipe squatted the same way: `PipesService status` must not print what it says.
CQ=$WORK/control-squatter.txt
wine "$BIN/pipes-svctest.exe" tray --pipe '\\.\pipe\Pipes.Service.Control' --reply accepted \
    --out "$(winpath "$CQ")" </dev/null >"$WORK/control-squatter.log" 2>&1 &
CQJOB=$!
pipes_wait_for 20 test -s "$CQ.pid"
svc status-squatted status
check "status ignores a squatter of the status pipe (prints nothing it says)" \
    bash -c '! grep -q "\"type\"" "$1"' _ "$WORK/status-squatted.out"
check "status says who serves the status pipe and that its answer is ignored" \
    has status-squatted "its answer is ignored"
touch "$CQ.stop"
wait "$CQJOB" 2>/dev/null
# The next phases count records: start them from an empty spool.
rm -f "$(spool_dir)"/*.ntf

###############################################################################################
section "tray absent: 200 spooled; 30 s idle CPU; tray starts; all 200 once, in order"
reg_import '[-HKEY_LOCAL_MACHINE\SOFTWARE\Pipes\Service]' "$CFG" \
    '"RateLimitPerMinute"=dword:000f4240' '"RateLimitBurst"=dword:000f4240' \
    '"MaxSpoolCount"=dword:000000c9'
check "start with the normal config (MaxSpoolCount 201)" svc start start
notify first --title "hello from pipes-notify" --body "end to end" --session 1
check "pipes-notify exits 0 when accepted" test $? -eq 0 -a -n "$(grep '^accepted ' "$WORK/first.out")"
check "200 accepted with no tray" tool load200 load --count 200 --prefix a --session 1 --acked "$WWORK\\a.acked"
check "queue depth 201 in status" test "$(status_value 'queue depth')" -eq 201
notify full --title "one too many" --session 1; rc=$?
check "over MaxSpoolCount: pipes-notify exits 4 with queue_full" test "$rc" -eq 4 -a -n "$(grep queue_full "$WORK/full.out")"
SP=$(spool_dir)
check "201 records on disk in the spool (nothing evicted)" test "$(find "$SP" -maxdepth 1 -name '*.ntf' | wc -l)" -eq 201
CPU0=$(status_value 'cpu milliseconds')
sleep 30
CPU1=$(status_value 'cpu milliseconds')
echo "    service CPU over 30 s without a tray: $((CPU1 - CPU0)) ms"
check "service CPU time grew < 0.5 s in 30 s without a tray" test $((CPU1 - CPU0)) -lt 500
tray_start t200
pipes_wait_for 60 count_ge "$TRAY_OUT" a- 200
check "all 200 arrived" test "$(grep -c '^a-' "$TRAY_OUT")" -eq 200
check "in order" diff -q <(grep '^a-' "$TRAY_OUT") <(for i in $(seq 0 199); do printf 'a-%05d\n' "$i"; done)
check "each exactly once at the tray (no repeats on the wire either)" \
    test "$(grep -c '^a-' "$TRAY_OUT.raw")" -eq 200
pipes_wait_for 10 queue_depth_is 0
check "queue depth back to 0" test "$(status_value 'queue depth')" -eq 0
check "acknowledged session-targeted records left the spool" \
    test "$(find "$SP" -maxdepth 1 -name '*.ntf' | wc -l)" -eq 0
printf 'line one\nline two\n' >"$WORK/body.txt"
wine "$BIN/pipes-notify.exe" --title "from stdin" --body - --level warning --source "service tests" \
    --session 1 --id stdin-1 <"$WORK/body.txt" >"$WORK/stdin.out" 2>&1
check "pipes-notify --body - reads standard input" test $? -eq 0
pipes_wait_for 10 count_ge "$TRAY_OUT" stdin-1 1
check "the tray got body, level and source as given" grep -qF \
    '{"v":1,"id":"stdin-1","title":"from stdin","body":"line one\nline two","level":"warning","source":"service tests","time":"' \
    "$TRAY_OUT.json"
WUSER=$(wine cmd /c echo %USERNAME% </dev/null 2>/dev/null | tr -d '\r')
notify user1 --title "for the session's user" --user "$WUSER" --id user-1 --ttl 5
notify user2 --title "for no one" --user nobody-here --id user-2 --ttl 5; rc=$?
check "one for an account that does not exist is refused (exit 3, not_allowed)" \
    test "$rc" -eq 3 -a -n "$(grep 'no account is named' "$WORK/user2.out")"
notify user3 --title "for a session nobody has" --session 77 --id user-3 --ttl 5
pipes_wait_for 10 count_ge "$TRAY_OUT" user-1 1
check "a notification for the session's user ($WUSER) is delivered" count_ge "$TRAY_OUT" user-1 1
check "one for another session is not" test "$(grep -c '^user-3' "$TRAY_OUT")" -eq 0
pipes_wait_for 15 log_has "expired before any session acknowledged"
check "its expiry (ttl 5 s) was logged" log_has "1 notification(s) expired before any session acknowledged"
notify wait --title "wait for me" --session 1 --wait --timeout 20
check "pipes-notify --wait exits 0 once displayed" test $? -eq 0
check "pipes-notify --wait names the session" has wait "in session 1"
# A broadcast stays in the spool after its ack: a --wait resend of it is answered from the record
# (no tray acknowledges it again). ttl 3 s, so it is gone before the phases that count records.
notify wait-b --title "wait for me too" --id wait-b-1 --ttl 3 --wait --timeout 20
check "pipes-notify --wait of a broadcast exits 0 once displayed" test $? -eq 0
notify wait-b2 --title "wait for me too" --id wait-b-1 --ttl 3 --wait --timeout 10
check "a --wait resend of it exits 0 at once, naming the session" \
    test $? -eq 0 -a -n "$(grep 'in session 1' "$WORK/wait-b2.out")"
# Tags (PROTOCOL.md 2.1): a tray that was away gets only the latest state of a tag.
tray_stop
for i in 1 2 3; do notify "tag$i" --title "backup step $i of 3" --tag backup --id "tag-$i" --session 1; done
notify tagq --query tag-1
check "pipes-notify --query of a replaced state says replaced" has tagq '^replaced'
tray_start t200
pipes_wait_for 20 count_ge "$TRAY_OUT" tag-3 1
check "the tray that was away got the latest state of the tag, and only it" \
    test "$(grep -c '^tag-' "$TRAY_OUT.raw")" -eq 1 -a "$(grep -c '^tag-3' "$TRAY_OUT.raw")" -eq 1

###############################################################################################
section "service killed (TerminateProcess) while 1,000 are submitted and delivered"
wine "$BIN/pipes-svctest.exe" load --count 1000 --prefix k --session 1 --acked "$WWORK\\k.acked" \
    --kill-service-at 300 </dev/null >"$WORK/k.load.out" 2>&1 &
LOAD=$!
pipes_wait_for 60 grep -qs "^killed" "$WORK/k.load.out"
check "service killed mid-stream" grep -q "^killed" "$WORK/k.load.out"
echo "    killed after $(lines "$WORK/k.acked") acknowledged, $(grep -c '^k-' "$TRAY_OUT") displayed"
# Wine's SCM does not notice that the process died (Windows would run the failure actions):
# it still says RUNNING until a control fails on the dead process's pipe.
if ! pipes_wait_for 5 sc_is STOPPED; then
    svc stop-dead stop
    echo "    Wine SCM after the kill: $(tr -d '\r' <"$WORK/stop-dead.out" | head -n1)"
fi
check "restart after the kill" svc start2 start
wait "$LOAD"
check "the submitter finished (resending what got no reply)" test $? -eq 0
pipes_wait_for 60 count_ge "$TRAY_OUT" k- 1000
check "every acknowledged submission displayed exactly once, none lost" \
    every_acked_displayed_once "$WORK/k.acked" "$TRAY_OUT" k
echo "    repeats on the wire (de-duplicated by the tray): $(($(grep -c '^k-' "$TRAY_OUT.raw") - $(grep -c '^k-' "$TRAY_OUT")))"

###############################################################################################
section "tray killed while 1,000 are delivered"
wine "$BIN/pipes-svctest.exe" load --count 1000 --prefix t --session 1 --acked "$WWORK\\t.acked" \
    --kill-tray-at 300 --tray-pid-file "$(winpath "$TRAY_OUT.pid")" </dev/null >"$WORK/t.load.out" 2>&1 &
LOAD=$!
pipes_wait_for 60 grep -qs "^killed" "$WORK/t.load.out"
check "tray killed mid-stream" grep -q "^killed" "$WORK/t.load.out"
wait "$TRAY_JOB" 2>/dev/null
echo "    tray killed after $(grep -c '^t-' "$TRAY_OUT") displayed, $(lines "$WORK/t.acked") accepted"
sleep 1
tray_start t200   # the same history file: a restarted tray remembers what it showed
wait "$LOAD"
check "the submitter finished" test $? -eq 0
pipes_wait_for 60 count_ge "$TRAY_OUT" t- 1000
check "every acknowledged submission displayed exactly once after the tray restart" \
    every_acked_displayed_once "$WORK/t.acked" "$TRAY_OUT" t
pipes_wait_for 10 queue_depth_is 0
check "queue depth 0 afterwards" test "$(status_value 'queue depth')" -eq 0

###############################################################################################
section "damaged spool records are set aside, the rest delivered"
tray_stop
for i in 0 1 2 3 4; do
    notify "c$i" --title "corrupt test $i" --id "c-$i" --session 1 || bad "submit c-$i"
done
check "stop with 5 pending" svc stop3 stop
mapfile -t FILES < <(find "$SP" -maxdepth 1 -name '*.ntf' | sort)
check "5 records on disk" test "${#FILES[@]}" -eq 5
if [ "${#FILES[@]}" -eq 5 ]; then
    head -c 300 /dev/urandom >"${FILES[1]}"                           # garbage
    truncate -s $(($(stat -c %s "${FILES[3]}") - 7)) "${FILES[3]}"     # cut short
fi
check "the service starts with damaged records" svc start3 start
check "status reports 2 damaged records" test "$(status_value 'damaged records set aside at start')" -eq 2
check "both were logged" test "$(grep -c 'Damaged spool record' "$(log_file)")" -ge 2
check "both were moved to spool\\damaged" test "$(find "$SP/damaged" -name '*.ntf' | wc -l)" -eq 2
tray_start corrupt
pipes_wait_for 30 count_ge "$TRAY_OUT" c- 3
check "the 3 intact ones were delivered" diff -q "$TRAY_OUT" <(printf 'c-0\nc-2\nc-4\n')

###############################################################################################
section "senders: attributed from the pipe; a sender in the message is refused"
notify who --title "who sent this" --source "IT Security" --session 1 --id who-1
check "accepted" test $? -eq 0
pipes_wait_for 10 count_ge "$TRAY_OUT" who-1 1
check "the tray got the sender the service read from the pipe (kind, account, SID)" grep -Eq \
    '"id":"who-1".*"source":"IT Security".*"sender":\{"kind":"user","account":"[^"]+","sid":"S-1-5-21-[0-9-]+"\}' \
    "$TRAY_OUT.json"
tool forged raw --data '{"v":1,"id":"forged-1","title":"t","sender":{"kind":"system","account":"NT AUTHORITY\\SYSTEM","sid":"S-1-5-18"}}'
check "a submitted sender is refused (not_allowed, sender_not_allowed)" grep -q \
    '"type":"rejected","id":"forged-1","reason":"not_allowed","error":"sender_not_allowed"' \
    "$WORK/forged.out"

###############################################################################################
section "abuse: one client holding 1,024 connections; idle connections; the connection limit"
# Measured before: 1,024 connections held open by one client made all 40 of 40 other
# submissions fail (pipes-notify exit 7, "the service stopped or crashed").
HOLD=$WORK/hold.txt
wine "$BIN/pipes-svctest.exe" hold --count 1024 --out "$(winpath "$HOLD")" </dev/null \
    >"$WORK/hold.log" 2>&1 &
HOLDJOB=$!
pipes_wait_for 300 test -s "$HOLD"
echo "    the holder: $(cat "$HOLD"), $(cat "$HOLD.open" 2>/dev/null) still open"
LEGIT_OK=0
for i in $(seq 1 40); do
    notify_guarded "legit$i" --title "legit $i" --session 1 --ttl 60 --timeout 10 &&
        LEGIT_OK=$((LEGIT_OK + 1))
done
check "40 of 40 other submissions accepted while one client holds 1,024 connections ($LEGIT_OK)" \
    test "$LEGIT_OK" -eq 40
check "the holder's connections over MaxConnectionsPerProcess were refused with a reason" \
    grep -q '"reason":"rate_limited".*MaxConnectionsPerProcess' "$HOLD.replies"
check "status counts them" test "$(status_value 'connections refused, per process cap')" -ge 1000
open_is() { [ "$(tr -d '\r\n' <"$HOLD.open" 2>/dev/null)" = "$1" ]; }
pipes_wait_for 60 open_is 0
check "the held connections that sent nothing were closed (FirstMessageTimeoutSeconds)" open_is 0
check "status counts the idle ones closed" test "$(status_value 'connections closed idle')" -ge 16
touch "$HOLD.stop"
wait "$HOLDJOB" 2>/dev/null
# At the library's own limit (MaxConnections, 16 here, all held by one process) the service cannot
# answer: it drops the connection. pipes-notify must say "retry later" (4), not "the service
# stopped or crashed" (7, or 1 before).
reg_import "$CFG" '"MaxConnections"=dword:00000010' '"FirstMessageTimeoutSeconds"=dword:00000258'
check "restart with MaxConnections 16" svc stop-mc stop
check "(started)" svc start-mc start
HOLD2=$WORK/hold2.txt
wine "$BIN/pipes-svctest.exe" hold --count 16 --out "$(winpath "$HOLD2")" </dev/null \
    >"$WORK/hold2.log" 2>&1 &
HOLDJOB=$!
pipes_wait_for 60 test -s "$HOLD2"
notify_guarded at-limit --title "at the limit" --session 1 --timeout 10; rc=$?
check "pipes-notify at the service's connection limit exits 4 (retry later), not 7 (rc $rc)" \
    test "$rc" -eq 4
# Closed while connecting or right after: two wordings, both say to retry later.
check "and says so" grep -qi -- "retry later" "$WORK/at-limit.out"
touch "$HOLD2.stop"
wait "$HOLDJOB" 2>/dev/null
reg_import '[-HKEY_LOCAL_MACHINE\SOFTWARE\Pipes\Service]' "$CFG" \
    '"RateLimitPerMinute"=dword:000f4240' '"RateLimitBurst"=dword:000f4240' \
    '"MaxSpoolCount"=dword:000000c9'
check "restart with the normal config" svc stop-mc2 stop
check "(started)" svc start-mc2 start
section "data folders: a foreign owner, a link or open permissions: refused, nothing touched"
# Wine 8 makes no junctions (FSCTL_SET_REPARSE_POINT fails with 50, `mklink /J` and
# CreateSymbolicLinkW create nothing) but shows a Unix symbolic link as a reparse point
# (FILE_ATTRIBUTE_REPARSE_POINT) and resolves it in GetFinalPathNameByHandleW: the stand-in for a
# junction here. It gives a file of another Unix user the owner S-1-5-7 (Anonymous): the stand-in
# for a folder a standard user created. Every case runs `PipesService run` (the same start-up as
# the service; its Event Log text is echoed to the console) and must exit 9 at once.
tray_stop
svc stop5 stop >/dev/null
DD=$PREFIX/drive_c/PipesData # DataDirectory of this section, the same for `run` and the service
TG=$PREFIX/drive_c/PipesTarget # what a link points to: it must stay exactly as it is
reg_import '[-HKEY_LOCAL_MACHINE\SOFTWARE\Pipes\Service]' "$CFG" '"DataDirectory"="C:\\PipesData"'
fresh() { rm -rf "$DD" "$TG"; mkdir -p "$TG"; echo marker >"$TG/marker.txt"; chmod 755 "$TG"; }
listing() { find "$@" -printf '%p %m %U %y %s\n' 2>/dev/null | sort; }
# refused NAME TEXT WHERE...: `PipesService run` exits 9 naming TEXT, and WHERE (paths, listed
# without following links) is unchanged.
refused() {
    local name=$1 text=$2 before rc
    shift 2
    before=$(listing "$@")
    timeout 60 wine "$BIN/PipesService.exe" run </dev/null >"$WORK/$name.out" 2>&1
    rc=$?
    check "$name: refused, exit 9 (got $rc)" test "$rc" -eq 9
    check "$name: the message names the problem ($text)" grep -qF -- "$text" "$WORK/$name.out"
    check "$name: nothing there changed" test "$before" = "$(listing "$@")"
}
fresh
mkdir -p "$DD"
chown nobody "$DD"
refused dd-owner 'C:\PipesData is owned by S-1-5-7' "$DD" "$TG"
fresh
ln -s "$TG" "$DD"
refused dd-link 'C:\PipesData is a junction, symbolic link or mount point' "$DD" "$TG"
fresh
mkdir -p "$DD"
ln -s "$TG" "$DD/logs"
refused logs-link 'C:\PipesData\logs is a junction, symbolic link or mount point' "$DD" "$TG"
fresh
mkdir -p "$DD/logs"
ln -s "$TG" "$DD/spool"
refused spool-link 'C:\PipesData\spool is a junction, symbolic link or mount point' "$TG" "$DD/spool"
fresh
mkdir -p "$DD/spool"
chmod 777 "$DD/spool"
refused spool-open 'let S-1-1-0' "$DD/spool" "$TG"
# The service itself: the same refusal, its exit code 9 for the SCM, the reason in the text log
# (the logs folder is fine), and nothing of the link's target touched.
fresh
mkdir -p "$DD/logs"
ln -s "$TG" "$DD/spool"
before=$(listing "$TG")
svc start-link start; rc=$?
check "service with a linked spool: start fails (exit $rc) and says service exit 9" \
    test "$rc" -ne 0 -a -n "$(grep 'service exit 9' "$WORK/start-link.out")"
check "  ... sc query: STOPPED" test "$(sc_state)" = STOPPED
check "  ... the Event Log text is in its log" \
    grep -qF 'spool is a junction, symbolic link or mount point' "$DD/logs/PipesService.log"
check "  ... the link's target is unchanged" test "$before" = "$(listing "$TG")"
# A link among the spool's files: the folder is fine, the file is refused (its final path is
# elsewhere), logged as damaged, and what it points to is neither read into the spool nor
# changed nor deleted.
fresh
rm -rf "$DD"
check "without the folders the service starts and creates them" svc start-fresh start
# Wine maps the DACL given at creation onto the Unix mode: no Everyone entry, no bits for others.
others_none() { local m; for m in $(stat -c %a "$@"); do [ "${m: -1}" = 0 ] || return 1; done; }
check "  ... each with its protected DACL from its creation (Unix mode $(stat -c %a "$DD"): nothing for others)" \
    others_none "$DD" "$DD/spool" "$DD/logs"
check "stop" svc stop-fresh stop
cp "$TG/marker.txt" "$WORK/marker.copy"
ln -s "$TG/marker.txt" "$DD/spool/0000000000000001.ntf"
before=$(listing "$TG")
check "with a linked record the service starts" svc start-ntf start
check "  ... the record is logged as damaged and left where it is (not a plain file)" \
    grep -qF '0000000000000001.ntf (not a plain file of the spool (a link)): left where it is' \
    "$DD/logs/PipesService.log"
check "  ... the link's target is unchanged" \
    test "$before" = "$(listing "$TG")" -a "$(cat "$TG/marker.txt")" = marker
check "  ... nothing was loaded" test "$(status_value 'spool records')" -eq 0
check "stop" svc stop-ntf stop
rm -rf "$DD" "$TG"
reset_config

###############################################################################################
section "clean up"
tray_stop
check "stop" svc stop4 stop
check "uninstall" svc uninstall2 uninstall
check "sc query: gone" test "$(sc_state)" = NONE
reset_config

echo "service tests: $FAILS failed, $(($(date +%s) - T0)) s"
[ "$FAILS" -eq 0 ]
