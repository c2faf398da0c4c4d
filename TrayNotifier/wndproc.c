/*
 * wndproc.c - the hidden main window: tray icon callbacks, the context
 * menu, pipe events, timers, and requests from a second instance.
 *
 * It is a hidden top-level window, not a message-only one, because the
 * "TaskbarCreated" broadcast only reaches top-level windows.
 */
#include "app.h"

#include <commctrl.h>
#include <shellapi.h>
#include <windowsx.h>

#include <stdlib.h>
#include <string.h>

static void on_command(tray_app *app, UINT id);

/* "Unmute <source> (until 14:05)" for each muted source, or "(none)". */
static void fill_muted_menu(tray_app *app, HMENU popup)
{
    int i, n = GetMenuItemCount(popup);
    HMENU sub = NULL;
    unsigned k;
    for (i = 0; i < n && !sub; ++i) {
        HMENU s = GetSubMenu(popup, i);
        if (s && GetMenuItemID(s, 0) == IDM_NO_MUTES) {
            sub = s;
        }
    }
    if (!sub || app->mute_count == 0) {
        return;
    }
    DeleteMenu(sub, IDM_NO_MUTES, MF_BYCOMMAND);
    for (k = 0; k < app->mute_count; ++k) {
        wchar_t text[300], until[96];
        const tray_mute *m = &app->mutes[k];
        if (m->until_ms == 0) {
            app_load_string(app, IDS_UNTIL_UNMUTED, until, ARRAYSIZE(until));
        } else {
            historywnd_format_time(m->until_ms, until, ARRAYSIZE(until));
        }
        app_format_string(app, IDS_UNMUTE, text, ARRAYSIZE(text), m->source, until);
        AppendMenuW(sub, MF_STRING, IDM_UNMUTE_FIRST + k, text);
    }
}

static void show_context_menu(tray_app *app, int x, int y)
{
    HMENU menu = LoadMenuW(app->instance, MAKEINTRESOURCEW(IDR_TRAYMENU));
    HMENU popup = menu ? GetSubMenu(menu, 0) : NULL;
    UINT flags = TPM_RIGHTBUTTON, cmd;
    if (!popup) {
        if (menu) {
            DestroyMenu(menu);
        }
        return;
    }
    SetMenuDefaultItem(popup, IDM_HISTORY, FALSE);
    CheckMenuItem(popup, IDM_PAUSE, MF_BYCOMMAND | (app->paused ? MF_CHECKED : MF_UNCHECKED));
    CheckMenuItem(popup, IDM_ALL_IN_WINDOW,
                  MF_BYCOMMAND | (app->all_in_window ? MF_CHECKED : MF_UNCHECKED));
    fill_muted_menu(app, popup);
    flags |= GetSystemMetrics(SM_MENUDROPALIGNMENT) ? TPM_RIGHTALIGN : TPM_LEFTALIGN;
    /* Without the foreground the menu would not close when clicking elsewhere. */
    SetForegroundWindow(app->hwnd);
    cmd = (UINT)TrackPopupMenuEx(popup, flags | TPM_RETURNCMD | TPM_NONOTIFY, x, y, app->hwnd,
                                 NULL);
    PostMessageW(app->hwnd, WM_NULL, 0, 0);
    DestroyMenu(menu);
    if (cmd) {
        on_command(app, cmd);
    } else {
        /* Dismissed (Esc, click elsewhere): the keyboard focus goes back to
         * the notification area, as its guidelines ask. */
        tray_icon_focus(app->hwnd);
    }
}

static void show_about(tray_app *app)
{
    static int open; /* one About box at a time */
    wchar_t text[1024], title[64], dll_version[32] = L"?";
    const char *dll_text = NULL;
    if (open) {
        return;
    }
    open = 1;
    pipes_version(&dll_text);
    if (dll_text) {
        MultiByteToWideChar(CP_UTF8, 0, dll_text, -1, dll_version, ARRAYSIZE(dll_version));
    }
    app_format_string(app, IDS_ABOUT, text, ARRAYSIZE(text), L"" PIPES_VERSION_STRING, dll_version,
                      app->pipe_name, app->data_dir);
    app_load_string(app, IDS_APP_TITLE, title, ARRAYSIZE(title));
    MessageBoxW(app->hwnd, text, title, MB_OK | MB_ICONINFORMATION | MB_SETFOREGROUND);
    open = 0;
}

/* Shows the history folder in Explorer. ShellExecute answers above 32 on
 * success; the log says which, since there is nothing else to show. */
