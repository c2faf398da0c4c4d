/*
 * app.h - TrayNotifier's shared state and the entry points of its parts.
 *
 * Everything here is owned and touched by the GUI thread only: pipe events
 * reach it through PostMessageW (PipesLib's window delivery), so no lock is
 * needed anywhere in the app.
 */
#ifndef TRAY_APP_H
#define TRAY_APP_H

#include <windows.h>

#include <stdint.h>

#include "history.h"
#include "pipes.h"
#include "pipes_protocol.h"
#include "resource.h"

/* Window messages of the main (hidden) window. */
#define WM_APP_PIPES (WM_APP + 1) /* LPARAM = pipes_event*, free with pipes_event_free */
#define WM_APP_TRAY (WM_APP + 2)  /* the tray icon's callback message */

/* wParam values of the registered command message (another process's request). */
#define TRAY_CMD_SHOW_HISTORY 1u
#define TRAY_CMD_EXIT 2u
#define TRAY_CMD_PAUSE 3u
#define TRAY_CMD_RESUME 4u

/* Timers of the main window. */
#define TIMER_ICON_RETRY 1u  /* NIM_ADD failed (Explorer not ready): try again */
#define TIMER_BALLOON 2u     /* hold-off: show what gathered since the last balloon */
#define TIMER_LISTEN_RETRY 3u /* another process holds the pipe name: try again */

#define TRAY_ICON_UID 1u
#define TRAY_HISTORY_LIMIT 1000u  /* entries kept in history (memory and file) */
#define TRAY_HISTORY_SHOWN 200u   /* rows in the Recent notifications window */
#define TRAY_BALLOON_HOLDOFF_MS 2000u
#define TRAY_ICON_RETRY_MS 2000u
#define TRAY_BATCH_MAX 64u        /* messages stored with one flush */
#define TRAY_LISTEN_RETRY_FIRST_MS 500u  /* pipe name held: first retry, doubling ... */
#define TRAY_LISTEN_RETRY_MAX_MS 5000u   /* ... up to this, for as long as it is held */

#define TRAY_WINDOW_CLASS L"Pipes.TrayNotifier"
#define TRAY_COMMAND_MESSAGE L"Pipes.TrayNotifier.Command"

/* What the next balloon will show (copied, so history eviction cannot pull
 * it away while the hold-off timer runs). */
typedef struct tray_balloon {
    wchar_t title[64];
    wchar_t text[256];
    pipes_proto_level level;
} tray_balloon;

/* One new notification as the presenter shows it. A copy taken when it is
 * stored: the history owns its entries and may evict them as soon as the
 * batch is committed (with a history limit below the batch size, entries of
 * that very batch), so nothing may point into the history across a commit. */
typedef struct tray_arrival {
    char id[PIPES_PROTO_MAX_ID + 1];
    tray_balloon balloon;
} tray_arrival;

typedef struct tray_app {
    HINSTANCE instance;
    HWND hwnd;         /* hidden top-level window: tray callbacks, pipe events */
    HWND history_wnd;  /* the Recent notifications window, or NULL */
    HACCEL history_accel;
    UINT msg_taskbar_created;
    UINT msg_command;

    wchar_t pipe_name[PIPES_MAX_PIPE_NAME + 1];
    wchar_t data_dir[MAX_PATH];
    unsigned history_limit;
    HANDLE log_file;   /* --log FILE, or INVALID_HANDLE_VALUE */

    tray_history history;
    pipes_server *server;  /* NULL while another process holds the pipe name */
    pipes_proto_notification *parsed; /* one parse buffer (about 9 KiB) */

    HICON icon_app;
    HICON icon_level[3]; /* by pipes_proto_level */
    int icon_added;
    unsigned icon_retries;

    int paused;
    unsigned unread;
    unsigned paused_count;            /* stored while paused */
    pipes_proto_level paused_level;   /* the most severe of those */
    wchar_t paused_latest[64];        /* title of the latest of those */

    ULONGLONG last_balloon_tick;      /* 0 = none yet */
    unsigned held_count;              /* gathered during the hold-off */
    pipes_proto_level held_level;     /* the most severe of those */
    tray_balloon held_latest;
    int balloon_timer;

    /* While another process holds the pipe name (receiver.c retries). */
    unsigned listen_retry_ms;         /* the current retry delay; 0 = not retrying */
    unsigned listen_retries;          /* failed attempts since the name was last held */
    DWORD holder_pid;                 /* 0 = unknown */
    wchar_t holder[160];              /* "process 1234 (x.exe)" for tip and balloon; "" = none */
} tray_app;

/* main.c */
void app_log(tray_app *app, const char *fmt, ...);
int app_load_string(tray_app *app, UINT id, wchar_t *buf, int cap);
void app_format_string(tray_app *app, UINT id, wchar_t *out, size_t cap, ...);

/* wndproc.c */
int wnd_register(tray_app *app);
LRESULT CALLBACK wnd_proc(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam);

/* trayicon.c: small wrappers around Shell_NotifyIconW */
BOOL tray_icon_add(HWND hwnd, HICON icon, const wchar_t *tip);
BOOL tray_icon_delete(HWND hwnd);
BOOL tray_icon_set_tip(HWND hwnd, const wchar_t *tip);
BOOL tray_icon_focus(HWND hwnd);
BOOL tray_icon_balloon(HWND hwnd, const tray_balloon *balloon);
void tray_copy_truncated(wchar_t *dst, size_t cap, const wchar_t *src);

/* presenter.c: balloons, hold-off, pause, unread count, tooltip */
void presenter_arrival_from_entry(tray_arrival *arrival, const tray_entry *entry);
void presenter_new_entry(tray_app *app, const tray_arrival *arrival);
void presenter_on_timer(tray_app *app);
void presenter_set_paused(tray_app *app, int paused);
void presenter_mark_read(tray_app *app);
void presenter_update_tip(tray_app *app);
void presenter_ensure_icon(tray_app *app);
void presenter_pipe_held(tray_app *app);
void presenter_pipe_taken(tray_app *app);

/* receiver.c: the pipe server and the protocol. receiver_start returns
 * PIPES_OK when it listens and also when another process holds the name:
 * then it tells the user who and retries on TIMER_LISTEN_RETRY
 * (receiver_on_retry) until the name is free. Any other status: the tray
 * cannot serve the pipe at all. */
pipes_status receiver_start(tray_app *app);
void receiver_on_retry(tray_app *app);
void receiver_stop(tray_app *app);
void receiver_on_event(tray_app *app, pipes_event *first);

/* pipeholder.c: the process serving pipe (as a client sees it). Returns 1
 * and *pid when known; image gets its full path, or "" when that cannot be
 * read. 0 when no instance could be opened (all busy, or access denied). */
int pipe_holder_find(const wchar_t *pipe, DWORD *pid, wchar_t *image, size_t cap);

/* historywnd.c */
void historywnd_show(tray_app *app);
void historywnd_refresh(tray_app *app);
void historywnd_destroy(tray_app *app);

/* text.c */
wchar_t *text_utf8_to_wide(const char *utf8, size_t len);
size_t text_utf8_to_wide_buf(const char *utf8, size_t len, wchar_t *out, size_t cap);
char *text_wide_to_utf8(const wchar_t *wide);

#endif /* TRAY_APP_H */
