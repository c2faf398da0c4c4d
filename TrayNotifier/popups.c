/*
 * popups.c - the stack of Pipes notification windows: where they go, what
 * replaces what, and what an answer does.
 *
 * Placement: bottom-right of the work area of the monitor that has the
 * taskbar (Shell_TrayWnd; the primary monitor without one), above the
 * taskbar, a margin apart, the newest on top. At most TRAY_POPUPS_SHOWN are
 * visible; older ones wait hidden (their timeout does not run) behind a
 * summary popup "+N more notifications", and move up as newer ones close.
 * At most POPUPS_MAX exist: beyond that the oldest is closed as if timed out.
 *
 * Replacing: a notification with the tag of a popup from the same sender
 * (SID) replaces that popup's content in place (popups_update_tag), so a
 * progress from 0 to 100 is one window; a clear or a withdraw closes it
 * without an answer.
 *
 * Answers: for a notification with actions, a button (result action), Close
 * or Esc (dismissed) and the timeout (timeout) make a response: stored in
 * the history and, when the notification came from the service, sent to it
 * until acknowledged (responses.c). Others just close.
 *
 * GUI thread only.
 */
#include "popup.h"

#include <shellapi.h>

#include <stdlib.h>
#include <string.h>

#define POPUPS_MAX 32u
#define MARGIN 12

static HWND g_stack[POPUPS_MAX]; /* newest first */
static unsigned g_count;
static HWND g_summary;

unsigned popups_count(void)
{
    return g_count;
}

/* The work area next to the taskbar. */
static RECT work_area(void)
{
    HWND taskbar = FindWindowW(L"Shell_TrayWnd", NULL);
    HMONITOR mon = taskbar ? MonitorFromWindow(taskbar, MONITOR_DEFAULTTOPRIMARY)
                           : MonitorFromWindow(NULL, MONITOR_DEFAULTTOPRIMARY);
    MONITORINFO mi;
    RECT r;
    memset(&mi, 0, sizeof(mi));
    mi.cbSize = sizeof(mi);
    if (mon && GetMonitorInfoW(mon, &mi)) {
        return mi.rcWork;
    }
    if (!SystemParametersInfoW(SPI_GETWORKAREA, 0, &r, 0)) {
        SetRect(&r, 0, 0, GetSystemMetrics(SM_CXSCREEN), GetSystemMetrics(SM_CYSCREEN));
    }
    return r;
}

static POINT corner(void)
{
    RECT w = work_area();
    POINT p;
    p.x = w.right - 1;
    p.y = w.bottom - 1;
    return p;
}

void popups_relayout(tray_app *app)
{
    RECT w = work_area();
    UINT dpi = g_count ? GetDpiForWindow(g_stack[0]) : 96u;
    int margin = MulDiv(MARGIN, (int)dpi, 96), y = w.bottom - margin;
    unsigned shown = g_count < TRAY_POPUPS_SHOWN ? g_count : TRAY_POPUPS_SHOWN;
    unsigned i;
    /* Oldest shown at the bottom, so the newest ends on top. */
    for (i = shown; i-- > 0;) {
        SIZE s = popup_size(g_stack[i]);
        y -= s.cy;
        SetWindowPos(g_stack[i], HWND_TOPMOST, w.right - margin - s.cx, y, s.cx, s.cy,
                     SWP_NOACTIVATE | SWP_SHOWWINDOW);
        y -= margin / 2;
    }
    for (i = shown; i < g_count; ++i) {
        ShowWindow(g_stack[i], SW_HIDE);
    }
    if (g_count > shown) {
        if (!g_summary) {
            g_summary = popup_create_summary(app, g_count - shown, corner());
        }
        if (g_summary) {
            SIZE s = popup_size(g_summary);
            popup_set_more(g_summary, g_count - shown);
            SetWindowPos(g_summary, HWND_TOPMOST, w.right - margin - s.cx, y - s.cy, s.cx, s.cy,
                         SWP_NOACTIVATE | SWP_SHOWWINDOW);
        }
    } else if (g_summary) {
        DestroyWindow(g_summary);
        g_summary = NULL;
    }
}

static int index_of(HWND h)
{
    unsigned i;
    for (i = 0; i < g_count; ++i) {
        if (g_stack[i] == h) {
            return (int)i;
        }
    }
    return -1;
}

/* Removes h from the stack, hides it, and has it destroy itself once the
 * message being handled (often a click on one of its own buttons) is done. */
static void drop(tray_app *app, HWND h)
{
    int i = index_of(h);
    if (i < 0) {
        return;
    }
    memmove(&g_stack[i], &g_stack[i + 1], (g_count - (unsigned)i - 1) * sizeof(HWND));
    --g_count;
    ShowWindow(h, SW_HIDE);
    if (!PostMessageW(h, WM_POPUP_DESTROY, 0, 0)) {
        DestroyWindow(h);
    }
    popups_relayout(app);
}

static HWND find_tag(const char *sid, const char *tag)
{
    unsigned i;
    for (i = 0; i < g_count; ++i) {
        const tray_popup_data *d = popup_data(g_stack[i]);
        if (d && d->n.tag_len && strcmp(d->n.tag, tag) == 0 && strcmp(d->n.sender.sid, sid) == 0) {
            return g_stack[i];
        }
    }
    return NULL;
}

