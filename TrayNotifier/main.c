/*
 * main.c - TrayNotifier's entry point: command line, one instance per
 * session, the hidden window and the message loop.
 *
 *   TrayNotifier.exe [--pipe NAME] [--data-dir DIR] [--log FILE]
 *                    [--history-limit N] [--show-history] [--theme light|dark]
 *                    [--test-service-pid PID] [--open-log-only]
 *                    [--popup-timeout-ms MS]
 *   TrayNotifier.exe --exit | --pause | --resume [--pipe NAME]
 *   TrayNotifier.exe --help
 *
 * A second start (same pipe) asks the running instance to show its
 * Recent notifications window and exits with 0.
 * Exit codes: 0 ok; 1 could not start (or --exit timed out); 2 bad usage.
 */
#include "app.h"

#include <commctrl.h>
#include <shellapi.h>
#include <shlobj.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_WAIT_MS 15000u     /* --exit: how long the old instance may take */
#define FIND_WAIT_MS 5000u      /* second start: the first may still be creating its window */

typedef struct options {
    int help, exit_running, show_history, open_log_only, theme;
    unsigned long test_service_pid, popup_timeout_ms;
    WPARAM command; /* --pause / --resume: sent to the running instance */
    const wchar_t *pipe, *data_dir, *log;
    unsigned history_limit;
    const wchar_t *bad; /* the argument that was not understood */
} options;

void app_log(tray_app *app, const char *fmt, ...)
{
    char line[1200];
    SYSTEMTIME t;
    va_list args;
    int n, m;
    DWORD done;
    if (app->log_file == INVALID_HANDLE_VALUE) {
        return;
    }
    GetSystemTime(&t);
    n = snprintf(line, sizeof(line), "%02u:%02u:%02u.%03u ", t.wHour, t.wMinute, t.wSecond,
                 t.wMilliseconds);
    va_start(args, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, args);
    va_end(args);
    if (m < 0) {
        return;
    }
    n += m < (int)(sizeof(line) - (size_t)n - 1) ? m : (int)(sizeof(line) - (size_t)n - 2);
    line[n++] = '\n';
    WriteFile(app->log_file, line, (DWORD)n, &done, NULL);
}

int app_load_string(tray_app *app, UINT id, wchar_t *buf, int cap)
{
    int n = LoadStringW(app->instance, id, buf, cap);
    if (n <= 0 && cap > 0) {
        buf[0] = L'\0';
    }
    return n;
}

void app_format_string(tray_app *app, UINT id, wchar_t *out, size_t cap, ...)
{
    wchar_t pattern[1024];
    va_list args;
    if (cap == 0) {
        return;
    }
    app_load_string(app, id, pattern, ARRAYSIZE(pattern));
    va_start(args, cap);
    if (!FormatMessageW(FORMAT_MESSAGE_FROM_STRING, pattern, 0, 0, out, (DWORD)cap, &args)) {
        tray_copy_truncated(out, cap, pattern);
    }
    va_end(args);
}

static int number(const wchar_t *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    wchar_t *end = NULL;
    unsigned long v = wcstoul(s, &end, 10);
    if (!end || *end || !*s || *s == L'-' || v < lo || v > hi) {
        return 0;
    }
    *out = v;
    return 1;
}

