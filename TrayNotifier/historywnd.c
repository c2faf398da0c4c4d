/*
 * historywnd.c - the "Recent notifications" window: a resizable window with
 * a virtual (LVS_OWNERDATA) report-mode ListView of the newest
 * TRAY_HISTORY_SHOWN entries, newest first, and Copy / Close buttons.
 * Columns: time, level, source, title, message, from (the sender), answer
 * (what was chosen, for questions) and state (of tagged ones). The context
 * menu of a row mutes its source for an hour or until unmuted.
 * Rows are formatted on demand (LVN_GETDISPINFOW), so a refresh only sets
 * the item count. Ctrl+C copies the selected rows (all rows when none is
 * selected) as tab-separated text; Ctrl+A selects every row.
 */
#include "app.h"

#include <commctrl.h>
#include <windowsx.h>

#include <stdlib.h>
#include <string.h>

#define HISTORY_CLASS L"Pipes.TrayNotifier.History"
#define COLUMNS 8

typedef struct history_ui {
    HWND list, copy, close;
    HFONT font;
    HIMAGELIST images;
    UINT dpi;
} history_ui;

static history_ui g_ui; /* one window; GUI thread only */

static int scale(int px96)
{
    return MulDiv(px96, (int)(g_ui.dpi ? g_ui.dpi : 96u), 96);
}

static void flatten(wchar_t *s)
{
    /* One line per row: line breaks and tabs become spaces. */
    for (; *s; ++s) {
        if (*s == L'\r' || *s == L'\n' || *s == L'\t') {
            *s = L' ';
        }
    }
}

void historywnd_format_time(int64_t ms, wchar_t *out, size_t cap)
{
    ULARGE_INTEGER t;
    FILETIME ft;
    SYSTEMTIME utc, local;
    wchar_t date[64] = L"", time[64] = L"";
    t.QuadPart = (ULONGLONG)(ms + 11644473600000LL) * 10000u;
    ft.dwLowDateTime = t.LowPart;
    ft.dwHighDateTime = t.HighPart;
    if (ms < 0 || !FileTimeToSystemTime(&ft, &utc) ||
        !SystemTimeToTzSpecificLocalTime(NULL, &utc, &local)) {
        out[0] = L'\0';
        return;
    }
    GetDateFormatW(LOCALE_USER_DEFAULT, DATE_SHORTDATE, &local, NULL, date, ARRAYSIZE(date));
    GetTimeFormatW(LOCALE_USER_DEFAULT, 0, &local, NULL, time, ARRAYSIZE(time));
    swprintf(out, cap, L"%ls %ls", date, time);
}

/* "Restart now", "Dismissed", "Answered elsewhere: ..." for the answer column. */
static void answer_text(tray_app *app, const tray_entry *e, wchar_t *out, size_t cap)
{
    const pipes_proto_answer *a = &e->answer;
    wchar_t what[PIPES_PROTO_MAX_LABEL + 1], who[PIPES_PROTO_MAX_ACCOUNT + 1];
    out[0] = L'\0';
    if (a->type == 0) {
        return;
    }
    if (a->result == PIPES_PROTO_RESULT_ACTION) {
        const char *label = e->answer_label[0] ? e->answer_label : a->action;
        text_utf8_to_wide_buf(label, strlen(label), what, ARRAYSIZE(what));
    } else if (a->result != PIPES_PROTO_RESULT_NONE) {
        app_load_string(app,
                        a->result == PIPES_PROTO_RESULT_DISMISSED ? IDS_ANSWER_DISMISSED
                                                                  : IDS_ANSWER_TIMEOUT,
                        what, ARRAYSIZE(what));
    } else {
        app_load_string(app, IDS_ANSWER_WITHDRAWN, out, (int)cap);
        return;
    }
    if (a->type == PIPES_PROTO_TYPE_WITHDRAW) {
        text_utf8_to_wide_buf(a->user, a->user_len, who, ARRAYSIZE(who));
        app_format_string(app, IDS_ANSWER_ELSEWHERE, out, cap, what, who, a->session);
    } else {
        tray_copy_truncated(out, cap, what);
    }
}

