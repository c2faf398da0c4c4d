<#
.SYNOPSIS
    Builds Pipes on Windows with Visual Studio's MSBuild (pipes.sln); optionally runs the tests,
    builds the MSI and runs the benchmark.

.DESCRIPTION
    Finds MSBuild with vswhere, restores the GoogleTest NuGet package, builds pipes.sln for one
    configuration and platform into bin\<Platform>\<Configuration>, then:
      -Test     runs the GoogleTest programs (results as XML in dist\test-results\<Platform>-<Configuration>)
                and, when Pipes is installed on this machine, checks what only Windows shows and needs
                no second user: the service's account, SID type, privileges and start type, and the
                owner and ACL of the data folders and the install folder (docs/SECURITY.md)
                and the benchmark's short smoke run, as ctest does in the CMake build;
      -Package  lays out the MSI's files and builds dist\Pipes-<version>-x64.msi from
                installer\Pipes.wxs with the WiX Toolset v3 (candle, light); the version comes
                from PipesLib\include\pipes_version.h;
      -Bench    runs bin\<Platform>\<Configuration>\pipes-bench.exe, writing dist\bench.json;
      -Clean    removes bin\, obj\ and dist\ first (alone: only that).
    Stops at the first error; every native program's exit code is checked.
    On Linux use ./build.sh instead (MinGW-w64 cross build, tests under Wine).

.EXAMPLE
    .\build.ps1
    Debug build for x64.

.EXAMPLE
    .\build.ps1 -Configuration Release -Test -Package
    What the Windows CI runs.
#>
[CmdletBinding()]
param(
    [ValidateSet('Debug', 'Release')]
    [string]$Configuration = 'Debug',

    [ValidateSet('x64', 'ARM64')]
    [string]$Platform = 'x64',

    [switch]$Test,
    [switch]$Package,
    [switch]$Bench,
    [switch]$Clean
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# Exit codes of native programs are checked explicitly below (PowerShell 7.3+ could also throw
# on them by itself; keep one behaviour on Windows PowerShell 5.1 and 7).
$PSNativeCommandUseErrorActionPreference = $false

$Root = $PSScriptRoot
$Solution = Join-Path $Root 'pipes.sln'
$OutDir = Join-Path $Root "bin\$Platform\$Configuration"
$ObjDir = Join-Path $Root "obj\$Platform\$Configuration"
$DistDir = Join-Path $Root 'dist'
$TestResultsDir = Join-Path $DistDir "test-results\$Platform-$Configuration"

# The GoogleTest programs that ctest runs in the CMake build (cmake/winbuild/check.sh keeps this
# list equal to ctest's).
$GoogleTestPrograms = @(
    'protocol_tests'
    'pipes_lib_tests'
    'pipes_sec_tests'
    'pipes_service_spool_test'
    'mqtt_codec_tests'
)

# ---- helpers -----------------------------------------------------------------------------------

# Runs a native program and throws when its exit code is not 0.
function Invoke-Native {
    param(
        [Parameter(Mandatory = $true)][string]$FilePath,
        [string[]]$ArgumentList = @()
    )
    Write-Host "> $FilePath $($ArgumentList -join ' ')"
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) {
        throw "$FilePath exited with code $LASTEXITCODE"
    }
}

# MSBuild of the newest Visual Studio (or Build Tools) that has the C++ tools for $Platform.
function Find-MSBuild {
    $vswhere = Join-Path ${env:ProgramFiles(x86)} 'Microsoft Visual Studio\Installer\vswhere.exe'
    if (-not (Test-Path $vswhere)) {
        throw "vswhere.exe not found ($vswhere): install Visual Studio 2022 or its Build Tools with the 'Desktop development with C++' workload"
    }
    $component = 'Microsoft.VisualStudio.Component.VC.Tools.x86.x64'
    if ($Platform -eq 'ARM64') {
        $component = 'Microsoft.VisualStudio.Component.VC.Tools.ARM64'
    }
    $found = & $vswhere -latest -products * -requires Microsoft.Component.MSBuild $component -find 'MSBuild\**\Bin\MSBuild.exe'
    if ($LASTEXITCODE -ne 0) {
        throw "vswhere.exe exited with code $LASTEXITCODE"
    }
    $msbuild = @($found) | Where-Object { $_ } | Select-Object -First 1
    if (-not $msbuild) {
        throw "No Visual Studio with MSBuild and $component found (vswhere): add that component in the Visual Studio Installer"
    }
    return $msbuild
}

