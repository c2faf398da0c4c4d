#!/usr/bin/env bash
# Pipes build driver for Linux: cross-builds the Windows binaries with MinGW-w64 and runs the
# tests under Wine. Run ./build.sh help for the verbs. On Windows use build.ps1 instead.
#
# Environment:
#   BUILD_DIR   build folder (default: build); holds the Wine prefix too (<BUILD_DIR>/wineprefix)
#   BUILD_TYPE  CMake build type (default: Release)
#   JOBS        parallel compile jobs (default: 2; the machine is shared, keep it at 2 or less)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=${BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
export BUILD_DIR
BUILD_TYPE=${BUILD_TYPE:-Release}
JOBS=${JOBS:-2}
cd "$ROOT"

# Debian 12 packages the build and the tests need. One list: append what your part needs.
DEPS="mingw-w64 g++-mingw-w64-x86-64 gcc-mingw-w64-x86-64 wine wine64 wixl msitools xvfb xauth
imagemagick cmake make googletest clang llvm lld x11-utils libclang-rt-14-dev libxml2-utils procps file ca-certificates
jq nodejs mosquitto mosquitto-clients openssl python3 xdotool curl"

say() { printf '== %s\n' "$*"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# ---- deps: install the missing packages (no apt call at all when everything is there) ----
# The broker tests connect to 'localhost' (their TLS certificates name it). Every installed Debian
# maps it in /etc/hosts; a bare debootstrap root (no /etc/hosts) does not, and Wine's resolver then
# fails. Adds the standard line only when 'localhost' does not resolve at all.
ensure_localhost() {
    getent hosts localhost >/dev/null 2>&1 && return 0
    [ "$(id -u)" -eq 0 ] || die "deps: 'localhost' does not resolve; add '127.0.0.1 localhost' to /etc/hosts"
    say "deps: 'localhost' does not resolve: adding '127.0.0.1 localhost' to /etc/hosts"
    printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >>/etc/hosts
}

cmd_deps() {
    local missing=() pkg
    for pkg in $DEPS; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    ensure_localhost
    if [ ${#missing[@]} -eq 0 ]; then
        say "deps: all packages present"
        return 0
    fi
    say "deps: installing ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "deps: not root and no sudo; install as root: ${missing[*]}"
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# ---- build: configure (cross, MinGW-w64) and compile into $BUILD_DIR ----
cmd_build() {
    command -v cmake >/dev/null || die "cmake not found: run ./build.sh deps first"
    say "build: configuring $BUILD_DIR ($BUILD_TYPE)"
    # Without libuv: the product's build (and pipes.sln's, which the winbuild check compares it
    # with) has no libuv; only the bench verb adds it (bench_libuv).
    cmake -S "$ROOT" -B "$BUILD_DIR" \
        -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-mingw64.cmake" \
        -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DPIPES_BENCH_LIBUV_DIR=
    say "build: compiling"
    cmake --build "$BUILD_DIR" -j "$JOBS"
}

# ---- test: deps + build + ctest under Wine + the extra suites below ----
PASSED=0
FAILED=0
FAILED_NAMES=()

# suite NAME COMMAND [ARGS...]: run one extra suite; it passes when COMMAND exits 0.
# A suite that hangs is stopped after SUITE_TIMEOUT seconds (default 900) and counts as failed,
# so one stuck Wine program cannot eat CI's whole time budget.
suite() {
    local name=$1
    shift
    say "suite: $name"
    if timeout --kill-after=30 "${SUITE_TIMEOUT:-900}" "$@"; then
        PASSED=$((PASSED + 1))
        say "suite: $name passed"
    else
        FAILED=$((FAILED + 1))
        FAILED_NAMES+=("$name")
        say "suite: $name FAILED"
    fi
}

# Extra suites that are not ctest tests (end-to-end scripts, installer checks, ...).
# Register yours with one line: suite "<name>" <command> [args...]
# Commands run from the repository root with BUILD_DIR exported (absolute path), after ctest.
# Redirect Wine's output to files, not pipes (see docs / PLATFORM notes).
run_suites() {
    :
    suite "pipes.dll exports exactly the functions of pipes.h" bash "$ROOT/PipesTests/check_exports.sh"
    suite "fuzz protocol (30 s; ./build.sh fuzz SECONDS for longer)" bash "$ROOT/PipesTests/fuzz/run_fuzz.sh" 30
    suite "installer: MSI tables (msiinfo) and the MSVC import library" bash "$ROOT/installer/check_msi.sh"
    suite "installer: end to end (install, tray, 100 notifications, a question clicked, fleet via mosquitto, SDK, upgrade, uninstall)" \
        bash "$ROOT/installer/e2e.sh"
    suite "installer: the install folder locked wherever INSTALLDIR points (a link, a planted file, an open folder)" \
        bash "$ROOT/installer/installdir_tests.sh"
    suite "TrayNotifier end to end (Wine + Xvfb)" bash "$ROOT/TrayNotifier/tests/run_tray_tests.sh"
    suite "PipesService end to end (Wine, own prefix)" bash "$ROOT/PipesService/tests/run_service_tests.sh"
    suite "answers end to end (service, TrayNotifier, pipes-notify --wait-response, real clicks; Wine + Xvfb)" \
        bash "$ROOT/PipesService/tests/run_answer_tests.sh"
    suite "MQTT client: codec fuzz (15 s), mosquitto (plain, TLS, persistence, SIGKILL), broken broker" bash "$ROOT/PipesService/mqtt/tests/run_mqtt_tests.sh"
    suite "PipesService and a broker: all/host/user topics, status topic, restart, kill before PUBACK, TLS" bash "$ROOT/PipesService/tests/run_fleet_tests.sh"
    suite "PipesService and a broker when things go wrong: broker SIGKILL, 10 MiB publish, flood of 1000, wrong password, the guide's ACL" \
        bash "$ROOT/PipesService/tests/run_fleet_robust_tests.sh"
    suite "Windows build files (pipes.sln, .vcxproj, build.ps1) against CMake" bash "$ROOT/cmake/winbuild/check.sh"
}

run_ctest() {
    local log=$BUILD_DIR/ctest.log rc=0 line failed=0 total=0 f
    say "test: ctest (Windows executables under Wine, prefix $BUILD_DIR/wineprefix)"
    rm -rf "$BUILD_DIR/wine-run-logs"
    # Streamed through tee: safe, because wine-run.sh sends Wine's own output to files.
    ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error \
        --timeout "${CTEST_TIMEOUT:-600}" 2>&1 | tee "$log" || rc=$?
    # ctest ends with e.g. "100% tests passed, 0 tests failed out of 7".
    line=$(grep -Eo '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1 || true)
    if [ -n "$line" ]; then
        failed=${line%% *}
        total=${line##* }
        PASSED=$((PASSED + total - failed))
        FAILED=$((FAILED + failed))
        [ "$failed" -eq 0 ] || FAILED_NAMES+=("ctest ($failed)")
    fi
    # wine-run.sh leaves a program's output behind only when it was killed (ctest timeout).
    for f in "$BUILD_DIR"/wine-run-logs/*.log; do
        [ -f "$f" ] || continue
        say "output of killed test program $(basename "$f"):"
        cat "$f"
    done
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        # ctest failed without a per-test result (no tests found, crash): count it once.
        FAILED=$((FAILED + 1))
        FAILED_NAMES+=("ctest (exit $rc)")
    fi
}

# End this build's Wine prefix (and only it), so no wineserver or service outlives the run.
stop_prefix() {
    if [ -d "$BUILD_DIR/wineprefix" ] && command -v wineserver >/dev/null; then
        WINEPREFIX=$BUILD_DIR/wineprefix wineserver -k >/dev/null 2>&1 || true
    fi
}

cmd_test() {
    cmd_deps
    cmd_build
    run_ctest
    run_suites
    stop_prefix
    if [ ${#FAILED_NAMES[@]} -gt 0 ]; then
        say "failed: ${FAILED_NAMES[*]}"
    fi
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

cmd_clean() {
    case $BUILD_DIR in "$ROOT" | "/" | "$HOME") die "clean: refusing to remove $BUILD_DIR" ;; esac
    stop_prefix
    say "clean: removing $BUILD_DIR"
    rm -rf "$BUILD_DIR"
}

# ---- msi / e2e / demo: the installer (installer/, docs/INSTALLER.md) ----
# msi: build (incremental), then dist/Pipes-<version>-x64.msi with wixl. Prints the MSI's path.
cmd_msi() {
    cmd_deps
    cmd_build
    say "msi: packaging (installer/msi.sh)"
    local msi
    msi=$(bash "$ROOT/installer/msi.sh" "$BUILD_DIR" -) || die "msi: packaging failed"
    say "msi: wrote ${msi##*$'\n'}"
}

# e2e: install, tray, notifications, a question clicked, fleet, SDK, upgrade and uninstall in a fresh prefix (installer/e2e.sh).
cmd_e2e() {
    cmd_deps
    cmd_build
    bash "$ROOT/installer/e2e.sh"
}

# demo: build, package, install into a fresh prefix, notify, screenshot dist/demo.png, a question answered by a click.
cmd_demo() {
    cmd_deps
    cmd_build
    say "demo: packaging (installer/msi.sh)"
    local msi
    msi=$(bash "$ROOT/installer/msi.sh" "$BUILD_DIR" -) || die "demo: packaging failed"
    msi=${msi##*$'\n'}
    say "demo: $msi"
    bash "$ROOT/installer/demo.sh" "$msi"
}

# ---- chaos: the race-widening pass, long (PipesTests/chaos_tests.cmake) ----
# Runs every program of the chaos pass ROUNDS times (default 5) against the chaos pipes.dll with a
# higher delay rate than the short pass in `test` (PIPES_CHAOS_RATE, default 40 percent of hook
# points). Prints each program's result and the failed tests; exit status 0 = all passed.
CHAOS_PROGRAMS="pipes_chaos_tests pipes_lib_tests pipes_sec_tests pipes_service_spool_test_chaos"
cmd_chaos() {
    local rounds=${1:-5} rate=${PIPES_CHAOS_RATE:-40} failed=0 p log
    case $rounds in '' | *[!0-9]*) die "chaos: ROUNDS must be a number, not '$rounds'" ;; esac
    cmd_deps
    cmd_build
    mkdir -p "$BUILD_DIR/chaos-logs"
    for p in $CHAOS_PROGRAMS; do
        log=$BUILD_DIR/chaos-logs/$p.log
        say "chaos: $p, $rounds rounds, PIPES_CHAOS_RATE=$rate (log: $log)"
        if (cd "$BUILD_DIR/bin-chaos" && PIPES_CHAOS_RATE=$rate timeout --kill-after=30 $((rounds * 900)) \
                "$ROOT/cmake/wine-run.sh" "$BUILD_DIR/wineprefix" "$BUILD_DIR/bin-chaos/$p.exe" \
                --gtest_repeat="$rounds" --gtest_color=no >"$log" 2>&1); then
            say "chaos: $p passed $rounds rounds ($(grep -c '^\[       OK \]' "$log") tests run)"
        else
            failed=$((failed + 1))
            say "chaos: $p FAILED:"
            grep -E '^\[  FAILED  \]|Failure$' "$log" | sort | uniq -c | head -20 || tail -20 "$log"
        fi
    done
    stop_prefix
    [ "$failed" -eq 0 ] || die "chaos: $failed program(s) failed"
    say "chaos: all passed"
}

cmd_fuzz() {
    local script=$ROOT/PipesTests/fuzz/run_fuzz.sh
    [ -f "$script" ] || die "fuzz: $script does not exist yet"
    cmd_deps
    bash "$script" "$@"
}

# ---- bench: build, then run pipes-bench under Wine (every scenario with its baselines) ----
# Extra arguments go to pipes-bench (e.g. --reps 5, --only pingpong,churn). Writes dist/bench.json.
# libuv for the bench's side-by-side rows (bench/uv.c): Debian's source of libuv (trixie's, the
# newest release Debian keeps in its archive), checked against its SHA-256 and cross-built as a
# static library in the build folder. Never committed. PIPES_BENCH_LIBUV=0 skips it; if the
# download fails the bench runs without the libuv rows and says so.
LIBUV_VERSION=1.50.0
LIBUV_SHA256=ec9de6ecf2a780fd2afb3b007947d2cd57c3bb17f3b9e721a66774980d35cd4d
LIBUV_URL=http://deb.debian.org/debian/pool/main/libu/libuv1/libuv1_$LIBUV_VERSION.orig.tar.gz

# Prints the install prefix (include/, lib/libuv_a.a), or nothing when libuv is not available.
bench_libuv() {
    local deps=$BUILD_DIR/_deps prefix=$BUILD_DIR/_deps/libuv-$LIBUV_VERSION-prefix
    [ "${PIPES_BENCH_LIBUV:-1}" != 0 ] || return 0
    if [ ! -f "$prefix/lib/libuv_a.a" ]; then
        local tarball=$deps/libuv1_$LIBUV_VERSION.orig.tar.gz src=$deps/libuv1-$LIBUV_VERSION
        mkdir -p "$deps"
        if ! { [ -f "$tarball" ] && echo "$LIBUV_SHA256  $tarball" | sha256sum -c --quiet - 2>/dev/null; }; then
            curl -fsSL --retry 2 -o "$tarball.part" "$LIBUV_URL" >&2 &&
                echo "$LIBUV_SHA256  $tarball.part" | sha256sum -c --quiet - >&2 &&
                mv "$tarball.part" "$tarball" || {
                rm -f "$tarball.part"
                say "bench: could not fetch libuv $LIBUV_VERSION from $LIBUV_URL: no libuv rows" >&2
                return 0
            }
        fi
        rm -rf "$src" "$deps/libuv-build"
        tar -xzf "$tarball" -C "$deps"
        # libuv's own warnings are not this project's: its build talks to a log only
        { cmake -S "$src" -B "$deps/libuv-build" \
            -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-mingw64.cmake" -DCMAKE_BUILD_TYPE=Release \
            -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF &&
            cmake --build "$deps/libuv-build" -j "$JOBS" --target uv_a; } >"$deps/libuv-build.log" 2>&1 || {
            say "bench: libuv $LIBUV_VERSION did not build (see $deps/libuv-build.log): no libuv rows" >&2
            return 0
        }
        # the static library is libuv.a (libuv_a.a before 1.45)
        local lib=$deps/libuv-build/libuv.a
        [ -f "$lib" ] || lib=$deps/libuv-build/libuv_a.a
        mkdir -p "$prefix/lib" && cp -r "$src/include" "$prefix/" && cp "$lib" "$prefix/lib/libuv_a.a" || {
            say "bench: libuv $LIBUV_VERSION built no static library: no libuv rows" >&2
            rm -rf "$prefix"
            return 0
        }
    fi
    printf '%s\n' "$prefix"
}

cmd_bench() {
    cmd_deps
    command -v cmake >/dev/null || die "cmake not found: run ./build.sh deps first"
    local libuv
    libuv=$(bench_libuv) || libuv=""
    say "bench: configuring $BUILD_DIR ($BUILD_TYPE), building pipes-bench only${libuv:+ (with libuv $LIBUV_VERSION)}"
    cmake -S "$ROOT" -B "$BUILD_DIR" \
        -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-mingw64.cmake" \
        -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DPIPES_BENCH_LIBUV_DIR="$libuv"
    cmake --build "$BUILD_DIR" -j "$JOBS" --target pipes-bench
    local exe=$BUILD_DIR/bin/pipes-bench.exe rc=0
    [ -f "$exe" ] || die "bench: $exe was not built"
    mkdir -p "$ROOT/dist"
    say "bench: running pipes-bench $* under Wine (takes a few minutes)"
    # From $ROOT, so the relative JSON path lands in $ROOT/dist. wine-run.sh keeps Wine's output
    # in a file and prints it at the end; stop_prefix then ends anything the run left behind.
    "$ROOT/cmake/wine-run.sh" "$BUILD_DIR/wineprefix" "$exe" --json 'dist\bench.json' "$@" || rc=$?
    stop_prefix
    [ "$rc" -eq 0 ] || die "bench: pipes-bench exited with $rc"
}

# ---- fleet-bench / fleet-soak: the broker bridge under load (docs/FLEET.md "Sizing") ----
# fleet-bench [COUNT]: messages/s from mosquitto_pub to the tray (default 1000), a figure only.
# fleet-soak: the broker suite with a flood of 10,000 messages instead of 1000.
cmd_fleet_bench() {
    cmd_deps
    cmd_build
    bash "$ROOT/PipesService/tests/fleet_bench.sh" "$@"
}
cmd_fleet_soak() {
    cmd_deps
    cmd_build
    FLEET_FLOOD=10000 bash "$ROOT/PipesService/tests/run_fleet_robust_tests.sh"
}

cmd_help() {
    cat <<'EOF'
usage: ./build.sh VERB [ARGS]
  deps            install the missing Debian packages (apt-get; needs root or sudo)
  build           configure and cross-compile into $BUILD_DIR (default: build)
  test            deps + build + ctest under Wine + extra suites; ends with "N passed, N failed"
  clean           remove $BUILD_DIR (and end its Wine prefix)
  demo            the main job: build, MSI, install it under Wine, notifications, a question, dist/demo*.png
  msi             build, then dist/Pipes-<version>-x64.msi (wixl)
  e2e             build, then the installer end to end in a fresh Wine prefix (installer/e2e.sh)
  fuzz [SECONDS]  fuzz the protocol parser (PipesTests/fuzz/run_fuzz.sh)
  chaos [ROUNDS]  the race-widening pass, long: the chaos test programs ROUNDS times (default 5)
                  against bin-chaos/pipes.dll (random delays at hook points); ./build.sh test runs
                  one short round of it through ctest
  bench [ARGS]    build, then run the benchmarks under Wine; table + dist/bench.json (docs/PERFORMANCE.md)
  fleet-bench [COUNT]  build, then messages/s from mosquitto_pub to the tray through the service
                  (COUNT messages, default 1000; docs/FLEET.md "Sizing"); prints figures only
  fleet-soak      build, then the broker robustness suite with a flood of 10,000 messages
  help            this text
environment: BUILD_DIR, BUILD_TYPE (Release), JOBS (2), CTEST_TIMEOUT (600 s per test)
run a built program under the build's prefix:
  cmake/wine-run.sh "$BUILD_DIR/wineprefix" "$BUILD_DIR/bin/PROGRAM.exe" [ARGS]
EOF
}

verb=${1:-help}
[ $# -eq 0 ] || shift
case $verb in
    deps) cmd_deps ;;
    build) cmd_build ;;
    test) cmd_test ;;
    clean) cmd_clean ;;
    demo) cmd_demo ;;
    msi) cmd_msi ;;
    e2e) cmd_e2e ;;
    fuzz) cmd_fuzz "$@" ;;
    chaos) cmd_chaos "$@" ;;
    bench) cmd_bench "$@" ;;
    fleet-bench) cmd_fleet_bench "$@" ;;
    fleet-soak) cmd_fleet_soak ;;
    help | -h | --help) cmd_help ;;
    *) cmd_help >&2; die "unknown verb '$verb'" ;;
esac