/* The text of one cell; columns: time, level, source, title, message, from,
 * answer, state. */
static void cell_text(tray_app *app, const tray_entry *e, int column, wchar_t *out, size_t cap)
{
    static const UINT level_names[3] = {IDS_LEVEL_INFO, IDS_LEVEL_WARNING, IDS_LEVEL_ERROR};
    static const UINT state_names[5] = {0, IDS_STATE_CURRENT, IDS_STATE_REPLACED,
                                        IDS_STATE_CLEARED, IDS_STATE_WITHDRAWN};
    const char *s = NULL;
    switch (column) {
    case 0:
        historywnd_format_time(e->time_ms, out, cap);
        return;
    case 1:
        app_load_string(app, level_names[(unsigned)e->level <= 2u ? (unsigned)e->level : 0u], out,
                        (int)cap);
        return;
    case 2:
        s = e->source;
        break;
    case 3:
        if (e->is_clear) {
            wchar_t tag[PIPES_PROTO_MAX_TAG + 1];
            text_utf8_to_wide_buf(e->tag, strlen(e->tag), tag, ARRAYSIZE(tag));
            app_format_string(app, IDS_CLEARED_TITLE, out, cap, tag);
            return;
        }
        s = e->title;
        break;
    case 4:
        s = e->body;
        break;
    case 5:
        s = e->from;
        break;
    case 6:
        answer_text(app, e, out, cap);
        return;
    default:
        out[0] = L'\0';
        if ((unsigned)e->tag_state < 5u && state_names[e->tag_state]) {
            app_load_string(app, state_names[e->tag_state], out, (int)cap);
        }
        return;
    }
    text_utf8_to_wide_buf(s, strlen(s), out, cap);
    flatten(out);
}

static void copy_rows(tray_app *app, HWND hwnd)
{
    size_t cap = 4096, len = 0;
    wchar_t *text = (wchar_t *)malloc(cap * sizeof(wchar_t));
    int count = ListView_GetItemCount(g_ui.list);
    int only_selected = ListView_GetSelectedCount(g_ui.list) > 0;
    int row, col;
    wchar_t cell[PIPES_PROTO_MAX_BODY + 1];
    HGLOBAL mem;
    if (!text) {
        return;
    }
    for (row = 0; row < count; ++row) {
        const tray_entry *e = tray_history_newest(&app->history, (size_t)row);
        if (!e || (only_selected && !(ListView_GetItemState(g_ui.list, row, LVIS_SELECTED) &
                                      LVIS_SELECTED))) {
            continue;
        }
        for (col = 0; col < COLUMNS; ++col) {
            size_t n;
            cell_text(app, e, col, cell, ARRAYSIZE(cell));
            n = wcslen(cell);
            if (len + n + 3 > cap) {
                wchar_t *bigger;
                while (len + n + 3 > cap) {
                    cap *= 2;
                }
                bigger = (wchar_t *)realloc(text, cap * sizeof(wchar_t));
                if (!bigger) {
                    free(text);
                    return;
                }
                text = bigger;
            }
            memcpy(text + len, cell, n * sizeof(wchar_t));
            len += n;
            if (col + 1 < COLUMNS) {
                text[len++] = L'\t';
            } else {
                text[len++] = L'\r';
                text[len++] = L'\n';
            }
        }
    }
    text[len] = L'\0';
    mem = GlobalAlloc(GMEM_MOVEABLE, (len + 1) * sizeof(wchar_t));
    if (mem) {
        void *p = GlobalLock(mem);
        memcpy(p, text, (len + 1) * sizeof(wchar_t));
        GlobalUnlock(mem);
        if (OpenClipboard(hwnd)) {
            EmptyClipboard();
            if (SetClipboardData(CF_UNICODETEXT, mem)) {
                mem = NULL; /* the clipboard owns it now */
            }
            CloseClipboard();
        }
        if (mem) {
            GlobalFree(mem);
        }
    }
    app_log(app, "copied %u characters", (unsigned)len);
    free(text);
}