static int parse_args(int argc, wchar_t **argv, options *o)
{
    int i;
    memset(o, 0, sizeof(*o));
    o->history_limit = TRAY_HISTORY_LIMIT;
    for (i = 1; i < argc; ++i) {
        const wchar_t *a = argv[i];
        const int has_value = i + 1 < argc;
        if (!wcscmp(a, L"--help") || !wcscmp(a, L"-h") || !wcscmp(a, L"/?")) {
            o->help = 1;
        } else if (!wcscmp(a, L"--exit")) {
            o->exit_running = 1;
        } else if (!wcscmp(a, L"--pause")) {
            o->command = TRAY_CMD_PAUSE;
        } else if (!wcscmp(a, L"--resume")) {
            o->command = TRAY_CMD_RESUME;
        } else if (!wcscmp(a, L"--show-history")) {
            o->show_history = 1;
        } else if (!wcscmp(a, L"--pipe") && has_value) {
            o->pipe = argv[++i];
        } else if (!wcscmp(a, L"--data-dir") && has_value) {
            o->data_dir = argv[++i];
        } else if (!wcscmp(a, L"--log") && has_value) {
            o->log = argv[++i];
        } else if (!wcscmp(a, L"--history-limit") && has_value) {
            unsigned long v;
            if (!number(argv[++i], 1, 100000, &v)) {
                o->bad = argv[i];
                return 0;
            }
            o->history_limit = (unsigned)v;
        } else if (!wcscmp(a, L"--test-service-pid") && has_value) {
            if (!number(argv[++i], 1, 0xFFFFFFFFul, &o->test_service_pid)) {
                o->bad = argv[i];
                return 0;
            }
        } else if (!wcscmp(a, L"--popup-timeout-ms") && has_value) {
            if (!number(argv[++i], 100, 3600000, &o->popup_timeout_ms)) {
                o->bad = argv[i];
                return 0;
            }
        } else if (!wcscmp(a, L"--open-log-only")) {
            o->open_log_only = 1;
        } else if (!wcscmp(a, L"--theme") && has_value) {
            ++i;
            o->theme = !wcscmp(argv[i], L"light") ? 1 : !wcscmp(argv[i], L"dark") ? 2 : -1;
            if (o->theme < 0) {
                o->bad = argv[i];
                return 0;
            }
        } else {
            o->bad = a;
            return 0;
        }
    }
    if (o->pipe && (wcsncmp(o->pipe, L"\\\\.\\pipe\\", 9) != 0 || wcslen(o->pipe) <= 9 ||
                    wcslen(o->pipe) > PIPES_MAX_PIPE_NAME)) {
        o->bad = o->pipe;
        return 0;
    }
    return 1;
}

/* Help and usage errors go to a redirected stdout, else the parent's
 * console, else a message box (a GUI program has no console of its own). */
static void tell(tray_app *app, const wchar_t *text, UINT icon)
{
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    DWORD type = out && out != INVALID_HANDLE_VALUE ? GetFileType(out) : FILE_TYPE_UNKNOWN;
    if (type == FILE_TYPE_DISK || type == FILE_TYPE_PIPE) {
        char *utf8 = text_wide_to_utf8(text);
        DWORD done;
        if (utf8) {
            WriteFile(out, utf8, (DWORD)strlen(utf8), &done, NULL);
            WriteFile(out, "\n", 1, &done, NULL);
            free(utf8);
            return;
        }
    }
    if (AttachConsole(ATTACH_PARENT_PROCESS)) {
        HANDLE con = CreateFileW(L"CONOUT$", GENERIC_WRITE, FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                                 0, NULL);
        if (con != INVALID_HANDLE_VALUE) {
            DWORD done;
            WriteConsoleW(con, L"\n", 1, &done, NULL);
            WriteConsoleW(con, text, (DWORD)wcslen(text), &done, NULL);
            WriteConsoleW(con, L"\n", 1, &done, NULL);
            CloseHandle(con);
            FreeConsole();
            return;
        }
        FreeConsole();
    }
    {
        wchar_t title[64];
        app_load_string(app, IDS_APP_TITLE, title, ARRAYSIZE(title));
        MessageBoxW(NULL, text, title, MB_OK | icon);
    }
}

static void default_pipe(wchar_t *out, size_t cap)
{
    DWORD session = 0;
    if (!ProcessIdToSessionId(GetCurrentProcessId(), &session)) {
        session = 0;
    }
    pipes_proto_tray_pipe_name_w(session, out, cap);
}

static int resolve_data_dir(const wchar_t *given, wchar_t *out)
{
    wchar_t base[MAX_PATH];
    if (given) {
        DWORD n = GetFullPathNameW(given, MAX_PATH, out, NULL);
        return n > 0 && n < MAX_PATH;
    }
    if (FAILED(SHGetFolderPathW(NULL, CSIDL_LOCAL_APPDATA, NULL, SHGFP_TYPE_CURRENT, base))) {
        return 0;
    }
    return swprintf(out, MAX_PATH, L"%ls\\Pipes\\history", base) > 0;
}

/* One instance per session and pipe: "Local\" scopes the mutex to the
 * session; a --pipe override gets its own name so tests can run side by side. */