# "1.2.3" from PipesLib\include\pipes_version.h, the one place the version is written.
function Get-PipesVersion {
    $header = Get-Content -Raw -Path (Join-Path $Root 'PipesLib\include\pipes_version.h')
    $parts = foreach ($name in @('MAJOR', 'MINOR', 'PATCH')) {
        $match = [regex]::Match($header, "#define\s+PIPES_VERSION_$name\s+(\d+)")
        if (-not $match.Success) {
            throw "PIPES_VERSION_$name not found in PipesLib\include\pipes_version.h"
        }
        [int]$match.Groups[1].Value
    }
    if ($parts[0] -gt 255 -or $parts[1] -gt 255 -or $parts[2] -gt 65535) {
        throw "Version $($parts -join '.') does not fit an MSI ProductVersion (255.255.65535)"
    }
    return ($parts -join '.')
}

# A WiX Toolset v3 program: from the WIX environment variable (set by its installer), PATH, or
# the default install folders.
function Find-WixTool {
    param([Parameter(Mandatory = $true)][string]$Name)
    $candidates = @()
    if ($env:WIX) {
        $candidates += Join-Path $env:WIX "bin\$Name"
    }
    $onPath = Get-Command $Name -ErrorAction SilentlyContinue
    if ($onPath) {
        $candidates += $onPath.Source
    }
    $candidates += @(Get-ChildItem -Path "${env:ProgramFiles(x86)}\WiX Toolset v3*\bin\$Name" -ErrorAction SilentlyContinue |
            Sort-Object -Property FullName -Descending | ForEach-Object { $_.FullName })
    foreach ($candidate in $candidates) {
        if ($candidate -and (Test-Path $candidate)) {
            return $candidate
        }
    }
    throw "$Name (WiX Toolset v3) not found: install WiX Toolset 3.14 (it sets WIX), or put its bin folder on PATH"
}

# A MinGW import library (libpipes.dll.a, shipped in the SDK for MinGW users) from pipes.def.
function New-MinGWImportLibrary {
    param([string]$Destination)
    $machine = if ($Platform -eq 'ARM64') { 'arm64' } else { 'i386:x86-64' }
    $def = Join-Path $Root 'PipesLib\pipes.def'
    foreach ($tool in @('dlltool.exe', 'llvm-dlltool.exe')) {
        $command = Get-Command $tool -ErrorAction SilentlyContinue
        if (-not $command -and $tool -eq 'llvm-dlltool.exe' -and (Test-Path "$env:ProgramFiles\LLVM\bin\llvm-dlltool.exe")) {
            $command = Get-Command "$env:ProgramFiles\LLVM\bin\llvm-dlltool.exe"
        }
        if ($command) {
            Invoke-Native -FilePath $command.Source -ArgumentList @('-m', $machine, '-d', $def, '-D', 'pipes.dll', '-l', $Destination)
            return
        }
    }
    throw 'Neither dlltool.exe (MinGW-w64) nor llvm-dlltool.exe (LLVM) found: one is needed for the SDK''s libpipes.dll.a'
}

