#!/usr/bin/env bash
# e2e.sh: the path a user takes, under Wine, in a fresh prefix ($BUILD_DIR/wineprefix-e2e, recreated
# every run) with Xvfb and a Wine desktop for the tray:
#   1 install the MSI (msiexec /qn): service RUNNING, files, Run value, Event Log source, shortcut
#   2 start TrayNotifier the way the Run value does; the service delivers to it
#   3 100 notifications through pipes-notify (every 10th with --wait): each in the tray history once
#  3a a question (pipes-notify --wait-response) answered by a real click on the tray's popup; the
#     answer survives a restart of the service (installer/e2e_chain.sh)
#  3b fleet: the installed service configured for a local mosquitto; all/host/user topics, the status
#     topic's accepted, displayed and response events (installer/e2e_chain.sh)
#   4 the SDK example built against the INSTALLED SDK with the command lines of the installed docs/SDK.md
#     (its blocks marked <!-- sdk-e2e: NAME -->, run as written with only <Pipes> replaced), run against
#     the installed pipes.dll: the service accepts its notification, the tray shows it
#   5 a higher version (second build with PIPES_VERSION_OVERRIDE) installed over it: one ARP entry,
#     new binaries running, spool and configuration kept, the tray back and receiving; downgrade refused
#   6 uninstall: no service, files, Run value, shortcut, Event Log source; %ProgramData%\Pipes kept
# Needs $BUILD_DIR built (./build.sh e2e does that). Exits 1 when a check fails.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${BUILD_DIR:?BUILD_DIR must be set (./build.sh exports it)}"
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
WORK=$BUILD_DIR/e2e
PREFIX=$BUILD_DIR/wineprefix-e2e
UPG_BUILD=$BUILD_DIR/e2e-upgrade-build
T0=$(date +%s)
FAILS=0
XVFB_PID=""
UPG_PID=""
BROKER_PID=""       # mosquitto and the status topic's reader, started by e2e_chain.sh
STATUS_SUB_PID=""

