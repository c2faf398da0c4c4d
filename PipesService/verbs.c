/*
 * verbs.c - the administrative verbs: install, configure, uninstall,
 * start, stop, status. They talk to the Service Control Manager; status
 * also asks the running engine for live numbers over the status pipe.
 * install and configure also create (or lock) the data folders, as an
 * administrator, for the service's account (docs/SECURITY.md).
 */
#include "svc.h"

#include <stdio.h>
#include <wchar.h>

#include "messages.h"

#define WAIT_STATE_MS 30000
/* The service's account: a virtual account (docs/SECURITY.md, "Threats:
 * data folders and privileges"). */
#define SVC_ACCOUNT L"NT SERVICE\\" SVC_NAME

static int win32_exit(const wchar_t *what, DWORD e)
{
    wchar_t text[256];
    svc_win32_text(e, text, 256);
    fwprintf(stderr, L"PipesService: %ls failed: %ls (%lu)\n", what, text, (unsigned long)e);
    switch (e) {
    case ERROR_ACCESS_DENIED: return SVC_EXIT_ACCESS_DENIED;
    case ERROR_SERVICE_DOES_NOT_EXIST: return SVC_EXIT_NOT_INSTALLED;
    case ERROR_SERVICE_EXISTS: return SVC_EXIT_ALREADY_INSTALLED;
    default: return SVC_EXIT_FAILED;
    }
}

static const wchar_t *state_name(DWORD s)
{
    switch (s) {
    case SERVICE_STOPPED: return L"STOPPED";
    case SERVICE_START_PENDING: return L"START_PENDING";
    case SERVICE_STOP_PENDING: return L"STOP_PENDING";
    case SERVICE_RUNNING: return L"RUNNING";
    case SERVICE_CONTINUE_PENDING: return L"CONTINUE_PENDING";
    case SERVICE_PAUSE_PENDING: return L"PAUSE_PENDING";
    case SERVICE_PAUSED: return L"PAUSED";
    default: return L"UNKNOWN";
    }
}

/* Opens the SCM and the service; returns an exit code (0 = opened). */
static int open_service(DWORD access, SC_HANDLE *scm, SC_HANDLE *svc)
{
    *scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (!*scm)
        return win32_exit(L"OpenSCManager", GetLastError());
    *svc = OpenServiceW(*scm, SVC_NAME, access);
    if (!*svc) {
        DWORD e = GetLastError();
        CloseServiceHandle(*scm);
        if (e == ERROR_SERVICE_DOES_NOT_EXIST) {
            fwprintf(stderr, L"PipesService: the service is not installed\n");
            return SVC_EXIT_NOT_INSTALLED;
        }
        return win32_exit(L"OpenService", e);
    }
    return SVC_EXIT_OK;
}

/* Waits until the service reaches want (or leaves its pending state for
 * something else). Returns 0, SVC_EXIT_TIMEOUT or SVC_EXIT_FAILED. */
static int wait_for_state(SC_HANDLE svc, DWORD want, SERVICE_STATUS_PROCESS *ssp)
{
    ULONGLONG deadline = GetTickCount64() + WAIT_STATE_MS;
    DWORD need;
    for (;;) {
        if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)ssp, sizeof *ssp, &need))
            return win32_exit(L"QueryServiceStatusEx", GetLastError());
        if (ssp->dwCurrentState == want)
            return SVC_EXIT_OK;
        if (want == SERVICE_RUNNING && ssp->dwCurrentState == SERVICE_STOPPED) {
            fwprintf(stderr, L"PipesService: the service stopped while starting (exit %lu, "
                             L"service exit %lu); see the log in %%ProgramData%%\\Pipes\\logs\n",
                     (unsigned long)ssp->dwWin32ExitCode,
                     (unsigned long)ssp->dwServiceSpecificExitCode);
            return SVC_EXIT_FAILED;
        }
        if (GetTickCount64() >= deadline) {
            fwprintf(stderr, L"PipesService: timed out waiting for %ls (now %ls)\n",
                     state_name(want), state_name(ssp->dwCurrentState));
            return SVC_EXIT_TIMEOUT;
        }
        Sleep(200);
    }
}

/* The settings wixl's MSI cannot make. A failure is reported and skipped:
 * Wine, for one, refuses some of them (error 124). Returns how many failed. */
