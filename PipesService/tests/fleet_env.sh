# fleet_env.sh - the shared setup of the service's broker suites (run_fleet_tests.sh,
# run_fleet_robust_tests.sh) and of ./build.sh fleet-bench (fleet_bench.sh): a real mosquitto (the
# MQTT suite's test broker, PipesService/mqtt/tests/mqtt_broker.sh); the MSI-installed service in a
# fresh Wine prefix ($BUILD_DIR/wineprefix-fleet, made anew each run), its package built from
# $BUILD_DIR with installer/msi.sh (FLEET_MSI=<file> installs another one) and installed with
# msiexec /i /qn, configured for the broker with regedit and the installed `PipesService
# fleet-password`, started and stopped by the Service Control Manager (net start / net stop); the
# test tray (pipes-svctest tray) on session 1, a mosquitto_sub on the status topic, and the helpers
# the checks use.
# One case cannot run under the SCM here: the test hook PIPES_FLEET_TEST_EXIT_AFTER_SPOOL is read
# from the process environment, and Wine 8's services.exe starts every service with one environment
# block of its own: it ignores the service key's Environment value (REG_MULTI_SZ, what the Windows
# SCM adds to a service's environment; tried here with ProgramData=C:\envtest: the service kept
# its folder). engine_run runs that case as `PipesService run` of the installed exe, on the
# service's data folder.
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
# A fresh prefix each run is a copy of a clean one (just after wineboot -i, made once per build
# folder): copying takes about 3 s, wineboot about 20.
pipes_wine_env "$BUILD_DIR/wineprefix-fleet-clean" || { bad "cannot create the Wine prefix"; exit 1; }
CLEAN_PREFIX=$WINEPREFIX
# winemenubuilder off: it would copy the MSI's Start-menu shortcut into the Linux desktop menus.
export WINEPREFIX=$BUILD_DIR/wineprefix-fleet WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
rm -rf "$WORK"
mkdir -p "$WORK"
winpath() { printf 'Z:%s' "${1//\//\\}"; }
regpath() { winpath "$1" | sed 's/\\/\\\\/g'; } # a path as a REGEDIT4 string value

BROKER_PID= ENGINE= ENGINE_CONSOLE= TRAY= SUB= EXTRA_PIDS= LOG_TAIL=
cleanup() {
    local p
    for p in $ENGINE $LOG_TAIL $TRAY $SUB $BROKER_PID $EXTRA_PIDS; do kill "$p" 2>/dev/null; done
    wineserver -k >/dev/null 2>&1
}
trap cleanup EXIT
. "$ROOT/PipesService/mqtt/tests/mqtt_broker.sh" # wait_for, the broker

section "setup: the MSI built, a fresh Wine prefix, the MSI installed (msiexec /i /qn)"
MSI=${FLEET_MSI:-$WORK/Pipes-x64.msi}
if [ -z "${FLEET_MSI:-}" ]; then
    bash "$ROOT/installer/msi.sh" "$BUILD_DIR" "$MSI" >"$WORK/msi.log" 2>&1 ||
        { cat "$WORK/msi.log"; bad "building the MSI failed"; exit 1; }
