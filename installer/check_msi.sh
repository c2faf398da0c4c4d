#!/usr/bin/env bash
# check_msi.sh: builds the MSI from $BUILD_DIR (into $BUILD_DIR/msi-check, dist/ is left alone) and
# checks its tables with msiinfo: every table the installer relies on has the expected rows.
# Then checks the MSVC import library: all exports of pipes.def are in it, and a program linked
# against it by lld-link (the MSVC-compatible linker) runs under Wine and gets the right
# pipes_version() from pipes.dll. Exits 1 when any check fails.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${BUILD_DIR:?BUILD_DIR must be set (./build.sh exports it)}"
WORK=$BUILD_DIR/msi-check
FAILS=0
ok() { echo "  ok   $*"; }
bad() { echo "  FAIL $*"; FAILS=$((FAILS + 1)); }

rm -rf "$WORK"
mkdir -p "$WORK"
MSI=$WORK/Pipes-check-x64.msi
if ! bash "$ROOT/installer/msi.sh" "$BUILD_DIR" "$MSI" >"$WORK/msi.log" 2>&1; then
    cat "$WORK/msi.log"
    echo "msi check: building the MSI failed"
    exit 1
fi
STAGE=$BUILD_DIR/msi-stage
VERSION=$(sed -n 's/^#define PIPES_VERSION_MAJOR \([0-9]*\).*/\1/p;s/^#define PIPES_VERSION_MINOR \([0-9]*\).*/\1/p;s/^#define PIPES_VERSION_PATCH \([0-9]*\).*/\1/p' \
    "$STAGE/include/pipes_version.h" | paste -sd.)
echo "msi check: $MSI (version $VERSION)"

# table NAME: its rows (msiinfo export prints 3 header lines: names, types, key).
table() { (cd "$WORK" && msiinfo export "$MSI" "$1" 2>/dev/null) | tail -n +4 | tr -d '\r'; }
# row TABLE DESCRIPTION REGEX: one row of TABLE matches the extended regex (columns are tabs).
row() {
    if table "$1" | grep -Eq -- "$3"; then ok "$1: $2"; else bad "$1: $2 (no row matching /$3/)"; fi
}
count() { # count TABLE DESCRIPTION N
    local n
    n=$(table "$1" | grep -c .)
    if [ "$n" -eq "$3" ]; then ok "$1: $2 ($n rows)"; else bad "$1: $2: $n rows, expected $3"; fi
}
T=$'\t'

tables=$(msiinfo tables "$MSI" 2>/dev/null | tr '\n' ' ')
for t in File Component Feature FeatureComponents Directory ServiceInstall ServiceControl Registry \
    Shortcut Upgrade LaunchCondition CustomAction InstallExecuteSequence Property Binary; do
    case " $tables " in *" $t "*) ok "table $t present" ;; *) bad "table $t missing" ;; esac
done

# ---- files and components -------------------------------------------------------------
count File "one row per installed file" 18
for f in pipes.dll PipesService.exe TrayNotifier.exe pipes-notify.exe README.md pipes.h pipes_version.h \
    pipes.lib libpipes.dll.a PipesConfig.cmake PipesConfigVersion.cmake PipesMinGW.toolchain.cmake SDK.md PROTOCOL.md \
    ARCHITECTURE.md INSTALLER.md example.c CMakeLists.txt; do
    row File "$f" "^[^$T]*$T[^$T]*$T([^|$T]*\|)?${f//./\\.}$T"
done
row Directory "INSTALLDIR is Pipes under ProgramFiles64Folder" "^INSTALLDIR${T}ProgramFiles64Folder${T}Pipes$"
count Component "components" 11
if table Component | awk -F'\t' '{ if (int($4) % 512 < 256) bad = 1 } END { exit bad }'; then
    ok "Component: every component is 64-bit (attribute 256)"
else
    bad "Component: a component lacks the 64-bit attribute"
fi
row FeatureComponents "Runtime has the service" "^Runtime${T}ServiceExe$"
row FeatureComponents "SDK has the import libraries" "^SDK${T}SdkLibs$"

# ---- service ---------------------------------------------------------------------------
row ServiceInstall "PipesService, own process (16), automatic (2), NT SERVICE\\PipesService (no password), argument 'service'" \
    "^[^$T]*${T}PipesService${T}Pipes Notification Service${T}16${T}2${T}1${T}${T}${T}NT SERVICE\\\\PipesService${T}${T}service${T}ServiceExe${T}"
