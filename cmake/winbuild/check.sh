#!/usr/bin/env bash
# check.sh - checks the Visual Studio build (pipes.sln, the .vcxproj files, build.ps1) against the
# CMake build, as far as that can be done without Windows. Run by `./build.sh test` (a suite) after
# the cross build; needs a configured CMake build folder ($BUILD_DIR).
#
#   1. each CMake target from this tree has a .vcxproj (cmake/winbuild/projects.map), and that
#      project has the same .c .cpp .h .rc .def .manifest .mc files (in the right item type), the
#      same preprocessor definitions, include folders, import libraries, project dependencies
#      (linked or build-order only), output name, project type and subsystem;
#      CMake's side comes from its File API (codemodel-v2) in the configured build folder;
#   2. pipes.sln lists every .vcxproj with the GUID the project declares, in the four
#      configurations Debug|Release x x64|ARM64, and each project declares exactly those four;
#   3. all XML files (.vcxproj, .props, .targets, .wxs, .manifest, packages.config) are well-formed;
#   4. the GoogleTest NuGet pin agrees everywhere, and tests use no GoogleTest API newer than the
#      1.8.1 that package ships;
#   5. every C and C++ source compiles warning-free with clang --target=x86_64-w64-mingw32 and the
#      target's own definitions and include folders, with warnings chosen as stand-ins for MSVC /W4;
#   6. build.ps1 runs the same GoogleTest programs that ctest runs, and parses as PowerShell;
#   7. build.ps1 -Package knows where each file installer/Pipes.wxs installs comes from.
# Prints one line per failure and "winbuild: N checks failed" at the end; exit status 0 = all passed.
#
# Environment: BUILD_DIR (default: build), WINBUILD_SKIP_COMPILE=1 skips step 5 (quick runs).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/cmake/winbuild
BUILD_DIR=${BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
OUT=$BUILD_DIR/winbuild-check
JOBS=${JOBS:-2}
cd "$ROOT" || exit 1

FAILS=0
fail() {
    printf 'winbuild: FAIL: %s\n' "$*"
    FAILS=$((FAILS + 1))
}
note() { printf 'winbuild: %s\n' "$*"; }

for tool in cmake jq xmllint realpath; do
    command -v "$tool" >/dev/null || { fail "$tool not found (./build.sh deps installs it)"; exit 1; }
done
[ -f "$BUILD_DIR/CMakeCache.txt" ] || { fail "$BUILD_DIR is not a configured CMake build folder (run ./build.sh build)"; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"

# ---- helpers --------------------------------------------------------------------------------

# Sorted unique lines of $1 that are not in $2 (both newline-separated strings).
only_in() { comm -23 <(printf '%s\n' "$1" | sed '/^$/d' | sort -u) <(printf '%s\n' "$2" | sed '/^$/d' | sort -u); }

# Compares two newline-separated sets; reports each difference. compare_sets WHAT CMAKE VS
# compare_sets WHAT CMAKE VS [NAME_OF_CMAKE_SIDE NAME_OF_VS_SIDE]
compare_sets() {
    local what=$1 a=$2 b=$3 an=${4:-CMake} bn=${5:-the .vcxproj} x
    while IFS= read -r x; do [ -n "$x" ] && fail "$what: '$x' is in $an but not in $bn"; done < <(only_in "$a" "$b")
    while IFS= read -r x; do [ -n "$x" ] && fail "$what: '$x' is in $bn but not in $an"; done < <(only_in "$b" "$a")
}

# MSBuild path (backslashes, macros) -> path relative to the repository root; "@build" for paths in
# the intermediate/output folders (generated files, compared elsewhere), "@unknown:..." otherwise.
# resolve FILE_DIR VALUE   (FILE_DIR: repo-relative folder of the file the value is written in)
resolve() {
    local dir=$1 v=${2//\\//}
    case $v in *'$(IntDir)'* | *'$(OutDir)'* | *'$(IntermediateOutputPath)'* | *'$(PipesGeneratedDir)'*) echo "@build"; return ;; esac
    v=${v//'$(PipesRoot)'/$ROOT/}
    v=${v//'$(SolutionDir)'/$ROOT/}
    v=${v//'$(MSBuildThisFileDirectory)'/$ROOT/$dir/}
    v=${v//'$(ProjectDir)'/$ROOT/$dir/}
    case $v in *'$('*) echo "@unknown:$2"; return ;; esac
    case $v in /*) ;; *) v=$ROOT/$dir/$v ;; esac
    realpath -m --relative-to="$ROOT" "$v"
}

# xpath_lines FILE XPATH: text of the matching nodes, one per line (attributes: their values).
xpath_lines() {
    xmllint --xpath "$2" "$1" 2>/dev/null | sed -E 's/^ *[A-Za-z_]+="(.*)"$/\1/'
}
# Elements by local name, ignoring the MSBuild namespace.
E() { printf "*[local-name()='%s']" "$1"; }

# Values of an ItemDefinitionGroup setting, split at ';', without %(...) and empty entries.
# idg_values FILE TOOL SETTING
idg_values() {
    xpath_lines "$1" "//$(E ItemDefinitionGroup)/$(E "$2")/$(E "$3")/text()" |
        tr ';' '\n' | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' | grep -v -e '^%(' -e '^$' || true
}

# ---- 1. CMake's view: File API codemodel ------------------------------------------------------
QUERY=$BUILD_DIR/.cmake/api/v1/query/client-pipes-winbuild
mkdir -p "$QUERY" && : >"$QUERY/codemodel-v2"
if ! cmake "$BUILD_DIR" >"$OUT/reconfigure.log" 2>&1; then
    fail "re-running CMake in $BUILD_DIR failed (see $OUT/reconfigure.log)"
    exit 1
fi
REPLY=$BUILD_DIR/.cmake/api/v1/reply
INDEX=$(ls -1 "$REPLY"/index-*.json 2>/dev/null | sort | tail -n1)
CODEMODEL=$(jq -r '.reply["client-pipes-winbuild"]["codemodel-v2"].jsonFile // empty' "$INDEX" 2>/dev/null)
[ -n "$CODEMODEL" ] || { fail "no codemodel-v2 reply in $REPLY"; exit 1; }
CODEMODEL=$REPLY/$CODEMODEL

# Targets defined in this tree (directory source relative), as "name<TAB>type<TAB>jsonFile".
jq -r '.configurations[0] as $c | $c.targets[]
       | select(($c.directories[.directoryIndex].source | startswith("/")) | not)
       | [.name, .jsonFile] | @tsv' "$CODEMODEL" >"$OUT/targets.tsv"
# All targets, name<TAB>jsonFile (dependencies of ours may be outside, e.g. GoogleTest).
jq -r '.configurations[0].targets[] | [.name, .jsonFile] | @tsv' "$CODEMODEL" >"$OUT/all-targets.tsv"
target_json() { awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$OUT/all-targets.tsv" | sed "s|^|$REPLY/|"; }

# ---- projects.map ---------------------------------------------------------------------------
declare -A PROJ=() REASON=() TARGET_OF=()
while read -r tgt proj rest; do
    case $tgt in '' | '#'*) continue ;; esac
    if [ "$proj" = "-" ]; then
        REASON[$tgt]=${rest:-no reason given}
    else
        PROJ[$tgt]=$proj
        TARGET_OF[$proj]=$tgt
    fi
done <"$HERE/projects.map"

declare -A CMAKE_TYPE=()
while IFS=$'\t' read -r name json; do
    type=$(jq -r '.type' "$REPLY/$json")
    case $type in EXECUTABLE | SHARED_LIBRARY | STATIC_LIBRARY | MODULE_LIBRARY | OBJECT_LIBRARY) ;; *) continue ;; esac
    CMAKE_TYPE[$name]=$type
    if [ -z "${PROJ[$name]:-}" ] && [ -z "${REASON[$name]:-}" ]; then
        fail "CMake target '$name' ($type) has no line in cmake/winbuild/projects.map (add its .vcxproj, or '-' and why not)"
    fi
done <"$OUT/targets.tsv"
for tgt in "${!PROJ[@]}" "${!REASON[@]}"; do
    [ -n "${CMAKE_TYPE[$tgt]:-}" ] || fail "projects.map names '$tgt', which CMake does not define (stale line?)"
done

# Every .vcxproj in the tree must be mapped.
# Folders never searched: git's, build folders, restored packages, MSBuild outputs.
PRUNE=(\( -type d \( -path ./.git -o -path './build*' -o -path ./packages -o -path ./bin -o -path ./obj -o -path ./dist -o -name node_modules \) \) -prune)
ALL_VCXPROJ=$(find . "${PRUNE[@]}" \
    -o -name '*.vcxproj' -print | sed 's|^\./||' | sort)
for proj in $ALL_VCXPROJ; do
    [ -n "${TARGET_OF[$proj]:-}" ] || fail "$proj is not listed in cmake/winbuild/projects.map"
done

# Shared settings from Pipes.props (imported by every project).
PROPS_DEFS=$(idg_values Pipes.props ClCompile PreprocessorDefinitions | grep -vx -e NDEBUG -e _DEBUG | sort -u)
PROPS_RC_DEFS=$(idg_values Pipes.props ResourceCompile PreprocessorDefinitions | grep -vx -e NDEBUG -e _DEBUG | sort -u)
PROPS_INCS=$(idg_values Pipes.props ClCompile AdditionalIncludeDirectories)

GTEST_PKG=$(xpath_lines Pipes.GoogleTest.targets "string(//$(E PipesGTestPackage))")
GTEST_VER=$(xpath_lines Pipes.GoogleTest.targets "string(//$(E PipesGTestVersion))")

# ---- 1b. each mapped target against its project -------------------------------------------------
declare -A USES_GTEST=() GUID_OF=()
check_target() {
    local tgt=$1 proj=$2 json pdir type want got x
    json=$(target_json "$tgt")
    pdir=$(dirname "$proj")
    local P="$tgt ($proj)"
    if [ ! -f "$proj" ]; then
        fail "$P: the project file does not exist"
        return
    fi
    if ! xmllint --noout "$proj" 2>"$OUT/xml.err"; then
        fail "$P: not well-formed XML: $(head -n1 "$OUT/xml.err")"
        return
    fi
    GUID_OF[$proj]=$(xpath_lines "$proj" "string(//$(E PropertyGroup)[@Label='Globals']/$(E ProjectGuid))" | tr a-f A-F)
    [[ ${GUID_OF[$proj]} =~ ^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$ ]] ||
        fail "$P: ProjectGuid '${GUID_OF[$proj]}' is missing or malformed"

    # Type, output name, subsystem.
    type=$(jq -r '.type' "$json")
    case $type in
        EXECUTABLE) want=Application ;;
        SHARED_LIBRARY | MODULE_LIBRARY) want=DynamicLibrary ;;
        STATIC_LIBRARY) want=StaticLibrary ;;
        *) want="?" ;;
    esac
    got=$(xpath_lines "$proj" "string(//$(E ConfigurationType))")
    [ "$got" = "$want" ] || fail "$P: ConfigurationType is '$got', CMake builds a $type ($want)"
    local disk stem tname
    disk=$(jq -r '.nameOnDisk // empty' "$json")
    stem=${disk%.*}
    [ "$type" = STATIC_LIBRARY ] && { stem=${stem#lib}; }
    tname=$(xpath_lines "$proj" "string(//$(E TargetName))")
    [ -n "$tname" ] || tname=$(basename "$proj" .vcxproj)
    [ "$tname" = "$stem" ] || fail "$P: output name '$tname' differs from CMake's '$stem' ($disk)"
    if [ "$type" = EXECUTABLE ]; then
        local sub cm_sub=Console
        if jq -e '[.link.commandFragments[]? | select(.role == "flags") | .fragment | test("(^| )-mwindows( |$)")] | any' "$json" >/dev/null; then
            cm_sub=Windows
        fi
        sub=$(xpath_lines "$proj" "string(//$(E ItemDefinitionGroup)/$(E Link)/$(E SubSystem))")
        [ "$sub" = "$cm_sub" ] || fail "$P: SubSystem is '${sub:-unset}', CMake links a $cm_sub program"
    fi

    # Configurations: exactly Debug/Release x x64/ARM64; shared props imported.
    got=$(xpath_lines "$proj" "//$(E ItemGroup)[@Label='ProjectConfigurations']/$(E ProjectConfiguration)/@Include" | sort | tr '\n' ' ')
    [ "$got" = "Debug|ARM64 Debug|x64 Release|ARM64 Release|x64 " ] ||
        fail "$P: ProjectConfigurations are '$got', expected Debug|ARM64 Debug|x64 Release|ARM64 Release|x64"
    # (No "| grep -q" on pipelines here: with pipefail, grep's early exit can fail the writer.)
    local imports
    imports=$(xpath_lines "$proj" "//$(E Import)/@Project" | while read -r i; do resolve "$pdir" "$i"; done)
    for x in Pipes.Default.props Pipes.props; do
        grep -qx "$x" <<<"$imports" || fail "$P: does not import $x"
    done

    # Sources. CMake lists paths relative to the top-level source folder when inside it.
    local cm_src vc_src kind f ext
    cm_src=$(jq -r '.sources[] | select(.isGenerated != true) | .path' "$json" | while read -r f; do
        case $f in /*) case $f in "$BUILD_DIR"/*) continue ;; esac; realpath -m --relative-to="$ROOT" "$f" ;; *) echo "$f" ;; esac
    done | sort -u)
    while read -r f; do
        [ -n "$f" ] || continue
        case $f in ../*) fail "$P: CMake source '$f' lies outside the repository" ;; esac
        case ${f##*.} in c | cpp | cc | cxx | h | hpp | rc | def | manifest | mc) ;;
            *) fail "$P: CMake source '$f' has an extension this check does not map to a .vcxproj item" ;; esac
    done <<<"$cm_src"
    cm_src=$(printf '%s\n' "$cm_src" | grep -E '\.(c|cpp|cc|cxx|h|hpp|rc|def|manifest|mc)$' || true)
    # Message tables: CMake compiles NAME.mc with a custom command whose generated NAME.h or
    # NAME.rc the target lists; the File API shows only those outputs. The .vcxproj must then
    # compile the NAME.mc beside the target's sources (a MessageCompile item).
    local srcdir
    srcdir=$(jq -r '.paths.source' "$json")
    for f in $(jq -r '.sources[] | select(.isGenerated == true) | .path | select(test("\\.(h|rc)$"))' "$json"); do
        f=$(basename "$f")
        [ -f "$srcdir/${f%.*}.mc" ] && cm_src+=$'\n'"$srcdir/${f%.*}.mc"
    done
    cm_src=$(printf '%s\n' "$cm_src" | sed '/^$/d' | sort -u)
    vc_src=""
    for kind in ClCompile ClInclude ResourceCompile None Manifest MessageCompile; do
        while read -r f; do
            [ -n "$f" ] || continue
            f=$(resolve "$pdir" "$f")
            case $f in @build) continue ;; @unknown:*) fail "$P: $kind item with an unknown macro: ${f#@unknown:}"; continue ;; esac
            ext=${f##*.}
            case $kind:$ext in
                ClCompile:c | ClCompile:cpp | ClCompile:cc | ClCompile:cxx | ClInclude:h | ClInclude:hpp | \
                    ResourceCompile:rc | None:def | None:manifest | Manifest:manifest | MessageCompile:mc) ;;
                None:*) continue ;;   # packages.config, documents: not build inputs
                *) fail "$P: '$f' is a $kind item; expected $(case $ext in c | cpp | cc | cxx) echo ClCompile ;; h | hpp) echo ClInclude ;; rc) echo ResourceCompile ;; def | manifest) echo None ;; mc) echo MessageCompile ;; *) echo "no item" ;; esac)" ;;
            esac
            [ -f "$f" ] || fail "$P: $kind item '$f' does not exist"
            vc_src+=$f$'\n'
        done < <(xpath_lines "$proj" "//$(E ItemGroup)/$(E $kind)/@Include")
    done
    compare_sets "$P: source" "$cm_src" "$vc_src"
    # A manifest embedded by a .rc (RT_MANIFEST) clashes with the one the linker generates by
    # default (CVT1100 duplicate resource): such projects must set GenerateManifest=false.
    for f in $(printf '%s\n' "$cm_src" | grep '\.rc$' || true); do
        if grep -qE 'RT_MANIFEST|^[[:space:]]*[A-Za-z0-9_]+[[:space:]]+24[[:space:]]' "$f"; then
            x=$(xpath_lines "$proj" "string(//$(E PropertyGroup)/$(E GenerateManifest))")
            [ "$x" = false ] || fail "$P: $f embeds a manifest, so GenerateManifest must be false (it is '${x:-unset}')"
        fi
    done
    # A .def must also be the linker's module definition file.
    for f in $(printf '%s\n' "$cm_src" | grep '\.def$' || true); do
        x=$(xpath_lines "$proj" "string(//$(E ItemDefinitionGroup)/$(E Link)/$(E ModuleDefinitionFile))")
        [ -n "$x" ] && [ "$(resolve "$pdir" "$x")" = "$f" ] || fail "$P: Link/ModuleDefinitionFile is '${x:-unset}', expected $f"
    done

    # Preprocessor definitions (C/C++ and resources). CMake's <target>_EXPORTS is CMake's own
    # (a '-' in the target's name becomes '_' there).
    local cm_defs vc_defs
    cm_defs=$(jq -r '.compileGroups[]? | select(.language == "C" or .language == "CXX") | .defines[]?.define' "$json" |
        grep -vx -e "${tgt//-/_}_EXPORTS" -e NDEBUG | sort -u)
    vc_defs=$( (printf '%s\n' "$PROPS_DEFS"; idg_values "$proj" ClCompile PreprocessorDefinitions) | grep -vx -e NDEBUG -e _DEBUG | sort -u)
    compare_sets "$P: C/C++ definition" "$cm_defs" "$vc_defs"
    if jq -e '[.compileGroups[]? | select(.language == "RC")] | length > 0' "$json" >/dev/null; then
        cm_defs=$(jq -r '.compileGroups[]? | select(.language == "RC") | .defines[]?.define' "$json" |
            grep -vx -e "${tgt//-/_}_EXPORTS" -e NDEBUG | sort -u)
        vc_defs=$( (printf '%s\n' "$PROPS_RC_DEFS"; idg_values "$proj" ResourceCompile PreprocessorDefinitions) | grep -vx -e NDEBUG -e _DEBUG | sort -u)
        compare_sets "$P: resource definition" "$cm_defs" "$vc_defs"
    fi

    # Include folders inside the repository (GoogleTest's and generated ones are compared elsewhere).
    local lang tool
    for lang in C:ClCompile RC:ResourceCompile; do
        tool=${lang#*:}
        lang=${lang%%:*}
        [ "$lang" = C ] && lang_sel='.language == "C" or .language == "CXX"' || lang_sel='.language == "RC"'
        jq -e "[.compileGroups[]? | select($lang_sel)] | length > 0" "$json" >/dev/null || continue
        local cm_inc vc_inc
        cm_inc=$(jq -r ".compileGroups[]? | select($lang_sel) | .includes[]?.path" "$json" | while read -r f; do
            case $f in "$BUILD_DIR"/* | "$BUILD_DIR") continue ;; "$ROOT"/*) realpath -m --relative-to="$ROOT" "$f" ;; esac
        done | sort -u)
        vc_inc=$( (printf '%s\n' "$PROPS_INCS" | while read -r f; do [ -n "$f" ] && resolve . "$f"; done
            idg_values "$proj" "$tool" AdditionalIncludeDirectories | while read -r f; do resolve "$pdir" "$f"; done) |
            grep -v '^@build$' | sort -u)
        while read -r f; do [ -n "$f" ] && case $f in @unknown:*) fail "$P: $tool include folder with an unknown macro: ${f#@unknown:}" ;; esac; done <<<"$vc_inc"
        compare_sets "$P: $tool include folder" "$cm_inc" "$(printf '%s\n' "$vc_inc" | grep -v '^@unknown:' || true)"
    done

    # Dependencies: CMake target dependencies from this tree <-> ProjectReferences; a dependency
    # whose library is on the link line is a linked reference, any other is build order only.
    local dep deps_cm="" dep_json art linked
    local link_libs
    link_libs=$(jq -r '.link.commandFragments[]? | select(.role == "libraries") | .fragment' "$json" 2>/dev/null)
    USES_GTEST[$tgt]=0
    for dep in $(jq -r '.dependencies[]?.id' "$json" | sed 's/::@.*//' | sort -u); do
        case $dep in gtest | gtest_main | gmock | gmock_main) USES_GTEST[$tgt]=1; continue ;; esac
        [ -n "${CMAKE_TYPE[$dep]:-}" ] || continue
        [ -n "${PROJ[$dep]:-}" ] || { fail "$P: depends on '$dep', which has no .vcxproj"; continue; }
        dep_json=$(target_json "$dep")
        linked=order
        for art in $(jq -r '.artifacts[]?.path' "$dep_json"); do
            art=$(basename "$art")
            case $art in *.dll | *.exe | *.pdb) continue ;; esac
            if grep -qxF "$art" <<<"$(printf '%s\n' "$link_libs" | tr ' ' '\n' | sed 's|.*/||')"; then linked=link; fi
        done
        deps_cm+="${PROJ[$dep]} $linked"$'\n'
    done
    local n i inc mode deps_vc="" refguid
    n=$(xmllint --xpath "count(//$(E ProjectReference))" "$proj")
    for ((i = 1; i <= n; i++)); do
        inc=$(xpath_lines "$proj" "string((//$(E ProjectReference))[$i]/@Include)")
        inc=$(resolve "$pdir" "$inc")
        mode=$(xpath_lines "$proj" "string((//$(E ProjectReference))[$i]/$(E LinkLibraryDependencies))")
        [ "$mode" = false ] && mode=order || mode=link
        refguid=$(xpath_lines "$proj" "string((//$(E ProjectReference))[$i]/$(E Project))" | tr a-f A-F)
        if [ -f "$inc" ]; then
            x=$(xpath_lines "$inc" "string(//$(E PropertyGroup)[@Label='Globals']/$(E ProjectGuid))" | tr a-f A-F)
            [ "$refguid" = "$x" ] || fail "$P: ProjectReference to $inc carries GUID '$refguid', the project's own is '$x'"
        else
            fail "$P: ProjectReference to '$inc', which does not exist"
        fi
        deps_vc+="$inc $mode"$'\n'
    done
    compare_sets "$P: dependency (project, link|order)" "$deps_cm" "$deps_vc"

    # System import libraries named in CMake (-lfoo) <-> Link/AdditionalDependencies (foo.lib).
    # Fragments without a backtrace are the toolchain's default list, which MSVC links by default too.
    local cm_libs vc_libs
    cm_libs=$(jq -r '.link.commandFragments[]? | select(.role == "libraries" and .backtrace != null) | .fragment' "$json" 2>/dev/null |
        tr ' ' '\n' | sed -n 's/^-l\(.*\)$/\1.lib/p' | tr A-Z a-z | sort -u)
    vc_libs=$(idg_values "$proj" Link AdditionalDependencies | tr A-Z a-z | sort -u)
    compare_sets "$P: import library" "$cm_libs" "$vc_libs"

    # GoogleTest: from the NuGet package in the Visual Studio build.
    local has_gt=0
    grep -qx Pipes.GoogleTest.targets <<<"$imports" && has_gt=1
    if [ "${USES_GTEST[$tgt]}" = 1 ] && [ $has_gt = 0 ]; then
        fail "$P: links GoogleTest in CMake but does not import Pipes.GoogleTest.targets"
    elif [ "${USES_GTEST[$tgt]}" = 0 ] && [ $has_gt = 1 ]; then
        fail "$P: imports Pipes.GoogleTest.targets but CMake does not link GoogleTest"
    fi
    if [ $has_gt = 1 ]; then
        local pc=$pdir/packages.config
        if [ ! -f "$pc" ]; then
            fail "$P: uses GoogleTest but $pc does not exist (NuGet restore reads it)"
        else
            x=$(xpath_lines "$pc" "string(//package[@id='$GTEST_PKG']/@version)")
            [ "$x" = "$GTEST_VER" ] || fail "$pc: $GTEST_PKG version '${x:-missing}', Pipes.GoogleTest.targets pins '$GTEST_VER'"
        fi
    fi
}

for tgt in "${!PROJ[@]}"; do
    [ -n "${CMAKE_TYPE[$tgt]:-}" ] || continue
    check_target "$tgt" "${PROJ[$tgt]}"
done
note "compared ${#PROJ[@]} project(s) with their CMake targets"

# ---- 2. pipes.sln -----------------------------------------------------------------------------
VC_TYPE='8BC9CEB8-8B4A-11D0-8D11-00A0C91BC942'
if [ ! -f pipes.sln ]; then
    fail "pipes.sln does not exist"
else
    tr -d '\r' <pipes.sln >"$OUT/pipes.sln"
    sed -n 's/^Project("{\([^}]*\)}") = "\([^"]*\)", "\([^"]*\)", "\({[^}]*}\)"$/\1\t\2\t\3\t\4/p' "$OUT/pipes.sln" >"$OUT/sln-projects.tsv"
    declare -A SLN_GUID=()
    while IFS=$'\t' read -r ptype pname ppath pguid; do
        [ "$ptype" = "$VC_TYPE" ] || continue
        ppath=$(resolve . "$ppath")
        pguid=$(printf '%s' "$pguid" | tr a-f A-F)
        SLN_GUID[$ppath]=$pguid
        if [ ! -f "$ppath" ]; then
            fail "pipes.sln: project '$pname' points to $ppath, which does not exist"
            continue
        fi
        x=$(xpath_lines "$ppath" "string(//$(E PropertyGroup)[@Label='Globals']/$(E ProjectGuid))" | tr a-f A-F)
        [ "$x" = "$pguid" ] || fail "pipes.sln: $ppath listed with GUID $pguid, the project declares $x"
    done <"$OUT/sln-projects.tsv"
    for proj in $ALL_VCXPROJ; do
        [ -n "${SLN_GUID[$proj]:-}" ] || fail "pipes.sln does not list $proj"
    done
    dups=$(printf '%s\n' "${SLN_GUID[@]}" | sort | uniq -d)
    [ -z "$dups" ] || fail "pipes.sln: GUID used by more than one project: $dups"
    CONFIGS="Debug|ARM64 Debug|x64 Release|ARM64 Release|x64"
    got=$(sed -n '/GlobalSection(SolutionConfigurationPlatforms)/,/EndGlobalSection/p' "$OUT/pipes.sln" |
        grep -v 'GlobalSection' | sed -n 's/^[[:space:]]*\([^ ]*\) = \([^ ]*\)$/\1=\2/p' | sort | tr '\n' ' ')
    [ "$got" = "Debug|ARM64=Debug|ARM64 Debug|x64=Debug|x64 Release|ARM64=Release|ARM64 Release|x64=Release|x64 " ] ||
        fail "pipes.sln: solution configurations are '$got', expected $CONFIGS"
    sed -n '/GlobalSection(ProjectConfigurationPlatforms)/,/EndGlobalSection/p' "$OUT/pipes.sln" >"$OUT/sln-pcp.txt"
    for proj in "${!SLN_GUID[@]}"; do
        g=${SLN_GUID[$proj]}
        for c in $CONFIGS; do
            grep -qiF "$g.$c.ActiveCfg = $c" "$OUT/sln-pcp.txt" || fail "pipes.sln: $proj has no '$c.ActiveCfg = $c'"
            grep -qiF "$g.$c.Build.0 = $c" "$OUT/sln-pcp.txt" || fail "pipes.sln: $proj is not built in $c ('$c.Build.0')"
        done
    done
    note "pipes.sln: ${#SLN_GUID[@]} project(s)"
fi

# ---- 3. XML well-formedness ---------------------------------------------------------------------
XML_FILES=$(find . "${PRUNE[@]}" \
    -o -type f \( -name '*.vcxproj' -o -name '*.vcxproj.filters' -o -name '*.props' -o -name '*.targets' -o -name '*.wxs' \
    -o -name '*.wxi' -o -name '*.manifest' -o -name 'packages.config' \) -print | sort)
nxml=0
for f in $XML_FILES; do
    nxml=$((nxml + 1))
    xmllint --noout "$f" 2>"$OUT/xml.err" || fail "$f is not well-formed XML: $(head -n1 "$OUT/xml.err")"
done
note "$nxml XML file(s) checked for well-formedness"

# ---- 4. GoogleTest API within 1.8.1 (the NuGet package) -------------------------------------------
[ -n "$GTEST_PKG" ] && [ -n "$GTEST_VER" ] || fail "Pipes.GoogleTest.targets: PipesGTestPackage/PipesGTestVersion not found"
# Newer than 1.8.1 and not mapped to an older name by cmake/winbuild/gtest_compat.h (which covers
# GTEST_SKIP, the *_TEST_SUITE_* / TestSuite names and GTEST_FLAG_GET/SET): GTEST_FAIL_AT,
# RegisterTest, ConvertGenerator, GTEST_ALLOW_UNINSTANTIATED_..., and GoogleMock (not in the package).
NEWER_API='\b(GTEST_FAIL_AT|GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST|RegisterTest|ConvertGenerator|EXPECT_THAT|ASSERT_THAT|GTEST_FLAG_SAVER|Matcher|MATCHER(_P[0-9]*)?|MOCK_METHOD[0-9]*)\b|#[[:space:]]*include[[:space:]]*[<"]gmock/'
for tgt in "${!PROJ[@]}"; do
    [ "${USES_GTEST[$tgt]:-0}" = 1 ] || continue
    for f in $(jq -r '.sources[] | select(.isGenerated != true) | .path' "$(target_json "$tgt")" | grep -E '\.(cpp|cc|cxx|h|hpp)$'); do
        [ -f "$f" ] || continue
        while IFS= read -r hit; do
            fail "$f:${hit%%:*}: GoogleTest API newer than $GTEST_VER's 1.8.1 (the Visual Studio build's NuGet package): ${hit#*:}"
        done < <(sed 's|//.*||' "$f" | grep -nE "$NEWER_API" | sed -E 's/^([0-9]+):[[:space:]]*/\1:/' | cut -c1-120)
    done
done

# ---- 5. clang as a stand-in for MSVC /W4 /WX ------------------------------------------------------
# -Wall -Wextra -pedantic -Werror, plus warnings that match MSVC level-4 ones gcc -Wall misses:
# -Wshadow (C4456-C4459), -Wshorten-64-to-32 and -Wimplicit-int-conversion (C4244/C4267),
# -Wfloat-conversion (C4244), -Wvla (MSVC has no VLAs), -Wunreachable-code (C4702).
# MinGW's __MINGW_MSVC_COMPAT_WARNINGS marks the CRT functions MSVC deprecates (C4996); those
# are judged below against _CRT_SECURE_NO_WARNINGS / _CRT_NONSTDC_NO_DEPRECATE.
MSVC_LIKE="-Wshadow -Wshorten-64-to-32 -Wimplicit-int-conversion -Wfloat-conversion -Wvla -Wunreachable-code"
# MinGW-w64's headers: a deprecated CRT function with a NAME_s variant there is one of MSVC's
# "may be unsafe" set (silenced by _CRT_SECURE_NO_WARNINGS), any other a deprecated POSIX name.
MINGW_INC=
for d in /usr/x86_64-w64-mingw32/include /usr/share/mingw-w64/include; do
    [ -f "$d/string.h" ] && { MINGW_INC=$d; break; }
done
if [ "${WINBUILD_SKIP_COMPILE:-0}" = 1 ]; then
    note "compile check skipped (WINBUILD_SKIP_COMPILE=1)"
elif ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
    fail "clang not found (./build.sh deps installs it)"
else
    # libstdc++ headers of the MinGW g++ (posix flavour, as the CMake build uses).
    CXXINC=$(echo | x86_64-w64-mingw32-g++-posix -x c++ -E -v - 2>&1 | sed -n '/#include <...> search starts here:/,/End of search list/p' |
        grep '^ ' | grep 'c++' | sed 's/^ *//' | sed 's/^/-isystem /' | tr '\n' ' ')
    : >"$OUT/compile-jobs.txt"
    for tgt in "${!PROJ[@]}"; do
        json=$(target_json "$tgt")
        ngroups=$(jq '.compileGroups | length' "$json" 2>/dev/null || echo 0)
        for ((g = 0; g < ngroups; g++)); do
            lang=$(jq -r ".compileGroups[$g].language" "$json")
            case $lang in C | CXX) ;; *) continue ;; esac
            # Folders outside the tree (GoogleTest) are system folders, as MSVC's external headers.
            flags=$(jq -r --arg root "$ROOT/" ".compileGroups[$g] | ([.defines[]?.define | \"-D\" + .] + [.includes[]? | (if (.path | startswith(\$root)) then \"-I\" else \"-isystem\" end) + \" \" + .path]) | join(\" \")" "$json")
            for idx in $(jq -r ".compileGroups[$g].sourceIndexes[]" "$json"); do
                src=$(jq -r ".sources[$idx].path" "$json")
                printf '%s\t%s\t%s\t%s\n' "$lang" "$tgt" "$src" "$flags" >>"$OUT/compile-jobs.txt"
            done
        done
    done
    sort -u -o "$OUT/compile-jobs.txt" "$OUT/compile-jobs.txt"
    # Generated headers (the message table's messages.h) come from CMake's utility targets:
    # build those (./build.sh test has built everything already; then this is a no-op).
    utilities=$(jq -r '.configurations[0] as $c | $c.targets[] | select(($c.directories[.directoryIndex].source | startswith("/")) | not) | .jsonFile' "$CODEMODEL" |
        while read -r j; do jq -r 'select(.type == "UTILITY") | .name' "$REPLY/$j"; done)
    if [ -n "$utilities" ]; then
        # shellcheck disable=SC2086
        cmake --build "$BUILD_DIR" --target $utilities >"$OUT/generate.log" 2>&1 ||
            fail "building CMake's generator targets ($utilities) failed (see $OUT/generate.log)"
    fi
    mkdir -p "$OUT/clang"
    export OUT MSVC_LIKE CXXINC ROOT
    # One job: compile, keep the log; the log's name is the source path with / -> _.
    run_one() {
        local lang=$1 tgt=$2 src=$3 flags=$4 log
        log=$OUT/clang/${tgt}__$(printf '%s' "$src" | tr '/' '_').log
        if [ "$lang" = C ]; then
            # shellcheck disable=SC2086
            clang --target=x86_64-w64-mingw32 -std=c17 -Wall -Wextra -pedantic -Werror $MSVC_LIKE \
                -D__MINGW_MSVC_COMPAT_WARNINGS -Wno-error=deprecated-declarations -fsyntax-only $flags "$src" >"$log" 2>&1
        else
            # shellcheck disable=SC2086
            clang++ --target=x86_64-w64-mingw32 -std=c++17 -Wall -Wextra -Werror $MSVC_LIKE $CXXINC \
                -D__MINGW_MSVC_COMPAT_WARNINGS -Wno-error=deprecated-declarations -fsyntax-only $flags "$src" >"$log" 2>&1
        fi
        echo "$? $lang $tgt $src" >>"$log.rc"
    }
    export -f run_one
    tr '\t' '\037' <"$OUT/compile-jobs.txt" |
        xargs -P "$JOBS" -I{} bash -c 'IFS=$'"'"'\037'"'"' read -r l t s f <<<"$1"; run_one "$l" "$t" "$s" "$f"' _ {}
    ncomp=0
    for rcf in "$OUT"/clang/*.rc; do
        [ -f "$rcf" ] || continue
        ncomp=$((ncomp + 1))
        read -r rc lang tgt src <"$rcf"
        log=${rcf%.rc}
        if [ "$rc" != 0 ]; then
            fail "clang ($lang, target $tgt) rejects $src:"
            { grep -E 'error:' "$log" || grep -E 'warning:' "$log"; } | head -n 5 | sed 's/^/    /'
        fi
        # C4996 stand-in: deprecated CRT functions. memcpy/memmove are marked by MinGW only.
        defs=$(awk -F'\t' -v s="$src" -v t="$tgt" '$2 == t && $3 == s { print $4 }' "$OUT/compile-jobs.txt")
        while read -r fn where; do
            case $fn in memcpy | memmove) continue ;; esac
            if [ -n "$MINGW_INC" ] && grep -Rqsw -- "${fn}_s" "$MINGW_INC" 2>/dev/null; then
                case " $defs " in *" -D_CRT_SECURE_NO_WARNINGS "*) continue ;; esac
                fail "$where: MSVC deprecates '$fn' (C4996, an error with /WX): use ${fn}_s or define _CRT_SECURE_NO_WARNINGS"
            else
                case " $defs " in *" -D_CRT_NONSTDC_NO_DEPRECATE "*) continue ;; esac
                fail "$where: MSVC deprecates the POSIX name '$fn' (C4996, an error with /WX): use _$fn"
            fi
        done < <(sed -n "s/^\([^ ]*:[0-9]*:[0-9]*\): warning: '\([A-Za-z_0-9]*\)' is deprecated.*/\2 \1/p" "$log" | sort -u)
    done
    note "clang compiled $ncomp source(s) (C17 and C++17, MinGW target, MSVC-like warnings as errors)"
fi

# ---- 6. build.ps1: its test list against ctest, and a PowerShell parse ------------------------
if [ ! -f build.ps1 ]; then
    fail "build.ps1 does not exist"
else
    ps_tests=$(tr -d '\r' <build.ps1 | sed -n '/^\$GoogleTestPrograms = @(/,/^)/p' | sed -n "s/^[[:space:]]*'\([A-Za-z0-9_.-]*\)'.*/\1/p" | sort -u)
    [ -n "$ps_tests" ] || fail "build.ps1: no \$GoogleTestPrograms = @( ... ) list found"
    ctest --test-dir "$BUILD_DIR" --show-only=json-v1 >"$OUT/ctest.json" 2>/dev/null || fail "ctest --show-only failed in $BUILD_DIR"
    # GoogleTest programs: registered by pipes_add_gtest (their arguments start with --gtest_).
    # The race-widening pass runs programs from bin-chaos against a chaos variant of pipes.dll
    # that only the CMake build makes (PipesTests/chaos_tests.cmake): not a Visual Studio target.
    jq '.tests |= map(select(any(.command[]?; test("/bin-chaos/")) | not))' "$OUT/ctest.json" >"$OUT/ctest.tmp" &&
        mv "$OUT/ctest.tmp" "$OUT/ctest.json"
    exe_of='.command as $c | ($c | map(select(test("\\.exe$"))) | first // empty | sub(".*/"; "") | sub("\\.exe$"; ""))'
    ct_tests=$(jq -r ".tests[]? | select(any(.command[]?; startswith(\"--gtest_\"))) | $exe_of" "$OUT/ctest.json" | sort -u)
    ct_other=$(jq -r ".tests[]? | select(any(.command[]?; startswith(\"--gtest_\")) | not) | $exe_of" "$OUT/ctest.json" | sort -u)
    for t in $ct_tests $ct_other; do
        [ -n "${PROJ[$t]:-}" ] || fail "ctest runs $t.exe, which no .vcxproj builds"
    done
    compare_sets "GoogleTest program" "$ct_tests" "$ps_tests" "ctest" "build.ps1's \$GoogleTestPrograms"
    # Other programs ctest runs (the benchmark's smoke run): build.ps1 -Test must run them too.
    for t in $ct_other; do
        grep -qF "'$t.exe'" build.ps1 || fail "ctest runs $t.exe, build.ps1 -Test does not"
    done

    # Parse: tree-sitter's PowerShell grammar (npm), run from its WebAssembly build.
    PSDIR=$BUILD_DIR/ps-parser
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        note "installing node and npm (Debian packages nodejs, npm) for the PowerShell parse"
        sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo)
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm >"$OUT/apt-node.log" 2>&1 ||
            { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$OUT/apt-node.log" 2>&1 &&
                "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm >>"$OUT/apt-node.log" 2>&1; } ||
            fail "could not install nodejs/npm (see $OUT/apt-node.log)"
    fi
    if command -v node >/dev/null && command -v npm >/dev/null; then
        mkdir -p "$PSDIR"
        if ! cmp -s "$HERE/ps-parser/package.json" "$PSDIR/package.json" || [ ! -d "$PSDIR/node_modules/web-tree-sitter" ]; then
            cp "$HERE/ps-parser/package.json" "$PSDIR/package.json"
            rm -rf "$PSDIR/node_modules"
            npm_install() { (cd "$PSDIR" && npm install --no-audit --no-fund --ignore-scripts --no-package-lock "$@") >>"$OUT/npm.log" 2>&1; }
            if ! npm_install; then
                # A TLS-inspecting proxy whose CA the system trusts but npm's built-in list does not.
                if grep -qE 'SELF_SIGNED_CERT|UNABLE_TO_(GET_ISSUER|VERIFY)' "$OUT/npm.log" && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
                    note "npm does not trust the registry's certificate; retrying with the system's CA bundle"
                    npm_install --cafile=/etc/ssl/certs/ca-certificates.crt
                else
                    false
                fi || fail "npm install of the PowerShell grammar failed: $(grep -m1 'ERR!' "$OUT/npm.log" | cut -c1-160) (all: $OUT/npm.log)"
            fi
        fi
        # The parser must reject a broken script, or its "no errors" would mean nothing.
        printf 'param([switch]$X)\nif ($X) {\n    Write-Host "unclosed"\n' >"$OUT/broken.ps1"
        node "$HERE/ps-parser/parse.cjs" "$PSDIR" "$OUT/broken.ps1" >"$OUT/broken.log" 2>&1
        rc=$?
        if [ $rc -ne 1 ]; then
            fail "the PowerShell parser did not reject a broken script (exit $rc; see $OUT/broken.log)"
        fi
        PS_FILES=$(find . "${PRUNE[@]}" -o -name '*.ps1' -print | sort)
        # shellcheck disable=SC2086
        if node "$HERE/ps-parser/parse.cjs" "$PSDIR" $PS_FILES >"$OUT/ps-parse.log" 2>&1; then
            note "PowerShell parse: $(echo $PS_FILES | wc -w) script(s) without syntax errors"
        else
            fail "PowerShell syntax errors:"
            sed 's/^/    /' "$OUT/ps-parse.log" | head -n 20
        fi
    fi
fi

# ---- 7. build.ps1 -Package can stage every file installer/Pipes.wxs installs ------------------
# Mirrors New-MsiStage in build.ps1: where each $(var.StageDir)/<path> comes from on Windows.
if [ -f installer/Pipes.wxs ]; then
    outputs=" "
    for tgt in "${!PROJ[@]}"; do
        outputs+="$(jq -r '.nameOnDisk // empty' "$(target_json "$tgt")") "
    done
    nstage=0
    for rel in $(grep -Eo 'Source(File)?="\$\(var\.StageDir\)/[^"]*"' installer/Pipes.wxs | sed 's|^Source\(File\)\{0,1\}="$(var.StageDir)/||; s|"$||' | sort -u); do
        nstage=$((nstage + 1))
        name=${rel##*/}
        case $rel in
            */*.exe | */*.dll) from="" ;;
            *.exe | *.dll) case $outputs in *" $name "*) continue ;; esac
                fail "installer/Pipes.wxs installs $rel, which no .vcxproj builds (build.ps1 -Package takes it from bin\\<Platform>\\<Configuration>)"
                continue ;;
            README.md) from=README.md ;;
            include/*) from=PipesLib/include/$name ;;
            lib/pipes.lib) case $outputs in *" pipes.dll "*) continue ;; esac; from="" ;;
            lib/libpipes.dll.a) continue ;;   # made from PipesLib/pipes.def by dlltool
            lib/cmake/Pipes/*) from=installer/sdk/$name ;;
            docs/*) from=docs/$name ;;
            sdk-example/*) from=installer/sdk-example/$name ;;
            *) from="" ;;
        esac
        if [ -z "$from" ]; then
            fail "installer/Pipes.wxs installs $rel; build.ps1 (New-MsiStage) does not know where it comes from"
        elif [ ! -f "$from" ]; then
            fail "installer/Pipes.wxs installs $rel; build.ps1 -Package would take it from $from, which does not exist"
        fi
    done
    note "build.ps1 -Package: $nstage MSI file(s) traced to their origin"
fi

if [ "$FAILS" -eq 0 ]; then
    note "all checks passed"
else
    note "$FAILS check(s) failed"
fi
[ "$FAILS" -eq 0 ]