elapsed() { echo $(($(date +%s) - T0)); }
ok() { echo "  ok   [$(elapsed) s] $*"; }
bad() { echo "  FAIL [$(elapsed) s] $*"; FAILS=$((FAILS + 1)); }
step() { echo "== [$(elapsed) s] $*"; }
check() { # check DESCRIPTION COMMAND...: passes when COMMAND succeeds
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
abort() { bad "$*"; echo "e2e: stopping here: the following steps depend on this one"; exit 1; }

# winemenubuilder off: it would copy the MSI's Start-menu shortcut into the Linux desktop menus
# (~/.local/share/applications) and leave it there after the uninstall.
export WINEPREFIX=$PREFIX WINEDEBUG=-all WINEARCH=win64 WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
PIPES_WINE_ENV_NO_INIT=1 . "$ROOT/cmake/wine-env.sh"   # pipes_wait_for, pipes_fresh_prefix, pipes_start_xvfb
cleanup() {
    local p
    [ -n "$UPG_PID" ] && kill "$UPG_PID" 2>/dev/null
    [ -n "$STATUS_SUB_PID" ] && kill "$STATUS_SUB_PID" 2>/dev/null
    [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    if [ -d "$PREFIX" ]; then
        wineserver -k >/dev/null 2>&1
        wineserver -w >/dev/null 2>&1
    fi
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null
    echo "e2e: $FAILS failed, $(elapsed) s"
}
trap cleanup EXIT

mkdir -p "$WORK"
rm -rf "$WORK"/*
winpath() { printf 'Z:%s' "${1//\//\\}"; }
# w NAME PROGRAM ARGS...: a Windows program, output in $WORK/NAME.out, its exit code returned.
w() {
    local name=$1
    shift
    wine "$@" </dev/null >"$WORK/$name.out" 2>&1
}
msiexec_rc() { # msiexec_rc NAME ARGS...: msiexec's exit code modulo 256 (Wine cuts it to 8 bits)
    local name=$1 rc
    shift
    w "$name" msiexec "$@" /qn /l*v "$(winpath "$WORK/$name.log")"
    rc=$?
    echo $((rc % 256))
}
sc_state() { # STATE word of `sc query PipesService`, or NONE
    wine sc query PipesService </dev/null >"$WORK/sc.out" 2>&1
    local s
    s=$(sed -n 's/.*STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p' "$WORK/sc.out" | head -n1)
    echo "${s:-NONE}"
}
reg_value() { # reg_value KEY NAME: the data of a registry value, or nothing (exit 1) when absent
    wine reg query "$1" /v "$2" </dev/null >"$WORK/reg.out" 2>&1 || return 1
    sed -n "s/^ *$2 \+REG_[A-Z_]\+ \+//p" "$WORK/reg.out" | tr -d '\r' | head -n1 | grep .
}
tray_pids() { # TrayNotifier processes of this prefix (other prefixes may run trays too)
    local p
    for p in $(pgrep -f 'Program Files.Pipes.TrayNotifier\.exe'); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "WINEPREFIX=$PREFIX" && echo "$p"
    done
}
no_tray() { [ -z "$(tray_pids)" ]; }
version_of() { # version_of FILE: the FileVersion string of a PE's version resource
    strings -el "$1" | grep -A1 -x FileVersion | tail -n1
}

RUN_KEY='HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run'
EVT_KEY='HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\PipesService'
APP="$PREFIX/drive_c/Program Files/Pipes"
WAPP='C:\Program Files\Pipes'

# ---- versions and packages ----------------------------------------------------------------
hdr=$ROOT/PipesLib/include/pipes_version.h
part() { sed -n "s/^#define PIPES_VERSION_$1 \+\([0-9]\+\).*/\1/p" "$hdr" | head -n1; }
V1="$(part MAJOR).$(part MINOR).$(part PATCH)"
V2="$(part MAJOR).$(part MINOR).$(($(part PATCH) + 1))"
step "packages: $V1 from $BUILD_DIR, $V2 from a second build ($UPG_BUILD)"
MSI1=$WORK/Pipes-$V1-x64.msi
MSI2=$WORK/Pipes-$V2-x64.msi
bash "$ROOT/installer/msi.sh" "$BUILD_DIR" "$MSI1" >"$WORK/msi1.log" 2>&1 ||
    { cat "$WORK/msi1.log"; abort "building the $V1 MSI"; }
# The upgrade build runs in the background while the prefix is created: same sources, version
# $V2 (version resources, pipes_version() and the MSI), only the shipped targets, no tests.
(
    cmake -S "$ROOT" -B "$UPG_BUILD" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-mingw64.cmake" \
        -DCMAKE_BUILD_TYPE=Release -DPIPES_BUILD_TESTS=OFF -DPIPES_VERSION_OVERRIDE="$V2" &&
        cmake --build "$UPG_BUILD" -j "${JOBS:-2}" --target pipes PipesService pipes-notify TrayNotifier pipes-lockdir &&
        bash "$ROOT/installer/msi.sh" "$UPG_BUILD" "$MSI2"
) >"$WORK/upgrade-build.log" 2>&1 &
UPG_PID=$!

# ---- fresh prefix, X server, desktop ------------------------------------------------------
step "fresh Wine prefix $PREFIX, Xvfb, Wine desktop"
pipes_fresh_prefix "$WORK/wineboot.out" || abort "wineboot -i failed (see $WORK/wineboot.out)"
pipes_start_xvfb "$WORK/xvfb.out" || abort "no Xvfb display came up (see $WORK/xvfb.out)"
# Every program of this prefix on the one Wine desktop "shell" (its taskbar has the notification
# area): without this, programs started later (the tray, msiexec's) open on a desktop of their own
# without a taskbar, and the tray icon lands in a stray systray window.
printf 'REGEDIT4\n\n[HKEY_CURRENT_USER\\Software\\Wine\\Explorer]\n"Desktop"="shell"\n\n[HKEY_CURRENT_USER\\Software\\Wine\\Explorer\\Desktops]\n"shell"="1024x768"\n' >"$WORK/desktop.reg"
wine regedit /S "$(winpath "$WORK/desktop.reg")" </dev/null >"$WORK/regedit.out" 2>&1
wine explorer /desktop=shell,1024x768 </dev/null >"$WORK/explorer.out" 2>&1 &
sleep 2

# ---- 1. install ---------------------------------------------------------------------------
step "1. install $V1: msiexec /i $(basename "$MSI1") /qn"
rc=$(msiexec_rc install1 /i "$(winpath "$MSI1")")
[ "$rc" -eq 0 ] || { grep -a -i -E 'error|return value 3' "$WORK/install1.log" | head -20; abort "msiexec /i exits 0 (got $rc)"; }
ok "msiexec /i exits 0"
check "sc query PipesService: RUNNING" test "$(sc_state)" = RUNNING
for f in pipes.dll PipesService.exe TrayNotifier.exe pipes-notify.exe include/pipes.h include/pipes_version.h \
    lib/pipes.lib lib/libpipes.dll.a lib/cmake/Pipes/PipesConfig.cmake lib/cmake/Pipes/PipesConfigVersion.cmake \
    lib/cmake/Pipes/PipesMinGW.toolchain.cmake \
    sdk-example/example.c sdk-example/CMakeLists.txt docs/SDK.md; do
    [ -f "$APP/$f" ] || bad "installed file missing: Program Files\\Pipes\\$f"
done
ok "the files are in Program Files\\Pipes"
check "installed PipesService.exe has version $V1" test "$(version_of "$APP/PipesService.exe")" = "$V1"
run_cmd=$(reg_value "$RUN_KEY" "Pipes TrayNotifier") || run_cmd=""
check "Run value 'Pipes TrayNotifier' = \"$WAPP\\TrayNotifier.exe\"" test "$run_cmd" = "\"$WAPP\\TrayNotifier.exe\""
evt=$(reg_value "$EVT_KEY" EventMessageFile) || evt=""
check "Event Log source registered (EventMessageFile = $WAPP\\PipesService.exe)" test "$evt" = "$WAPP\\PipesService.exe"
lnk=$(find "$PREFIX/drive_c" -name 'Pipes Notifications.lnk' 2>/dev/null | head -n1)
check "Start-menu shortcut 'Pipes Notifications' exists" test -n "$lnk"
# The service's data folder is %ProgramData%\Pipes as the service sees it (Wine gives services
# C:\users\Public for %ProgramData%): find its log rather than assume the folder.
LOG=""
find_log() {
    LOG=$(find "$PREFIX/drive_c" -path '*/Pipes/logs/PipesService.log' 2>/dev/null | head -n1)
    [ -n "$LOG" ]
}
check "the service writes its log (%ProgramData%\\Pipes\\logs)" pipes_wait_for 10 find_log
check "the configure action ran (PipesService.exe configure: Event Log source, description)" \
    grep -q 'configuring PipesService' "$WORK/install1.out"

# ---- 2. the tray, started as the Run value starts it ----------------------------------------
step "2. TrayNotifier started from the Run value's command line: $run_cmd"
if [[ $run_cmd =~ ^\"([^\"]+)\"(.*)$ ]]; then
    tray_exe=${BASH_REMATCH[1]} tray_args=${BASH_REMATCH[2]}
else
    tray_exe=${run_cmd%% *} tray_args=${run_cmd#"$tray_exe"}
fi
# shellcheck disable=SC2086 # the Run value's arguments split as Windows would (none today)
wine "$tray_exe" $tray_args </dev/null >"$WORK/tray1.out" 2>&1 &
HIST=""
find_history() {
    HIST=$(find "$PREFIX/drive_c/users" -path '*AppData/Local/Pipes/history/history.jsonl' 2>/dev/null | head -n1)
    [ -n "$HIST" ]
}
# The service finds the tray: a --wait notification comes back "displayed".
hello() { w "$1" "$APP/pipes-notify.exe" --title "$2" --id "$1" --source e2e --wait --timeout 10; }
if pipes_wait_for 40 hello e2e-hello "Pipes e2e: hello tray" && grep -q 'displayed e2e-hello in session' "$WORK/e2e-hello.out"; then
    ok "pipes-notify --wait: the service delivered to the tray (displayed in a session)"
else
    cat "$WORK/e2e-hello.out"
    abort "the service did not reach the tray started from the Run value"
fi
check "the tray keeps its history in %LOCALAPPDATA%\\Pipes\\history" find_history

# ---- 3. 100 notifications ------------------------------------------------------------------
step "3. 100 notifications through pipes-notify (every 10th with --wait)"
# Two cmd.exe batches side by side (a Wine process start costs most of the time of one call).
levels=(info warning error)
notify_args() { # notify_args I: pipes-notify's arguments for notification I, in NOTIFY_ARGS
    local id
    id=$(printf 'e2e-%03d' "$1")
    NOTIFY_ARGS=(--id "$id" --title "e2e notification $1" --body "body of $id" --level "${levels[$(($1 % 3))]}" --source e2e)
    [ $(($1 % 10)) -eq 0 ] && NOTIFY_ARGS+=(--wait --timeout 30)
}
# cmd sets errorlevel 9009 when it could not start the program at all (its CreateProcess failed:
# "Can't recognize ... as an internal or external command"); pipes-notify's own codes are 0-8.
# Those calls never ran: they are listed in send100.nostart and run again below. A pipes-notify
# that ran and exited non-zero is a failure (send100.fail).
for b in 1 2; do
    for i in $(seq "$b" 2 100); do
        notify_args "$i"
        id=${NOTIFY_ARGS[1]}
        echo "\"$WAPP\\pipes-notify.exe\"$(printf ' "%s"' "${NOTIFY_ARGS[@]}") >> \"$(winpath "$WORK/send100-$b.log")\" 2>&1"
        echo "if %errorlevel% equ 9009 (echo $i >> \"$(winpath "$WORK/send100.nostart")\") else if %errorlevel% neq 0 echo FAILED $id %errorlevel% >> \"$(winpath "$WORK/send100.fail")\""
    done >"$WORK/send100-$b.bat"
done
t=$(date +%s)
# Wine's error messages on (WINEDEBUG=-all,err+all) in send100-N.out: why a start failed, if it does.
WINEDEBUG=-all,err+all w send100-1 cmd /c "$(winpath "$WORK/send100-1.bat")" &
WINEDEBUG=-all,err+all w send100-2 cmd /c "$(winpath "$WORK/send100-2.bat")"
wait $!
cat "$WORK/send100-1.log" "$WORK/send100-2.log" >"$WORK/send100.log" 2>/dev/null
if [ -s "$WORK/send100.nostart" ]; then
    echo "  note: Wine's cmd.exe could not start pipes-notify.exe (errorlevel 9009) for notification(s)" \
        "$(tr -s ' \r\n' ' ' <"$WORK/send100.nostart")- run again directly. cmd said, and Wine's errors:"
    # cmd's message goes where the command's stderr went (send100-N.log); Wine's to send100-N.out.
    cat "$WORK/send100-1.log" "$WORK/send100-2.log" "$WORK/send100-1.out" "$WORK/send100-2.out" |
        grep -a -e "Can't recognize" -e ':err:' | head -n 20 | tr -d '\r' | sed 's/^/    /'
    for i in $(tr -d '\r' <"$WORK/send100.nostart"); do
        notify_args "$i"
        wine "$APP/pipes-notify.exe" "${NOTIFY_ARGS[@]}" </dev/null >>"$WORK/send100.log" 2>&1 ||
            echo "FAILED ${NOTIFY_ARGS[1]} $? (run again after cmd could not start it)" >>"$WORK/send100.fail"
    done
fi
check "all 100 pipes-notify calls exit 0 ($(($(date +%s) - t)) s)" test ! -s "$WORK/send100.fail"
accepted=$(grep -c '^accepted e2e-' "$WORK/send100.log")
displayed=$(grep -c '^displayed e2e-' "$WORK/send100.log")
check "100 accepted, 10 displayed (--wait)" test "$accepted" -eq 100 -a "$displayed" -eq 10
ids_once() { # every e2e-001..100 exactly once in the history, nothing else with that prefix
    grep -o '"id" *: *"e2e-[0-9]*"' "$HIST" | sed 's/.*"\(e2e-[0-9]*\)"/\1/' | sort | uniq -c >"$WORK/ids.txt"
    [ "$(wc -l <"$WORK/ids.txt")" -eq 100 ] && ! awk '$1 != 1 { bad = 1 } END { exit !bad }' "$WORK/ids.txt"
}
if pipes_wait_for 30 ids_once; then
    ok "the tray history has each of the 100 exactly once"
else
    bad "tray history: $(wc -l <"$WORK/ids.txt") distinct ids, duplicates: $(awk '$1 != 1' "$WORK/ids.txt" | head -3 | tr '\n' ' ')"
fi

# ---- 3a, 3b. a question answered by a click; the fleet through a local broker ----------------------
. "$ROOT/installer/e2e_chain.sh"

# ---- 4. the SDK, as another program uses it ----------------------------------------------------
# The command lines are the documented ones, read from the installed docs\SDK.md: every code block
# marked <!-- sdk-e2e: NAME --> runs as written, only <Pipes> replaced by the install folder (its path
# has a space), in an empty folder; each must build an example.exe that the service accepts.
step "4. SDK example built with the command lines of the installed docs\\SDK.md, run against the installed pipes.dll"
SDK_DOC=$APP/docs/SDK.md
sdk_blocks() { sed -n 's/^<!-- sdk-e2e: \([a-z0-9-]*\) -->$/\1/p' "$SDK_DOC"; }
sdk_block() { # sdk_block NAME: the lines of that marked block, <Pipes> replaced
    awk -v mark="<!-- sdk-e2e: $1 -->" '
        $0 == mark { armed = 1; next }
        armed && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$SDK_DOC" | sed "s|<Pipes>|$APP|g"
}
check "SDK.md marks the CMake (MinGW toolchain file) and the gcc command lines for this test" \
    test "$(sdk_blocks | sort | tr '\n' ' ')" = "cmake-mingw gcc-mingw "
EXAMPLE=""
for block in $(sdk_blocks); do
    dir=$WORK/sdk-$block
    mkdir -p "$dir"
    sdk_block "$block" >"$WORK/sdk-$block.sh"
    if [ -s "$WORK/sdk-$block.sh" ] && (cd "$dir" && bash -e -x "$WORK/sdk-$block.sh") >"$WORK/sdk-$block.log" 2>&1 &&
        exe=$(find "$dir" -name example.exe | head -n1) && [ -n "$exe" ]; then
        ok "SDK.md '$block', as written: $(grep -c . "$WORK/sdk-$block.sh") command(s) built ${exe#"$dir"/}"
    else
        tail -20 "$WORK/sdk-$block.log"
        bad "SDK.md '$block': the documented command lines fail (see $WORK/sdk-$block.sh)"
        continue
    fi
    # pipes.dll only from the install folder: WINEPATH adds it to the DLL search path.
    WINEPATH="$WAPP" w "example-$block" "$exe" "Pipes e2e: from the SDK example ($block)" "e2e-sdk-$block"
    check "  ... its example.exe exits 0: the service accepted its notification" test $? -eq 0
    check "  ... it loaded $WAPP\\pipes.dll ($V1)" grep -qF "pipes.dll $V1 (" "$WORK/example-$block.out"
    check "  ... from the install folder" grep -qiF "from $WAPP\\pipes.dll" "$WORK/example-$block.out"
    check "  ... its notification reached the tray history" \
        pipes_wait_for 15 grep -q "\"id\" *: *\"e2e-sdk-$block\"" "$HIST"
    [ -n "$EXAMPLE" ] || EXAMPLE=$exe
done
# What SDK.md says in prose about a toolchain file of one's own (CMAKE_FIND_ROOT_PATH_MODE_PACKAGE
# ONLY, as this project's has): CMAKE_PREFIX_PATH does not find the SDK, Pipes_DIR does.
if cmake -S "$APP/sdk-example" -B "$WORK/sdk-own-prefix" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-mingw64.cmake" \
    -DCMAKE_PREFIX_PATH="$APP" >"$WORK/sdk-own-prefix.log" 2>&1; then
    bad "SDK.md says a toolchain file with CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY does not find the SDK through CMAKE_PREFIX_PATH, but it did"
else
    ok "with a toolchain file of one's own (MODE_PACKAGE ONLY), CMAKE_PREFIX_PATH does not find the SDK, as SDK.md says"
fi
if cmake -S "$APP/sdk-example" -B "$WORK/sdk-own" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-mingw64.cmake" \
    -DPipes_DIR="$APP/lib/cmake/Pipes" >"$WORK/sdk-own.log" 2>&1 && cmake --build "$WORK/sdk-own" >>"$WORK/sdk-own.log" 2>&1; then
    ok "  ... and -DPipes_DIR=<Pipes>/lib/cmake/Pipes does, as SDK.md says"
else
    tail -20 "$WORK/sdk-own.log"
    bad "a toolchain file of one's own with -DPipes_DIR: the example does not build"
fi
# The example itself is held to the project's standard: warning-free C17.
if x86_64-w64-mingw32-gcc -std=c17 -Wall -Wextra -pedantic -Werror -municode -DUNICODE -D_UNICODE \
    "$APP/sdk-example/example.c" -I "$APP/include" -L "$APP/lib" -lpipes -o "$WORK/example-strict.exe" \
    >"$WORK/sdk-strict.log" 2>&1; then
    ok "the installed example.c compiles warning-free (-std=c17 -Wall -Wextra -pedantic -Werror)"
else
    cat "$WORK/sdk-strict.log"
    bad "the installed example.c is not warning-free"
fi
[ -n "$EXAMPLE" ] || EXAMPLE=$WORK/example-strict.exe

# ---- 5. upgrade -------------------------------------------------------------------------------
step "5. upgrade to $V2 over $V1"
# Undeliverable now (no session 7): stays in the service's spool across the upgrade.
for i in 1 2 3; do
    w spool$i "$APP/pipes-notify.exe" --title "spooled $i" --id "e2e-spool-$i" --session 7 --ttl 86400
done
check "3 notifications for a session without a tray accepted into the spool" \
    grep -q '^accepted e2e-spool-3' "$WORK/spool3.out"
# A setting of the admin's, which the upgrade must keep. Read back before the upgrade, so that a
# failed write (a reg.exe run that printed nothing was seen once, in a fresh Debian chroot) is
# not mistaken for the upgrade losing it; the write is tried up to three times.
for attempt in 1 2 3; do
    w cfg reg add 'HKLM\SOFTWARE\Pipes\Service' /v LogMaxKB /t REG_DWORD /d 2048 /f
    [ "$(reg_value 'HKLM\SOFTWARE\Pipes\Service' LogMaxKB)" = 0x800 ] && break
    echo "    reg add LogMaxKB, attempt $attempt: $(tr -d '\r' <"$WORK/cfg.out")"
done
check "a configuration value set before the upgrade (LogMaxKB = 2048)" \
    test "$(reg_value 'HKLM\SOFTWARE\Pipes\Service' LogMaxKB)" = 0x800
starts_before=$(grep -c 'PipesService started' "$LOG" 2>/dev/null)
tray_pid_before=$(tray_pids | head -n1)
wait "$UPG_PID"
upg_rc=$?
UPG_PID=""
[ "$upg_rc" -eq 0 ] && [ -f "$MSI2" ] || { tail -20 "$WORK/upgrade-build.log"; abort "building the $V2 MSI"; }
ok "built $(basename "$MSI2")"
rc=$(msiexec_rc install2 /i "$(winpath "$MSI2")")
[ "$rc" -eq 0 ] || { grep -a -i -E 'error|return value 3' "$WORK/install2.log" | head -20; abort "msiexec /i (upgrade) exits 0 (got $rc)"; }
ok "msiexec /i $V2 exits 0"
arp() { # the DisplayVersion of every ARP entry named Pipes
    wine reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s </dev/null >"$WORK/arp.out" 2>&1
    awk '/^HKEY/ { key = $0 } /DisplayName +REG_SZ +Pipes\r?$/ { names[key] = 1 }
         /DisplayVersion/ { ver[key] = $3 } END { for (k in names) print ver[k] }' "$WORK/arp.out" | tr -d '\r'
}
check "one Add/Remove Programs entry, version $V2" test "$(arp | tr '\n' ' ')" = "$V2 "
check "sc query PipesService: RUNNING" test "$(sc_state)" = RUNNING
check "installed PipesService.exe, TrayNotifier.exe and pipes.dll have version $V2" \
    test "$(version_of "$APP/PipesService.exe") $(version_of "$APP/TrayNotifier.exe") $(version_of "$APP/pipes.dll")" = "$V2 $V2 $V2"
check "the installed SDK header says $V2" grep -q "^#define PIPES_VERSION_PATCH $(part PATCH | awk '{print $1 + 1}')\$" "$APP/include/pipes_version.h"
check "the service was restarted (a new start in its log)" \
    test "$(grep -c 'PipesService started' "$LOG" 2>/dev/null)" -gt "${starts_before:-0}"
# The spool also keeps delivered records for a while; what matters is that the new service
# loaded everything the old one left, the 3 undeliverable ones included.
remain=$(sed -n 's/.*PipesService stopped: \([0-9]*\) notification(s) remain.*/\1/p' "$LOG" | tail -n1)
loaded=$(sed -n 's/.*PipesService started: \([0-9]*\) notification(s) loaded.*/\1/p' "$LOG" | tail -n1)
check "spool kept: the old service left ${remain:-?}, the new one loaded ${loaded:-?} (the 3 undeliverable among them)" \
    test -n "$remain" -a "${remain:-x}" = "${loaded:-y}" -a "${loaded:-0}" -ge 3
check "configuration in HKLM\\SOFTWARE\\Pipes\\Service kept" \
    test "$(reg_value 'HKLM\SOFTWARE\Pipes\Service' LogMaxKB)" = 0x800
WINEPATH="$WAPP" w example2 "$EXAMPLE" "Pipes e2e: after the upgrade" e2e-sdk2
check "the $V1-built example runs against the new pipes.dll ($V2)" grep -qF "pipes.dll $V2 (" "$WORK/example2.out"
new_tray() { # the tray running now is another process than before the upgrade
    local p
    p=$(tray_pids | head -n1)
    [ -n "$p" ] && [ "$p" != "${tray_pid_before:-none}" ]
}
check "the old tray was asked to exit and a new one started (StopTray/StartTray)" pipes_wait_for 15 new_tray
if pipes_wait_for 30 hello e2e-after-upgrade "Pipes e2e: after the upgrade" &&
    grep -q 'displayed e2e-after-upgrade' "$WORK/e2e-after-upgrade.out"; then
    ok "the tray still receives after the upgrade (displayed)"
else
    cat "$WORK/e2e-after-upgrade.out"
    bad "the tray does not receive after the upgrade"
fi
check "  ... and it is in the history" grep -q '"id" *: *"e2e-after-upgrade"' "$HIST"
rc=$(msiexec_rc downgrade /i "$(winpath "$MSI1")")
check "installing $V1 over $V2 is refused (exit 1603 = $((1603 % 256)) mod 256)" test "$rc" -eq $((1603 % 256))
# Wine's log leaves out the condition's text (the LaunchCondition table carries it: check_msi.sh).
check "  ... by the launch condition (newer version detected, LaunchConditions failed)" \
    grep -aq 'LaunchConditions. Return value 0' "$WORK/downgrade.log"
check "  ... and $V2 stays installed" test "$(arp | tr '\n' ' ')" = "$V2 "

# ---- 6. uninstall ------------------------------------------------------------------------------
step "6. uninstall"
rc=$(msiexec_rc uninstall /x "$(winpath "$MSI2")")
check "msiexec /x exits 0" test "$rc" -eq 0
check "no service PipesService" test "$(sc_state)" = NONE
left=$(find "$APP" -type f 2>/dev/null | head -5)
check "no files left in Program Files\\Pipes${left:+ (left: $left)}" test -z "$left"
check "no Run value" test -z "$(reg_value "$RUN_KEY" "Pipes TrayNotifier")"
check "no Event Log source values" test -z "$(reg_value "$EVT_KEY" EventMessageFile)"
check "no Start-menu shortcut" test -z "$(find "$PREFIX/drive_c" -name 'Pipes Notifications.lnk' 2>/dev/null)"
check "no ARP entry" test -z "$(arp)"
check "the tray was asked to exit" pipes_wait_for 10 no_tray
check "%ProgramData%\\Pipes kept (documented: spool and logs survive uninstall)" test -f "$LOG"

[ "$FAILS" -eq 0 ]