fi
wineserver -k >/dev/null 2>&1
wineserver -w >/dev/null 2>&1
rm -rf "$WINEPREFIX"
cp -a "$CLEAN_PREFIX" "$WINEPREFIX" || { bad "cannot copy $CLEAN_PREFIX"; exit 1; }
wineserver -p
wine msiexec /i "$(winpath "$MSI")" /qn /l*v "$(winpath "$WORK/install.log")" </dev/null >"$WORK/install.out" 2>&1
rc=$(($? % 256)) # Wine cuts msiexec's exit code to 8 bits
[ "$rc" -eq 0 ] || { bad "msiexec /i exits 0 (got $rc; see $WORK/install.log)"; exit 1; }
APP="$WINEPREFIX/drive_c/Program Files/Pipes"
SVC_EXE=$APP/PipesService.exe
# sc_is STATE: `sc query PipesService` says STATE (Wine 8's sc has no queryex).
sc_is() {
    wine sc query PipesService </dev/null >"$WORK/sc.out" 2>&1
    grep -q "STATE *: *[0-9]* *$1" "$WORK/sc.out"
}
# engine_pid: the Unix pid of the service's Wine process (the installed exe run as `service`, in
# this prefix; other prefixes may run one too).
engine_pid() {
    local p
    for p in $(pgrep -f 'Program Files.Pipes.PipesService\.exe service'); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "WINEPREFIX=$WINEPREFIX" && echo "$p"
    done
}
wait_for 30 sc_is RUNNING || { bad "the installed service is not RUNNING after the install"; exit 1; }
# Stopped until the broker is configured. Its data folder is %ProgramData%\Pipes as the SCM's
# processes see it (Wine gives them C:\users\Public; msiexec's configure action made a
# C:\ProgramData\Pipes it does not use): found by the log the service wrote.
wine net stop PipesService </dev/null >"$WORK/net-stop-install.out" 2>&1
wait_for 30 sc_is STOPPED || { bad "net stop PipesService after the install"; exit 1; }
SVC_LOG=$(find "$WINEPREFIX/drive_c" -path '*/Pipes/logs/PipesService.log' 2>/dev/null | head -n1)
[ -n "$SVC_LOG" ] || { bad "the installed service wrote no log"; exit 1; }
SVC_PROGRAMDATA=$(dirname "$(dirname "$(dirname "$SVC_LOG")")")
SVC_PROGRAMDATA='C:'$(printf '%s' "${SVC_PROGRAMDATA#"$WINEPREFIX/drive_c"}" | tr / '\\')
ok "installed; the service ran and stopped (data folder $SVC_PROGRAMDATA\\Pipes)"

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
    wine "$SVC_EXE" fleet-password <"$WORK/pw.txt" >"$WORK/fleet-password.out" 2>&1
}
KEY='[HKEY_LOCAL_MACHINE\SOFTWARE\Pipes\Service]'
reg_import "$KEY" "\"BrokerUrl\"=\"mqtt://127.0.0.1:$PLAIN\"" '"BrokerAllowPlainText"=dword:00000001' \
    '"BrokerUserName"="pipes"' '"BrokerKeepAliveSeconds"=dword:0000000a'
fleet_password 's3cret!'
check "fleet-password stores the password (exit 0)" test $? -eq 0

TRAY_OUT=$WORK/tray.txt
# tray_start / tray_stop: the test tray of session 1 (it reads TRAY_OUT back when it starts, so
# what it had stays shown once).
tray_start() {
    rm -f "$TRAY_OUT.pid" "$TRAY_OUT.stop"
    wine "$BIN/pipes-svctest.exe" tray --session 1 --out "$(winpath "$TRAY_OUT")" \
        </dev/null >>"$WORK/tray.log" 2>&1 &
    TRAY=$!
    wait_for 20 test -s "$TRAY_OUT.pid"
}
tray_stop() {
    touch "$TRAY_OUT.stop"
    wait_for 20 eval '! kill -0 "$TRAY" 2>/dev/null'
}
tray_start || bad "the test tray did not start"

