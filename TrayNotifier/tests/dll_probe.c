/*
 * dll_probe.c - does a running program load a DLL planted in its current
 * directory or on PATH? For the tray tests (issue 12: every product exe calls
 * SetDefaultDllDirectories first thing):
 *
 *   tray_sender --dll-probe --cwd DIR --path DIR (--ready-pipe NAME | --serve-pipe NAME)
 *               [--expect blocked|loaded] -- PROGRAM [ARGS...]
 *
 * Starts PROGRAM in --cwd with --path put first on PATH, and waits until it
 * is well past the start of its main: it serves pipe NAME (--ready-pipe), or
 * it connected to pipe NAME, which the probe serves, and sent a message
 * (--serve-pipe). Then, inside PROGRAM (a thread started there with
 * CreateRemoteThread, as a DLL a program loads by name would be), it calls
 * LoadLibraryW by name on "planted_cwd.dll" (the test puts it in --cwd),
 * "planted_path.dll" (in --path) and "msimg32.dll" (a System32 DLL none of
 * the programs use: it shows that the probe works in that process), and
 * reads PROGRAM's module list to see which were loaded. Prints one line each:
 * "<name>: loaded from <path>" or "<name>: not loaded". Then ends PROGRAM.
 *
 * Exit 0 when the result is the expected one: "blocked" (the default) = both
 * planted DLLs not loaded and msimg32.dll loaded; "loaded" = both planted
 * DLLs loaded (the control: a program that does not restrict its search).
 * Exit 1 otherwise, 2 when PROGRAM did not get ready.
 */
#include "dll_probe.h"

#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READY_WAIT_MS 30000u
#define POLL_MS 50u

static const wchar_t *const probe_names[3] = {L"planted_cwd.dll", L"planted_path.dll",
                                              L"msimg32.dll"};

/* The loaded module of that file name in process, its path in path; 0 if none. */
static int find_module(HANDLE process, const wchar_t *name, wchar_t *path, DWORD cap)
{
    HMODULE mods[1024];
    DWORD needed = 0, i;
    if (!K32EnumProcessModules(process, mods, sizeof mods, &needed)) {
        return 0;
    }
    for (i = 0; i < needed / sizeof(HMODULE) && i < 1024; ++i) {
        wchar_t base[MAX_PATH];
        if (K32GetModuleBaseNameW(process, mods[i], base, MAX_PATH) && !_wcsicmp(base, name)) {
            if (!K32GetModuleFileNameExW(process, mods[i], path, cap)) {
                path[0] = L'\0';
            }
            return 1;
        }
    }
    return 0;
}

/* LoadLibraryW(name) on a thread of process; 0 when the thread could not run. */
static int remote_load(HANDLE process, const wchar_t *name)
{
    size_t bytes = (wcslen(name) + 1) * sizeof(wchar_t);
    FARPROC load = GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "LoadLibraryW");
    LPTHREAD_START_ROUTINE start;
    void *remote;
    HANDLE thread;
    int ran = 0;
    /* kernel32 is at the same address in every process of the session. */
    memcpy(&start, &load, sizeof start);
    remote = VirtualAllocEx(process, NULL, bytes, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!remote) {
        return 0;
    }
    if (WriteProcessMemory(process, remote, name, bytes, NULL)) {
        thread = CreateRemoteThread(process, NULL, 0, start, remote, 0, NULL);
        if (thread) {
            ran = WaitForSingleObject(thread, 10000) == WAIT_OBJECT_0;
            CloseHandle(thread);
        }
    }
    VirtualFreeEx(process, remote, 0, MEM_RELEASE);
    return ran;
}

static int pipe_exists(const wchar_t *name)
{
    return WaitNamedPipeW(name, 1) || GetLastError() != ERROR_FILE_NOT_FOUND;
}

/* Waits until the child serves name; 0 if it ended or took too long. */
static int wait_served(HANDLE child, const wchar_t *name)
{
    ULONGLONG until = GetTickCount64() + READY_WAIT_MS;
    while (!pipe_exists(name)) {
        if (GetTickCount64() >= until || WaitForSingleObject(child, POLL_MS) == WAIT_OBJECT_0) {
            return 0;
        }
    }
    return 1;
}

