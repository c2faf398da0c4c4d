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

#define TRAY_POPUP_TIMEOUT_MS 8000u     /* a popup hides after this (not sticky/urgent/hovered) */
#define TRAY_POPUP_TIMEOUT_HIGH_MS 15000u /* ... priority high */
#define TRAY_POPUPS_SHOWN 4u             /* popups on screen; more are summarised */
#define TRAY_MUTE_MAX 32u                /* muted sources */
#define TRAY_PENDING_MAX 256u            /* responses waiting for the service's ack */
#define TRAY_BALLOON_TITLE_MAX 63u       /* what a balloon shows in full (characters) */
#define TRAY_BALLOON_TEXT_MAX 255u

#define TRAY_WINDOW_CLASS L"Pipes.TrayNotifier"
#define TRAY_COMMAND_MESSAGE L"Pipes.TrayNotifier.Command"

/* What the next balloon will show (copied, so history eviction cannot pull
 * it away while the hold-off timer runs). */
typedef struct tray_balloon {
    wchar_t title[64];
    wchar_t text[256];
    pipes_proto_level level;
    char id[PIPES_PROTO_MAX_ID + 1];   /* the entry a click opens ("" = the summary) */
    char sid[PIPES_PROTO_MAX_SID + 1];
} tray_balloon;

/* One connection to the tray's pipe and who is at the other end (peers.c). */
typedef struct tray_peer {
    uint64_t connection;
    uint32_t process_id;
    int is_service;             /* the PipesService process: its "sender" is trusted */
    pipes_proto_sender sender;  /* the peer's own identity (kind NONE if unreadable), known
                                   from its first message on (peers_identify) */
    int identified;             /* sender was read from the pipe (once per connection) */
} tray_peer;

/* A source muted from the history window (settings.c). */
typedef struct tray_mute {
    wchar_t source[PIPES_PROTO_MAX_SOURCE + 1];
    int64_t until_ms;           /* Unix ms, UTC; 0 = until unmuted */
} tray_mute;

/* What a popup shows and answers with: a copy taken on arrival (popups.c). */
typedef struct tray_popup_data {
    pipes_proto_notification n; /* as stored (sender filled in) */
    int via_service;            /* arrived from the service: its answer goes back there */
} tray_popup_data;

/* One new notification as the presenter shows it. A copy taken when it is
 * stored: the history owns its entries and may evict them as soon as the
 * batch is committed (with a history limit below the batch size, entries of
 * that very batch), so nothing may point into the history across a commit. */
