/*
 * tray_ui.c - drives the running tray's menu commands the way a click does
 * (WM_COMMAND with the menu item's id, posted to the tray's window) and
 * reads back what the user would see. Used as
 *
 *   tray_sender --ui about|copy|folder --pipe NAME
 *
 * about   opens About, prints the text of the message box, presses OK;
 *         exit 0 if the box appeared and closed.
 * copy    opens Recent notifications, presses Copy, prints the clipboard
 *         (UTF-8); exit 0 if the clipboard holds text.
 * folder  chooses Open data folder; the tray logs what ShellExecute said.
 * suspend, resume  suspend or resume the tray's GUI thread (the one that
 *         owns its window), so that pipe events queue up and are handled
 *         as one batch when it resumes.
 * Exit 2: no tray window for that pipe; 1: the expected window never came.
 */
#include "tray_ui.h"

#include <stdio.h>
#include <string.h>

#include "../resource.h"

#define TRAY_CLASS L"Pipes.TrayNotifier"
#define HISTORY_CLASS L"Pipes.TrayNotifier.History"
#define DIALOG_CLASS L"#32770"
#define WAIT_MS 10000

typedef struct window_query {
    DWORD pid;
    const wchar_t *cls;
    HWND found;
} window_query;

static BOOL CALLBACK match_window(HWND hwnd, LPARAM lparam)
{
    window_query *q = (window_query *)lparam;
    wchar_t cls[64];
    DWORD pid = 0;
    GetWindowThreadProcessId(hwnd, &pid);
    if (pid == q->pid && IsWindowVisible(hwnd) && GetClassNameW(hwnd, cls, 64) &&
        wcscmp(cls, q->cls) == 0) {
        q->found = hwnd;
        return FALSE;
    }
    return TRUE;
}

/* A visible top-level window of class cls in process pid, waited for. */
static HWND wait_window(DWORD pid, const wchar_t *cls)
{
    ULONGLONG until = GetTickCount64() + WAIT_MS;
    window_query q;
    q.pid = pid;
    q.cls = cls;
    do {
        q.found = NULL;
        EnumWindows(match_window, (LPARAM)&q);
        if (q.found)
            return q.found;
        Sleep(50);
    } while (GetTickCount64() < until);
    return NULL;
}

/* Chooses menu item `command` and waits for the window of class cls that it
 * opens; NULL (reported as `what`) if none came. */
static HWND choose(HWND tray, DWORD pid, UINT command, const wchar_t *cls, const char *what)
{
    HWND opened;
    PostMessageW(tray, WM_COMMAND, MAKEWPARAM(command, 0), 0);
    opened = wait_window(pid, cls);
    if (!opened)
        fprintf(stderr, "tray_ui: %s did not open\n", what);
    return opened;
}

static void print_utf8(const wchar_t *text)
{
    char buf[8192];
    if (WideCharToMultiByte(CP_UTF8, 0, text, -1, buf, (int)sizeof buf, NULL, NULL) > 0)
        printf("%s\n", buf);
}

static BOOL CALLBACK print_static(HWND hwnd, LPARAM lparam)
{
    wchar_t cls[32], text[2048];
    (void)lparam;
    if (GetClassNameW(hwnd, cls, 32) && _wcsicmp(cls, L"Static") == 0 &&
        GetWindowTextW(hwnd, text, 2048) > 0)
        print_utf8(text);
    return TRUE;
}

static int about(HWND tray, DWORD pid)
{
    HWND box = choose(tray, pid, IDM_ABOUT, DIALOG_CLASS, "the About box");
    ULONGLONG until;
    if (!box)
        return 1;
    EnumChildWindows(box, print_static, 0);
    fflush(stdout);
    PostMessageW(box, WM_COMMAND, MAKEWPARAM(IDOK, BN_CLICKED), 0);
    until = GetTickCount64() + WAIT_MS;
    while (IsWindow(box) && GetTickCount64() < until)
        Sleep(50);
    if (IsWindow(box)) {
        fprintf(stderr, "tray_ui: the About box did not close on OK\n");
        return 1;
    }
    return 0;
}