static int apply_extras(SC_HANDLE svc)
{
    int failed = 0;
    SERVICE_DESCRIPTIONW desc;
    SERVICE_DELAYED_AUTO_START_INFO delayed;
    SERVICE_FAILURE_ACTIONSW fa;
    SERVICE_FAILURE_ACTIONS_FLAG flag;
    SERVICE_PRESHUTDOWN_INFO pre;
    SERVICE_SID_INFO sid;
    SERVICE_REQUIRED_PRIVILEGES_INFOW privileges;
    SC_ACTION actions[3] = {{SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 30000},
                            {SC_ACTION_RESTART, 60000}};
    struct {
        DWORD level;
        void *info;
        const wchar_t *name;
    } items[7];
    size_t i;

    desc.lpDescription = (LPWSTR)SVC_DESCRIPTION;
    /* An automatic start, not a delayed one: the earlier the service owns
     * its pipe name, the smaller a squatter's chance (and one that gets it
     * first is waited out: core.c). */
    delayed.fDelayedAutostart = FALSE;
    /* Its own SID in its token, so that ACLs can name this service alone. */
    sid.dwServiceSidType = SERVICE_SID_TYPE_UNRESTRICTED;
    /* Every privilege but bypass-traverse-checking removed from its token:
     * nothing it does needs one (docs/SECURITY.md lists each call). */
    privileges.pmszRequiredPrivileges = (LPWSTR)SE_CHANGE_NOTIFY_NAME L"\0";
    memset(&fa, 0, sizeof fa);
    fa.dwResetPeriod = 86400; /* failure count back to 0 after a day without one */
    fa.cActions = 3;
    fa.lpsaActions = actions;
    flag.fFailureActionsOnNonCrashFailures = TRUE;
    pre.dwPreshutdownTimeout = 15000;
    items[0].level = SERVICE_CONFIG_DESCRIPTION;
    items[0].info = &desc;
    items[0].name = L"description";
    items[1].level = SERVICE_CONFIG_DELAYED_AUTO_START_INFO;
    items[1].info = &delayed;
    items[1].name = L"automatic start, not delayed";
    items[2].level = SERVICE_CONFIG_FAILURE_ACTIONS;
    items[2].info = &fa;
    items[2].name = L"failure actions (restart after 5 s, 30 s, 60 s)";
    items[3].level = SERVICE_CONFIG_FAILURE_ACTIONS_FLAG;
    items[3].info = &flag;
    items[3].name = L"failure actions on non-crash failures";
    items[4].level = SERVICE_CONFIG_PRESHUTDOWN_INFO;
    items[4].info = &pre;
    items[4].name = L"pre-shutdown timeout";
    items[5].level = SERVICE_CONFIG_SERVICE_SID_INFO;
    items[5].info = &sid;
    items[5].name = L"unrestricted service SID";
    items[6].level = SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO;
    items[6].info = &privileges;
    items[6].name = L"required privileges (SeChangeNotifyPrivilege only)";
    for (i = 0; i < sizeof items / sizeof items[0]; i++) {
        if (ChangeServiceConfig2W(svc, items[i].level, items[i].info)) {
            wprintf(L"  set %ls\n", items[i].name);
        } else {
            DWORD e = GetLastError();
            wchar_t text[256];
            svc_win32_text(e, text, 256);
            fwprintf(stderr, L"PipesService: warning: could not set %ls: %ls (%lu)\n",
                     items[i].name, text, (unsigned long)e);
            failed++;
        }
    }
    return failed;
}

static int register_source(void)
{
    wchar_t exe[MAX_PATH];
    DWORD e;
    DWORD n = GetModuleFileNameW(NULL, exe, MAX_PATH);
    if (n == 0 || n >= MAX_PATH)
        return win32_exit(L"GetModuleFileName", GetLastError());
    e = svc_eventlog_register(exe);
    if (e != ERROR_SUCCESS)
        return win32_exit(L"registering the Event Log source", e);
    wprintf(L"  registered the Event Log source %ls\n", SVC_NAME);
    return SVC_EXIT_OK;
}

/* Creates one data folder or locks an existing one (owner Administrators,
 * the data DACL, also on the files in it) for the service's account. A
 * folder that fails its checks (a link, an untrusted owner) is left as it
 * is and reported: SVC_EXIT_DATA_DIR_UNSAFE. */