/* Waits until the child connected to our pipe and sent a message. */
static int wait_client(HANDLE child, HANDLE pipe)
{
    OVERLAPPED ov;
    char buf[256];
    DWORD n = 0;
    HANDLE waits[2];
    int ok = 0;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ov.hEvent) {
        return 0;
    }
    waits[0] = ov.hEvent;
    waits[1] = child;
    if (ConnectNamedPipe(pipe, &ov) || GetLastError() == ERROR_PIPE_CONNECTED) {
        SetEvent(ov.hEvent);
    }
    if (WaitForMultipleObjects(2, waits, FALSE, READY_WAIT_MS) == WAIT_OBJECT_0 &&
        GetOverlappedResult(pipe, &ov, &n, FALSE)) {
        ResetEvent(ov.hEvent);
        ok = (ReadFile(pipe, buf, sizeof buf, &n, &ov) || GetLastError() == ERROR_MORE_DATA ||
              GetLastError() == ERROR_IO_PENDING) &&
             WaitForMultipleObjects(2, waits, FALSE, READY_WAIT_MS) == WAIT_OBJECT_0;
    }
    CancelIoEx(pipe, &ov);
    GetOverlappedResult(pipe, &ov, &n, TRUE); /* ov is ours again */
    CloseHandle(ov.hEvent);
    return ok;
}

static int widen(const char *s, wchar_t *out, int cap)
{
    return MultiByteToWideChar(CP_ACP, 0, s, -1, out, cap) > 0;
}

int dll_probe_run(int argc, char **argv)
{
    const char *cwd = NULL, *path = NULL, *ready = NULL, *serve = NULL, *expect = "blocked";
    wchar_t wcwd[MAX_PATH], wpath[MAX_PATH], wpipe[256], cmd[4096], old_path[16384],
        new_path[20000], found[3][MAX_PATH];
    int i, first = 0, loaded[3] = {0, 0, 0}, rc;
    size_t len = 0;
    HANDLE pipe = INVALID_HANDLE_VALUE;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;

    for (i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) {
            first = i + 1;
            break;
        }
        if (!strcmp(a, "--dll-probe")) {
            continue;
        }
        if (!v) {
            break;
        }
        ++i;
        if (!strcmp(a, "--cwd")) cwd = v;
        else if (!strcmp(a, "--path")) path = v;
        else if (!strcmp(a, "--ready-pipe")) ready = v;
        else if (!strcmp(a, "--serve-pipe")) serve = v;
        else if (!strcmp(a, "--expect")) expect = v;
    }
    if (!first || first >= argc || !cwd || !path || (ready != NULL) == (serve != NULL) ||
        !widen(cwd, wcwd, MAX_PATH) || !widen(path, wpath, MAX_PATH) ||
        !widen(ready ? ready : serve, wpipe, 256)) {
        fprintf(stderr, "usage: tray_sender --dll-probe --cwd DIR --path DIR "
                        "(--ready-pipe NAME | --serve-pipe NAME) [--expect blocked|loaded] -- "
                        "PROGRAM [ARGS...]\n");
        return 1;
    }
    for (i = first; i < argc; ++i) {
        int n = swprintf(cmd + len, ARRAYSIZE(cmd) - len, L"%ls\"%hs\"", i > first ? L" " : L"",
                         argv[i]);
        if (n < 0) {
            fprintf(stderr, "dll_probe: command line too long\n");
            return 1;
        }
        len += (size_t)n;
    }
    if (!GetEnvironmentVariableW(L"PATH", old_path, ARRAYSIZE(old_path))) {
        old_path[0] = L'\0';
    }
    swprintf(new_path, ARRAYSIZE(new_path), L"%ls;%ls", wpath, old_path);
    SetEnvironmentVariableW(L"PATH", new_path); /* the child inherits it */
    if (serve) {
        pipe = CreateNamedPipeW(wpipe, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, 1, 4096,
                                4096, 0, NULL);
        if (pipe == INVALID_HANDLE_VALUE) {
            fprintf(stderr, "dll_probe: cannot serve %s (error %lu)\n", serve, GetLastError());
            return 1;
        }
    }
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (!CreateProcessW(NULL, cmd, NULL, NULL, FALSE, 0, NULL, wcwd, &si, &pi)) {
        fprintf(stderr, "dll_probe: cannot start %ls (error %lu)\n", cmd, GetLastError());
        return 1;
    }
    if (!(serve ? wait_client(pi.hProcess, pipe) : wait_served(pi.hProcess, wpipe))) {
        fprintf(stderr, "dll_probe: %ls did not get ready\n", cmd);
        rc = 2;
    } else {
        for (i = 0; i < 3; ++i) {
            found[i][0] = L'\0';
            loaded[i] = remote_load(pi.hProcess, probe_names[i]) &&
                        find_module(pi.hProcess, probe_names[i], found[i], MAX_PATH);
            printf("%ls: %s%ls\n", probe_names[i], loaded[i] ? "loaded from " : "not loaded",
                   found[i]);
        }
        rc = !strcmp(expect, "loaded") ? !(loaded[0] && loaded[1])
                                       : !(!loaded[0] && !loaded[1] && loaded[2]);
    }
    TerminateProcess(pi.hProcess, 0);
    WaitForSingleObject(pi.hProcess, 10000);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    if (pipe != INVALID_HANDLE_VALUE) {
        CloseHandle(pipe);
    }
    fflush(stdout);
    return rc;
}