# 163 = start on install (1) + stop on install (2) + stop on uninstall (32) + delete on uninstall (128)
row ServiceControl "start on install, stop on install+uninstall, delete on uninstall, wait" \
    "^[^$T]*${T}PipesService${T}163${T}${T}1${T}ServiceExe$"

# ---- registry ----------------------------------------------------------------------------
row Registry "HKLM Run value starts the installed tray (quoted path)" \
    "${T}2${T}SOFTWARE\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run${T}Pipes TrayNotifier${T}\"\[#TrayNotifier\.exe\]\"${T}TrayExe$"
row Registry "Event Log source: EventMessageFile = PipesService.exe" \
    "${T}2${T}SYSTEM\\\\CurrentControlSet\\\\Services\\\\EventLog\\\\Application\\\\PipesService${T}EventMessageFile${T}\[#PipesService\.exe\]${T}ServiceExe$"
row Registry "Event Log source: TypesSupported = 7" \
    "${T}2${T}SYSTEM\\\\CurrentControlSet\\\\Services\\\\EventLog\\\\Application\\\\PipesService${T}TypesSupported${T}#7${T}ServiceExe$"
if table Registry | grep -q 'SOFTWARE\\Pipes\\Service'; then
    bad "Registry: the MSI must not own HKLM\\SOFTWARE\\Pipes\\Service (configuration kept across upgrades)"
else
    ok "Registry: HKLM\\SOFTWARE\\Pipes\\Service is not owned by the MSI"
fi

# ---- shortcut ----------------------------------------------------------------------------
row Shortcut "Start-menu shortcut to TrayNotifier.exe (not advertised)" \
    "^TrayShortcut${T}ProgramMenuFolder${T}Pipes Notifications${T}StartMenuShortcut${T}\[#TrayNotifier\.exe\]${T}"

# ---- upgrades ------------------------------------------------------------------------------
UC='\{5B0C3E63-8E1A-4C4B-9B7D-2F3A6D1E9C41\}'
row Property "UpgradeCode" "^UpgradeCode${T}${UC}$"
row Property "ProductVersion = $VERSION" "^ProductVersion${T}${VERSION//./\\.}$"
row Property "per-machine (ALLUSERS=1)" "^ALLUSERS${T}1$"
row Upgrade "older versions [0.0.0, $VERSION) found and removed (PIPES_OLDER_FOUND)" \
    "^${UC}${T}0\.0\.0${T}${VERSION//./\\.}${T}${T}256${T}${T}PIPES_OLDER_FOUND$"
row Upgrade "newer versions only detected (PIPES_NEWER_FOUND)" \
    "^${UC}${T}${VERSION//./\\.}${T}${T}${T}2${T}${T}PIPES_NEWER_FOUND$"
row LaunchCondition "downgrade refused with a message" "^NOT PIPES_NEWER_FOUND${T}A newer version of Pipes is already installed"

# ---- custom actions and their order ----------------------------------------------------
# 3090 = 18 (exe from an installed file) + 1024 (deferred) + 2048 (no impersonation); its exit
# code is checked (an unsafe data folder stops the install).
row CustomAction "ConfigureService: deferred, no impersonation, exit code checked, PipesService.exe configure" \
    "^ConfigureService${T}3090${T}PipesService\.exe${T}configure(${T}.*)?$"
row InstallExecuteSequence "ConfigureService on first install and major upgrade, not on repair or modify" \
    "^ConfigureService${T}NOT Installed${T}"
# 3073 = 1 (DLL from the Binary table) + 1024 (deferred) + 2048 (no impersonation), exit code checked.
row CustomAction "LockInstallDir: deferred, no impersonation, LockInstallDir of pipes-lockdir.dll" \
    "^LockInstallDir${T}3073${T}LockDirDll${T}LockInstallDir(${T}.*)?$"
row CustomAction "SetLockInstallDirData passes INSTALLDIR to it (51 + 2048)" \
    "^SetLockInstallDirData${T}2099${T}LockInstallDir${T}\[INSTALLDIR\](${T}.*)?$"
row Binary "pipes-lockdir.dll is carried in the Binary table, not installed" "^LockDirDll${T}"
row InstallExecuteSequence "LockInstallDir on install, upgrade and repair (not on removal)" \
    "^LockInstallDir${T}NOT REMOVE~=\"ALL\"${T}"
if table File | grep -q 'pipes-lockdir'; then
    bad "File: pipes-lockdir.dll must not be installed (it runs from the Binary table)"
else
    ok "File: pipes-lockdir.dll is not installed"
