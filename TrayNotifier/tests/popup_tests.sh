# popup_tests.sh - the Pipes notification window, answers and interactive fields, end to end under
# Wine and Xvfb, with real mouse clicks and keystrokes (xdotool). Sourced by run_tray_tests.sh
# (its helpers, prefix and display); TRAY_TESTS_ONLY=popups runs this part alone.
#
# A "service end" (tray_sender --service-end) plays PipesService: the tray is started with
# --test-service-pid naming it, so its connection is trusted like the service's; it sends what is
# dropped into $DIR/svc-in and records every reply and response (acknowledging responses).

P6='\\.\pipe\Pipes.Notify.TrayPopup'
SVC_IN=$DIR/svc-in
SVC_REC=$DIR/svc.rec
PLOG=pop.log
PHIST=$DIR/pop/history.jsonl
mkdir -p "$SVC_IN"

command -v xdotool >/dev/null || { bad "xdotool is missing (./build.sh deps)"; return 0 2>/dev/null || exit 1; }

. "$ROOT/TrayNotifier/tests/popup_helpers.sh"   # ui6, click, popup_gone ... on $P6

# spool JSON: hands JSON to the service end (written aside, then renamed in whole: it must never
# see half a file).
spool() {
    local f
    f=$(date +%s%N)
    printf '%s' "$1" >"$SVC_IN/$f.tmp" && mv "$SVC_IN/$f.tmp" "$SVC_IN/$f.json"
}
# svc NAME JSON: the service end sends JSON; waits for the tray's ack of id NAME.
svc() {
    spool "$2"
    wait_until 20 "grep -q '^ack $1\$' '$SVC_REC' 2>/dev/null"
}
# direct NAME ID JSON: send JSON straight to the tray (not as the service); record in $DIR/NAME.rec.
direct() {
    printf '%s' "$3" >"$DIR/$1.json"
    wine "$BIN/tray_sender.exe" --pipe "$P6" --out "$WDIR\\$1.rec" --id "$2" --raw-file "$WDIR\\$1.json" \
        >"$WORK/$1.out" 2>&1
    RC=$?
}

# ---- the service end, then the tray trusting it ----
# A history written by an older version: its lines have no "sender".
mkdir -p "$DIR/pop"
echo '{"v":1,"id":"legacy-1","title":"Stored before senders were recorded","time":"2026-01-01T00:00:00Z"}' >"$PHIST"
wine "$BIN/tray_sender.exe" --service-end --pipe "$P6" --out "$WDIR\\svc.rec" --spool "$WDIR\\svc-in" \
    --until "$WDIR\\svc.stop" --break-on-first-response >"$WORK/svc.out" 2>&1 &
svc_pid=$!
wait_until 20 "grep -q '^pid ' '$SVC_REC' 2>/dev/null"
spid=$(sed -n 's/^pid \([0-9]*\).*/\1/p' "$SVC_REC" | tr -d '\r')
wine "$BIN/TrayNotifier.exe" --pipe "$P6" --data-dir "$WDIR\\pop" --log "$WDIR\\pop.log" \
    --test-service-pid "${spid:-1}" --open-log-only --popup-timeout-ms 3000 --theme light \
    >"$WORK/pop.out" 2>&1 &
pop_pid=$!
check "the popup tray listens and sees the service end (pid ${spid:-?}) as the service" \
    wait_log "peer [0-9]+ pid=${spid:-none} service" 30 "$PLOG"

# ---- a question from the service: real click on a button, response sent until acknowledged ----
check "a question with two actions reaches the tray through the service" svc q1 \
    '{"v":1,"id":"q1","title":"Install updates now?","body":"3 updates are ready. Windows restarts when they are installed.","level":"warning","source":"patch-agent","actions":[{"id":"now","label":"Restart now"},{"id":"later","label":"Later"}],"sticky":true,"sender":{"kind":"system","account":"NT AUTHORITY\\SYSTEM","sid":"S-1-5-18"}}'
