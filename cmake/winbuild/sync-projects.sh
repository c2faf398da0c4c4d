#!/usr/bin/env bash
# sync-projects.sh - rewrites every .vcxproj and pipes.sln of the Visual Studio build from the CMake
# build: each project's source items, include folders and import libraries come from CMake's File
# API (codemodel-v2) of a configured build folder; what CMake cannot say (project GUIDs, Visual
# Studio settings such as the message compiler step, the startup project) is in the table below.
# Run it after changing a CMakeLists.txt source list, then check with cmake/winbuild/check.sh
# (./build.sh test runs that). A new CMake target needs a block below and a line in projects.map.
#   BUILD_DIR=build cmake/winbuild/sync-projects.sh      (BUILD_DIR: configured, e.g. ./build.sh build)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
cd "$ROOT"
[ -f "$BUILD_DIR/CMakeCache.txt" ] || { echo "sync-projects.sh: $BUILD_DIR is not a configured CMake build folder" >&2; exit 1; }
QUERY=$BUILD_DIR/.cmake/api/v1/query/client-pipes-winbuild
mkdir -p "$QUERY" && : >"$QUERY/codemodel-v2"
cmake "$BUILD_DIR" >/dev/null
emit() {
  local out=$1 rel_root=$2   # rel_root: path from project dir to repo root, with backslashes, e.g. ..\ or ..\..\
  {
  cat <<EOF
<?xml version="1.0" encoding="utf-8"?>
<!-- ${HEADER} -->
<Project DefaultTargets="Build" xmlns="http://schemas.microsoft.com/developer/msbuild/2003">
  <ItemGroup Label="ProjectConfigurations">
EOF
  for c in Debug Release; do for p in x64 ARM64; do
  cat <<EOF
    <ProjectConfiguration Include="$c|$p">
      <Configuration>$c</Configuration>
      <Platform>$p</Platform>
    </ProjectConfiguration>
EOF
  done; done
  cat <<EOF
  </ItemGroup>
  <PropertyGroup Label="Globals">
    <VCProjectVersion>17.0</VCProjectVersion>
    <ProjectGuid>{${GUID}}</ProjectGuid>
    <RootNamespace>${PNAME}</RootNamespace>
    <Keyword>Win32Proj</Keyword>
    <WindowsTargetPlatformVersion>10.0</WindowsTargetPlatformVersion>
  </PropertyGroup>
  <Import Project="\$(VCTargetsPath)\\Microsoft.Cpp.Default.props" />
  <PropertyGroup Label="Configuration">
    <ConfigurationType>${TYPE}</ConfigurationType>
  </PropertyGroup>
  <Import Project="${rel_root}Pipes.Default.props" />
  <Import Project="\$(VCTargetsPath)\\Microsoft.Cpp.props" />
  <ImportGroup Label="PropertySheets">
    <Import Project="\$(UserRootDir)\\Microsoft.Cpp.\$(Platform).user.props" Condition="exists('\$(UserRootDir)\\Microsoft.Cpp.\$(Platform).user.props')" Label="LocalAppDataPlatform" />
    <Import Project="${rel_root}Pipes.props" />
  </ImportGroup>
  <PropertyGroup>
    <TargetName>${TARGETNAME}</TargetName>
${PROPS:-}  </PropertyGroup>
  <ItemDefinitionGroup>
    <ClCompile>
EOF
  [ -n "${DEFINES:-}" ] && echo "      <PreprocessorDefinitions>${DEFINES};%(PreprocessorDefinitions)</PreprocessorDefinitions>"
  [ -n "${INCLUDES:-}" ] && echo "      <AdditionalIncludeDirectories>${INCLUDES};%(AdditionalIncludeDirectories)</AdditionalIncludeDirectories>"
  [ -n "${CLEXTRA:-}" ] && printf '%s\n' "${CLEXTRA}"
  echo "    </ClCompile>"
  if [ -n "${RC:-}" ]; then
  echo "    <ResourceCompile>"
  [ -n "${DEFINES:-}" ] && echo "      <PreprocessorDefinitions>${DEFINES};%(PreprocessorDefinitions)</PreprocessorDefinitions>"
  [ -n "${RCINCLUDES:-$INCLUDES}" ] && echo "      <AdditionalIncludeDirectories>${RCINCLUDES:-$INCLUDES};%(AdditionalIncludeDirectories)</AdditionalIncludeDirectories>"
  echo "    </ResourceCompile>"
  fi
  if [ "$TYPE" != StaticLibrary ]; then
  echo "    <Link>"
  echo "      <SubSystem>${SUBSYS}</SubSystem>"
  [ -n "${LIBS:-}" ] && echo "      <AdditionalDependencies>${LIBS};%(AdditionalDependencies)</AdditionalDependencies>"
  [ -n "${LINKEXTRA:-}" ] && printf '%s\n' "${LINKEXTRA}"
  echo "    </Link>"
  fi
  echo "  </ItemDefinitionGroup>"
  local kind
  for kind in ClInclude ClCompile ResourceCompile MessageCompile Manifest None; do
    local lines
    lines=$(printf '%s\n' "$ITEMS" | awk -v k=$kind '$1==k {print $2}')
    [ -n "$lines" ] || continue
    echo "  <ItemGroup>"
    while read -r f; do
      if [ "$kind" = MessageCompile ] && [ -n "${MCMETA:-}" ]; then
        echo "    <$kind Include=\"$f\">"; printf '%s\n' "$MCMETA"; echo "    </$kind>"
      else
        echo "    <$kind Include=\"$f\" />"
      fi
    done <<<"$lines"
    echo "  </ItemGroup>"
  done
  if [ -n "${REFS:-}" ]; then
    echo "  <ItemGroup>"
    while read -r path guid mode; do
      [ -n "$path" ] || continue
      echo "    <ProjectReference Include=\"$path\">"
      echo "      <Project>{$guid}</Project>"
      if [ "${mode:-}" = order ]; then
        echo "      <!-- Build order only: ${ORDER_WHY:-the tests spawn this program}; nothing is linked from it. -->"
        echo "      <ReferenceOutputAssembly>false</ReferenceOutputAssembly>"
        echo "      <LinkLibraryDependencies>false</LinkLibraryDependencies>"
      fi
      echo "    </ProjectReference>"
    done <<<"$REFS"
    echo "  </ItemGroup>"
  fi
  [ -n "${TAILITEMS:-}" ] && printf '%s\n' "$TAILITEMS"
  echo "  <Import Project=\"\$(VCTargetsPath)\\Microsoft.Cpp.targets\" />"
  [ -n "${TAIL:-}" ] && printf '%s\n' "$TAIL"
  echo "</Project>"
  } > "$out"
}