# engine_start NAME: net start PipesService, waits until the SCM says RUNNING; the service's log
# from here on is followed into NAME.out. ENGINE is the Unix pid of the service's Wine process.
# A start that net start itself reports as failed, with the service still STOPPED and nothing
# logged by it, is tried once more, and said as a note with what net start and Wine said: Wine
# now and then fails to create a process (cmd's errorlevel 9009 in installer/e2e.sh; a CI run
# lost 60 s here to a start that never came up, its output gone with the machine).
engine_start() {
    local name=$1 try logged
    ENGINE_CONSOLE= ENGINE=
    logged=$(stat -c %s "$SVC_LOG")
    tail -c +$((logged + 1)) -F "$SVC_LOG" >"$WORK/$name.out" 2>/dev/null &
    LOG_TAIL=$!
    for try in 1 2; do
        WINEDEBUG=-all,err+all wine net start PipesService </dev/null >"$WORK/$name.net.out" 2>&1
        if [ "$try" = 1 ] && ! grep -q "started successfully" "$WORK/$name.net.out" &&
            sc_is STOPPED && [ "$(stat -c %s "$SVC_LOG")" = "$logged" ]; then
            echo "       note: net start PipesService ($name) failed and the service logged nothing;" \
                "tried again. net start said:"
            tr -d '\r' <"$WORK/$name.net.out" | grep -v '^$' | head -n 10 | sed 's/^/         /'
            continue
        fi
        break
    done
    if ! wait_for 30 sc_is RUNNING; then
        bad "net start PipesService ($name): not RUNNING after 30 s; net start said:" \
            "$(tr -s '\r\n' ' ' <"$WORK/$name.net.out")" \
            "$(tr -s ' \r\n' ' ' <"$WORK/sc.out" | grep -o 'STATE[^A-Z]*[A-Z_]*')"
        return 1
    fi
    ENGINE=$(engine_pid)
    [ "$(echo "$ENGINE" | wc -w)" = 1 ] # one process, or ENGINE would name the wrong one
}
# engine_run NAME [VAR=VALUE...]: the installed exe as `PipesService run` instead, with VAR=VALUE in
# its environment (what the SCM cannot pass here, see above), on the service's data folder (through
# cmd: Wine sets %ProgramData% from the registry over the Unix environment); output in NAME.out.
# ENGINE is the pid of cmd's Wine process: `wait` gets the engine's exit status.
engine_run() {
    local name=$1; shift
    printf '@set "ProgramData=%s"\r\n@"%s" run\r\n@exit /b %%errorlevel%%\r\n' \
        "$SVC_PROGRAMDATA" 'C:\Program Files\Pipes\PipesService.exe' >"$WORK/$name.bat"
    env "$@" wine cmd /c "$(winpath "$WORK/$name.bat")" </dev/null >"$WORK/$name.out" 2>&1 &
    ENGINE=$! ENGINE_CONSOLE=1
    wait_for 30 grep -qs "running in the console" "$WORK/$name.out"
}
# engine_stop: net stop and the service's process gone (or Ctrl+C to engine_run's engine).
engine_stop() {
    local p
    if [ -n "$ENGINE_CONSOLE" ]; then
        for p in $(pgrep -f 'PipesService\.exe run'); do
            tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "WINEPREFIX=$WINEPREFIX" && kill -INT "$p"
        done
        wait "$ENGINE" 2>/dev/null
    else
        # A stop that does not come says what net stop, the SCM and the service said (fresh-debian
        # saw one once, in the wrong-password section, its logs gone with the machine).
        WINEDEBUG=-all,err+all wine net stop PipesService </dev/null >"$WORK/net-stop.last" 2>&1
        cat "$WORK/net-stop.last" >>"$WORK/net-stop.out"
        if ! wait_for 30 sc_is STOPPED; then
            bad "net stop PipesService: not STOPPED after 30 s; net stop said:" \
                "$(tr -s '\r\n' ' ' <"$WORK/net-stop.last")" \
                "$(tr -s ' \r\n' ' ' <"$WORK/sc.out" | grep -o 'STATE[^A-Z]*[A-Z_]*')"
            echo "         the service's log, its last 15 lines:"
            tail -n 15 "$SVC_LOG" | tr -d '\r' | sed 's/^/         /'
        fi
        wait_for 30 eval '! kill -0 "$ENGINE" 2>/dev/null' || bad "net stop PipesService: its process is still there"
        kill "$LOG_TAIL" 2>/dev/null
        LOG_TAIL=
    fi
    ENGINE= ENGINE_CONSOLE=
}
# The engine's anonymous resident memory in KiB (its heap: what private bytes are on Windows).
engine_kib() { sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$ENGINE/status"; }
status() { wine "$SVC_EXE" status </dev/null >"$WORK/status.out" 2>&1; }
status_has() { status && grep -q -- "$1" "$WORK/status.out"; }
status_value() { status; sed -n "s/^$1: \([0-9]*\).*/\1/p" "$WORK/status.out" | tr -d '\r' | head -n1; }
shown() { grep -c "^$1\$" "$TRAY_OUT.raw" 2>/dev/null; } # times the service delivered id $1
shown_once() { [ "$(shown "$1")" = 1 ]; }
tray_has() { grep -q "^$1\$" "$TRAY_OUT" 2>/dev/null; }
tray_count() { grep -c "^$1" "$TRAY_OUT" 2>/dev/null; } # distinct ids starting with $1 delivered
delivered_twice() { grep "^$1" "$TRAY_OUT.raw" | sort | uniq -d | wc -l; }
events() { grep -c "\"event\":\"$1\".*\"id\":\"$2\"" "$WORK/status-topic.txt"; }
event_seen() { [ "$(events "$1" "$2")" -ge "${3:-1}" ]; }
# local_notify ID TITLE: a local submitter (the installed pipes-notify, which checks that the
# service's process serves the pipe) to session 1; its exit status.
local_notify() {
    wine "$APP/pipes-notify.exe" --session 1 --id "$1" --title "$2" </dev/null >"$WORK/$1.out" 2>&1
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