static void apply_font(HWND hwnd)
{
    NONCLIENTMETRICSW ncm;
    HFONT old = g_ui.font;
    memset(&ncm, 0, sizeof(ncm));
    ncm.cbSize = sizeof(ncm);
    if (SystemParametersInfoForDpi(SPI_GETNONCLIENTMETRICS, sizeof(ncm), &ncm, 0, g_ui.dpi) ||
        SystemParametersInfoW(SPI_GETNONCLIENTMETRICS, sizeof(ncm), &ncm, 0)) {
        g_ui.font = CreateFontIndirectW(&ncm.lfMessageFont);
    }
    SendMessageW(g_ui.list, WM_SETFONT, (WPARAM)g_ui.font, FALSE);
    SendMessageW(g_ui.copy, WM_SETFONT, (WPARAM)g_ui.font, FALSE);
    SendMessageW(g_ui.close, WM_SETFONT, (WPARAM)g_ui.font, FALSE);
    if (old && old != g_ui.font) {
        DeleteObject(old);
    }
    InvalidateRect(hwnd, NULL, TRUE);
}

static void layout(HWND hwnd)
{
    RECT rc;
    int m = scale(8), bw = scale(88), bh = scale(26), w, h;
    GetClientRect(hwnd, &rc);
    w = rc.right;
    h = rc.bottom;
    MoveWindow(g_ui.list, m, m, w - 2 * m, h - 3 * m - bh, TRUE);
    MoveWindow(g_ui.close, w - m - bw, h - m - bh, bw, bh, TRUE);
    MoveWindow(g_ui.copy, w - 2 * m - 2 * bw, h - m - bh, bw, bh, TRUE);
}

static HWND make_button(tray_app *app, HWND parent, UINT text_id, int id, DWORD style)
{
    wchar_t text[64];
    app_load_string(app, text_id, text, ARRAYSIZE(text));
    return CreateWindowExW(0, WC_BUTTONW, text, WS_CHILD | WS_VISIBLE | WS_TABSTOP | style, 0, 0,
                           0, 0, parent, (HMENU)(INT_PTR)id, app->instance, NULL);
}

static int on_create(tray_app *app, HWND hwnd)
{
    static const UINT titles[COLUMNS] = {IDS_COL_TIME,  IDS_COL_LEVEL, IDS_COL_SOURCE,
                                         IDS_COL_TITLE, IDS_COL_BODY,  IDS_COL_FROM,
                                         IDS_COL_ANSWER, IDS_COL_STATE};
    static const int widths[COLUMNS] = {140, 60, 100, 180, 260, 120, 110, 80};
    int i;
    g_ui.dpi = GetDpiForWindow(hwnd);
    g_ui.list = CreateWindowExW(WS_EX_CLIENTEDGE, WC_LISTVIEWW, L"",
                                WS_CHILD | WS_VISIBLE | WS_TABSTOP | LVS_REPORT | LVS_OWNERDATA |
                                    LVS_SHOWSELALWAYS,
                                0, 0, 0, 0, hwnd, (HMENU)(INT_PTR)IDC_HISTORY_LIST, app->instance,
                                NULL);
    g_ui.copy = make_button(app, hwnd, IDS_COPY, IDC_HISTORY_COPY, BS_PUSHBUTTON);
    g_ui.close = make_button(app, hwnd, IDS_CLOSE, IDC_HISTORY_CLOSE, BS_DEFPUSHBUTTON);
    if (!g_ui.list || !g_ui.copy || !g_ui.close) {
        return -1;
    }
    ListView_SetExtendedListViewStyle(g_ui.list, LVS_EX_FULLROWSELECT | LVS_EX_DOUBLEBUFFER |
                                                     LVS_EX_LABELTIP);
    g_ui.images = ImageList_Create(GetSystemMetricsForDpi(SM_CXSMICON, g_ui.dpi),
                                   GetSystemMetricsForDpi(SM_CYSMICON, g_ui.dpi),
                                   ILC_COLOR32 | ILC_MASK, 3, 0);
    for (i = 0; i < 3 && g_ui.images; ++i) {
        ImageList_AddIcon(g_ui.images, app->icon_level[i] ? app->icon_level[i] : app->icon_app);
    }
    ListView_SetImageList(g_ui.list, g_ui.images, LVSIL_SMALL);
    for (i = 0; i < COLUMNS; ++i) {
        wchar_t title[64];
        LVCOLUMNW col;
        memset(&col, 0, sizeof(col));
        app_load_string(app, titles[i], title, ARRAYSIZE(title));
        col.mask = LVCF_TEXT | LVCF_WIDTH | LVCF_SUBITEM;
        col.pszText = title;
        col.cx = scale(widths[i]);
        col.iSubItem = i;
        ListView_InsertColumn(g_ui.list, i, &col);
    }
    apply_font(hwnd);
    return 0;
}