VC='{8BC9CEB8-8B4A-11D0-8D11-00A0C91BC942}'
SF='{2150E333-8FDC-42A3-9474-1A3956D46DE8}'
declare -A FOLDERGUID=( [Tests]='{6F1C2B0A-3D5E-4B7A-9C1D-2E3F4A5B6C7D}' [Tools]='{7A2D3C1B-4E6F-4C8B-8D2E-3F4A5B6C7D8E}' )
emit_sln() {
  local list=$1 out=$2
  {
  printf '\nMicrosoft Visual Studio Solution File, Format Version 12.00\n'
  printf '# Visual Studio Version 17\n'
  printf 'VisualStudioVersion = 17.0.31903.59\n'
  printf 'MinimumVisualStudioVersion = 10.0.40219.1\n'
  local name path guid folder
  while IFS='|' read -r name path guid folder; do
    [ -n "$name" ] || continue
    printf 'Project("%s") = "%s", "%s", "{%s}"\nEndProject\n' "$VC" "$name" "$path" "$guid"
  done <<<"$list"
  local f
  for f in Tests Tools; do
    if awk -F'|' -v f=$f '$4==f{found=1} END{exit !found}' <<<"$list"; then
      printf 'Project("%s") = "%s", "%s", "%s"\nEndProject\n' "$SF" "$f" "$f" "${FOLDERGUID[$f]}"
    fi
  done
  printf 'Global\n'
  printf '\tGlobalSection(SolutionConfigurationPlatforms) = preSolution\n'
  local c p
  for c in Debug Release; do for p in ARM64 x64; do printf '\t\t%s|%s = %s|%s\n' $c $p $c $p; done; done
  printf '\tEndGlobalSection\n'
  printf '\tGlobalSection(ProjectConfigurationPlatforms) = postSolution\n'
  while IFS='|' read -r name path guid folder; do
    [ -n "$name" ] || continue
    for c in Debug Release; do for p in ARM64 x64; do
      printf '\t\t{%s}.%s|%s.ActiveCfg = %s|%s\n' "$guid" $c $p $c $p
      printf '\t\t{%s}.%s|%s.Build.0 = %s|%s\n' "$guid" $c $p $c $p
    done; done
  done <<<"$list"
  printf '\tEndGlobalSection\n'
  printf '\tGlobalSection(SolutionProperties) = preSolution\n\t\tHideSolutionNode = FALSE\n\tEndGlobalSection\n'
  printf '\tGlobalSection(NestedProjects) = preSolution\n'
  while IFS='|' read -r name path guid folder; do
    [ -n "$folder" ] || continue
    printf '\t\t{%s} = %s\n' "$guid" "${FOLDERGUID[$folder]}"
  done <<<"$list"
  printf '\tEndGlobalSection\n'
  printf '\tGlobalSection(ExtensibilityGlobals) = postSolution\n\t\tSolutionGuid = {0E2B6F5C-8A41-4C39-9B7D-5D1E2C3A4F60}\n\tEndGlobalSection\n'
  printf 'EndGlobal\n'
  } | sed 's/$/\r/' > "$out"
}