static void open_data_folder(tray_app *app)
{
    INT_PTR r = (INT_PTR)ShellExecuteW(NULL, L"open", app->data_dir, NULL, NULL, SW_SHOWNORMAL);
    app_log(app, "open data folder: %s (ShellExecute %d)", r > 32 ? "ok" : "failed", (int)r);
}

static void on_command(tray_app *app, UINT id)
{
    switch (id) {
    case IDM_HISTORY:
        historywnd_show(app);
        break;
    case IDM_PAUSE:
        presenter_set_paused(app, !app->paused);
        break;
    case IDM_OPEN_FOLDER:
        open_data_folder(app);
        break;
    case IDM_ABOUT:
        show_about(app);
        break;
    case IDM_EXIT:
        DestroyWindow(app->hwnd);
        break;
    case IDM_ALL_IN_WINDOW:
        app->all_in_window = !app->all_in_window;
        app_log(app, "show all in the Pipes window: %s", app->all_in_window ? "on" : "off");
        settings_save(app);
        break;
    default:
        if (id >= IDM_UNMUTE_FIRST && id < IDM_UNMUTE_FIRST + TRAY_MUTE_MAX) {
            settings_unmute(app, id - IDM_UNMUTE_FIRST);
        }
        break;
    }
}

static void on_tray(tray_app *app, WPARAM wparam, LPARAM lparam)
{
    /* NOTIFYICON_VERSION_4: the event is LOWORD(lParam), the anchor point
     * (screen coordinates) is in wParam. */
    switch (LOWORD(lparam)) {
    case WM_CONTEXTMENU:
        show_context_menu(app, GET_X_LPARAM(wparam), GET_Y_LPARAM(wparam));
        break;
    case NIN_SELECT:
    case NIN_KEYSELECT:
        historywnd_show(app);
        break;
    case NIN_BALLOONUSERCLICK:
        presenter_balloon_clicked(app);
        break;
    default:
        break;
    }
}

static void show_history_notice(tray_app *app, tray_history_open_result opened)
{
    if (opened == TRAY_HISTORY_SET_ASIDE) {
        tray_balloon b;
        app_load_string(app, IDS_APP_TITLE, b.title, ARRAYSIZE(b.title));
        app_format_string(app, IDS_ERR_HISTORY, b.text, ARRAYSIZE(b.text), app->history.aside);
        b.level = PIPES_PROTO_LEVEL_WARNING;
        if (app->icon_added && tray_icon_balloon(app->hwnd, &b)) {
            char *text = text_wide_to_utf8(b.text);
            app_log(app, "balloon shown level=1 title=history set aside text=%s", text ? text : "?");
            free(text);
        }
    }
}

static int on_create(tray_app *app)
{
    tray_history_open_result opened;
    pipes_status st;
    char *dir;
    int i;
    static const WORD level_icons[3] = {IDI_LEVEL_INFO, IDI_LEVEL_WARNING, IDI_LEVEL_ERROR};

    if (FAILED(LoadIconMetric(app->instance, MAKEINTRESOURCEW(IDI_APP), LIM_SMALL,
                              &app->icon_app))) {
        app->icon_app = LoadIconW(NULL, MAKEINTRESOURCEW(32516)); /* IDI_INFORMATION */
    }
    for (i = 0; i < 3; ++i) {
        if (FAILED(LoadIconMetric(app->instance, MAKEINTRESOURCEW(level_icons[i]), LIM_SMALL,
                                  &app->icon_level[i]))) {
            app->icon_level[i] = NULL;
        }
    }

    opened = tray_history_open(&app->history, app->data_dir, app->history_limit);
    dir = text_wide_to_utf8(app->data_dir);
    app_log(app, "history %s: %u entries in %s",
            opened == TRAY_HISTORY_OPENED     ? "opened"
            : opened == TRAY_HISTORY_TAIL_CUT ? "opened, torn last line removed"
            : opened == TRAY_HISTORY_SET_ASIDE ? "corrupt, set aside"
                                               : "unavailable, memory only",
            (unsigned)tray_history_count(&app->history), dir ? dir : "?");
    free(dir);

    settings_load(app);
    peers_identify_self(app);
    responses_open(app);
    presenter_ensure_icon(app);
    show_history_notice(app, opened);

    st = receiver_start(app);
    if (st != PIPES_OK) {
        wchar_t text[512], title[64], reason[128];
        MultiByteToWideChar(CP_UTF8, 0, pipes_status_string(st), -1, reason, ARRAYSIZE(reason));
        app_log(app, "server start failed: %s", pipes_status_string(st));
        app_format_string(app, IDS_ERR_START, text, ARRAYSIZE(text), app->pipe_name, reason);
        app_load_string(app, IDS_APP_TITLE, title, ARRAYSIZE(title));
        MessageBoxW(NULL, text, title, MB_OK | MB_ICONERROR);
        return -1;
    }
    return 0;
}