check "it is shown in the Pipes window" wait_log 'popup shown q1 ' 10 "$PLOG"
check "the sender the service wrote is kept (trusted connection)" \
    grep -q '"id":"q1".*"sender":{"kind":"system","account":"NT AUTHORITY\\\\SYSTEM","sid":"S-1-5-18"}' "$PHIST"
check "a real mouse click on 'Later'" click "Install updates" action1
check "the tray answers: response q1 action later" wait_log 'popup q1 action later' 10 "$PLOG"
check "the service end got the response (not acknowledged at first) with session and user" \
    wait_until 10 "grep -Eq '^response-unacked q1 action later [0-9]+ [^ -]' '$SVC_REC'"
check "after the connection broke, the tray sent it again and it was acknowledged" \
    wait_until 20 "grep -q '^response q1 action later' '$SVC_REC'"
check "the tray logs the service's acknowledgement" wait_log 'response q1 acknowledged by the service' 10 "$PLOG"
check "nothing is left waiting in responses.jsonl" wait_until 5 "test ! -s '$DIR/pop/responses.jsonl'"
check "the answer is in the history after the notification" \
    grep -q '^{"v":1,"type":"response","id":"q1","result":"action","action":"later"' "$PHIST"
check "the popup closed after the answer" popup_gone "Install updates"

# ---- the keyboard: Enter presses the default button, Tab moves, Esc dismisses ----
svc q2 '{"v":1,"id":"q2","title":"Keyboard Enter","actions":[{"id":"yes","label":"Yes"},{"id":"no","label":"No"}],"sticky":true}'
wait_log 'popup shown q2 ' 10 "$PLOG"
click "Keyboard Enter" margin && xdotool key --delay 100 Return
check "Enter (a real keystroke) answers with the first, default action" \
    wait_until 10 "grep -q '^response q2 action yes' '$SVC_REC'"
svc q3 '{"v":1,"id":"q3","title":"Keyboard Tab","actions":[{"id":"a","label":"First"},{"id":"b","label":"Second"}],"sticky":true}'
wait_log 'popup shown q3 ' 10 "$PLOG"
click "Keyboard Tab" margin && xdotool key --delay 150 Tab Tab Return
check "Tab Tab Enter answers with the second action" wait_until 10 "grep -q '^response q3 action b' '$SVC_REC'"
svc q4 '{"v":1,"id":"q4","title":"Keyboard Esc","actions":[{"id":"ok","label":"OK"}],"sticky":true}'
wait_log 'popup shown q4 ' 10 "$PLOG"
click "Keyboard Esc" margin && xdotool key --delay 100 Escape
check "Esc dismisses: response dismissed" wait_until 10 "grep -q '^response q4 dismissed -' '$SVC_REC'"

# ---- the timeout; sticky stays ----
xdotool mousemove 5 5   # a popup under the pointer does not time out (hovered)
svc q5 '{"v":1,"id":"q5","title":"Times out","actions":[{"id":"ok","label":"OK"}]}'
svc s1 '{"v":1,"id":"s1","title":"Sticky backup failure","body":"Stays until dismissed.","level":"error","sticky":true}'
check "an unanswered question hides after its timeout: response timeout" \
    wait_until 15 "grep -q '^response q5 timeout -' '$SVC_REC'"
sleep 1   # well past the 3 s timeout of s1 too
check "the sticky one stays past the timeout" test "$(popups_titled 'Sticky backup')" -eq 1
check "a real click on Close closes it" click "Sticky backup" close
check "... and it is gone" wait_gone "Sticky backup"

# ---- a tag updated 101 times is one window; a clear removes it ----
for v in $(seq 0 100); do
    spool "$(printf '{"v":1,"id":"cp-%03d","title":"Copying files","tag":"copy","progress":{"value":%d,"status":"%d of 100 files"},"sticky":true}' \
        "$v" "$v" "$v")"