static HANDLE take_instance_mutex(const wchar_t *pipe, int overridden, int *already)
{
    wchar_t name[96];
    if (overridden) {
        uint32_t h = 2166136261u;
        for (; *pipe; ++pipe) {
            h ^= (uint32_t)towlower(*pipe);
            h *= 16777619u;
        }
        swprintf(name, ARRAYSIZE(name), L"Local\\Pipes.TrayNotifier.%08x", (unsigned)h);
    } else {
        swprintf(name, ARRAYSIZE(name), L"Local\\Pipes.TrayNotifier");
    }
    {
        HANDLE m = CreateMutexW(NULL, FALSE, name);
        *already = m && GetLastError() == ERROR_ALREADY_EXISTS;
        return m;
    }
}

static HWND find_running(const wchar_t *pipe, DWORD wait_ms)
{
    ULONGLONG until = GetTickCount64() + wait_ms;
    for (;;) {
        HWND hwnd = FindWindowW(TRAY_WINDOW_CLASS, pipe);
        if (hwnd || GetTickCount64() >= until) {
            return hwnd;
        }
        Sleep(100); /* short-lived helper process: nothing else to serve */
    }
}

/* --exit: ask the running instance to quit and wait until it has. */
static int exit_running(tray_app *app)
{
    HWND hwnd = find_running(app->pipe_name, 0);
    DWORD pid = 0, wait;
    HANDLE process;
    if (!hwnd) {
        return 0; /* nothing to stop */
    }
    GetWindowThreadProcessId(hwnd, &pid);
    process = OpenProcess(SYNCHRONIZE, FALSE, pid);
    if (!PostMessageW(hwnd, app->msg_command, TRAY_CMD_EXIT, 0)) {
        if (process) {
            CloseHandle(process);
        }
        return 1;
    }
    if (!process) {
        return 0; /* asked; cannot watch it */
    }
    wait = WaitForSingleObject(process, EXIT_WAIT_MS);
    CloseHandle(process);
    return wait == WAIT_OBJECT_0 ? 0 : 1;
}

/* --pause / --resume: 0 when the running instance got the request, 1 when none runs. */
static int command_running(tray_app *app, WPARAM command)
{
    HWND hwnd = find_running(app->pipe_name, 0);
    return hwnd && PostMessageW(hwnd, app->msg_command, command, 0) ? 0 : 1;
}

static int show_running(tray_app *app)
{
    HWND hwnd = find_running(app->pipe_name, FIND_WAIT_MS);
    DWORD pid = 0;
    if (!hwnd) {
        return 1;
    }
    GetWindowThreadProcessId(hwnd, &pid);
    /* Let the running instance bring its window to the front. */
    AllowSetForegroundWindow(pid);
    return PostMessageW(hwnd, app->msg_command, TRAY_CMD_SHOW_HISTORY, 0) ? 0 : 1;
}

static int run(tray_app *app, const options *o)
{
    INITCOMMONCONTROLSEX icc;
    MSG msg;
    HWND hwnd;
    int already = 0, rc;
    HANDLE mutex = take_instance_mutex(app->pipe_name, o->pipe != NULL, &already);
    if (already) {
        CloseHandle(mutex);
        return show_running(app);
    }
    icc.dwSize = sizeof(icc);
    icc.dwICC = ICC_LISTVIEW_CLASSES | ICC_STANDARD_CLASSES | ICC_PROGRESS_CLASS;
    InitCommonControlsEx(&icc);
    app->parsed = (pipes_proto_notification *)malloc(sizeof(*app->parsed));
    if (!app->parsed || !wnd_register(app)) {
        rc = 1;
        goto done;
    }
    /* The title is the pipe name: how --exit and a second start find us. */
    hwnd = CreateWindowExW(0, TRAY_WINDOW_CLASS, app->pipe_name, WS_OVERLAPPEDWINDOW, 0, 0, 0, 0,
                           NULL, NULL, app->instance, app);
    if (!hwnd) {
        rc = 1;
        goto done;
    }
    if (o->show_history) {
        historywnd_show(app);
    }
    while ((rc = GetMessageW(&msg, NULL, 0, 0)) > 0) {
        HWND h = app->history_wnd, popup = NULL;
        if (h && (msg.hwnd == h || IsChild(h, msg.hwnd))) {
            if (TranslateAcceleratorW(h, app->history_accel, &msg) || IsDialogMessageW(h, &msg)) {
                continue;
            }
        }
        /* Tab, Enter (the default button) and Esc in a notification window. */
        if (popups_is_popup(app, msg.hwnd, &popup) && IsDialogMessageW(popup, &msg)) {
            continue;
        }
        TranslateMessage(&msg);
        DispatchMessageW(&msg);
    }
    rc = rc < 0 ? 1 : (int)msg.wParam;
done:
    free(app->parsed);
    if (mutex) {
        CloseHandle(mutex);
    }
    return rc;
}

