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
 * popups  prints one line per visible Pipes notification window:
 *         "popup <x> <y> <w> <h> <title>" (the summary's title is its text).
 * point:TITLE:WHAT  prints "x y", the screen point at the middle of WHAT
 *         (action0..2, close, open, title, margin = just inside the left
 *         edge) of the visible popup whose title starts with TITLE: where a
 *         real click goes (xdotool); once no other window (a balloon, the
 *         other tray's popup) covers that point; exit 1 if one still does.
 * raise:TITLE  puts that popup above the other top-most windows (two trays
 *         of simulated sessions show theirs at the same place on one
 *         desktop; a real user sees only his session's).
 * aside:TITLE  moves that popup left by its width and a margin, so two
 *         trays' popups do not overlap at all: a raise changes Wine's
 *         z-order at once, the X server's stacking later, and a real click
 *         goes by the X server's (seen: a click meant for tray A's popup
 *         reached tray B's after a raise).
 * body:TITLE  prints "chars <n> vscroll <0|1>" for the popup's body (the
 *         edit control's text length and whether it has a scroll bar),
 *         then the text.
 * history-row0  opens Recent notifications and prints the point of its
 *         first row (for a real right click), once the list has a row and
 *         no other window covers that point.
 * menu-item0  waits for the tray's open context menu (a real right click
 *         opens it) and prints the point of its first item, once uncovered.
 * unmute0, all-in-window, balloon-click  run that tray command as a click
 *         does (the first "Unmute" of the Muted sources menu; the "Show all
 *         notifications in the Pipes window" item; a click on the balloon).
 * Exit 2: no tray window for that pipe; 1: the expected window never came.
 */
#include "tray_ui.h"

#include <commctrl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../resource.h"

#define TRAY_CLASS L"Pipes.TrayNotifier"
#define HISTORY_CLASS L"Pipes.TrayNotifier.History"
#define DIALOG_CLASS L"#32770"
#define MENU_CLASS L"#32768"
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

/* Long text in pieces (print_utf8 has one buffer). */
static void print_utf8_long(const wchar_t *text)
{
    size_t len = wcslen(text), i = 0;
    char buf[8192];
    while (i < len) {
        size_t n = len - i < 2000 ? len - i : 2000;
        int out;
        if (n < len - i && text[i + n - 1] >= 0xD800 && text[i + n - 1] <= 0xDBFF)
            n--; /* keep a surrogate pair together */
        out = WideCharToMultiByte(CP_UTF8, 0, text + i, (int)n, buf, (int)sizeof buf, NULL, NULL);
        fwrite(buf, 1, (size_t)(out > 0 ? out : 0), stdout);
        i += n;
    }
    printf("\n");
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

#define POPUP_CLASS L"Pipes.TrayNotifier.Popup"
#define WM_APP_TRAY_CALLBACK (WM_APP + 2) /* TrayNotifier/app.h: the icon's callback */
#define NIN_BALLOONUSERCLICK_ (WM_USER + 5)

typedef struct popup_query {
    DWORD pid;
    const wchar_t *prefix; /* NULL: list them all */
    HWND found;
} popup_query;

static BOOL CALLBACK each_popup(HWND hwnd, LPARAM lparam)
{
    popup_query *q = (popup_query *)lparam;
    wchar_t cls[64], title[512];
    DWORD pid = 0;
    RECT r;
    GetWindowThreadProcessId(hwnd, &pid);
    if (pid != q->pid || !IsWindowVisible(hwnd) || !GetClassNameW(hwnd, cls, 64) ||
        wcscmp(cls, POPUP_CLASS) != 0)
        return TRUE;
    GetWindowTextW(hwnd, title, 512);
    if (q->prefix) {
        if (wcsncmp(title, q->prefix, wcslen(q->prefix)) == 0) {
            q->found = hwnd;
            return FALSE;
        }
        return TRUE;
    }
    GetWindowRect(hwnd, &r);
    printf("popup %ld %ld %ld %ld ", r.left, r.top, r.right - r.left, r.bottom - r.top);
    print_utf8(title);
    return TRUE;
}

static HWND find_popup(DWORD pid, const wchar_t *prefix)
{
    popup_query q;
    ULONGLONG until = GetTickCount64() + WAIT_MS;
    q.pid = pid;
    q.prefix = prefix;
    do {
        q.found = NULL;
        EnumWindows(each_popup, (LPARAM)&q);
        if (q.found)
            return q.found;
        Sleep(50);
    } while (GetTickCount64() < until);
    fprintf(stderr, "tray_ui: no visible popup with that title\n");
    return NULL;
}

/* Prints "x y" once the point shows the window (or one of its controls): a
 * balloon or another window that appears over it would take the click.
 * 1 when something else still covers it after the wait. */
static int print_point_when_uncovered(HWND window, LONG x, LONG y)
{
    ULONGLONG until = GetTickCount64() + WAIT_MS;
    POINT pt;
    HWND hit;
    pt.x = x;
    pt.y = y;
    for (;;) {
        hit = WindowFromPoint(pt);
        if (hit == window || IsChild(window, hit)) {
            printf("%ld %ld\n", x, y);
            return 0;
        }
        if (GetTickCount64() >= until) {
            fprintf(stderr, "tray_ui: the point %ld,%ld of the window is covered by another window\n", x, y);
            return 1;
        }
        Sleep(50);
    }
}

/* The control of a popup a click should go to, by name. */
static int popup_point(DWORD pid, const wchar_t *prefix, const char *what)
{
    static const struct {
        const char *name;
        int id;
    } controls[] = {{"action0", IDC_POPUP_ACTION0}, {"action1", IDC_POPUP_ACTION0 + 1},
                    {"action2", IDC_POPUP_ACTION0 + 2}, {"close", IDC_POPUP_CLOSE},
                    {"open", IDC_POPUP_OPEN},         {"title", IDC_POPUP_TITLE},
                    {"more", IDC_POPUP_MORE}};
    HWND popup = find_popup(pid, prefix), target = NULL;
    RECT r;
    size_t i;
    if (!popup)
        return 1;
    if (!strcmp(what, "margin")) {
        GetWindowRect(popup, &r);
        return print_point_when_uncovered(popup, r.left + 4, (r.top + r.bottom) / 2);
    }
    for (i = 0; i < sizeof controls / sizeof controls[0]; i++) {
        if (!strcmp(what, controls[i].name))
            target = GetDlgItem(popup, controls[i].id);
    }
    if (!target || !IsWindowVisible(target)) {
        fprintf(stderr, "tray_ui: the popup has no visible %s\n", what);
        return 1;
    }
    GetWindowRect(target, &r);
    return print_point_when_uncovered(popup, (r.left + r.right) / 2, (r.top + r.bottom) / 2);
}

static int popup_raise(DWORD pid, const wchar_t *prefix)
{
    HWND popup = find_popup(pid, prefix);
    return popup && SetWindowPos(popup, HWND_TOPMOST, 0, 0, 0, 0,
                                 SWP_NOMOVE | SWP_NOSIZE | SWP_NOACTIVATE)
               ? 0
               : 1;
}

static int popup_aside(DWORD pid, const wchar_t *prefix)
{
    HWND popup = find_popup(pid, prefix);
    RECT r;
    if (!popup || !GetWindowRect(popup, &r))
        return 1;
    return SetWindowPos(popup, NULL, r.left - (r.right - r.left) - 16, r.top, 0, 0,
                        SWP_NOSIZE | SWP_NOZORDER | SWP_NOACTIVATE)
               ? 0
               : 1;
}

static int popup_body(DWORD pid, const wchar_t *prefix)
{
    HWND popup = find_popup(pid, prefix);
    HWND body = popup ? GetDlgItem(popup, IDC_POPUP_BODY) : NULL;
    LRESULT n;
    wchar_t *text;
    if (!body)
        return 1;
    n = SendMessageW(body, WM_GETTEXTLENGTH, 0, 0);
    text = (wchar_t *)malloc(((size_t)n + 1) * sizeof(wchar_t));
    if (!text)
        return 1;
    SendMessageW(body, WM_GETTEXT, (WPARAM)n + 1, (LPARAM)text);
    printf("chars %ld vscroll %d\n", (long)n,
           (GetWindowLongPtrW(body, GWL_STYLE) & WS_VSCROLL) ? 1 : 0);
    print_utf8_long(text);
    free(text);
    return 0;
}

static int history_row0(HWND tray, DWORD pid)
{
    HWND history = choose(tray, pid, IDM_HISTORY, HISTORY_CLASS, "Recent notifications");
    HWND list = history ? GetDlgItem(history, IDC_HISTORY_LIST) : NULL;
    HWND header = list ? (HWND)SendMessageW(list, LVM_GETHEADER, 0, 0) : NULL;
    ULONGLONG until = GetTickCount64() + WAIT_MS;
    RECT r, h;
    if (!list)
        return 1;
    /* Filled as it opens; a click before the first row is there selects nothing. */
    while (SendMessageW(list, LVM_GETITEMCOUNT, 0, 0) < 1) {
        if (GetTickCount64() >= until) {
            fprintf(stderr, "tray_ui: Recent notifications has no rows\n");
            return 1;
        }
        Sleep(50);
    }
    GetWindowRect(list, &r);
    if (!header || !GetWindowRect(header, &h))
        h = r;
    /* The first row sits right under the column headers. */
    return print_point_when_uncovered(history, r.left + 60, h.bottom + 8);
}

/* The first item of the context menu the tray has open: menus are top-level
 * windows of class #32768 owned by the tray's process. Its items are of one
 * height, so a quarter of the way down a two-item menu is inside the first
 * whatever the border (the only context menu with a real click in the tests
 * is the history row's: Mute for 1 hour, Mute until I unmute). */
static int menu_item0(DWORD pid)
{
    HWND menu = wait_window(pid, MENU_CLASS);
    RECT r;
    if (!menu) {
        fprintf(stderr, "tray_ui: no context menu of the tray is open\n");
        return 1;
    }
    GetWindowRect(menu, &r);
    return print_point_when_uncovered(menu, (r.left + r.right) / 2, r.top + (r.bottom - r.top) / 4);
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
    if (!strcmp(action, "popups")) {
        popup_query q;
        q.pid = pid;
        q.prefix = NULL;
        q.found = NULL;
        EnumWindows(each_popup, (LPARAM)&q);
        return 0;
    }
    if (!strncmp(action, "raise:", 6)) {
        wchar_t prefix[256];
        int n = MultiByteToWideChar(CP_UTF8, 0, action + 6, -1, prefix, 256);
        return n > 1 ? popup_raise(pid, prefix) : 1;
    }
    if (!strncmp(action, "aside:", 6)) {
        wchar_t prefix[256];
        int n = MultiByteToWideChar(CP_UTF8, 0, action + 6, -1, prefix, 256);
        return n > 1 ? popup_aside(pid, prefix) : 1;
    }
    if (!strncmp(action, "point:", 6) || !strncmp(action, "body:", 5)) {
        int is_point = action[0] == 'p';
        const char *title = action + (is_point ? 6 : 5);
        const char *colon = is_point ? strrchr(title, ':') : title + strlen(title);
        wchar_t prefix[256];
        int n = colon ? MultiByteToWideChar(CP_UTF8, 0, title, (int)(colon - title), prefix, 255) : 0;
        if (n <= 0)
            return 1;
        prefix[n] = 0;
        return is_point ? popup_point(pid, prefix, colon + 1) : popup_body(pid, prefix);
    }
    if (!strcmp(action, "history-row0"))
        return history_row0(tray, pid);
    if (!strcmp(action, "menu-item0"))
        return menu_item0(pid);
    if (!strcmp(action, "unmute0"))
        return PostMessageW(tray, WM_COMMAND, MAKEWPARAM(IDM_UNMUTE_FIRST, 0), 0) ? 0 : 1;
    if (!strcmp(action, "all-in-window"))
        return PostMessageW(tray, WM_COMMAND, MAKEWPARAM(IDM_ALL_IN_WINDOW, 0), 0) ? 0 : 1;
    if (!strcmp(action, "balloon-click"))
        return PostMessageW(tray, WM_APP_TRAY_CALLBACK, 0, MAKELPARAM(NIN_BALLOONUSERCLICK_, 0))
                   ? 0
                   : 1;
    fprintf(stderr, "tray_ui: unknown action %s\n", action);
    return 1;
}