G_LIB=F7D6B0B0-DBB5-45C5-9E1E-40AF57AF6326; G_PROTO=E4C5230E-8215-467D-ACAE-6FA495AAC5B9
G_PT=F2A1D7CB-CCFA-4129-8859-7606EDAFDAFD; G_LT=C628598B-02DC-4F73-A829-17FCE912911F
G_PEER=B21D46F5-1D72-4B50-99CA-1E57E7A713C4; G_ST=4771ECAE-310C-425F-8C39-AEEFE68F2193
G_SRV=96A30B59-1291-42B4-8355-626645E5CDFD; G_SVC=87A42898-E654-445B-B47F-E51124806CEE
G_NOTIFY=80B16815-193D-45FD-8857-A3C361293AB0; G_TRAY=105BB795-F608-4CB1-8E78-43893A65F294
G_BENCH=4BA46EF7-29BF-4D9F-B5AC-83017D4CE023; G_CORE=A5435BEC-92BD-4C57-8D4A-A676823D5EFC
G_SVCTEST=D3ED4F59-E07B-4594-A58C-6BEDDCCCD258; G_SPOOL=A24A8A4F-B44D-46D2-880F-CADAD8CE2B32
G_SENDER=527526E2-420F-4F83-9677-8976DD793E30
G_MQTT=A61503CC-83E7-483A-9832-4CE7EEA29524; G_MQTTT=89ADC21F-3592-4FCD-897E-2D6BBCFF5942
G_PROBE=8F8BC248-FFE5-46AC-9C15-8974878DE613
G_LOCKDIR=BD89C40E-BD78-496F-A63A-4FCA0D29C909
GT_TAIL='  <Import Project="$(PipesRoot)Pipes.GoogleTest.targets" />'
GT_ITEMS='  <ItemGroup>
    <None Include="packages.config" />
  </ItemGroup>'