static int lock_data_dir(const wchar_t *path)
{
    safedir d;
    safedir_report why;
    wchar_t text[SAFEDIR_MAX_SID + 3 * MAX_PATH], name[MAX_PATH];
    DWORD e;
    if (!safedir_open(&d, path, SVC_DATA_DIR_LOCK_SDDL, SAFEDIR_FOR_LOCK, &why)) {
        safedir_describe(&why, text, sizeof text / sizeof text[0]);
        svc_event(EVENTLOG_ERROR_TYPE, MSG_DATA_DIR_UNSAFE, path, text, NULL);
        return SVC_EXIT_DATA_DIR_UNSAFE;
    }
    e = safedir_lock(&d, SVC_DATA_DIR_LOCK_SDDL, 1, name, MAX_PATH);
    safedir_close(&d);
    if (e == ERROR_SUCCESS) {
        wprintf(L"  locked the data folder %ls\n", path);
        return SVC_EXIT_OK;
    }
    swprintf(text, sizeof text / sizeof text[0], L"%ls%ls%ls could not be locked (error %lu)",
             path, name[0] ? L"\\" : L"", name, (unsigned long)e);
    svc_event(EVENTLOG_ERROR_TYPE, MSG_DATA_DIR_UNSAFE, path, text, NULL);
    /* A link or hard link among the files is the unsafe kind of failure. */
    return e == ERROR_REPARSE_POINT_ENCOUNTERED || e == ERROR_TOO_MANY_LINKS
               ? SVC_EXIT_DATA_DIR_UNSAFE
               : SVC_EXIT_FAILED;
}

/* The data folders of the configuration, the data folder first. Their
 * problems go to the Event Log and the console. */
static int lock_data_dirs(void)
{
    svc_config cfg;
    int rc;
    svc_config_load(&cfg);
    svc_log_init(NULL, 0, 1);
    rc = lock_data_dir(cfg.data_dir);
    if (rc == SVC_EXIT_OK)
        rc = lock_data_dir(cfg.log_dir);
    if (rc == SVC_EXIT_OK)
        rc = lock_data_dir(cfg.spool_dir);
    svc_log_close();
    return rc;
}

/* What install and configure both finish with: the service's account and
 * extra settings, the Event Log source and the data folders; closes both
 * handles. */
static int finish_setup(SC_HANDLE scm, SC_HANDLE svc)
{
    int rc;
    apply_extras(svc);
    rc = register_source();
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    if (rc == SVC_EXIT_OK)
        rc = lock_data_dirs();
    return rc;
}

int verb_install(void)
{
    wchar_t exe[MAX_PATH], cmd[MAX_PATH + 16];
    SC_HANDLE scm, svc;
    DWORD n = GetModuleFileNameW(NULL, exe, MAX_PATH);

    if (n == 0 || n >= MAX_PATH)
        return win32_exit(L"GetModuleFileName", GetLastError());
    swprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" service", exe);
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
    if (!scm)
        return win32_exit(L"OpenSCManager", GetLastError());
    /* A virtual account has no password: lpPassword NULL. */
    svc = CreateServiceW(scm, SVC_NAME, SVC_DISPLAY_NAME, SERVICE_ALL_ACCESS,
                         SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, cmd,
                         NULL, NULL, NULL, SVC_ACCOUNT, NULL);
    if (!svc) {
        DWORD e = GetLastError();
        CloseServiceHandle(scm);
        if (e == ERROR_SERVICE_EXISTS) {
            fwprintf(stderr, L"PipesService: the service is already installed\n");
            return SVC_EXIT_ALREADY_INSTALLED;
        }
        return win32_exit(L"CreateService", e);
    }
    wprintf(L"PipesService: installed %ls (%ls) as %ls\n", SVC_NAME, cmd, SVC_ACCOUNT);
    return finish_setup(scm, svc);
}

int verb_configure(void)
{
    SC_HANDLE scm, svc;
    int rc = open_service(SERVICE_CHANGE_CONFIG | SERVICE_START | SERVICE_QUERY_CONFIG, &scm,
                          &svc);
    if (rc != SVC_EXIT_OK)
        return rc;
    wprintf(L"PipesService: configuring %ls\n", SVC_NAME);
    /* An older install ran as LocalSystem: move it to the virtual account. */
    if (ChangeServiceConfigW(svc, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE, NULL,
                             NULL, NULL, NULL, SVC_ACCOUNT, NULL, NULL))
        wprintf(L"  set the account %ls\n", SVC_ACCOUNT);
    else
        win32_exit(L"setting the account " SVC_ACCOUNT, GetLastError());
    return finish_setup(scm, svc);
}

