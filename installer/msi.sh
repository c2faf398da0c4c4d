#!/usr/bin/env bash
# msi.sh BUILD_DIR OUT_MSI|-
# Lays out the MSI's files in BUILD_DIR/msi-stage (binaries of BUILD_DIR, SDK headers, import
# libraries for MinGW and MSVC, CMake package, docs, example), then builds OUT_MSI with
# `wixl -a x64` from installer/Pipes.wxs. OUT_MSI "-" means dist/Pipes-<version>-x64.msi.
# The version is the build's: PIPES_VERSION_OVERRIDE from its CMake cache when set, otherwise
# the numbers in PipesLib/include/pipes_version.h (the one place the version is written).
# Prints the MSI's path as the last line.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:?usage: msi.sh BUILD_DIR OUT_MSI}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
OUT=${2:--}
die() { printf 'msi.sh: %s\n' "$*" >&2; exit 1; }

# ---- version ---------------------------------------------------------------------------
header=$ROOT/PipesLib/include/pipes_version.h
version_part() {
    local v
    v=$(sed -n "s/^#define PIPES_VERSION_$1 \+\([0-9]\+\).*/\1/p" "$header" | head -n1)
    [ -n "$v" ] || die "PIPES_VERSION_$1 not found in $header"
    echo "$v"
}
version="$(version_part MAJOR).$(version_part MINOR).$(version_part PATCH)"
cache=$BUILD_DIR/CMakeCache.txt
[ -f "$cache" ] || die "$BUILD_DIR is not configured (run ./build.sh build)"
override=$(sed -n 's/^PIPES_VERSION_OVERRIDE:[A-Z]*=\(.*\)$/\1/p' "$cache")
if [ -n "$override" ]; then
    version=$override
fi
[[ $version =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "bad version '$version'"
major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]} patch=${BASH_REMATCH[3]}
# MSI ProductVersion: major and minor at most 255, build at most 65535.
[ "$major" -le 255 ] && [ "$minor" -le 255 ] && [ "$patch" -le 65535 ] ||
    die "version $version does not fit an MSI ProductVersion (255.255.65535)"

if [ "$OUT" = - ]; then
    OUT=$ROOT/dist/Pipes-$version-x64.msi
fi

# ---- stage -----------------------------------------------------------------------------
bin=$BUILD_DIR/bin
for f in pipes.dll PipesService.exe TrayNotifier.exe pipes-notify.exe pipes-lockdir.dll; do
    [ -f "$bin/$f" ] || die "$bin/$f is missing (build first)"
done
[ -f "$BUILD_DIR/lib/libpipes.dll.a" ] || die "$BUILD_DIR/lib/libpipes.dll.a is missing"

stage=$BUILD_DIR/msi-stage
rm -rf "$stage"
mkdir -p "$stage/include" "$stage/lib/cmake/Pipes" "$stage/docs" "$stage/sdk-example"
cp "$bin/pipes.dll" "$bin/PipesService.exe" "$bin/TrayNotifier.exe" "$bin/pipes-notify.exe" \
    "$bin/pipes-lockdir.dll" "$stage/"
cp "$ROOT/PipesLib/include/pipes.h" "$stage/include/"
# The installed header states the version the binaries were built as (an override included),
# so SDK users compile against the numbers pipes_version() returns.
sed -e "s/^\(#define PIPES_VERSION_MAJOR\) [0-9]\+/\1 $major/" \
    -e "s/^\(#define PIPES_VERSION_MINOR\) [0-9]\+/\1 $minor/" \
    -e "s/^\(#define PIPES_VERSION_PATCH\) [0-9]\+/\1 $patch/" \
    "$header" > "$stage/include/pipes_version.h"
grep -q "^#define PIPES_VERSION_PATCH $patch\$" "$stage/include/pipes_version.h" ||
    die "could not write the version into the staged pipes_version.h"

# Import libraries. MinGW: the one the build made. MSVC: from pipes.def. llvm-dlltool writes
# the short import format that MSVC's lib.exe itself writes; GNU dlltool's archives (the
# fallback) also link with MSVC's link.exe but are the older long format.
cp "$BUILD_DIR/lib/libpipes.dll.a" "$stage/lib/"
if command -v llvm-dlltool >/dev/null; then
    llvm-dlltool -m i386:x86-64 -d "$ROOT/PipesLib/pipes.def" -D pipes.dll -l "$stage/lib/pipes.lib"
else
    x86_64-w64-mingw32-dlltool -m i386:x86-64 -d "$ROOT/PipesLib/pipes.def" -D pipes.dll \
        -l "$stage/lib/pipes.lib"
fi

cp "$ROOT/installer/sdk/PipesConfig.cmake" "$ROOT/installer/sdk/PipesConfigVersion.cmake" \
    "$ROOT/installer/sdk/PipesMinGW.toolchain.cmake" "$stage/lib/cmake/Pipes/"
cp "$ROOT/installer/sdk-example/example.c" "$ROOT/installer/sdk-example/CMakeLists.txt" \
    "$stage/sdk-example/"
cp "$ROOT/docs/SDK.md" "$ROOT/docs/PROTOCOL.md" "$ROOT/docs/ARCHITECTURE.md" \
    "$ROOT/docs/INSTALLER.md" "$stage/docs/"
cp "$ROOT/README.md" "$stage/"

# ---- wixl ------------------------------------------------------------------------------
command -v wixl >/dev/null || die "wixl not found (./build.sh deps installs it)"
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT"
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
# wixl 0.101 finds Source files only through relative paths (an absolute one is "not found"):
# run it from the build folder with the stage folder named relatively.
(cd "$BUILD_DIR" && wixl -a x64 -D Version="$version" -D StageDir=msi-stage -o "$OUT" \
    "$ROOT/installer/Pipes.wxs" 2> "$BUILD_DIR/wixl.log") ||
    { cat "$BUILD_DIR/wixl.log" >&2; die "wixl failed"; }
[ -s "$OUT" ] || die "wixl wrote no $OUT"
echo "$OUT"
