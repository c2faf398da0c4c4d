# popup_helpers.sh - looking at and clicking the Pipes notification windows, the history window and
# its context menu of the tray on $P6, with real input (xdotool). Sourced by popup_tests.sh,
# PipesService/tests/run_answer_tests.sh, installer/e2e_chain.sh and installer/demo.sh; the caller
# sets P6 (the tray's pipe), BIN (the build's bin folder) and WORK (a folder for output), and runs an
# X server with the tray on $DISPLAY.
# CLICK_ORIGIN="X Y" is where the Wine desktop's top left corner is on the X screen (default "0 0":
# a desktop that fills the screen, as on the tests' Xvfb).

# ui6 ACTION: tray_sender --ui on the popup tray; output in $WORK/ui6.out, exit code in RC.
ui6() {
    wine "$BIN/tray_sender.exe" --ui "$1" --pipe "$P6" >"$WORK/ui6.out" 2>"$WORK/ui6.err"
    RC=$?
}
# click_at UI-ACTION [BUTTON...]: real mouse clicks (xdotool; default one left click) at the point
# tray_sender --ui UI-ACTION prints: it prints it once its window is there and nothing covers it.
click_at() {
    local action=$1 x y ox oy b clicks=()
    shift
    ui6 "$action"
    read -r x y < <(tr -d '\r' <"$WORK/ui6.out")
    if [ "$RC" -ne 0 ] || [ -z "${y:-}" ]; then
        sed 's/^/    /' "$WORK/ui6.err" >&2   # what was missing or covered
        return 1
    fi
    read -r ox oy <<<"${CLICK_ORIGIN:-0 0}"
    for b in "${@:-1}"; do clicks+=(click "$b"); done
    # No --sync: the pointer may already be there (it then waits for a move that never comes);
    # the X server handles the move before the click anyway.
    xdotool mousemove $((x + ox)) $((y + oy)) "${clicks[@]}"
}
# click TITLE WHAT [BUTTON]: a real mouse click on a control of the popup titled TITLE.
click() { click_at "point:$1:$2" "${3:-1}"; }
popups_titled() { ui6 popups; grep -c "^popup .* $1" "$WORK/ui6.out"; }
popup_gone() { ui6 popups; ! grep -q "^popup .* $1" "$WORK/ui6.out"; }
# wait_gone TITLE: a few looks (each starts a Wine program, about a second), until it is gone.
wait_gone() {
    local i
    for i in 1 2 3 4 5 6 7 8; do popup_gone "$1" && return 0; done
    return 1
}
