/*
 * eventlog.c - events: the Windows Event Log (source "PipesService", texts
 * from the message table compiled from messages.mc into this executable)
 * and, because Wine's ReportEventW stores nothing, the same text in a
 * bounded log file <log_dir>\PipesService.log (rotated once to .1). The
 * file is opened and rotated only through checked handles of the logs
 * folder (safedir.h): a link planted there is never written through.
 */
#include "svc.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#define LOG_NAME L"PipesService.log"
#define OLD_LOG_NAME L"PipesService.log.1"

static SRWLOCK g_lock = SRWLOCK_INIT; /* everything below */
static HANDLE g_source;               /* RegisterEventSourceW */
static HANDLE g_file = INVALID_HANDLE_VALUE;
static const safedir *g_dir;          /* the caller's, from svc_log_init to svc_log_close */
static uint32_t g_max_bytes;
static int g_echo = 1;

static HANDLE open_log(void)
{
    return safedir_open_file(g_dir, LOG_NAME, FILE_APPEND_DATA | SYNCHRONIZE,
                             FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, OPEN_ALWAYS);
}

void svc_log_init(const safedir *log_dir, uint32_t max_bytes, int echo)
{
    AcquireSRWLockExclusive(&g_lock);
    g_echo = echo;
    g_max_bytes = max_bytes < 4096 ? 4096 : max_bytes;
    if (!g_source)
        g_source = RegisterEventSourceW(NULL, SVC_NAME);
    if (log_dir && g_file == INVALID_HANDLE_VALUE) {
        g_dir = log_dir;
        g_file = open_log();
    }
    ReleaseSRWLockExclusive(&g_lock);
}

void svc_log_close(void)
{
    AcquireSRWLockExclusive(&g_lock);
    if (g_source) {
        DeregisterEventSource(g_source);
        g_source = NULL;
    }
    if (g_file != INVALID_HANDLE_VALUE) {
        CloseHandle(g_file);
        g_file = INVALID_HANDLE_VALUE;
    }
    g_dir = NULL;
    ReleaseSRWLockExclusive(&g_lock);
}

/* Called with g_lock held: keeps the file under g_max_bytes by moving it to
 * .1 (replacing the previous one). */
static void rotate_if_needed(size_t incoming)
{
    LARGE_INTEGER size;
    if (g_file == INVALID_HANDLE_VALUE || !GetFileSizeEx(g_file, &size))
        return;
    if ((uint64_t)size.QuadPart + incoming <= g_max_bytes)
        return;
    /* Renamed through the open handle, which then goes. */
    safedir_rename_open(g_file, g_dir, OLD_LOG_NAME);
    CloseHandle(g_file);
    g_file = open_log();
}

static const wchar_t *type_name(WORD type)
{
    switch (type) {
    case EVENTLOG_ERROR_TYPE: return L"ERROR";
    case EVENTLOG_WARNING_TYPE: return L"WARNING";
    default: return L"INFO";
    }
}

void svc_event(WORD type, DWORD id, const wchar_t *a1, const wchar_t *a2, const wchar_t *a3)
{
    const wchar_t *args[3];
    WORD n = 0;
    wchar_t text[2048];
    wchar_t line[2200];
    char utf8[6600];
    char stamp[PIPES_PROTO_TIME_BUFSIZE];
    wchar_t wstamp[PIPES_PROTO_TIME_BUFSIZE];
    DWORD len;
    int bytes;

    args[0] = a1 ? a1 : L"";
    args[1] = a2 ? a2 : L"";
    args[2] = a3 ? a3 : L"";
    if (a1)
        n = 1;
    if (a2)
        n = 2;
    if (a3)
        n = 3;
    /* The text comes from our own message table: the same text Event Viewer shows. */
    len = FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY, NULL, id, 0,
                         text, (DWORD)(sizeof text / sizeof text[0]), (va_list *)(void *)args);
    if (len == 0)
        swprintf(text, sizeof text / sizeof text[0], L"event %lu: %ls %ls %ls",
                 (unsigned long)(id & 0xFFFF), args[0], args[1], args[2]);
    else
        while (len > 0 && (text[len - 1] == L'\n' || text[len - 1] == L'\r'))
            text[--len] = L'\0';

    pipes_proto_time_format(svc_now_ms(), stamp);
    svc_to_wide(stamp, strlen(stamp), wstamp, PIPES_PROTO_TIME_BUFSIZE);
    swprintf(line, sizeof line / sizeof line[0], L"%ls %ls %lu %ls\r\n", wstamp, type_name(type),
             (unsigned long)(id & 0xFFFF), text);
    bytes = svc_to_utf8(line, utf8, sizeof utf8);

    AcquireSRWLockExclusive(&g_lock);
    if (g_source)
        ReportEventW(g_source, type, 0, id, NULL, n, 0, args, NULL);
    if (bytes > 0 && g_file != INVALID_HANDLE_VALUE) {
        DWORD written;
        rotate_if_needed((size_t)bytes);
        if (g_file != INVALID_HANDLE_VALUE)
            WriteFile(g_file, utf8, (DWORD)bytes, &written, NULL);
    }
    if (g_echo && bytes > 0) {
        fputs(utf8, stderr);
        fflush(stderr);
    }
    ReleaseSRWLockExclusive(&g_lock);
}

DWORD svc_eventlog_register(const wchar_t *exe_path)
{
    HKEY key;
    DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
    LSTATUS rc = RegCreateKeyExW(HKEY_LOCAL_MACHINE, SVC_EVENTLOG_KEY, 0, NULL, 0,
                                 KEY_SET_VALUE, NULL, &key, NULL);
    if (rc != ERROR_SUCCESS)
        return (DWORD)rc;
    rc = RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ, (const BYTE *)exe_path,
                        (DWORD)((wcslen(exe_path) + 1) * sizeof(wchar_t)));
    if (rc == ERROR_SUCCESS)
        rc = RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD, (const BYTE *)&types,
                            sizeof types);
    RegCloseKey(key);
    return (DWORD)rc;
}

DWORD svc_eventlog_unregister(void)
{
    LSTATUS rc = RegDeleteKeyW(HKEY_LOCAL_MACHINE, SVC_EVENTLOG_KEY);
    return rc == ERROR_FILE_NOT_FOUND ? ERROR_SUCCESS : (DWORD)rc;
}
