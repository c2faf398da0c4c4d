# Wine environment for one Pipes build folder. Source it, don't execute it:
#   . cmake/wine-env.sh [BUILD_DIR]        (default: $BUILD_DIR, else "build")
# Exports WINEPREFIX=<BUILD_DIR>/wineprefix, WINEDEBUG=-all and WINEDLLOVERRIDES, and creates the
# prefix if it does not exist yet. Afterwards `wine <BUILD_DIR>/bin/foo.exe >out.txt 2>&1` runs a
# built program in the build's own prefix (never ~/.wine). `wineserver -k` then ends only this prefix.
# cmake/wine-run.sh sources this file with PIPES_WINE_ENV_NO_INIT=1 to get pipes_wine_env alone.

# pipes_wine_env PREFIX: export the variables for PREFIX and create it once.
# Safe to call from many processes at once: creation is serialised with flock on PREFIX.lock.
pipes_wine_env() {
    local prefix=$1
    case $prefix in /*) ;; *) prefix=$PWD/$prefix ;; esac   # Wine requires an absolute path
    export WINEPREFIX=$prefix
    export WINEDEBUG=${PIPES_WINEDEBUG:--all}
    # Empty overrides disable mscoree (Mono) and mshtml (Gecko): no download prompts, faster boot.
    export WINEDLLOVERRIDES="mscoree,mshtml="
    export WINEARCH=win64
    [ -f "$prefix/.pipes-prefix-ready" ] && return 0
    mkdir -p "$(dirname "$prefix")" || return 1
    (
        flock 9 || exit 1
        # Another process may have finished creating it while we waited for the lock.
        [ -f "$prefix/.pipes-prefix-ready" ] && exit 0
        rm -rf "$prefix"
        mkdir -p "$prefix"
        log=$(dirname "$prefix")/wineprefix-init.log
        if ! wine wineboot -i >"$log" 2>&1; then
            echo "wine-env: creating the Wine prefix $prefix failed; see $log" >&2
            exit 1
        fi
        # Let the server flush the registry and exit, so the prefix on disk is complete.
        wineserver -w >>"$log" 2>&1
        touch "$prefix/.pipes-prefix-ready"
    ) 9>"$prefix.lock"
}

# ---- shared by the end-to-end scripts (installer/e2e.sh, installer/demo.sh, the tray and service
# suites) ----

# pipes_wait_for SECONDS COMMAND...: runs COMMAND every 0.5 s until it succeeds; 1 on timeout.
# The arguments are expanded once, by the caller: anything that must be re-read on each poll
# belongs inside a function.
pipes_wait_for() {
    local limit=$(($(date +%s) + $1))
    shift
    while ! "$@"; do
        [ "$(date +%s)" -lt "$limit" ] || return 1
        sleep 0.5
    done
}

# pipes_fresh_prefix LOG: ends the server of $WINEPREFIX, makes the prefix anew (wineboot -i, output
# in LOG) and starts a persistent server. 1 if wineboot failed.
pipes_fresh_prefix() {
    wineserver -k >/dev/null 2>&1
    wineserver -w >/dev/null 2>&1
    rm -rf "$WINEPREFIX"
    wine wineboot -i </dev/null >"$1" 2>&1 || return 1
    # Let wineboot's server end before the persistent one starts: a server started while the first
    # is still exiting loses what services.exe registers (a new service vanishes; seen with Wine 8).
    wineserver -w
    wineserver -p
}

# pipes_start_xvfb LOG: starts Xvfb (1024x768) on the first free display from :90, waits until it
# accepts connections and exports DISPLAY; XVFB_PID is its pid (the caller kills it). A number
# another X server takes meanwhile is skipped. 1 if no display came up.
pipes_start_xvfb() {
    local n i
    for n in $(seq 90 140); do
        [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] && continue
        Xvfb ":$n" -screen 0 1024x768x24 -nolisten tcp >"$1" 2>&1 &
        XVFB_PID=$!
        for i in $(seq 1 100); do
            kill -0 "$XVFB_PID" 2>/dev/null || break   # lost the number to another server
            if [ -e "/tmp/.X11-unix/X$n" ]; then
                export DISPLAY=":$n"
                return 0
            fi
            sleep 0.1
        done
        kill "$XVFB_PID" 2>/dev/null
        XVFB_PID=
    done
    return 1
}

if [ "${PIPES_WINE_ENV_NO_INIT:-0}" != 1 ]; then
    pipes_wine_env "${1:-${BUILD_DIR:-build}}/wineprefix"
fi