typedef struct tray_arrival {
    char id[PIPES_PROTO_MAX_ID + 1];
    tray_balloon balloon;
    int urgent;                 /* priority urgent: shown while paused or muted */
    int muted;                  /* its source is muted (decided on arrival) */
    tray_popup_data *popup;     /* heap; non-NULL: shown in the Pipes window (or a clear
                                   or tag update of one), owned by the arrival */
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
    tray_balloon last_balloon;        /* what a click on the balloon opens */
    unsigned held_count;              /* gathered during the hold-off */
    pipes_proto_level held_level;     /* the most severe of those */
    tray_balloon held_latest;
    int balloon_timer;

    /* Test hooks and settings (main.c, settings.c). */
    DWORD test_service_pid;           /* --test-service-pid: treat this process as the service */
    int open_log_only;                /* --open-log-only: log URLs instead of opening them */
    unsigned popup_timeout_ms;        /* --popup-timeout-ms, else TRAY_POPUP_TIMEOUT_MS */
    int theme_forced;                 /* --theme: 0 = follow the system, 1 = light, 2 = dark */
    int all_in_window;                /* setting: show every notification in the Pipes window */
    tray_mute mutes[TRAY_MUTE_MAX];
    unsigned mute_count;
    uint32_t session_id;              /* this process's session (responses name it) */
    char user_account[PIPES_PROTO_MAX_ACCOUNT + 1]; /* "DOMAIN\\user" (responses name it) */

    tray_peer *peers;                 /* connections (peers.c) */
    size_t peer_count, peer_cap;
    pipes_proto_answer *pending;      /* responses not yet acknowledged (responses.c) */
    unsigned pending_count;
    wchar_t pending_path[MAX_PATH];

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
void presenter_arrival_from_entry(tray_app *app, tray_arrival *arrival, const tray_entry *entry,
                                  const pipes_proto_notification *n, int via_service);
void presenter_arrival_free(tray_arrival *arrival);
/* Shows (or summarises, or holds) a new entry; takes arrival->popup over. */
void presenter_new_entry(tray_app *app, tray_arrival *arrival);
void presenter_balloon_clicked(tray_app *app);
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

/* peers.c: who is at the other end of each connection */
void peers_on_connected(tray_app *app, const pipes_event *ev);
void peers_on_disconnected(tray_app *app, uint64_t connection);
const tray_peer *peers_find(const tray_app *app, uint64_t connection);
/* The peer of a MESSAGE event, its sender read from the pipe on the first one (a pipe names
 * its client's user only once a message was read from it); NULL for an unknown connection. */
const tray_peer *peers_identify(tray_app *app, const pipes_event *ev);
uint64_t peers_service_connection(const tray_app *app); /* newest, or 0 */
void peers_clear(tray_app *app);
/* "DOMAIN\\name" of a SID string into out (UTF-8); 0 when it cannot be resolved. */
int peers_account_of_sid(const wchar_t *sid, char *out, size_t cap);
/* The sender identity for a SID string (kind by well-known SIDs). */
void peers_sender_of_sid(const wchar_t *sid, pipes_proto_sender *out);
/* This process's own session and account into app (for responses). */
void peers_identify_self(tray_app *app);

/* responses.c: answers on their way to the service, kept until acknowledged */
void responses_open(tray_app *app);
void responses_add(tray_app *app, const pipes_proto_answer *a);
void responses_send_all(tray_app *app, uint64_t connection);
void responses_acked(tray_app *app, const pipes_proto_reply *reply);
void responses_close(tray_app *app);

/* settings.c: <data dir>\\settings.ini (show all in the window, muted sources) */
void settings_load(tray_app *app);
void settings_save(tray_app *app);
int settings_is_muted(tray_app *app, const char *source_utf8);
void settings_mute(tray_app *app, const char *source_utf8, int64_t until_ms);
void settings_unmute(tray_app *app, unsigned index);
int64_t settings_now_ms(void);

/* popups.c: the Pipes notification windows (the stack); popup.c: one window */
void popups_show(tray_app *app, tray_popup_data *data); /* takes ownership */
/* Replaces the content of the popup with data's sender and tag in place and
 * takes data over; 0 (data still the caller's) when no such popup is open. */
int popups_update_tag(tray_app *app, tray_popup_data *data);
int popups_clear_tag(tray_app *app, const char *sid, const char *tag);
int popups_withdraw(tray_app *app, const char *id);
void popups_answered(tray_app *app, HWND popup, pipes_proto_result result, const char *action);
void popups_closed(tray_app *app, HWND popup);
void popups_open(tray_app *app, const tray_popup_data *data);
void popups_relayout(tray_app *app);
void popups_theme_changed(tray_app *app);
int popups_is_popup(tray_app *app, HWND hwnd, HWND *root);
void popups_destroy_all(tray_app *app);
unsigned popups_count(void);

/* Opens url with the shell (or only logs it with --open-log-only). */
void app_open_url(tray_app *app, const char *url);

/* historywnd.c (more) */
void historywnd_show_entry(tray_app *app, const char *sid, const char *id);
void historywnd_format_time(int64_t ms, wchar_t *out, size_t cap); /* local date and time */

/* text.c */
wchar_t *text_utf8_to_wide(const char *utf8, size_t len);
size_t text_utf8_to_wide_buf(const char *utf8, size_t len, wchar_t *out, size_t cap);
char *text_wide_to_utf8(const wchar_t *wide);

#endif /* TRAY_APP_H */