# Where each file the MSI installs (File/@Source) or carries (Binary/@SourceFile) comes from:
# installer\Pipes.wxs names them as $(var.StageDir)/<path>; this lays them out in $Stage.
function New-MsiStage {
    param([string]$Wxs, [string]$Stage)
    if (Test-Path $Stage) {
        Remove-Item -Recurse -Force -Path $Stage
    }
    $null = New-Item -ItemType Directory -Path $Stage
    $sources = [regex]::Matches((Get-Content -Raw -Path $Wxs), 'Source(File)?="\$\(var\.StageDir\)/([^"]+)"') |
        ForEach-Object { $_.Groups[2].Value } | Sort-Object -Unique
    foreach ($relative in $sources) {
        $target = Join-Path $Stage ($relative -replace '/', '\')
        $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $target)
        $name = Split-Path -Leaf $target
        switch -Regex ($relative) {
            '^[^/]+\.(exe|dll)$' { $from = Join-Path $OutDir $name }
            '^README\.md$' { $from = Join-Path $Root 'README.md' }
            '^include/' { $from = Join-Path $Root "PipesLib\include\$name" }
            '^lib/pipes\.lib$' { $from = Join-Path $OutDir 'pipes.lib' }
            '^lib/libpipes\.dll\.a$' { $from = $null }
            '^lib/cmake/Pipes/' { $from = Join-Path $Root "installer\sdk\$name" }
            '^docs/' { $from = Join-Path $Root "docs\$name" }
            '^sdk-example/' { $from = Join-Path $Root "installer\sdk-example\$name" }
            default { throw "build.ps1 does not know where the MSI file '$relative' comes from (installer\Pipes.wxs)" }
        }
        if ($null -eq $from) {
            New-MinGWImportLibrary -Destination $target
            continue
        }
        if (-not (Test-Path $from)) {
            throw "$from is missing (needed for the MSI as $relative)"
        }
        Copy-Item -Path $from -Destination $target
    }
}

# The installed service's settings and folders that only Windows can show (docs/SECURITY.md,
# "Data folders and privileges"). Returns the failed checks; none when Pipes is not installed.
function Test-InstalledPipes {
    $failures = @()
    $service = Get-CimInstance -ClassName Win32_Service -Filter "Name='PipesService'" -ErrorAction SilentlyContinue
    if ($null -eq $service) {
        Write-Host '== test: installed service: skipped (PipesService is not installed; install the MSI to run these checks)'
        return $failures
    }
    Write-Host '== test: installed service and folders'
    $serviceSid = 'S-1-5-80-3957959930-3555412087-1735592967-3833301536-2774221309'
    $admins = 'S-1-5-32-544'
    $system = 'S-1-5-18'
    $check = {
        param([string]$What, [bool]$Ok, [string]$Seen)
        if ($Ok) { Write-Host "  ok   $What" } else { Write-Host "  FAIL $What (seen: $Seen)" }
        return $Ok
    }
    if (-not (& $check 'account NT SERVICE\PipesService' ($service.StartName -eq 'NT SERVICE\PipesService') $service.StartName)) { $failures += 'account' }
    $key = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Services\PipesService'
    $delayed = 0
    if ($key.PSObject.Properties.Name -contains 'DelayedAutostart') { $delayed = $key.DelayedAutostart }
    if (-not (& $check 'automatic start, not delayed' ($service.StartMode -eq 'Auto' -and $delayed -eq 0) "$($service.StartMode), DelayedAutostart=$delayed")) { $failures += 'start type' }
    $sidType = (& sc.exe qsidtype PipesService) -join ' '
    if (-not (& $check 'service SID type UNRESTRICTED (sc qsidtype)' ($sidType -match 'SERVICE_SID_TYPE:\s*UNRESTRICTED') $sidType)) { $failures += 'sid type' }
    $privileges = @(& sc.exe qprivs PipesService | Select-String -Pattern 'Se[A-Za-z]+Privilege' -AllMatches |
            ForEach-Object { $_.Matches } | ForEach-Object { $_.Value })
    if (-not (& $check 'required privileges: SeChangeNotifyPrivilege only (sc qprivs)' (($privileges -join ',') -eq 'SeChangeNotifyPrivilege') ($privileges -join ','))) { $failures += 'privileges' }
    if ($service.State -eq 'Running') {
        $owner = Invoke-CimMethod -InputObject (Get-CimInstance -ClassName Win32_Process -Filter "ProcessId=$($service.ProcessId)") -MethodName GetOwner
        if (-not (& $check 'the running service process is NT SERVICE\PipesService' ($owner.Domain -eq 'NT SERVICE' -and $owner.User -eq 'PipesService') "$($owner.Domain)\$($owner.User)")) { $failures += 'process owner' }
    }
    # A folder is locked when it is owned by Administrators, its DACL is protected, and only
    # SYSTEM, Administrators and the service may write to it; $readers may read and execute.
    $folderCheck = {
        param([string]$Path, [string[]]$Writers, [string[]]$Readers)
        if (-not (Test-Path -LiteralPath $Path)) { return "$Path does not exist" }
        $acl = Get-Acl -LiteralPath $Path
        $ownerSid = $acl.GetOwner([System.Security.Principal.SecurityIdentifier]).Value
        if ($ownerSid -ne $admins) { return "$Path is owned by $($acl.Owner)" }
        if (-not $acl.AreAccessRulesProtected) { return "$Path inherits permissions" }
        $readRights = [System.Security.AccessControl.FileSystemRights]'ReadAndExecute, Synchronize'
        foreach ($rule in $acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])) {
            $sid = $rule.IdentityReference.Value
            if ($rule.AccessControlType -ne 'Allow' -or $Writers -contains $sid) { continue }
            if ($Readers -contains $sid -and ([int64]$rule.FileSystemRights -band -bnot [int64]$readRights) -eq 0) { continue }
            return "$Path grants $($rule.FileSystemRights) to $sid"
        }
        return ''
    }
    $dataDir = Join-Path $env:ProgramData 'Pipes'
    $configured = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Pipes\Service' -ErrorAction SilentlyContinue
    if ($null -ne $configured -and $configured.PSObject.Properties.Name -contains 'DataDirectory') { $dataDir = $configured.DataDirectory }
    foreach ($path in @($dataDir, (Join-Path $dataDir 'logs'), (Join-Path $dataDir 'spool'))) {
        $problem = & $folderCheck $path @($system, $admins, $serviceSid) @()
        if (-not (& $check "data folder $path locked (owner Administrators, protected DACL: SYSTEM, Administrators, the service)" ($problem -eq '') $problem)) { $failures += "data folder $path" }
    }
    $exe = ($service.PathName -replace '^"([^"]+)".*$', '$1')
    $installDir = Split-Path -Parent $exe
    $problem = & $folderCheck $installDir @($system, $admins) @('S-1-5-32-545', $serviceSid)
    if (-not (& $check "install folder $installDir locked (owner Administrators, protected DACL; Users and the service read only)" ($problem -eq '') $problem)) { $failures += 'install folder' }
    return $failures
}