static LRESULT on_notify(tray_app *app, NMHDR *hdr)
{
    if (hdr->idFrom == IDC_HISTORY_LIST && hdr->code == LVN_GETDISPINFOW) {
        LVITEMW *item = &((NMLVDISPINFOW *)hdr)->item;
        const tray_entry *e = tray_history_newest(&app->history, (size_t)item->iItem);
        if (!e) {
            return 0;
        }
        if ((item->mask & LVIF_TEXT) && item->pszText && item->cchTextMax > 0) {
            cell_text(app, e, item->iSubItem, item->pszText, (size_t)item->cchTextMax);
        }
        if (item->mask & LVIF_IMAGE) {
            item->iImage = (int)e->level;
        }
    }
    return 0;
}

/* The entry of the focused (or first selected) row, or NULL. */
static const tray_entry *focused_entry(tray_app *app)
{
    int row = ListView_GetNextItem(g_ui.list, -1, LVNI_FOCUSED | LVNI_SELECTED);
    if (row < 0) {
        row = ListView_GetNextItem(g_ui.list, -1, LVNI_SELECTED);
    }
    return row < 0 ? NULL : tray_history_newest(&app->history, (size_t)row);
}

/* "Mute <source> for 1 hour / until I unmute" for the row under the menu. */
static void context_menu(tray_app *app, HWND hwnd, int x, int y)
{
    const tray_entry *e = focused_entry(app);
    wchar_t source[PIPES_PROTO_MAX_SOURCE + 1], text[300];
    HMENU menu;
    UINT cmd;
    if (!e || !e->source[0]) {
        return;
    }
    if (x == -1 && y == -1) { /* from the keyboard: at the row */
        RECT r;
        POINT pt;
        ListView_GetItemRect(g_ui.list, ListView_GetNextItem(g_ui.list, -1, LVNI_FOCUSED), &r,
                             LVIR_LABEL);
        pt.x = r.left;
        pt.y = r.bottom;
        ClientToScreen(g_ui.list, &pt);
        x = pt.x;
        y = pt.y;
    }
    text_utf8_to_wide_buf(e->source, strlen(e->source), source, ARRAYSIZE(source));
    menu = CreatePopupMenu();
    if (!menu) {
        return;
    }
    app_format_string(app, IDS_MUTE_HOUR, text, ARRAYSIZE(text), source);
    AppendMenuW(menu, MF_STRING, IDM_MUTE_HOUR, text);
    app_format_string(app, IDS_MUTE_FOREVER, text, ARRAYSIZE(text), source);
    AppendMenuW(menu, MF_STRING, IDM_MUTE_FOREVER, text);
    cmd = (UINT)TrackPopupMenuEx(menu, TPM_RETURNCMD | TPM_RIGHTBUTTON, x, y, hwnd, NULL);
    DestroyMenu(menu);
    if (cmd) {
        SendMessageW(hwnd, WM_COMMAND, cmd, 0);
    }
}