INC_LIB='$(PipesRoot)PipesLib\include'
INC_PROTO='$(PipesRoot)PipesLib\protocol'
reset() { ORDER_WHY= CLEXTRA= PROPS= MCMETA= RCINCLUDES= RC= LINKEXTRA= TAIL= TAILITEMS= REFS= LIBS= DEFINES= INCLUDES= SUBSYS= ITEMS=; }
items() { local kind=$1; shift; printf "$kind %s\n" "$@"; }
R=$BUILD_DIR/.cmake/api/v1/reply
IDX=$(ls $R/index-*.json | sort | tail -1)
CM=$R/$(jq -r '.reply["client-pipes-winbuild"]["codemodel-v2"].jsonFile' $IDX)
tj() { echo $R/$(jq -r --arg n "$1" '.configurations[0].targets[] | select(.name == $n) | .jsonFile' $CM); }
cm_libs() { jq -r '.link.commandFragments[]? | select(.role == "libraries" and .backtrace != null) | .fragment' "$(tj $1)" | tr ' ' '\n' | sed -n 's/^-l\(.*\)$/\1.lib/p' | awk '!seen[$0]++' | paste -sd';'; }
cm_incs() { jq -r '.compileGroups[]? | select(.language=="C" or .language=="CXX") | .includes[]?.path' "$(tj $1)" | awk '!seen[$0]++' | while read -r f; do
  case $f in "$BUILD_DIR"/*) echo '$(PipesGeneratedDir)';; "$ROOT"/*) echo "\$(PipesRoot)${f#"$ROOT"/}" | tr / '\\';; esac; done | awk '!seen[$0]++' | paste -sd';'; }
# Items of a CMake target's sources, relative to the project folder $2 (repo-relative), by extension.
cm_items() {
  local j=$R/$(jq -r --arg n "$1" '.configurations[0].targets[] | select(.name == $n) | .jsonFile' $CM) f rel kind
  jq -r '.sources[] | select(.isGenerated != true) | .path' "$j" | while read -r f; do
    rel=$(realpath -m --relative-to="$ROOT/$2" "$ROOT/$f" | tr / '\\')
    case $f in *.c|*.cpp) kind=ClCompile;; *.h) kind=ClInclude;; *.rc) kind=ResourceCompile;; *.def) kind=None;; *) continue;; esac
    echo "$kind $rel"
  done
  for f in $(jq -r '.sources[] | select(.isGenerated == true) | .path | select(test("\\.(h|rc)$"))' "$j"); do
    f=$(basename "$f"); f=${f%.*}.mc
    [ -f "$ROOT/$2/$f" ] && echo "MessageCompile $f"
  done
  return 0
}

# ---- PipesLib ----
reset
HEADER="PipesLib.vcxproj - pipes.dll (CMake target pipes, PipesLib/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_LIB PNAME=PipesLib TYPE=DynamicLibrary TARGETNAME=pipes SUBSYS=Windows DEFINES=PIPES_BUILDING_DLL INCLUDES=$INC_LIB RC=1 LIBS=advapi32.lib
LINKEXTRA='      <ModuleDefinitionFile>pipes.def</ModuleDefinitionFile>'
ITEMS=$(cm_items pipes PipesLib)
INCLUDES=$(cm_incs pipes); LIBS=$(cm_libs pipes)
emit PipesLib/PipesLib.vcxproj '..\'

reset
HEADER="PipesProtocol.vcxproj - pipes_protocol.lib, the portable notification-protocol parser/writer (CMake target pipes_protocol, PipesLib/protocol/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_PROTO PNAME=PipesProtocol TYPE=StaticLibrary TARGETNAME=pipes_protocol INCLUDES=$INC_PROTO
ITEMS=$(cm_items pipes_protocol PipesLib/protocol)
INCLUDES=$(cm_incs pipes_protocol); LIBS=$(cm_libs pipes_protocol)
emit PipesLib/protocol/PipesProtocol.vcxproj '..\..\'

# ---- PipesTests ----
reset
HEADER="protocol_tests.vcxproj - GoogleTest suite of the notification protocol (CMake target protocol_tests, PipesTests/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_PT PNAME=protocol_tests TYPE=Application TARGETNAME=protocol_tests SUBSYS=Console INCLUDES=$INC_PROTO
ITEMS=$(cm_items protocol_tests PipesTests)
INCLUDES=$(cm_incs protocol_tests); LIBS=$(cm_libs protocol_tests)
REFS="..\\PipesLib\\protocol\\PipesProtocol.vcxproj $G_PROTO"
TAIL=$GT_TAIL TAILITEMS=$GT_ITEMS
emit PipesTests/protocol_tests.vcxproj '..\'

reset
HEADER="pipes_test_peer.vcxproj - helper program that pipes_lib_tests spawns as a separate client process (CMake target pipes_test_peer, PipesTests/lib_tests.cmake); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_PEER PNAME=pipes_test_peer TYPE=Application TARGETNAME=pipes_test_peer SUBSYS=Console INCLUDES=$INC_LIB
ITEMS=$(cm_items pipes_test_peer PipesTests)
INCLUDES=$(cm_incs pipes_test_peer); LIBS=$(cm_libs pipes_test_peer)
REFS="..\\PipesLib\\PipesLib.vcxproj $G_LIB"
emit PipesTests/pipes_test_peer.vcxproj '..\'

reset
HEADER="pipes_lib_tests.vcxproj - GoogleTest suite of the PipesLib core (CMake target pipes_lib_tests, PipesTests/lib_tests.cmake); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_LT PNAME=pipes_lib_tests TYPE=Application TARGETNAME=pipes_lib_tests SUBSYS=Console INCLUDES="\$(PipesRoot)PipesTests;$INC_LIB" LIBS=user32.lib
ITEMS=$(cm_items pipes_lib_tests PipesTests)
INCLUDES=$(cm_incs pipes_lib_tests); LIBS=$(cm_libs pipes_lib_tests)
REFS="..\\PipesLib\\PipesLib.vcxproj $G_LIB
pipes_test_peer.vcxproj $G_PEER order"
TAIL=$GT_TAIL TAILITEMS=$GT_ITEMS
emit PipesTests/pipes_lib_tests.vcxproj '..\'

reset
HEADER="pipes_test_server.vcxproj - helper server/client program that pipes_sec_tests runs in its own process (CMake target pipes_test_server, PipesTests/sec_tests.cmake); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_SRV PNAME=pipes_test_server TYPE=Application TARGETNAME=pipes_test_server SUBSYS=Console INCLUDES=$INC_LIB
ITEMS=$(cm_items pipes_test_server PipesTests)
INCLUDES=$(cm_incs pipes_test_server); LIBS=$(cm_libs pipes_test_server)
REFS="..\\PipesLib\\PipesLib.vcxproj $G_LIB"
emit PipesTests/pipes_test_server.vcxproj '..\'

reset
HEADER="pipes_sec_tests.vcxproj - GoogleTest suite of PipesLib security and resilience (CMake target pipes_sec_tests, PipesTests/sec_tests.cmake); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_ST PNAME=pipes_sec_tests TYPE=Application TARGETNAME=pipes_sec_tests SUBSYS=Console INCLUDES="\$(PipesRoot)PipesTests;$INC_LIB" LIBS='advapi32.lib;psapi.lib'
ITEMS=$(cm_items pipes_sec_tests PipesTests)
INCLUDES=$(cm_incs pipes_sec_tests); LIBS=$(cm_libs pipes_sec_tests)
REFS="..\\PipesLib\\PipesLib.vcxproj $G_LIB
pipes_test_server.vcxproj $G_SRV order"
TAIL=$GT_TAIL TAILITEMS=$GT_ITEMS
emit PipesTests/pipes_sec_tests.vcxproj '..\'

# ---- PipesService ----
reset
HEADER="PipesServiceCore.vcxproj - pipes_service_core.lib, the service engine that PipesService.exe and its unit tests link (CMake target pipes_service_core, PipesService/CMakeLists.txt), and the Event Log message table (messages.mc -> messages.h, messages.rc, MSG00409.bin); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_CORE PNAME=PipesServiceCore TYPE=StaticLibrary TARGETNAME=pipes_service_core
INCLUDES="\$(PipesRoot)PipesService;\$(PipesGeneratedDir);$INC_LIB;$INC_PROTO"
ITEMS=$(cm_items pipes_service_core PipesService)
INCLUDES=$(cm_incs pipes_service_core); LIBS=$(cm_libs pipes_service_core)
REFS="..\\PipesLib\\PipesLib.vcxproj $G_LIB order
..\\PipesLib\\protocol\\PipesProtocol.vcxproj $G_PROTO order
mqtt\\PipesMqtt.vcxproj $G_MQTT order"
TAIL='  <!-- messages.mc -> messages.h (for the sources here) and messages.rc + MSG00409.bin (for
       PipesService.rc) in $(PipesGeneratedDir), with the Windows SDK message compiler, before
       anything compiles; as the CMake build does with mc or windmc. -->
  <PropertyGroup>
    <PipesMc Condition="'\''$(PipesMc)'\'' == '\'''\'' and Exists('\''$(WindowsSdkVerBinPath)x64\mc.exe'\'')">$(WindowsSdkVerBinPath)x64\mc.exe</PipesMc>
    <PipesMc Condition="'\''$(PipesMc)'\'' == '\'''\''">mc.exe</PipesMc>
  </PropertyGroup>
  <Target Name="PipesMessageCompile" BeforeTargets="ClCompile;ResourceCompile"
          Inputs="@(MessageCompile)"
          Outputs="@(MessageCompile->'\''$(PipesGeneratedDir)%(Filename).h'\'');@(MessageCompile->'\''$(PipesGeneratedDir)%(Filename).rc'\'')">
    <MakeDir Directories="$(PipesGeneratedDir)" />
    <Exec Command="&quot;$(PipesMc)&quot; -h &quot;$(PipesGeneratedDir).&quot; -r &quot;$(PipesGeneratedDir).&quot; &quot;%(MessageCompile.FullPath)&quot;" />
  </Target>'
emit PipesService/PipesServiceCore.vcxproj '..\'

reset
HEADER="PipesService.vcxproj - PipesService.exe, the Windows service and its verbs (CMake target PipesService, PipesService/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh. F5 runs it in the console (verb run)."
GUID=$G_SVC PNAME=PipesService TYPE=Application TARGETNAME=PipesService SUBSYS=Console RC=1
INCLUDES="\$(PipesGeneratedDir);$INC_LIB;$INC_PROTO;\$(PipesRoot)PipesService"
LIBS='advapi32.lib;wtsapi32.lib'
PROPS='    <!-- Visual Studio: F5 runs the service engine in this console instead of under the SCM. -->
    <LocalDebuggerCommandArguments>run</LocalDebuggerCommandArguments>
    <LocalDebuggerWorkingDirectory>$(OutDir)</LocalDebuggerWorkingDirectory>
    <DebuggerFlavor>WindowsLocalDebugger</DebuggerFlavor>
'
ITEMS=$(cm_items PipesService PipesService)
INCLUDES=$(cm_incs PipesService); LIBS=$(cm_libs PipesService)
REFS="PipesServiceCore.vcxproj $G_CORE
..\\PipesLib\\PipesLib.vcxproj $G_LIB
..\\PipesLib\\protocol\\PipesProtocol.vcxproj $G_PROTO
mqtt\\PipesMqtt.vcxproj $G_MQTT"
emit PipesService/PipesService.vcxproj '..\'

reset
HEADER="pipes-lockdir.vcxproj - pipes-lockdir.dll, the installer's first step into the install folder, a custom action DLL in the MSI's Binary table (CMake target pipes-lockdir, PipesService/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh. The C runtime is linked statically: nothing but system DLLs may be needed where the installer runs it from."
GUID=$G_LOCKDIR PNAME=pipes-lockdir TYPE=DynamicLibrary TARGETNAME=pipes-lockdir SUBSYS=Windows
CLEXTRA='      <RuntimeLibrary Condition="'\''$(Configuration)'\'' == '\''Debug'\''">MultiThreadedDebug</RuntimeLibrary>
      <RuntimeLibrary Condition="'\''$(Configuration)'\'' != '\''Debug'\''">MultiThreaded</RuntimeLibrary>'
ITEMS=$(cm_items pipes-lockdir PipesService)
INCLUDES=$(cm_incs pipes-lockdir); LIBS=$(cm_libs pipes-lockdir)
REFS="PipesServiceCore.vcxproj $G_CORE order"
ORDER_WHY="it makes messages.h, which lockdir.c includes"
emit PipesService/pipes-lockdir.vcxproj '..\'

reset
HEADER="pipes-notify.vcxproj - pipes-notify.exe, the command-line sender (CMake target pipes-notify, PipesService/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_NOTIFY PNAME=pipes-notify TYPE=Application TARGETNAME=pipes-notify SUBSYS=Console INCLUDES="$INC_LIB;$INC_PROTO" LIBS=bcrypt.lib
ITEMS=$(cm_items pipes-notify PipesService/notify)
INCLUDES=$(cm_incs pipes-notify); LIBS=$(cm_libs pipes-notify)
REFS="..\\..\\PipesLib\\PipesLib.vcxproj $G_LIB
..\\..\\PipesLib\\protocol\\PipesProtocol.vcxproj $G_PROTO"
emit PipesService/notify/pipes-notify.vcxproj '..\..\'

reset
HEADER="pipes-svctest.vcxproj - helper program the service end-to-end suite drives (CMake target pipes-svctest, PipesService/tests/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_SVCTEST PNAME=pipes-svctest TYPE=Application TARGETNAME=pipes-svctest SUBSYS=Console INCLUDES="$INC_LIB;$INC_PROTO" LIBS=advapi32.lib
ITEMS=$(cm_items pipes-svctest PipesService/tests)
INCLUDES=$(cm_incs pipes-svctest); LIBS=$(cm_libs pipes-svctest)
REFS="..\\..\\PipesLib\\PipesLib.vcxproj $G_LIB
..\\..\\PipesLib\\protocol\\PipesProtocol.vcxproj $G_PROTO"
emit PipesService/tests/pipes-svctest.vcxproj '..\..\'

reset
HEADER="pipes_service_spool_test.vcxproj - GoogleTest suite of the service spool (CMake target pipes_service_spool_test, PipesService/tests/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_SPOOL PNAME=pipes_service_spool_test TYPE=Application TARGETNAME=pipes_service_spool_test SUBSYS=Console
INCLUDES="\$(PipesRoot)PipesService;\$(PipesGeneratedDir);$INC_LIB;$INC_PROTO" LIBS='advapi32.lib;wtsapi32.lib'
ITEMS=$(cm_items pipes_service_spool_test PipesService/tests)
INCLUDES=$(cm_incs pipes_service_spool_test); LIBS=$(cm_libs pipes_service_spool_test)
REFS="..\\PipesServiceCore.vcxproj $G_CORE
..\\..\\PipesLib\\PipesLib.vcxproj $G_LIB
..\\..\\PipesLib\\protocol\\PipesProtocol.vcxproj $G_PROTO
..\\mqtt\\PipesMqtt.vcxproj $G_MQTT"
TAIL=$GT_TAIL TAILITEMS=$GT_ITEMS
emit PipesService/tests/pipes_service_spool_test.vcxproj '..\..\'

# ---- PipesService/mqtt ----
reset
HEADER="PipesMqtt.vcxproj - pipes_mqtt.lib, the MQTT client of PipesService: packet codec, Winsock/Schannel transport, session (CMake target pipes_mqtt, PipesService/mqtt/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_MQTT PNAME=PipesMqtt TYPE=StaticLibrary TARGETNAME=pipes_mqtt
ITEMS=$(cm_items pipes_mqtt PipesService/mqtt)
INCLUDES=$(cm_incs pipes_mqtt); LIBS=$(cm_libs pipes_mqtt)
REFS="..\\..\\PipesLib\\protocol\\PipesProtocol.vcxproj $G_PROTO order"
emit PipesService/mqtt/PipesMqtt.vcxproj '..\..\'

reset
HEADER="mqtt_codec_tests.vcxproj - GoogleTest suite of the MQTT packet codec (CMake target mqtt_codec_tests, PipesService/mqtt/tests/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_MQTTT PNAME=mqtt_codec_tests TYPE=Application TARGETNAME=mqtt_codec_tests SUBSYS=Console
ITEMS=$(cm_items mqtt_codec_tests PipesService/mqtt/tests)
INCLUDES=$(cm_incs mqtt_codec_tests); LIBS=$(cm_libs mqtt_codec_tests)
REFS="..\\PipesMqtt.vcxproj $G_MQTT
..\\..\\..\\PipesLib\\protocol\\PipesProtocol.vcxproj $G_PROTO"
TAIL=$GT_TAIL TAILITEMS=$GT_ITEMS
emit PipesService/mqtt/tests/mqtt_codec_tests.vcxproj '..\..\..\'

reset
HEADER="mqtt-probe.vcxproj - MQTT client program the broker suite (run_mqtt_tests.sh) drives (CMake target mqtt-probe, PipesService/mqtt/tests/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_PROBE PNAME=mqtt-probe TYPE=Application TARGETNAME=mqtt-probe SUBSYS=Console
ITEMS=$(cm_items mqtt-probe PipesService/mqtt/tests)
INCLUDES=$(cm_incs mqtt-probe); LIBS=$(cm_libs mqtt-probe)
REFS="..\\PipesMqtt.vcxproj $G_MQTT
..\\..\\..\\PipesLib\\protocol\\PipesProtocol.vcxproj $G_PROTO"
emit PipesService/mqtt/tests/mqtt-probe.vcxproj '..\..\..\'

# ---- TrayNotifier ----
reset
HEADER="TrayNotifier.vcxproj - TrayNotifier.exe, the per-user tray program (Windows subsystem; CMake target TrayNotifier, TrayNotifier/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_TRAY PNAME=TrayNotifier TYPE=Application TARGETNAME=TrayNotifier SUBSYS=Windows RC=1
INCLUDES="\$(PipesRoot)TrayNotifier;$INC_LIB;$INC_PROTO" LIBS='comctl32.lib;shell32.lib;user32.lib;gdi32.lib'
PROPS='    <!-- TrayNotifier.rc embeds TrayNotifier.manifest (RT_MANIFEST), as in the MinGW build; a
         second, linker-generated manifest would collide with it (CVT1100). -->
    <GenerateManifest>false</GenerateManifest>
'
ITEMS=$(cm_items TrayNotifier TrayNotifier)
INCLUDES=$(cm_incs TrayNotifier); LIBS=$(cm_libs TrayNotifier)
REFS="..\\PipesLib\\PipesLib.vcxproj $G_LIB
..\\PipesLib\\protocol\\PipesProtocol.vcxproj $G_PROTO"
emit TrayNotifier/TrayNotifier.vcxproj '..\'

reset
HEADER="tray_sender.vcxproj - test sender for the tray end-to-end suite (CMake target tray_sender, TrayNotifier/CMakeLists.txt); sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_SENDER PNAME=tray_sender TYPE=Application TARGETNAME=tray_sender SUBSYS=Console INCLUDES="$INC_LIB;$INC_PROTO"
ITEMS=$(cm_items tray_sender TrayNotifier/tests)
INCLUDES=$(cm_incs tray_sender); LIBS=$(cm_libs tray_sender)
REFS="..\\..\\PipesLib\\PipesLib.vcxproj $G_LIB
..\\..\\PipesLib\\protocol\\PipesProtocol.vcxproj $G_PROTO"
emit TrayNotifier/tests/tray_sender.vcxproj '..\..\'

# ---- bench ----
reset
HEADER="pipes-bench.vcxproj - pipes-bench.exe, PipesLib against raw Win32 baselines (CMake target pipes-bench, bench/CMakeLists.txt); run by build.ps1 -Bench; sources, include folders and libraries written by cmake/winbuild/sync-projects.sh from the CMake build, checked by cmake/winbuild/check.sh."
GUID=$G_BENCH PNAME=pipes-bench TYPE=Application TARGETNAME=pipes-bench SUBSYS=Console INCLUDES=$INC_LIB LIBS='psapi.lib;advapi32.lib'
ITEMS=$(cm_items pipes-bench bench)
INCLUDES=$(cm_incs pipes-bench); LIBS=$(cm_libs pipes-bench)
REFS="..\\PipesLib\\PipesLib.vcxproj $G_LIB"
emit bench/pipes-bench.vcxproj '..\'

# ---- solution: the first project is Visual Studio's default startup project (TrayNotifier) ----
LIST="TrayNotifier|TrayNotifier\\TrayNotifier.vcxproj|$G_TRAY|
PipesService|PipesService\\PipesService.vcxproj|$G_SVC|
PipesServiceCore|PipesService\\PipesServiceCore.vcxproj|$G_CORE|
pipes-notify|PipesService\\notify\\pipes-notify.vcxproj|$G_NOTIFY|
pipes-lockdir|PipesService\\pipes-lockdir.vcxproj|$G_LOCKDIR|
PipesMqtt|PipesService\\mqtt\\PipesMqtt.vcxproj|$G_MQTT|
PipesLib|PipesLib\\PipesLib.vcxproj|$G_LIB|
PipesProtocol|PipesLib\\protocol\\PipesProtocol.vcxproj|$G_PROTO|
protocol_tests|PipesTests\\protocol_tests.vcxproj|$G_PT|Tests
pipes_lib_tests|PipesTests\\pipes_lib_tests.vcxproj|$G_LT|Tests
pipes_test_peer|PipesTests\\pipes_test_peer.vcxproj|$G_PEER|Tests
pipes_sec_tests|PipesTests\\pipes_sec_tests.vcxproj|$G_ST|Tests
pipes_test_server|PipesTests\\pipes_test_server.vcxproj|$G_SRV|Tests
pipes_service_spool_test|PipesService\\tests\\pipes_service_spool_test.vcxproj|$G_SPOOL|Tests
pipes-svctest|PipesService\\tests\\pipes-svctest.vcxproj|$G_SVCTEST|Tests
tray_sender|TrayNotifier\\tests\\tray_sender.vcxproj|$G_SENDER|Tests
mqtt_codec_tests|PipesService\\mqtt\\tests\\mqtt_codec_tests.vcxproj|$G_MQTTT|Tests
mqtt-probe|PipesService\\mqtt\\tests\\mqtt-probe.vcxproj|$G_PROBE|Tests
pipes-bench|bench\\pipes-bench.vcxproj|$G_BENCH|Tools"
emit_sln "$LIST" pipes.sln
echo "sync-projects.sh: wrote the .vcxproj files and pipes.sln; check them with BUILD_DIR=${BUILD_DIR#$ROOT/} cmake/winbuild/check.sh"