# ---- clean -------------------------------------------------------------------------------------
if ($Clean) {
    foreach ($dir in @('bin', 'obj', 'dist')) {
        $path = Join-Path $Root $dir
        if (Test-Path $path) {
            Write-Host "== clean: removing $path"
            Remove-Item -Recurse -Force -Path $path
        }
    }
    if (-not ($Test -or $Package -or $Bench)) {
        Write-Host '== clean: done'
        return
    }
}

# ---- build -------------------------------------------------------------------------------------
$msbuild = Find-MSBuild
Write-Host "== MSBuild: $msbuild"
$common = @("-p:Configuration=$Configuration", "-p:Platform=$Platform", '-nologo', '-verbosity:minimal')
Write-Host '== restore (GoogleTest NuGet package)'
Invoke-Native -FilePath $msbuild -ArgumentList (@($Solution, '-t:Restore', '-p:RestorePackagesConfig=true') + $common)
Write-Host "== build: pipes.sln $Configuration|$Platform"
Invoke-Native -FilePath $msbuild -ArgumentList (@($Solution, '-m') + $common)
Write-Host "== built into $OutDir"

# ---- test --------------------------------------------------------------------------------------
if ($Test) {
    if ($Platform -eq 'ARM64' -and $env:PROCESSOR_ARCHITECTURE -ne 'ARM64') {
        throw 'ARM64 tests need an ARM64 Windows machine; build ARM64 without -Test here'
    }
    $null = New-Item -ItemType Directory -Force -Path $TestResultsDir
    $failed = @()
    Push-Location $OutDir
    try {
        foreach ($program in $GoogleTestPrograms) {
            $exe = Join-Path $OutDir "$program.exe"
            $xml = Join-Path $TestResultsDir "$program.xml"
            Write-Host "== test: $program"
            & $exe '--gtest_color=no' "--gtest_output=xml:$xml"
            if ($LASTEXITCODE -ne 0) {
                Write-Host "== test: $program FAILED (exit code $LASTEXITCODE)"
                $failed += $program
            }
        }
        # The benchmark's smoke run (every scenario once, figures only checked for sanity), as
        # the CMake build's ctest test pipes-bench-smoke.
        Write-Host '== test: pipes-bench --smoke'
        & (Join-Path $OutDir 'pipes-bench.exe') '--smoke' '--timeout' '30' '--json' (Join-Path $TestResultsDir 'bench-smoke.json')
        if ($LASTEXITCODE -ne 0) {
            Write-Host "== test: pipes-bench --smoke FAILED (exit code $LASTEXITCODE)"
            $failed += 'pipes-bench-smoke'
        }
        # A child that fails to start is started again (ctest pipes-bench-start-retry): two
        # starts are made to fail, and the run must pass with both used up.
        Write-Host '== test: pipes-bench --fail-starts 2'
        & (Join-Path $OutDir 'pipes-bench.exe') '--smoke' '--only' 'cpu' '--fail-starts' '2' '--timeout' '30' '--json' (Join-Path $TestResultsDir 'bench-start-retry.json')
        if ($LASTEXITCODE -ne 0) {
            Write-Host "== test: pipes-bench --fail-starts 2 FAILED (exit code $LASTEXITCODE)"
            $failed += 'pipes-bench-start-retry'
        }
    }
    finally {
        Pop-Location
    }
    $installed = @(Test-InstalledPipes)
    if ($installed.Count -gt 0) {
        $failed += "installed service and folders ($($installed -join ', '))"
    }
    $total = $GoogleTestPrograms.Count + 2
    Write-Host "$($total - $failed.Count) passed, $($failed.Count) failed"
    Write-Host "== test results (GoogleTest XML): $TestResultsDir"
    if ($failed.Count -gt 0) {
        throw "Failed: $($failed -join ', ')"
    }
}