static void mute_focused(tray_app *app, int forever)
{
    const tray_entry *e = focused_entry(app);
    if (e && e->source[0]) {
        settings_mute(app, e->source, forever ? 0 : settings_now_ms() + 3600 * 1000);
    }
}

static LRESULT CALLBACK history_proc(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    tray_app *app = (tray_app *)GetWindowLongPtrW(hwnd, GWLP_USERDATA);
    if (msg == WM_NCCREATE) {
        app = (tray_app *)((CREATESTRUCTW *)lparam)->lpCreateParams;
        SetWindowLongPtrW(hwnd, GWLP_USERDATA, (LONG_PTR)app);
    }
    if (!app) {
        return DefWindowProcW(hwnd, msg, wparam, lparam);
    }
    switch (msg) {
    case WM_CREATE:
        return on_create(app, hwnd);
    case WM_SIZE:
        layout(hwnd);
        return 0;
    case WM_GETMINMAXINFO:
        ((MINMAXINFO *)lparam)->ptMinTrackSize.x = scale(420);
        ((MINMAXINFO *)lparam)->ptMinTrackSize.y = scale(240);
        return 0;
    case WM_DPICHANGED: {
        const RECT *r = (const RECT *)lparam;
        g_ui.dpi = HIWORD(wparam);
        apply_font(hwnd);
        SetWindowPos(hwnd, NULL, r->left, r->top, r->right - r->left, r->bottom - r->top,
                     SWP_NOZORDER | SWP_NOACTIVATE);
        return 0;
    }
    case WM_NOTIFY:
        return on_notify(app, (NMHDR *)lparam);
    case WM_CONTEXTMENU:
        if ((HWND)wparam == g_ui.list) {
            context_menu(app, hwnd, GET_X_LPARAM(lparam), GET_Y_LPARAM(lparam));
            return 0;
        }
        break;
    case WM_COMMAND:
        switch (LOWORD(wparam)) {
        case IDM_MUTE_HOUR:
        case IDM_MUTE_FOREVER:
            mute_focused(app, LOWORD(wparam) == IDM_MUTE_FOREVER);
            return 0;
        case IDC_HISTORY_COPY:
            copy_rows(app, hwnd);
            return 0;
        case IDC_HISTORY_SELECT_ALL:
            ListView_SetItemState(g_ui.list, -1, LVIS_SELECTED, LVIS_SELECTED);
            app_log(app, "history: all %d rows selected", ListView_GetItemCount(g_ui.list));
            return 0;
        case IDC_HISTORY_CLOSE:
        case IDCANCEL:
            ShowWindow(hwnd, SW_HIDE);
            return 0;
        default:
            break;
        }
        break;
    case WM_CLOSE:
        ShowWindow(hwnd, SW_HIDE); /* keep it for next time */
        return 0;
    case WM_DESTROY:
        if (g_ui.images) {
            ImageList_Destroy(g_ui.images);
        }
        if (g_ui.font) {
            DeleteObject(g_ui.font);
        }
        memset(&g_ui, 0, sizeof(g_ui));
        return 0;
    default:
        break;
    }
    return DefWindowProcW(hwnd, msg, wparam, lparam);
}