int popups_update_tag(tray_app *app, tray_popup_data *data)
{
    HWND h = data->n.tag_len && !data->n.clear ? find_tag(data->n.sender.sid, data->n.tag) : NULL;
    if (!h) {
        return 0;
    }
    app_log(app, "popup %s updated in place (tag %s, replaces %s, progress %d)", data->n.id,
            data->n.tag, popup_data(h)->n.id, data->n.has_progress ? data->n.progress_value : -2);
    popup_set_data(h, data);
    popups_relayout(app);
    return 1;
}

void popups_show(tray_app *app, tray_popup_data *data)
{
    char id[PIPES_PROTO_MAX_ID + 1];
    HWND h;
    if (popups_update_tag(app, data)) {
        return;
    }
    memcpy(id, data->n.id, sizeof(id));
    if (g_count == POPUPS_MAX) {
        app_log(app, "popups: %u open, the oldest closes", g_count);
        popups_answered(app, g_stack[g_count - 1], PIPES_PROTO_RESULT_TIMEOUT, NULL);
    }
    h = popup_create(app, data, corner());
    if (!h) {
        app_log(app, "popup %s could not be created (error %lu)", id, GetLastError());
        return;
    }
    memmove(&g_stack[1], &g_stack[0], g_count * sizeof(HWND));
    g_stack[0] = h;
    ++g_count;
    popups_relayout(app);
    app_log(app, "popup shown %s (%u open)", id, g_count);
}

int popups_clear_tag(tray_app *app, const char *sid, const char *tag)
{
    HWND h = find_tag(sid, tag);
    if (!h) {
        return 0;
    }
    app_log(app, "popup %s closed: tag %s cleared", popup_data(h)->n.id, tag);
    drop(app, h);
    return 1;
}

int popups_withdraw(tray_app *app, const char *id)
{
    unsigned i;
    for (i = 0; i < g_count; ++i) {
        const tray_popup_data *d = popup_data(g_stack[i]);
        if (d && strcmp(d->n.id, id) == 0 && d->via_service) {
            app_log(app, "popup %s withdrawn by the service", id);
            drop(app, g_stack[i]);
            return 1;
        }
    }
    return 0;
}

void popups_answered(tray_app *app, HWND h, pipes_proto_result result, const char *action)
{
    const tray_popup_data *d = popup_data(h);
    pipes_proto_answer a;
    if (!d || index_of(h) < 0) {
        return;
    }
    app_log(app, "popup %s %s%s%s", d->n.id, pipes_proto_result_name(result),
            action ? " " : "", action ? action : "");
    if (d->n.action_count > 0 &&
        pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_RESPONSE, d->n.id) == PIPES_PROTO_OK) {
        a.result = result;
        if (action) {
            a.action_len = strlen(action);
            memcpy(a.action, action, a.action_len + 1);
        }
        a.has_session = 1;
        a.session = app->session_id;
        a.user_len = strlen(app->user_account);
        memcpy(a.user, app->user_account, a.user_len + 1);
        a.has_time = 1;
        a.time_ms = settings_now_ms();
        if (!tray_history_answer(&app->history, &a)) {
            app_log(app, "answer to %s not stored in the history", d->n.id);
        }
        if (d->via_service) {
            responses_add(app, &a);
        }
        historywnd_refresh(app);
    }
    drop(app, h);
}

void popups_closed(tray_app *app, HWND h)
{
    drop(app, h);
}

void app_open_url(tray_app *app, const char *url)
{
    wchar_t *w;
    INT_PTR r;
    /* Checked again here: only http(s) ever reaches the shell. */
    if (pipes_proto_url_check(url, strlen(url), NULL, NULL) != PIPES_PROTO_OK) {
        app_log(app, "open url refused: %s", url);
        return;
    }
    if (app->open_log_only) {
        app_log(app, "open url %s (test hook: not opened)", url);
        return;
    }
    w = text_utf8_to_wide(url, strlen(url));
    r = w ? (INT_PTR)ShellExecuteW(NULL, L"open", w, NULL, NULL, SW_SHOWNORMAL) : 0;
    app_log(app, "open url %s: %s (ShellExecute %d)", url, r > 32 ? "ok" : "failed", (int)r);
    free(w);
}

void popups_open(tray_app *app, const tray_popup_data *data)
{
    if (data->n.open_len) {
        app_open_url(app, data->n.open);
    } else {
        historywnd_show_entry(app, data->n.sender.sid, data->n.id);
    }
}

void popups_theme_changed(tray_app *app)
{
    unsigned i;
    for (i = 0; i < g_count; ++i) {
        popup_apply_theme(g_stack[i]);
    }
    if (g_summary) {
        popup_apply_theme(g_summary);
    }
    popups_relayout(app);
}

int popups_is_popup(tray_app *app, HWND hwnd, HWND *root)
{
    HWND top = hwnd ? GetAncestor(hwnd, GA_ROOT) : NULL;
    (void)app;
    if (top && (top == g_summary || index_of(top) >= 0)) {
        *root = top;
        return 1;
    }
    return 0;
}

void popups_destroy_all(tray_app *app)
{
    (void)app;
    while (g_count > 0) {
        DestroyWindow(g_stack[--g_count]);
    }
    if (g_summary) {
        DestroyWindow(g_summary);
        g_summary = NULL;
    }
}