static int print_clipboard(void)
{
    int tries, rc = 1;
    for (tries = 0; tries < 50 && !OpenClipboard(NULL); tries++)
        Sleep(100); /* another program may hold it for a moment */
    if (tries == 50) {
        fprintf(stderr, "tray_ui: cannot open the clipboard\n");
        return 1;
    }
    HANDLE data = GetClipboardData(CF_UNICODETEXT);
    const wchar_t *text = data ? (const wchar_t *)GlobalLock(data) : NULL;
    if (text && *text) {
        /* Row by row: the text can be longer than one conversion buffer. */
        const wchar_t *row = text;
        while (*row) {
            const wchar_t *end = wcschr(row, L'\n');
            size_t n = end ? (size_t)(end - row) + 1 : wcslen(row);
            wchar_t line[2048];
            if (n >= 2048)
                n = 2047;
            memcpy(line, row, n * sizeof(wchar_t));
            line[n] = 0;
            if (n && line[n - 1] == L'\n')
                line[--n] = 0;
            if (n && line[n - 1] == L'\r')
                line[--n] = 0;
            print_utf8(line);
            row = end ? end + 1 : row + n;
        }
        rc = 0;
    } else {
        fprintf(stderr, "tray_ui: the clipboard holds no text\n");
    }
    if (text)
        GlobalUnlock(data);
    CloseClipboard();
    return rc;
}

static int copy(HWND tray, DWORD pid)
{
    HWND history = choose(tray, pid, IDM_HISTORY, HISTORY_CLASS, "Recent notifications");
    if (!history)
        return 1;
    /* Sent, not posted: when it returns the clipboard has been written. */
    if (!SendMessageTimeoutW(history, WM_COMMAND, MAKEWPARAM(IDC_HISTORY_COPY, BN_CLICKED),
                             (LPARAM)GetDlgItem(history, IDC_HISTORY_COPY), SMTO_ABORTIFHUNG,
                             WAIT_MS, NULL)) {
        fprintf(stderr, "tray_ui: the window did not answer Copy\n");
        return 1;
    }
    return print_clipboard();
}

/* The suspend count lives in the thread, not in our handle: it stays
 * suspended after we exit, until a "resume" run. */
static int suspend_gui(HWND tray, int suspend)
{
    DWORD tid = GetWindowThreadProcessId(tray, NULL);
    HANDLE thread = OpenThread(THREAD_SUSPEND_RESUME, FALSE, tid);
    DWORD previous;
    if (!thread) {
        fprintf(stderr, "tray_ui: cannot open the tray's thread %lu (error %lu)\n",
                (unsigned long)tid, GetLastError());
        return 1;
    }
    previous = suspend ? SuspendThread(thread) : ResumeThread(thread);
    CloseHandle(thread);
    if (previous == (DWORD)-1) {
        fprintf(stderr, "tray_ui: %s failed (error %lu)\n", suspend ? "suspend" : "resume",
                GetLastError());
        return 1;
    }
    return 0;
}

int tray_ui_run(const char *action, const wchar_t *pipe)
{
    HWND tray = FindWindowW(TRAY_CLASS, pipe);
    DWORD pid = 0;
    if (!tray) {
        fprintf(stderr, "tray_ui: no tray is running on that pipe\n");
        return 2;
    }
    GetWindowThreadProcessId(tray, &pid);
    if (!strcmp(action, "about"))
        return about(tray, pid);
    if (!strcmp(action, "copy"))
        return copy(tray, pid);
    if (!strcmp(action, "folder"))
        return PostMessageW(tray, WM_COMMAND, MAKEWPARAM(IDM_OPEN_FOLDER, 0), 0) ? 0 : 1;
    if (!strcmp(action, "suspend") || !strcmp(action, "resume"))
        return suspend_gui(tray, !strcmp(action, "suspend"));
    fprintf(stderr, "tray_ui: unknown action %s\n", action);
    return 1;
}