static HWND create_window(tray_app *app)
{
    static ATOM registered;
    wchar_t title[128];
    HWND hwnd;
    UINT dpi;
    RECT work;
    int w, h;
    if (!registered) {
        WNDCLASSEXW wc;
        memset(&wc, 0, sizeof(wc));
        wc.cbSize = sizeof(wc);
        wc.lpfnWndProc = history_proc;
        wc.hInstance = app->instance;
        wc.hIcon = LoadIconW(app->instance, MAKEINTRESOURCEW(IDI_APP));
        wc.hIconSm = app->icon_app;
        wc.hCursor = LoadCursorW(NULL, MAKEINTRESOURCEW(32512)); /* IDC_ARROW */
        wc.hbrBackground = (HBRUSH)(COLOR_BTNFACE + 1);
        wc.lpszClassName = HISTORY_CLASS;
        registered = RegisterClassExW(&wc);
        if (!registered) {
            return NULL;
        }
    }
    app_load_string(app, IDS_HISTORY_TITLE, title, ARRAYSIZE(title));
    /* First shown centred in the work area of the primary monitor. */
    dpi = GetDpiForSystem();
    w = MulDiv(900, (int)dpi, 96);
    h = MulDiv(420, (int)dpi, 96);
    if (!SystemParametersInfoW(SPI_GETWORKAREA, 0, &work, 0)) {
        SetRect(&work, 0, 0, GetSystemMetrics(SM_CXSCREEN), GetSystemMetrics(SM_CYSCREEN));
    }
    w = min(w, work.right - work.left);
    h = min(h, work.bottom - work.top);
    hwnd = CreateWindowExW(WS_EX_CONTROLPARENT | WS_EX_APPWINDOW, HISTORY_CLASS, title,
                           WS_OVERLAPPEDWINDOW, work.left + (work.right - work.left - w) / 2,
                           work.top + (work.bottom - work.top - h) / 2, w, h, NULL, NULL,
                           app->instance, app);
    if (hwnd) {
        app->history_accel = LoadAcceleratorsW(app->instance, MAKEINTRESOURCEW(IDA_HISTORY));
    }
    return hwnd;
}

void historywnd_show(tray_app *app)
{
    if (!app->history_wnd) {
        app->history_wnd = create_window(app);
        if (!app->history_wnd) {
            app_log(app, "history window could not be created (error %lu)", GetLastError());
            return;
        }
    }
    historywnd_refresh(app);
    ShowWindow(app->history_wnd, IsIconic(app->history_wnd) ? SW_RESTORE : SW_SHOW);
    SetForegroundWindow(app->history_wnd);
    SetFocus(g_ui.list);
    presenter_mark_read(app);
    app_log(app, "history window shown with %d rows", ListView_GetItemCount(g_ui.list));
}

void historywnd_show_entry(tray_app *app, const char *sid, const char *id)
{
    size_t i, n = tray_history_count(&app->history);
    historywnd_show(app);
    if (!g_ui.list) {
        return;
    }
    for (i = 0; i < n && i < TRAY_HISTORY_SHOWN; ++i) {
        const tray_entry *e = tray_history_newest(&app->history, i);
        if (strcmp(e->id, id) == 0 && strcmp(e->sid, sid) == 0) {
            ListView_SetItemState(g_ui.list, -1, 0, LVIS_SELECTED | LVIS_FOCUSED);
            ListView_SetItemState(g_ui.list, (int)i, LVIS_SELECTED | LVIS_FOCUSED,
                                  LVIS_SELECTED | LVIS_FOCUSED);
            ListView_EnsureVisible(g_ui.list, (int)i, FALSE);
            app_log(app, "history window at %s (row %u)", id, (unsigned)i);
            return;
        }
    }
    app_log(app, "history window: %s is no longer in the list", id);
}

void historywnd_refresh(tray_app *app)
{
    size_t n = tray_history_count(&app->history);
    if (!app->history_wnd || !g_ui.list) {
        return;
    }
    if (n > TRAY_HISTORY_SHOWN) {
        n = TRAY_HISTORY_SHOWN;
    }
    ListView_SetItemCountEx(g_ui.list, (int)n, LVSICF_NOSCROLL);
    InvalidateRect(g_ui.list, NULL, FALSE);
}

void historywnd_destroy(tray_app *app)
{
    if (app->history_wnd) {
        DestroyWindow(app->history_wnd);
        app->history_wnd = NULL;
    }
    if (app->history_accel) {
        DestroyAcceleratorTable(app->history_accel);
        app->history_accel = NULL;
    }
}
