#!/usr/bin/env bash
# installdir_tests.sh: the install folder's lock (LockInstallDir in pipes-lockdir.dll, run from the
# MSI's Binary table before InstallFiles; docs/INSTALLER.md, docs/SECURITY.md) when INSTALLDIR is
# not Program Files\Pipes, under Wine in a fresh prefix ($BUILD_DIR/wineprefix-installdir):
#   1 a folder that is a link (Wine shows a Unix symbolic link as a reparse point; it makes no
#     junctions): the install fails (1603), nothing is installed, the link's target is unchanged
#   2 a folder with a file in it that another account owns (Wine: a file of another Unix user is
#     owned by S-1-5-7): the install fails, the file is unchanged
#   3 an existing folder Everyone may write to (Unix mode 777): installed, the folder locked (Wine
#     maps the DACL onto the Unix mode: no write for others), the service runs from there;
#     uninstalled
# Wine enforces no file ACLs and runs everything as one user: what only Windows shows (a standard
# user cannot write there) is in docs/SECURITY.md. MSI=<file> tests another package (to see a
# build without the lock fail). Exits 1 when a check fails.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${BUILD_DIR:?BUILD_DIR must be set (./build.sh exports it)}"
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
WORK=$BUILD_DIR/installdir
PREFIX=$BUILD_DIR/wineprefix-installdir
FAILS=0
ok() { echo "  ok   $*"; }
bad() { echo "  FAIL $*"; FAILS=$((FAILS + 1)); }
check() { # check DESCRIPTION COMMAND...: passes when COMMAND succeeds
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

export WINEPREFIX=$PREFIX WINEDEBUG=-all WINEARCH=win64 WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
PIPES_WINE_ENV_NO_INIT=1 . "$ROOT/cmake/wine-env.sh"   # pipes_fresh_prefix
cleanup() {
    if [ -d "$PREFIX" ]; then
        wineserver -k >/dev/null 2>&1
        wineserver -w >/dev/null 2>&1
    fi
    echo "installdir tests: $FAILS failed"
}
trap cleanup EXIT

rm -rf "$WORK"
mkdir -p "$WORK"
winpath() { printf 'Z:%s' "${1//\//\\}"; }
MSI=${MSI:-$WORK/Pipes-x64.msi}
if [ ! -f "$MSI" ]; then
    bash "$ROOT/installer/msi.sh" "$BUILD_DIR" "$MSI" >"$WORK/msi.log" 2>&1 ||
        { cat "$WORK/msi.log"; echo "installdir tests: building the MSI failed"; exit 1; }
fi
pipes_fresh_prefix "$WORK/wineboot.out" || { echo "wineboot -i failed (see $WORK/wineboot.out)"; exit 1; }
C=$PREFIX/drive_c

# install NAME FOLDER: msiexec /i with INSTALLDIR=C:\FOLDER\, its exit code modulo 256 (Wine cuts
# it to 8 bits) in RC, its log in $WORK/NAME.log.
install() {
    wine msiexec /i "$(winpath "$MSI")" "INSTALLDIR=C:\\$2\\" /qn /l*v "$(winpath "$WORK/$1.log")" \
        </dev/null >"$WORK/$1.out" 2>&1
    RC=$(($? % 256))
}
sc_state() { # STATE word of `sc query PipesService`, or NONE
    wine sc query PipesService </dev/null >"$WORK/sc.out" 2>&1
    local s
    s=$(sed -n 's/.*STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p' "$WORK/sc.out" | head -n1)
    echo "${s:-NONE}"
}
listing() { find "$@" -printf '%p %m %U %y %s\n' 2>/dev/null | sort; }
# The lock's refusal is in the installer's log (and its UI, and the Application log).
said() { grep -aqF "$2" "$WORK/$1.log"; }

echo "== 1. INSTALLDIR is a link to another folder"
mkdir -p "$C/Target"
echo marker >"$C/Target/marker.txt"
ln -s "$C/Target" "$C/PipesLinked"
before=$(listing "$C/Target")
install linked PipesLinked
check "msiexec /i exits 1603 (got $RC mod 256)" test "$RC" -eq $((1603 % 256))
check "  ... saying why (a junction, symbolic link or mount point)" \
    said linked 'PipesLinked is a junction, symbolic link or mount point'
check "  ... nothing was installed through the link, the target is unchanged" \
    test "$before" = "$(listing "$C/Target")"
check "  ... no service" test "$(sc_state)" = NONE

echo "== 2. INSTALLDIR holds a file another account owns"
mkdir -p "$C/PipesPlanted"
echo planted >"$C/PipesPlanted/version.dll"
chown nobody "$C/PipesPlanted/version.dll"
before=$(listing "$C/PipesPlanted/version.dll")
install planted PipesPlanted
check "msiexec /i exits 1603 (got $RC mod 256)" test "$RC" -eq $((1603 % 256))
check "  ... naming the file and its owner" said planted 'PipesPlanted\version.dll is owned by S-1-5-7'
check "  ... which is unchanged" \
    test "$before" = "$(listing "$C/PipesPlanted/version.dll")" -a "$(cat "$C/PipesPlanted/version.dll")" = planted
check "  ... and no program of Pipes was put beside it" test ! -e "$C/PipesPlanted/PipesService.exe"
check "  ... no service" test "$(sc_state)" = NONE

echo "== 3. INSTALLDIR is an existing folder Everyone may write to"
mkdir -p "$C/PipesOpen"
chmod 777 "$C/PipesOpen"
install open PipesOpen
check "msiexec /i exits 0 (got $RC)" test "$RC" -eq 0
check "  ... the service runs from there" \
    bash -c 'test "$1" = RUNNING && test -f "$2/PipesOpen/PipesService.exe"' _ "$(sc_state)" "$C"
check "  ... the installer logged the lock" said open 'pipes-lockdir: locked C:\PipesOpen'
# Wine keeps no owner or DACL set on an existing folder: it maps the DACL onto the Unix mode (its
# owner stays the Unix one). That others lost write is what shows here; the exact descriptor
# (owner Administrators, protected) only on Windows (docs/SECURITY.md).
wine "$BUILD_DIR/bin/pipes-svctest.exe" path-sddl 'C:\PipesOpen' </dev/null >"$WORK/sddl.out" 2>&1
check "  ... and others may no longer write to it (Unix mode $(stat -c %a "$C/PipesOpen"), $(tr -d '\r' <"$WORK/sddl.out"))" \
    bash -c 'case $(stat -c %a "$1") in *[2367]) exit 1 ;; esac' _ "$C/PipesOpen"
wine msiexec /x "$(winpath "$MSI")" /qn </dev/null >"$WORK/uninstall.out" 2>&1
check "msiexec /x exits 0" test $(($? % 256)) -eq 0
check "  ... no service" test "$(sc_state)" = NONE

[ "$FAILS" -eq 0 ]