/* Everything that must happen before the process ends, once. */
static void shut_down(tray_app *app)
{
    int i;
    receiver_stop(app);
    KillTimer(app->hwnd, TIMER_ICON_RETRY);
    KillTimer(app->hwnd, TIMER_BALLOON);
    if (app->icon_added) {
        tray_icon_delete(app->hwnd);
        app->icon_added = 0;
    }
    historywnd_destroy(app);
    popups_destroy_all(app);
    responses_close(app);
    tray_history_close(&app->history);
    if (app->icon_app) {
        DestroyIcon(app->icon_app);
        app->icon_app = NULL;
    }
    for (i = 0; i < 3; ++i) {
        if (app->icon_level[i]) {
            DestroyIcon(app->icon_level[i]);
            app->icon_level[i] = NULL;
        }
    }
    app_log(app, "stopped");
}

LRESULT CALLBACK wnd_proc(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
    tray_app *app = (tray_app *)GetWindowLongPtrW(hwnd, GWLP_USERDATA);
    if (msg == WM_NCCREATE) {
        app = (tray_app *)((CREATESTRUCTW *)lparam)->lpCreateParams;
        app->hwnd = hwnd;
        SetWindowLongPtrW(hwnd, GWLP_USERDATA, (LONG_PTR)app);
    }
    if (!app) {
        return DefWindowProcW(hwnd, msg, wparam, lparam);
    }
    if (msg == app->msg_taskbar_created && msg != 0) {
        /* Explorer restarted: our icon is gone, add it again. The delete
         * clears a stale entry should the message come from anyone else. */
        app_log(app, "taskbar created");
        tray_icon_delete(hwnd);
        app->icon_added = 0;
        presenter_ensure_icon(app);
        return 0;
    }
    if (msg == app->msg_command && msg != 0) {
        if (wparam == TRAY_CMD_SHOW_HISTORY) {
            historywnd_show(app);
        } else if (wparam == TRAY_CMD_EXIT) {
            app_log(app, "exit requested");
            DestroyWindow(hwnd);
        } else if (wparam == TRAY_CMD_PAUSE || wparam == TRAY_CMD_RESUME) {
            presenter_set_paused(app, wparam == TRAY_CMD_PAUSE);
        }
        return 0;
    }
    switch (msg) {
    case WM_CREATE:
        return on_create(app);
    case WM_APP_PIPES:
        receiver_on_event(app, (pipes_event *)lparam);
        return 0;
    case WM_APP_TRAY:
        on_tray(app, wparam, lparam);
        return 0;
    case WM_COMMAND:
        on_command(app, LOWORD(wparam));
        return 0;
    case WM_TIMER:
        if (wparam == TIMER_ICON_RETRY) {
            presenter_ensure_icon(app);
        } else if (wparam == TIMER_BALLOON) {
            presenter_on_timer(app);
        } else if (wparam == TIMER_LISTEN_RETRY) {
            receiver_on_retry(app);
        }
        return 0;
    case WM_SETTINGCHANGE:
    case WM_SYSCOLORCHANGE:
        popups_theme_changed(app); /* light/dark or high contrast switched */
        return 0;
    case WM_ENDSESSION:
        if (wparam) {
            shut_down(app);
        }
        return 0;
    case WM_DESTROY:
        shut_down(app);
        PostQuitMessage(0);
        return 0;
    default:
        return DefWindowProcW(hwnd, msg, wparam, lparam);
    }
}

int wnd_register(tray_app *app)
{
    WNDCLASSEXW wc;
    memset(&wc, 0, sizeof(wc));
    wc.cbSize = sizeof(wc);
    wc.lpfnWndProc = wnd_proc;
    wc.hInstance = app->instance;
    wc.hIcon = LoadIconW(app->instance, MAKEINTRESOURCEW(IDI_APP));
    wc.lpszClassName = TRAY_WINDOW_CLASS;
    return RegisterClassExW(&wc) != 0;
}