done
check "101 progress updates acknowledged" wait_until 60 "test \$(grep -c '^ack cp-' '$SVC_REC') -eq 101"
# An ack says stored; the window is updated after it (about a second later under load).
updated_100_times() {
    test "$(grep -c 'updated in place (tag copy' "$DIR/$PLOG")" -eq 100 -a \
        "$(grep 'updated in place (tag copy' "$DIR/$PLOG" | tail -n1 | grep -c 'progress 100)')" -eq 1
}
check "100 in-place updates, the last at 100%" wait_until 20 updated_100_times
check "progress 0..100 is one window" test "$(popups_titled 'Copying files')" -eq 1
check "a clear of the tag" svc cp-clear '{"v":1,"id":"cp-clear","tag":"copy","clear":true}'
check "closes the window" wait_log 'popup cp-100 closed: tag copy cleared' 10 "$PLOG"
check "... it is gone" wait_gone "Copying files"

# ---- an id stored by an older version (no sender) is still a repeat ----
direct legacy legacy-1 '{"v":1,"id":"legacy-1","title":"Stored before senders were recorded"}'
check "a repeat of an id stored without a sender is acknowledged, not stored or shown again" \
    test "$RC" -eq 0 -a "$(grep -c '"id":"legacy-1"' "$PHIST")" -eq 1
check "... (logged as a duplicate)" wait_log 'duplicate legacy-1' 5 "$PLOG"

# ---- a direct sender cannot claim to be someone else ----
direct forged forged-1 '{"v":1,"id":"forged-1","title":"Forged","sender":{"kind":"system","account":"NT AUTHORITY\\SYSTEM","sid":"S-1-5-18"}}'
check "a direct sender's notification is acknowledged" test "$RC" -eq 0
check "its claimed sender is replaced (logged)" wait_log 'sender of forged-1 replaced' 5 "$PLOG"
check "the history shows its own identity (kind user, not S-1-5-18)" \
    grep -Eq '"id":"forged-1".*"sender":\{"kind":"user","account":"[^"]+","sid":"S-1-5-21-' "$PHIST"
direct wd-direct q1 '{"v":1,"type":"withdraw","id":"q1"}'
check "only the service may withdraw (a direct withdraw is rejected not_allowed)" \
    grep -q '^rejected q1 not_allowed' "$DIR/wd-direct.rec"

# ---- the service withdraws a question answered elsewhere ----
svc q6 '{"v":1,"id":"q6","title":"Answered elsewhere","actions":[{"id":"ok","label":"OK"}],"sticky":true}'
wait_log 'popup shown q6 ' 10 "$PLOG"
spool '{"v":1,"type":"withdraw","id":"q6","result":"action","action":"ok","session":2,"user":"CORP\\bob"}'
check "a withdraw closes the popup without an answer" wait_log 'popup q6 withdrawn by the service' 10 "$PLOG"
check "the withdraw is acknowledged" wait_until 10 "test \$(grep -c '^ack q6\$' '$SVC_REC') -eq 2"
check "the history records it" grep -q '^{"v":1,"type":"withdraw","id":"q6"' "$PHIST"

# ---- this session's answer raced the one the service took first: the withdraw counts ----
# The service withdraws a question from every session but the winner's, so a withdraw that crosses
# this session's own response on the wire says that response lost (PROTOCOL.md 5a).
svc q7 '{"v":1,"id":"q7","title":"Raced elsewhere","actions":[{"id":"yes","label":"Yes"},{"id":"no","label":"No"}],"sticky":true}'
wait_log 'popup shown q7 ' 10 "$PLOG"
check "a real click on 'No' answers q7 in this session" click "Raced elsewhere" action1
check "... its response reaches the service end" wait_until 10 "grep -q '^response q7 action no' '$SVC_REC'"
spool '{"v":1,"type":"withdraw","id":"q7","result":"action","action":"yes","session":2,"user":"CORP\\bob"}'
check "the withdraw naming the winner is acknowledged" wait_until 10 "test \$(grep -c '^ack q7\$' '$SVC_REC') -eq 2"
check "the history keeps this session's response, then the withdraw after it" \
    test "$(grep '"id":"q7"' "$PHIST" | sed -n 's/^{"v":1,"type":"\([a-z]*\)".*/\1/p' | tr '\n' ' ')" = "response withdraw "
check "... and does not log it as not stored" bash -c '! grep -q "withdraw q7 not stored" "$1"' _ "$DIR/$PLOG"

