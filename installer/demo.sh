#!/usr/bin/env bash
# demo.sh MSI: installs the MSI into a fresh Wine prefix ($BUILD_DIR/wineprefix-demo), starts the
# tray app the way Windows does at logon (the Run value), sends notifications of each level through
# pipes-notify, opens the Recent notifications window (a second start of the tray app asks the
# first to show it) and saves a screenshot to dist/demo.png; then asks a question (two actions,
# pipes-notify --wait-response), saves dist/demo-question.png with the question on screen, answers it
# with a real mouse click (xdotool) on "Restart now" and prints the answer pipes-notify received.
# The click's position comes from the build's test probe tray_sender.exe (popup_helpers.sh).
# Display: Xvfb when DISPLAY is not set, else a Wine desktop window on your display (and, when run
# from a terminal, it waits for Enter before cleaning up so you can look at it).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MSI=${1:?usage: demo.sh MSI}
: "${BUILD_DIR:?BUILD_DIR must be set (./build.sh exports it)}"
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
PREFIX=$BUILD_DIR/wineprefix-demo
WORK=$BUILD_DIR/demo
PNG=${DEMO_PNG:-$ROOT/dist/demo.png}
QUESTION_PNG=$(dirname "$PNG")/demo-question.png
XVFB_PID=""
T0=$(date +%s)

