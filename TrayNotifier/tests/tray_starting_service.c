/*
 * tray_starting_service.c - a service that connects to a tray's pipe while
 * it still reports SERVICE_START_PENDING, as PipesService does (core.c
 * delivers to the trays before it reports RUNNING). Installed under the
 * name PipesService by the answers suite, so that the tray's rule "the
 * connection is the service's when its process is the one the SCM runs as
 * PipesService" is tested at the moment that matters:
 *
 *   tray_sender --starting-service --pipe NAME --out FILE --until FILE2
 *
 * run by the Service Control Manager: reports START_PENDING, opens NAME,
 * writes "connected <pid>" to FILE, and stays START_PENDING (check points
 * advancing) until FILE2 exists; then RUNNING until told to stop.
 */
#include "tray_starting_service.h"

#include <stdio.h>

#define HOLD_MAX_MS 60000

static const wchar_t *g_pipe;
static const char *g_out, *g_until;
static SERVICE_STATUS_HANDLE g_handle;
static SERVICE_STATUS g_status;
static HANDLE g_stop;

static void report(DWORD state)
{
    g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    g_status.dwCurrentState = state;
    g_status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP : 0;
    g_status.dwWaitHint = state == SERVICE_START_PENDING ? 5000 : 0;
    g_status.dwCheckPoint = state == SERVICE_START_PENDING ? g_status.dwCheckPoint + 1 : 0;
    SetServiceStatus(g_handle, &g_status);
}

static DWORD WINAPI handler(DWORD control, DWORD type, LPVOID data, LPVOID context)
{
    (void)type;
    (void)data;
    (void)context;
    if (control == SERVICE_CONTROL_STOP) {
        SetEvent(g_stop);
        return NO_ERROR;
    }
    return control == SERVICE_CONTROL_INTERROGATE ? NO_ERROR : ERROR_CALL_NOT_IMPLEMENTED;
}

static HANDLE open_pipe(void)
{
    ULONGLONG until = GetTickCount64() + 20000;
    HANDLE h;
    for (;;) {
        h = CreateFileW(g_pipe, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (h != INVALID_HANDLE_VALUE || GetTickCount64() >= until)
            return h;
        WaitNamedPipeW(g_pipe, 500);
        report(SERVICE_START_PENDING);
    }
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    HANDLE pipe, out;
    char line[64];
    int len;
    DWORD done = 0;
    ULONGLONG until = GetTickCount64() + HOLD_MAX_MS;
    (void)argc;
    (void)argv;
    g_handle = RegisterServiceCtrlHandlerExW(L"PipesService", handler, NULL);
    g_stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!g_handle || !g_stop)
        return;
    report(SERVICE_START_PENDING);
    pipe = open_pipe();
    if (pipe != INVALID_HANDLE_VALUE)
        len = snprintf(line, sizeof line, "connected %lu\n", (unsigned long)GetCurrentProcessId());
    else
        len = snprintf(line, sizeof line, "not connected %lu\n", (unsigned long)GetLastError());
    out = CreateFileA(g_out, GENERIC_WRITE, FILE_SHARE_READ, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (out != INVALID_HANDLE_VALUE) {
        WriteFile(out, line, (DWORD)len, &done, NULL);
        CloseHandle(out);
    }
    while (GetFileAttributesA(g_until) == INVALID_FILE_ATTRIBUTES && GetTickCount64() < until) {
        Sleep(100);
        report(SERVICE_START_PENDING);
    }
    report(SERVICE_RUNNING);
    WaitForSingleObject(g_stop, INFINITE);
    if (pipe != INVALID_HANDLE_VALUE)
        CloseHandle(pipe);
    report(SERVICE_STOPPED);
}

int tray_starting_service_run(const wchar_t *pipe, const char *out, const char *until)
{
    SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)L"PipesService", service_main}, {NULL, NULL}};
    g_pipe = pipe;
    g_out = out;
    g_until = until;
    if (!StartServiceCtrlDispatcherW(table)) {
        fprintf(stderr, "tray_sender: --starting-service is for the Service Control Manager (%lu)\n",
                (unsigned long)GetLastError());
        return 1;
    }
    return 0;
}