# ---- urgent shows while paused; others wait ----
wine "$BIN/TrayNotifier.exe" --pause --pipe "$P6" >"$WORK/pause6.out" 2>&1
wait_log ' paused$' 5 "$PLOG"
svc pq '{"v":1,"id":"pq","title":"While paused","actions":[{"id":"ok","label":"OK"}]}'
svc urg '{"v":1,"id":"urg","title":"Urgent while paused","level":"error","priority":"urgent"}'
check "an urgent notification is shown while paused" wait_log 'urgent urg shown while paused' 10 "$PLOG"
check "... in the Pipes window" test "$(popups_titled 'Urgent while paused')" -eq 1
check "a normal one is stored and acknowledged but not shown" \
    test "$(grep -c 'popup shown pq ' "$DIR/$PLOG")" -eq 0 -a "$(grep -c '"id":"pq"' "$PHIST")" -eq 1
wine "$BIN/TrayNotifier.exe" --resume --pipe "$P6" >"$WORK/resume6.out" 2>&1
click "Urgent while paused" close

# ---- click to open: the host first, the URL to the shell (logged by the test hook) ----
svc op1 '{"v":1,"id":"op1","title":"Build 42 failed","body":"See the log.","open":"https://ci.example.com/build/42?tab=log","sticky":true}'
wait_log 'popup shown op1 ' 10 "$PLOG"
ui6 "point:Build 42 failed:open"
check "the window has an Open button" test "$RC" -eq 0
check "a real click on it opens the https URL" click "Build 42 failed" open
check "... through the shell (test hook logs it)" \
    wait_log 'open url https://ci.example.com/build/42\?tab=log \(test hook: not opened\)' 10 "$PLOG"
direct badurl bu1 '{"v":1,"id":"bu1","title":"x","open":"file:///C:/Windows/System32/calc.exe"}'
direct jsurl bu2 '{"v":1,"id":"bu2","title":"x","open":"javascript:alert(1)"}'
direct fouract bu3 '{"v":1,"id":"bu3","title":"x","actions":[{"id":"a","label":"A"},{"id":"b","label":"B"},{"id":"c","label":"C"},{"id":"d","label":"D"}]}'
check "file: and javascript: links are rejected (bad_url), a 4th action too (too_many_actions)" \
    grep -q '^rejected bu1 malformed bad_url' "$DIR/badurl.rec"
check "... javascript:" grep -q '^rejected bu2 malformed bad_url' "$DIR/jsurl.rec"
check "... a 4th action" grep -q '^rejected bu3 malformed too_many_actions' "$DIR/fouract.rec"

# ---- 8,192 bytes of body: all of it, with a scroll bar ----
long=$(head -c 20000 /dev/zero | tr '\0' 'w' | fold -w 9 | sed 's/$/ /' | tr -d '\n' | head -c 8188)END.
direct long long-1 "{\"v\":1,\"id\":\"long-1\",\"title\":\"Long report\",\"body\":\"$long\",\"sticky\":true}"
wait_log 'popup shown long-1 ' 10 "$PLOG"
ui6 "body:Long report"
check "a body of 8,192 bytes is in the window in full (all 8,192 characters)" \
    grep -q '^chars 8192 vscroll 1' "$WORK/ui6.out"
check "... the same text" test "$(sed -n 2p "$WORK/ui6.out" | tr -d '\r')" = "$long"
click "Long report" close

# ---- stacking: at most 4 on screen, the rest summarised ----
for k in 1 2 3 4 5 6; do svc "st$k" "{\"v\":1,\"id\":\"st$k\",\"title\":\"Stacked $k\",\"sticky\":true}"; done
wait_log 'popup shown st6 ' 10 "$PLOG"
ui6 popups
check "4 popups on screen and a summary of 2 more" \
    test "$(grep -c '^popup .* Stacked' "$WORK/ui6.out")" -eq 4 -a "$(grep -c '^popup .* +2 more' "$WORK/ui6.out")" -eq 1