# ---- package -----------------------------------------------------------------------------------
if ($Package) {
    if ($Platform -ne 'x64') {
        throw 'The MSI is x64 only (installer\Pipes.wxs declares an x64 package)'
    }
    $version = Get-PipesVersion
    $arch = $Platform.ToLowerInvariant()
    $candle = Find-WixTool -Name 'candle.exe'
    $light = Find-WixTool -Name 'light.exe'
    $wxs = Join-Path $Root 'installer\Pipes.wxs'
    $stage = Join-Path $ObjDir 'msi-stage'
    $wixobj = Join-Path $ObjDir 'installer\Pipes.wixobj'
    $msi = Join-Path $DistDir "Pipes-$version-$arch.msi"
    Write-Host "== package: staging the MSI's files in $stage"
    New-MsiStage -Wxs $wxs -Stage $stage
    $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $wixobj), $DistDir
    $extensions = @()
    if ((Get-Content -Raw -Path $wxs) -match 'schemas\.microsoft\.com/wix/UtilExtension') {
        $extensions = @('-ext', 'WixUtilExtension')
    }
    Write-Host "== package: Pipes $version ($arch)"
    Invoke-Native -FilePath $candle -ArgumentList (@('-nologo', '-arch', $arch, "-dVersion=$version", "-dStageDir=$stage", '-out', $wixobj, $wxs) + $extensions)
    Invoke-Native -FilePath $light -ArgumentList (@('-nologo', '-out', $msi, $wixobj) + $extensions)
    Write-Host "== package: $msi"
}

# ---- bench -------------------------------------------------------------------------------------
if ($Bench) {
    $null = New-Item -ItemType Directory -Force -Path $DistDir
    $json = Join-Path $DistDir 'bench.json'
    Write-Host '== bench: pipes-bench (full run; figures compare only within one run)'
    Push-Location $OutDir
    try {
        Invoke-Native -FilePath (Join-Path $OutDir 'pipes-bench.exe') -ArgumentList @('--json', $json)
    }
    finally {
        Pop-Location
    }
    Write-Host "== bench: $json"
}

Write-Host "== outputs: binaries in $OutDir"