int verb_uninstall(void)
{
    SC_HANDLE scm, svc;
    SERVICE_STATUS ss;
    SERVICE_STATUS_PROCESS ssp;
    int rc = open_service(DELETE | SERVICE_STOP | SERVICE_QUERY_STATUS, &scm, &svc);
    if (rc != SVC_EXIT_OK)
        return rc;
    if (ControlService(svc, SERVICE_CONTROL_STOP, &ss)) {
        wprintf(L"PipesService: stopping...\n");
        rc = wait_for_state(svc, SERVICE_STOPPED, &ssp);
        if (rc != SVC_EXIT_OK)
            fwprintf(stderr, L"PipesService: deleting it anyway; it goes once it stops\n");
    }
    if (!DeleteService(svc)) {
        rc = win32_exit(L"DeleteService", GetLastError());
    } else {
        DWORD e = svc_eventlog_unregister();
        if (e != ERROR_SUCCESS)
            win32_exit(L"removing the Event Log source", e);
        wprintf(L"PipesService: uninstalled (configuration in HKLM\\%ls and the spool are "
                L"kept)\n",
                SVC_CONFIG_KEY);
        rc = SVC_EXIT_OK;
    }
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return rc;
}

int verb_start(void)
{
    SC_HANDLE scm, svc;
    SERVICE_STATUS_PROCESS ssp;
    int rc = open_service(SERVICE_START | SERVICE_QUERY_STATUS, &scm, &svc);
    if (rc != SVC_EXIT_OK)
        return rc;
    if (!StartServiceW(svc, 0, NULL) && GetLastError() != ERROR_SERVICE_ALREADY_RUNNING) {
        rc = win32_exit(L"StartService", GetLastError());
    } else {
        rc = wait_for_state(svc, SERVICE_RUNNING, &ssp);
        if (rc == SVC_EXIT_OK)
            wprintf(L"PipesService: RUNNING (pid %lu)\n", (unsigned long)ssp.dwProcessId);
    }
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return rc;
}

int verb_stop(void)
{
    SC_HANDLE scm, svc;
    SERVICE_STATUS ss;
    SERVICE_STATUS_PROCESS ssp;
    int rc = open_service(SERVICE_STOP | SERVICE_QUERY_STATUS, &scm, &svc);
    if (rc != SVC_EXIT_OK)
        return rc;
    if (!ControlService(svc, SERVICE_CONTROL_STOP, &ss)) {
        DWORD e = GetLastError();
        if (e == ERROR_SERVICE_NOT_ACTIVE) {
            wprintf(L"PipesService: already STOPPED\n");
            rc = SVC_EXIT_OK;
        } else {
            rc = win32_exit(L"ControlService(STOP)", e);
        }
    } else {
        rc = wait_for_state(svc, SERVICE_STOPPED, &ssp);
        if (rc == SVC_EXIT_OK)
            wprintf(L"PipesService: STOPPED\n");
    }
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return rc;
}

int verb_status(void)
{
    SC_HANDLE scm, svc = NULL;
    SERVICE_STATUS_PROCESS ssp;
    DWORD need;
    int rc, running = 0;
    char report[16384];
    pipes_status st;

    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (!scm)
        return win32_exit(L"OpenSCManager", GetLastError());
    svc = OpenServiceW(scm, SVC_NAME, SERVICE_QUERY_STATUS);
    if (!svc) {
        DWORD e = GetLastError();
        if (e != ERROR_SERVICE_DOES_NOT_EXIST) {
            CloseServiceHandle(scm);
            return win32_exit(L"OpenService", e);
        }
        wprintf(L"state: NOT INSTALLED\n");
        rc = SVC_EXIT_NOT_INSTALLED;
    } else if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&ssp, sizeof ssp,
                                     &need)) {
        rc = win32_exit(L"QueryServiceStatusEx", GetLastError());
    } else {
        wprintf(L"state: %ls\n", state_name(ssp.dwCurrentState));
        running = ssp.dwCurrentState == SERVICE_RUNNING;
        rc = running ? SVC_EXIT_OK : SVC_EXIT_NOT_RUNNING;
    }
    if (svc)
        CloseServiceHandle(svc);
    CloseServiceHandle(scm);

    /* Live numbers from whichever engine serves the status pipe (the
     * service, or `PipesService run`). */
    st = control_query(report, sizeof report, 3000);
    if (st == PIPES_OK) {
        fputs(report, stdout);
        if (!running && strstr(report, "mode: console"))
            rc = SVC_EXIT_OK;
    } else if (running) {
        fwprintf(stderr, L"PipesService: no live status from the engine: %hs\n",
                 pipes_status_string(st));
    }
    fflush(stdout);
    return rc;
}
