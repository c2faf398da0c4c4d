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

if [ "${PIPES_WINE_ENV_NO_INIT:-0}" != 1 ]; then
    pipes_wine_env "${1:-${BUILD_DIR:-build}}/wineprefix"
fi