check "the newest is on top" \
    test "$(grep '^popup .* Stacked' "$WORK/ui6.out" | sort -n -k3 | head -n1 | grep -c 'Stacked 6')" -eq 1
for k in 6 5 4 3 2 1; do click "Stacked $k" close; wait_gone "Stacked $k"; done
check "closing them shows the waiting ones and drops the summary" popup_gone "+"

# ---- mute from the history window (real right click), unmute from the menu ----
svc m1 '{"v":1,"id":"m1","title":"Backup done","source":"nightly-backup"}'
wait_log 'balloon shown .*title=Backup done' 10 "$PLOG"
# The first row is m1: a left click selects it, a right click opens its menu, whose first item is
# "Mute nightly-backup for 1 hour" (each click once its target is on screen and uncovered).
check "a real right click on the first row of Recent notifications" click_at history-row0 1 3
check "... opens its context menu: a real click on its first item" click_at menu-item0
check "'Mute for 1 hour' mutes the row's source" \
    wait_log 'muted nightly-backup until [1-9]' 10 "$PLOG"
svc m2 '{"v":1,"id":"m2","title":"Backup done again","source":"nightly-backup"}'
check "a muted source's notification is stored, acknowledged, not shown" \
    wait_log 'muted m2 \(source nightly-backup\)' 10 "$PLOG"
svc m3 '{"v":1,"id":"m3","title":"Backup urgent","source":"nightly-backup","priority":"urgent"}'
check "an urgent one of a muted source is shown" wait_log 'popup shown m3 ' 10 "$PLOG"
click "Backup urgent" close
ui6 unmute0
check "Unmute from the Muted sources menu" wait_log 'unmuted nightly-backup' 10 "$PLOG"
sleep 2.2   # past the balloon hold-off
svc m4 '{"v":1,"id":"m4","title":"Backup after unmute","source":"nightly-backup"}'
check "after unmute its notifications show again" wait_log 'balloon shown .*title=Backup after unmute' 10 "$PLOG"

# ---- a click on a balloon: its link, or the history at it ----
ui6 balloon-click
check "a click on a balloon without a link opens the history at that entry" \
    wait_log 'history window at m4 \(row 0\)' 10 "$PLOG"
ui6 all-in-window
check "the setting 'show all notifications in the Pipes window'" wait_log 'show all in the Pipes window: on' 5 "$PLOG"
svc plain1 '{"v":1,"id":"plain1","title":"Plain but in the window"}'
check "... puts a plain notification in the window" wait_log 'popup shown plain1 ' 10 "$PLOG"
click "Plain but in the window" title
check "a click on its title opens the history at it" wait_log 'history window at plain1' 10 "$PLOG"
ui6 all-in-window

# ---- pipes-notify's sending flags, composed with the protocol writer ----
wine "$BIN/pipes-notify.exe" --pipe "$P6" --id pn-1 --title "From pipes-notify" --action yes=Yes --action no=No \
    --open "https://example.com/x" --tag pn --progress 40 --status "4 of 10" --sticky --priority high \
    >"$WORK/pn1.out" 2>&1
check "pipes-notify --action x2 --open --tag --progress --status --sticky --priority is stored as sent" \
    grep -q '"id":"pn-1","title":"From pipes-notify","time":"[^"]*","actions":\[{"id":"yes","label":"Yes"},{"id":"no","label":"No"}\],"open":"https://example.com/x","tag":"pn","progress":{"value":40,"status":"4 of 10"},"sticky":true,"priority":"high"' "$PHIST"
wine "$BIN/pipes-notify.exe" --pipe "$P6" --id pn-2 --clear-tag pn >"$WORK/pn2.out" 2>&1
check "pipes-notify --clear-tag closes its window" wait_log 'popup pn-1 closed: tag pn cleared' 10 "$PLOG"
wine "$BIN/pipes-notify.exe" --pipe "$P6" --title x --open "file:///C:/x" >"$WORK/pn3.out" 2>&1
pn3=$?
wine "$BIN/pipes-notify.exe" --pipe "$P6" --title x --action a=A --action b=B --action c=C --action d=D >"$WORK/pn4.out" 2>&1
check "pipes-notify refuses --open file: and a 4th --action (exit 2, nothing sent)" \
    test "$pn3" -eq 2 -a $? -eq 2