fi
# 114 = 50 (exe named by a property) + 64 (ignore exit code); 242 = 50 + 64 + 128 (async, no wait)
row CustomAction "StopTray runs TrayNotifier.exe --exit" "^StopTray${T}114${T}PIPES_TRAY_EXE${T}--exit(${T}.*)?$"
row CustomAction "StartTray starts the tray without waiting" "^StartTray${T}242${T}PIPES_TRAY_EXE(${T}.*)?$"
seq_of() { table InstallExecuteSequence | awk -F'\t' -v a="$1" '$1 == a { print $3 }'; }
in_order() { # in_order A B C...: each action is sequenced after the previous one
    local prev="" p=0 a s
    for a in "$@"; do
        s=$(seq_of "$a")
        if [ -z "$s" ]; then bad "InstallExecuteSequence: $a missing"; return; fi
        if [ "$s" -le "$p" ]; then bad "InstallExecuteSequence: $a ($s) is not after $prev ($p)"; return; fi
        prev=$a p=$s
    done
    ok "InstallExecuteSequence: $*"
}
in_order FindRelatedProducts LaunchConditions CostFinalize SetTrayExePath StopTray InstallValidate \
    RemoveExistingProducts InstallInitialize SetLockInstallDirData LockInstallDir InstallFiles InstallServices ConfigureService StartServices \
    InstallFinalize StartTray

# ---- MSVC import library ------------------------------------------------------------------
LIB=$STAGE/lib/pipes.lib
exports=$(sed -n 's/^ \+\([a-z_]\+\)$/\1/p' "$ROOT/PipesLib/pipes.def")
missing=""
for e in $exports; do
    llvm-nm "$LIB" 2>/dev/null | grep -q " __imp_$e\$" || missing="$missing $e"
done
n=$(echo "$exports" | wc -w)
if [ -z "$missing" ] && [ "$n" -gt 0 ]; then
    ok "pipes.lib has __imp_ symbols for all $n exports of pipes.def"
else
    bad "pipes.lib lacks:$missing"
fi
if command -v clang >/dev/null && command -v lld-link >/dev/null && command -v llvm-dlltool >/dev/null; then
    expected=$(awk -F. '{ printf "%d", $1 * 65536 + $2 * 256 + $3 }' <<<"$VERSION")
    cat >"$WORK/msvc_link.c" <<EOF
/* Linked by lld-link against pipes.lib only (no CRT): exit 0 when pipes.dll answers $VERSION. */
__declspec(dllimport) unsigned pipes_version(const char **text);
__declspec(dllimport) void __stdcall ExitProcess(unsigned code);
void start(void) { ExitProcess(pipes_version(0) == ${expected}u ? 0u : 3u); }
EOF
    printf 'LIBRARY kernel32.dll\nEXPORTS\n    ExitProcess\n' >"$WORK/kernel32.def"
    if llvm-dlltool -m i386:x86-64 -d "$WORK/kernel32.def" -l "$WORK/kernel32.lib" &&
        clang --target=x86_64-pc-windows-msvc -O1 -ffreestanding -c "$WORK/msvc_link.c" \
            -o "$WORK/msvc_link.obj" &&
        lld-link /nologo /entry:start /subsystem:console /nodefaultlib /out:"$WORK/msvc_link.exe" \
            "$WORK/msvc_link.obj" "$LIB" "$WORK/kernel32.lib" >"$WORK/link.log" 2>&1; then
        ok "lld-link links a program against pipes.lib"
        cp "$STAGE/pipes.dll" "$WORK/"
        run_rc=0
        bash "$ROOT/cmake/wine-run.sh" "$BUILD_DIR/wineprefix" "$WORK/msvc_link.exe" >"$WORK/run.log" 2>&1 || run_rc=$?
        # End that prefix's server now rather than let it linger after this script (a chroot
        # that is torn down right after would find /dev still in use).
        WINEPREFIX=$BUILD_DIR/wineprefix wineserver -k >/dev/null 2>&1
        if [ "$run_rc" -eq 0 ]; then
            ok "that program runs under Wine and pipes_version() through pipes.lib is $VERSION"
        else
            cat "$WORK/run.log"
            bad "the program linked against pipes.lib failed under Wine (exit 3: wrong version)"
        fi
    else
        cat "$WORK/link.log" 2>/dev/null
        bad "could not link a program against pipes.lib with clang + lld-link"
    fi
else
    bad "clang, lld-link or llvm-dlltool missing (./build.sh deps installs clang, lld, llvm)"
fi

if [ "$FAILS" -eq 0 ]; then
    echo "msi check: all passed"
else
    echo "msi check: $FAILS failed"
    exit 1
fi
