/*
 * svcmain.c - PipesService.exe entry point: verb dispatch and the Service
 * Control Manager glue (ServiceMain, the control handler, SetServiceStatus
 * with check points and wait hints). The engine itself is core.c.
 */
#include "svc.h"

#include <stdio.h>
#include <wchar.h>
#include <wtsapi32.h>

static SERVICE_STATUS_HANDLE g_status_handle;
static SERVICE_STATUS g_status;
static SRWLOCK g_status_lock = SRWLOCK_INIT;
static HANDLE g_stop;

/* SetServiceStatus with a check point that advances on every pending report. */
static void report_scm(DWORD state, DWORD wait_hint_ms)
{
    AcquireSRWLockExclusive(&g_status_lock);
    g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    g_status.dwCurrentState = state;
    g_status.dwWaitHint = wait_hint_ms;
    if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING)
        g_status.dwCheckPoint++;
    else
        g_status.dwCheckPoint = 0;
    g_status.dwControlsAccepted =
        state == SERVICE_RUNNING
            ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_PRESHUTDOWN | SERVICE_ACCEPT_SESSIONCHANGE
            : 0;
    if (g_status_handle)
        SetServiceStatus(g_status_handle, &g_status);
    ReleaseSRWLockExclusive(&g_status_lock);
}

static void report_console(DWORD state, DWORD wait_hint_ms)
{
    static DWORD last;
    (void)wait_hint_ms;
    if (state == last)
        return;
    last = state;
    if (state == SERVICE_RUNNING)
        fwprintf(stderr, L"PipesService: running in the console; press Ctrl+C to stop.\n");
    else if (state == SERVICE_STOP_PENDING)
        fwprintf(stderr, L"PipesService: stopping...\n");
    fflush(stderr); /* redirected to a file, the CRT buffers it */
}

static DWORD WINAPI handler(DWORD control, DWORD event_type, LPVOID event_data, LPVOID context)
{
    (void)context;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_PRESHUTDOWN:
        report_scm(SERVICE_STOP_PENDING, 15000);
        SetEvent(g_stop);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR; /* the SCM re-reads the last status */
    case SERVICE_CONTROL_SESSIONCHANGE:
        if (event_data)
            core_session_change(event_type, ((WTSSESSION_NOTIFICATION *)event_data)->dwSessionId);
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    int rc;
    (void)argc;
    (void)argv;
    g_status_handle = RegisterServiceCtrlHandlerExW(SVC_NAME, handler, NULL);
    if (!g_status_handle)
        return;
    g_stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!g_stop) {
        g_status.dwWin32ExitCode = GetLastError();
        report_scm(SERVICE_STOPPED, 0);
        return;
    }
    rc = core_run(g_stop, report_scm, 0);
    if (rc != SVC_EXIT_OK) {
        /* Lets the failure actions (restart) apply. */
        g_status.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
        g_status.dwServiceSpecificExitCode = (DWORD)rc;
    }
    report_scm(SERVICE_STOPPED, 0);
}

static BOOL WINAPI console_ctrl(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        SetEvent(g_stop);
        return TRUE;
    default:
        return FALSE;
    }
}

static int verb_run(void)
{
    int rc;
    g_stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!g_stop)
        return SVC_EXIT_FAILED;
    SetConsoleCtrlHandler(console_ctrl, TRUE);
    rc = core_run(g_stop, report_console, 1);
    SetConsoleCtrlHandler(console_ctrl, FALSE);
    CloseHandle(g_stop);
    return rc;
}

static int run_dispatcher(int explicit_verb)
{
    static SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)SVC_NAME, service_main}, {NULL, NULL}};
    if (StartServiceCtrlDispatcherW(table))
        return SVC_EXIT_OK;
    if (GetLastError() == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
        fwprintf(stderr, explicit_verb
                             ? L"PipesService: 'service' is for the Service Control Manager; "
                               L"use 'run' to run in the console.\n"
                             : L"PipesService: no verb given (see --help).\n");
        return SVC_EXIT_USAGE;
    }
    fwprintf(stderr, L"PipesService: StartServiceCtrlDispatcher failed (%lu)\n",
             (unsigned long)GetLastError());
    return SVC_EXIT_FAILED;
}