# ---- the history window: answer and state columns ----
# A real click on the first row, then Ctrl+A: every row, not only the one selected.
click_at history-row0 && xdotool key ctrl+a
wine "$BIN/tray_sender.exe" --ui copy --pipe "$P6" >"$WORK/pop-copy.out" 2>&1
xdotool key Escape   # closes Recent notifications (out of the screenshots)
check "the history's answer column shows the chosen action's label" grep -q $'Install updates now?\t.*\tLater\t' "$WORK/pop-copy.out"
check "... a withdrawn one as answered elsewhere" grep -q 'Answered elsewhere: OK (CORP\\bob, session 2)' "$WORK/pop-copy.out"
check "... a raced one as the answer that won, not this session's 'No'" \
    grep -q $'Raced elsewhere\t.*\tAnswered elsewhere: Yes (CORP\\\\bob, session 2)\t' "$WORK/pop-copy.out"
check "the state column: the last progress cleared, the earlier ones replaced" \
    grep -q $'Copying files\t.*\tCleared' "$WORK/pop-copy.out"
check "... replaced" test "$(grep -c $'Copying files\t.*\tReplaced' "$WORK/pop-copy.out")" -ge 99

# ---- screenshots of the window, light and dark, with actions and with progress ----
# shot NAME: the screen (import -window root), cropped to the visible popups of the tray on $P6.
shot() {
    local box
    ui6 popups
    box=$(tr -d '\r' <"$WORK/ui6.out" | awk '/^popup /{ if (n++ == 0 || $2 < x0) x0 = $2; if (n == 1 || $3 < y0) y0 = $3;
        if ($2 + $4 > x1) x1 = $2 + $4; if ($3 + $5 > y1) y1 = $3 + $5 }
        END { if (n) printf "%dx%d+%d+%d", x1 - x0 + 24, y1 - y0 + 24, x0 - 12, y0 - 12 }')
    [ -n "$box" ] || return 1
    import -window root "$WORK/$1-full.png" 2>>"$WORK/import.log" &&
        convert "$WORK/$1-full.png" -crop "$box" +repage "$WORK/$1.png" 2>>"$WORK/import.log" &&
        test "$(identify -format '%k' "$WORK/$1.png" 2>/dev/null || echo 0)" -ge 64
}
demo_popups() { # demo_popups SEND-FUNCTION: the two notifications of the screenshots
    "$1" shot-q '{"v":1,"id":"shot-q","title":"Install updates now?","body":"3 updates are ready: a security update for Windows, Office and the printer driver. Windows restarts when they are installed.","level":"warning","source":"patch-agent","actions":[{"id":"now","label":"Restart now"},{"id":"later","label":"Later"}],"open":"https://intranet.example.com/updates/2026-12","sticky":true,"sender":{"kind":"system","account":"NT AUTHORITY\\SYSTEM","sid":"S-1-5-18"}}'
    "$1" shot-p '{"v":1,"id":"shot-p","title":"Nightly backup running","body":"Documents and Pictures to \\\\nas01\\backup","source":"nightly-backup","tag":"backup","progress":{"value":62,"status":"Copying 744 of 1,204 files"},"sticky":true,"sender":{"kind":"service","account":"NT SERVICE\\Backup","sid":"S-1-5-80-1"}}'
}
xdotool mousemove 5 5
demo_popups svc
wait_log 'popup shown shot-p ' 10 "$PLOG"
check "screenshot of the light window (actions and progress)" shot popup-light
: >"$DIR/svc.stop"
wine "$BIN/TrayNotifier.exe" --exit --pipe "$P6" >"$WORK/exit-pop.out" 2>&1
stop_pid "$pop_pid"
stop_pid "$svc_pid"
# The same in dark, from a tray forced to the dark theme (the service end is gone: a new one).
rm -f "$DIR/svc.stop" "$SVC_REC"
wine "$BIN/tray_sender.exe" --service-end --pipe "$P6" --out "$WDIR\\svc.rec" --spool "$WDIR\\svc-in" \
    --until "$WDIR\\svc.stop" >"$WORK/svc2.out" 2>&1 &