int WINAPI wWinMain(HINSTANCE instance, HINSTANCE prev, PWSTR cmdline, int show)
{
    static tray_app app;
    options o;
    int argc = 0, rc;
    wchar_t **argv;
    /* First thing: from here on a DLL loaded by name (by us, or inside a
     * system DLL) comes from System32 or this exe's folder only, never from
     * the current directory or PATH, where a user can plant one.
     * The imports were resolved by the loader before this line: KERNEL32,
     * USER32, GDI32, SHELL32 and msvcrt are KnownDLLs (always System32);
     * COMCTL32 is version 6 from WinSxS through our manifest; pipes.dll is
     * found in this exe's folder, searched before System32, the current
     * directory and PATH. That folder being writable only by
     * administrators (the install folder's ACL) is what keeps pipes.dll -
     * and a planted system DLL name there - safe. No delay-loaded imports. */
    SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_SYSTEM32 | LOAD_LIBRARY_SEARCH_APPLICATION_DIR);
    argv = CommandLineToArgvW(GetCommandLineW(), &argc);
    (void)prev;
    (void)cmdline;
    (void)show;

    app.instance = instance;
    app.log_file = INVALID_HANDLE_VALUE;
    app.msg_taskbar_created = RegisterWindowMessageW(L"TaskbarCreated");
    app.msg_command = RegisterWindowMessageW(TRAY_COMMAND_MESSAGE);

    if (!argv || !parse_args(argc, argv, &o) || o.help) {
        wchar_t text[2048];
        if (argv && o.help && !o.bad) {
            app_load_string(&app, IDS_USAGE, text, ARRAYSIZE(text));
            tell(&app, text, MB_ICONINFORMATION);
            rc = 0;
        } else {
            wchar_t usage[1536];
            app_load_string(&app, IDS_USAGE, usage, ARRAYSIZE(usage));
            app_format_string(&app, IDS_ERR_USAGE, text, ARRAYSIZE(text),
                              argv && o.bad ? o.bad : L"?", usage);
            tell(&app, text, MB_ICONERROR);
            rc = 2;
        }
        LocalFree(argv);
        return rc;
    }

    if (o.pipe) {
        swprintf(app.pipe_name, ARRAYSIZE(app.pipe_name), L"%ls", o.pipe);
    } else {
        default_pipe(app.pipe_name, ARRAYSIZE(app.pipe_name));
    }
    app.history_limit = o.history_limit;
    app.test_service_pid = (DWORD)o.test_service_pid;
    app.popup_timeout_ms = (unsigned)o.popup_timeout_ms;
    app.open_log_only = o.open_log_only;
    app.theme_forced = o.theme;
    if (o.log) {
        app.log_file = CreateFileW(o.log, FILE_APPEND_DATA,
                                   FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                                   OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    }

    if (o.exit_running) {
        rc = exit_running(&app);
    } else if (o.command) {
        rc = command_running(&app, o.command);
    } else if (!resolve_data_dir(o.data_dir, app.data_dir)) {
        wchar_t text[1024];
        app_format_string(&app, IDS_ERR_USAGE, text, ARRAYSIZE(text),
                          o.data_dir ? o.data_dir : L"%LOCALAPPDATA%", L"");
        tell(&app, text, MB_ICONERROR);
        rc = 2;
    } else {
        rc = run(&app, &o);
    }
    if (app.log_file != INVALID_HANDLE_VALUE) {
        CloseHandle(app.log_file);
    }
    LocalFree(argv);
    return rc;
}