static void usage(FILE *to)
{
    fwprintf(to,
             L"usage: PipesService VERB\n"
             L"  install     create the service (automatic start, as NT SERVICE\\PipesService\n"
             L"              with its own SID and SeChangeNotifyPrivilege only), its description,\n"
             L"              failure actions and Event Log source, and the data folders\n"
             L"  configure   apply only the account, start type, service SID, privileges,\n"
             L"              description, failure actions, pre-shutdown timeout and Event Log\n"
             L"              source to an installed service, and create or lock the data\n"
             L"              folders (for installers that create the service themselves)\n"
             L"  uninstall   stop and delete the service, remove its Event Log source\n"
             L"  start       start the service and wait until it runs\n"
             L"  stop        stop the service and wait until it stopped\n"
             L"  status      state, queue depth, sessions and counters of the running engine\n"
             L"  run         run the engine in this console (Ctrl+C stops it)\n"
             L"  fleet-password  read the broker password from standard input (one line) and\n"
             L"              store it as BrokerPassword, DPAPI-protected (an empty line removes it)\n"
             L"  service     (used by the Service Control Manager)\n"
             L"  --help      this text\n"
             L"exit codes: 0 ok, 1 failed, 2 usage, 3 access denied (run as administrator),\n"
             L"  4 not installed, 5 already installed, 6 not running, 7 timed out,\n"
             L"  9 a data folder is not safe to use (a link, or an untrusted owner or\n"
             L"    permissions: see the Event Log; nothing in it was changed)\n"
             L"configuration: HKLM\\SOFTWARE\\Pipes\\Service; see docs/SERVICE.md\n");
}

int wmain(int argc, wchar_t **argv)
{
    const wchar_t *verb;
    /* First thing: from here on a DLL loaded by name (by us, or inside a
     * system DLL such as the Event Log or WTS code) comes from System32 or
     * this exe's folder only, never from the current directory or PATH.
     * The imports were resolved by the loader before wmain: KERNEL32,
     * ADVAPI32 and msvcrt are KnownDLLs (always System32); WTSAPI32 and
     * pipes.dll are found in this exe's folder first, then System32, both
     * before the current directory and PATH - so the install folder must be
     * writable by administrators only (its ACL), which also protects
     * pipes.dll. No delay-loaded imports. */
    SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_SYSTEM32 | LOAD_LIBRARY_SEARCH_APPLICATION_DIR);
    if (argc < 2)
        return run_dispatcher(0);
    if (argc > 2) {
        usage(stderr);
        return SVC_EXIT_USAGE;
    }
    verb = argv[1];
    if (!wcscmp(verb, L"--help") || !wcscmp(verb, L"-h") || !wcscmp(verb, L"/?") ||
        !wcscmp(verb, L"help")) {
        usage(stdout);
        return SVC_EXIT_OK;
    }
    if (!_wcsicmp(verb, L"service"))
        return run_dispatcher(1);
    if (!_wcsicmp(verb, L"run"))
        return verb_run();
    if (!_wcsicmp(verb, L"fleet-password"))
        return verb_fleet_password();
    if (!_wcsicmp(verb, L"install"))
        return verb_install();
    if (!_wcsicmp(verb, L"configure"))
        return verb_configure();
    if (!_wcsicmp(verb, L"uninstall"))
        return verb_uninstall();
    if (!_wcsicmp(verb, L"start"))
        return verb_start();
    if (!_wcsicmp(verb, L"stop"))
        return verb_stop();
    if (!_wcsicmp(verb, L"status"))
        return verb_status();
    fwprintf(stderr, L"PipesService: unknown verb '%ls'\n", verb);
    usage(stderr);
    return SVC_EXIT_USAGE;
}