svc_pid=$!
wait_until 20 "grep -q '^pid ' '$SVC_REC' 2>/dev/null"
spid=$(sed -n 's/^pid \([0-9]*\).*/\1/p' "$SVC_REC" | tr -d '\r')
wine "$BIN/TrayNotifier.exe" --pipe "$P6" --data-dir "$WDIR\\pop-dark" --log "$WDIR\\pop-dark.log" \
    --test-service-pid "${spid:-1}" --theme dark >"$WORK/pop-dark.out" 2>&1 &
pop_pid=$!
wait_log "peer [0-9]+ pid=${spid:-none} service" 30 pop-dark.log
demo_popups svc
wait_log 'popup shown shot-p ' 10 pop-dark.log
check "screenshot of the dark window" shot popup-dark
if [ -n "${TRAY_POPUP_SHOTS:-}" ]; then
    cp "$WORK/popup-light.png" "$WORK/popup-dark.png" "$TRAY_POPUP_SHOTS/" && say "popup screenshots copied to $TRAY_POPUP_SHOTS"
fi
: >"$DIR/svc.stop"
wine "$BIN/TrayNotifier.exe" --exit --pipe "$P6" >"$WORK/exit-pop2.out" 2>&1
stop_pid "$pop_pid"
stop_pid "$svc_pid"

# ---- a response the service never acknowledged survives a restart of the tray ----
# start_pair NAME [SERVICE-END OPTIONS]: a service end and a tray (data in pop-restart) trusting it.
start_pair() {
    local name=$1
    shift
    rm -f "$DIR/svc.stop" "$SVC_REC"
    wine "$BIN/tray_sender.exe" --service-end --pipe "$P6" --out "$WDIR\\svc.rec" --spool "$WDIR\\svc-in" \
        --until "$WDIR\\svc.stop" "$@" >"$WORK/svc-$name.out" 2>&1 &
    svc_pid=$!
    wait_until 20 "grep -q '^pid ' '$SVC_REC' 2>/dev/null"
    spid=$(sed -n 's/^pid \([0-9]*\).*/\1/p' "$SVC_REC" | tr -d '\r')
    wine "$BIN/TrayNotifier.exe" --pipe "$P6" --data-dir "$WDIR\\pop-restart" --log "$WDIR\\pop-restart.log" \
        --test-service-pid "${spid:-1}" >"$WORK/pop-$name.out" 2>&1 &
    pop_pid=$!
    wait_log "peer [0-9]+ pid=${spid:-none} service" 30 pop-restart.log
}
start_pair norestart --no-ack
svc qr '{"v":1,"id":"qr","title":"Survives a restart","actions":[{"id":"keep","label":"Keep"}],"sticky":true}'
wait_log 'popup shown qr ' 10 pop-restart.log
click "Survives a restart" action0
check "a response the service does not acknowledge" \
    wait_until 10 "grep -q '^response-unacked qr action keep' '$SVC_REC'"
check "... is kept in responses.jsonl" wait_until 5 "grep -q '\"id\":\"qr\"' '$DIR/pop-restart/responses.jsonl'"
kill -9 "$pop_pid" 2>/dev/null   # the tray dies (the wine process is the Windows process)
wait "$pop_pid" 2>/dev/null
: >"$DIR/svc.stop"
stop_pid "$svc_pid"
start_pair restarted
check "after the tray was killed and started again, the new service connection gets it" \
    wait_until 20 "grep -q '^response qr action keep' '$SVC_REC'"
check "... and once acknowledged it is no longer kept" \
    wait_until 10 "test ! -s '$DIR/pop-restart/responses.jsonl'"
: >"$DIR/svc.stop"
wine "$BIN/TrayNotifier.exe" --exit --pipe "$P6" >"$WORK/exit-pop3.out" 2>&1
stop_pid "$pop_pid"
stop_pid "$svc_pid"