say() { printf '   %s\n' "$*"; }
step() { printf '== [%3d s] %s\n' $(($(date +%s) - T0)) "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# winemenubuilder off: it would copy the MSI's Start-menu shortcut into the Linux desktop menus
# (~/.local/share/applications) and leave it there after the uninstall.
export WINEPREFIX=$PREFIX WINEDEBUG=-all WINEARCH=win64 WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
PIPES_WINE_ENV_NO_INIT=1 . "$ROOT/cmake/wine-env.sh"   # pipes_wait_for, pipes_fresh_prefix, pipes_start_xvfb
cleanup() {
    local p
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    if [ -d "$PREFIX" ]; then
        wineserver -k >/dev/null 2>&1
        wineserver -w >/dev/null 2>&1
    fi
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null
}
trap cleanup EXIT

rm -rf "$WORK"
mkdir -p "$WORK" "$(dirname "$PNG")"
winpath() { printf 'Z:%s' "${1//\//\\}"; }
w() { local name=$1; shift; wine "$@" </dev/null >"$WORK/$name.out" 2>&1; }

step "fresh Wine prefix $PREFIX"
pipes_fresh_prefix "$WORK/wineboot.out" || die "wineboot failed (see $WORK/wineboot.out)"

if [ -n "${DISPLAY:-}" ]; then
    say "showing the Wine desktop on your display $DISPLAY"
    USER_DISPLAY=1
else
    USER_DISPLAY=0
    pipes_start_xvfb "$WORK/xvfb.out" || die "no Xvfb display came up (see $WORK/xvfb.out)"
    say "no DISPLAY: using a virtual X server (Xvfb $DISPLAY)"
fi
# Every program of this prefix on the one Wine desktop "shell" (its taskbar has the notification
# area): without this, programs started later (the tray, msiexec's) open on a desktop of their own
# without a taskbar, and the tray icon lands in a stray systray window.
printf 'REGEDIT4\n\n[HKEY_CURRENT_USER\\Software\\Wine\\Explorer]\n"Desktop"="shell"\n\n[HKEY_CURRENT_USER\\Software\\Wine\\Explorer\\Desktops]\n"shell"="1024x768"\n' >"$WORK/desktop.reg"
wine regedit /S "$(winpath "$WORK/desktop.reg")" </dev/null >"$WORK/regedit.out" 2>&1
wine explorer /desktop=shell,1024x768 </dev/null >"$WORK/explorer.out" 2>&1 &
sleep 2

step "install $(basename "$MSI") (msiexec /i ... /qn)"
w install msiexec /i "$(winpath "$MSI")" /qn /l*v "$(winpath "$WORK/install.log")"
rc=$?
[ $((rc % 256)) -eq 0 ] || die "msiexec failed with $rc (log: $WORK/install.log)"
APP="$PREFIX/drive_c/Program Files/Pipes"
say "installed into C:\\Program Files\\Pipes: $(cd "$APP" && ls -- *.exe *.dll | tr '\n' ' ')"
w status "$APP/PipesService.exe" status
say "PipesService: $(head -n1 "$WORK/status.out" | tr -d '\r')"

step "start the tray app as Windows does at logon (HKLM\\...\\Run)"
wine reg query 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run' /v "Pipes TrayNotifier" </dev/null >"$WORK/run.out" 2>&1
run_cmd=$(sed -n 's/^ *Pipes TrayNotifier \+REG_SZ \+//p' "$WORK/run.out" | tr -d '\r')
[ -n "$run_cmd" ] || die "the Run value is missing"
say "Run value: $run_cmd"
tray_exe=${run_cmd#\"}
tray_exe=${tray_exe%%\"*}
wine "$tray_exe" </dev/null >"$WORK/tray.out" 2>&1 &

notify() { # notify NAME ARGS...: pipes-notify, its result printed
    w "$1" "$APP/pipes-notify.exe" "${@:2}"
    local rc=$?
    local a shown=""
    for a in "${@:2}"; do
        case $a in *" "*) shown="$shown \"$a\"" ;; *) shown="$shown $a" ;; esac
    done
    say "pipes-notify$shown"
    say "  -> exit $rc: $(tr -d '\r' <"$WORK/$1.out" | tr '\n' ' ')"
    return $rc
}
step "send notifications of each level through the service (pipes-notify)"
# The first one waits until the tray shows it: the service has found the tray.
pipes_wait_for 30 w first "$APP/pipes-notify.exe" --title "Pipes is installed" \
    --body "PipesService relays notifications to this tray." --source demo --wait --timeout 10 ||
    die "the service did not reach the tray ($(cat "$WORK/first.out"))"
say "pipes-notify --title \"Pipes is installed\" --wait -> $(tr -d '\r' <"$WORK/first.out" | tr '\n' ' ')"
notify n1 --title "Backup finished" --body "42 files, 3.1 GB" --level info --source nightly-backup
notify n2 --title "Disk almost full" --body "C: has 2.1 GB free" --level warning --source disk-monitor
notify n3 --title "Build failed" --body "PipesLib: 1 test failed" --level error --source ci --wait
notify n4 --title "Certificate expires soon" --body "web01: in 9 days" --level warning --source certs
sleep 2

step "open the Recent notifications window (a second start of the tray app asks the first)"
w second "$tray_exe"
say "second start of TrayNotifier.exe -> exit $?"
sleep 1
# A last one, so its balloon is on screen beside the window in the screenshot.
notify n5 --title "Deployment done" --body "version 1.0 is live on 3 servers" --level info --source deploy --wait
sleep 3   # the balloon follows the tray's hold-off and Wine's own delay of about 2 s

# The Wine desktop's X window: the whole screen on Xvfb, a window of its own on the user's display.
desktop_window() {
    if [ "$USER_DISPLAY" -eq 1 ]; then
        xwininfo -root -tree 2>/dev/null | awk '/"shell - Wine desktop"/ { print $1; exit }'
    fi
}
screenshot() { # screenshot PNG: the Wine desktop
    local win
    win=$(desktop_window)
    import -display "$DISPLAY" -window "${win:-root}" "$1" 2>"$WORK/import.out" || say "import failed: $(cat "$WORK/import.out")"
    [ -s "$1" ]
}
step "screenshot"
screenshot "$PNG" && say "saved $PNG (tray icon, the last balloon, the Recent notifications window)"

step "a question: pipes-notify --wait-response waits until the user clicks one of two buttons"
command -v xdotool >/dev/null || die "xdotool is missing (./build.sh deps)"
BIN=$BUILD_DIR/bin            # tray_sender.exe: where on the screen the button is
P6='\\.\pipe\Pipes.Notify.1'  # the tray's pipe (every Wine process is in session 1)
. "$ROOT/TrayNotifier/tests/popup_helpers.sh"
win=$(desktop_window)
if [ -n "$win" ]; then # clicks land in the desktop window, wherever it is on the user's screen
    CLICK_ORIGIN=$(xwininfo -id "$win" | awk '/Absolute upper-left X/ { x = $NF } /Absolute upper-left Y/ { y = $NF } END { print x, y }')
fi
ask=(--title "Install updates now?" --body "3 updates are ready. Windows restarts when they are installed."
    --level warning --source patch-agent --sticky --action now="Restart now" --action later=Later
    --wait-response --timeout 120)
say "pipes-notify --title \"Install updates now?\" ... --action now=\"Restart now\" --action later=Later --wait-response"
wine "$APP/pipes-notify.exe" "${ask[@]}" </dev/null >"$WORK/ask.out" 2>"$WORK/ask.err" &
ask_pid=$!
pipes_wait_for 30 grep -q '^displayed ' "$WORK/ask.err" || die "the question was not displayed ($(cat "$WORK/ask.err"))"
say "  -> $(tr -d '\r' <"$WORK/ask.err" | tr '\n' ' ')(waiting for the answer)"
question_on_screen() { [ "$(popups_titled "Install updates")" -ge 1 ]; }
pipes_wait_for 20 question_on_screen || die "the question's window did not appear"
screenshot "$QUESTION_PNG" && say "saved $QUESTION_PNG (the question in the Pipes notification window)"
click "Install updates" action0 || die "no 'Restart now' button to click ($(cat "$WORK/ui6.err"))"
say "a real mouse click (xdotool) on 'Restart now'"
wait "$ask_pid"
rc=$?
say "  -> pipes-notify exit $rc, printed: $(tr -d '\r' <"$WORK/ask.out" | tr '\n' ' ')"
[ "$rc" -eq 0 ] && [ "$(tr -d '\r' <"$WORK/ask.out" | head -n1)" = now ] || die "the answer did not come back as 'now'"

step "what the tray stored"
HIST=$(find "$PREFIX/drive_c/users" -path '*AppData/Local/Pipes/history/history.jsonl' 2>/dev/null | head -n1)
if [ -n "$HIST" ]; then
    say "history ($(grep -c . "$HIST") entries) in %LOCALAPPDATA%\\Pipes\\history\\history.jsonl:"
    if command -v jq >/dev/null; then
        jq -r 'if .type == "response" then "   answered \(.id): \(.action // .result)"
               else "[\(.level // "info")] \(.title) (from \(.source // "?"))" end' "$HIST" 2>/dev/null |
            while read -r line; do say "  $line"; done
    fi
fi
w status2 "$APP/PipesService.exe" status
say "PipesService status:"
tr -d '\r' <"$WORK/status2.out" | sed 's/^/     /'

if [ "$USER_DISPLAY" -eq 1 ] && [ -t 0 ]; then
    printf '\nThe Wine desktop stays open; press Enter to end the demo (uninstall is not needed: the prefix is private).\n'
    read -r _
fi
step "done: dist/demo.png, dist/demo-question.png; the demo prefix is $PREFIX (removed on the next run)"
