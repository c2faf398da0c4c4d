/*
 * presenter.c - what the user sees of new notifications: the balloon (with
 * a hold-off so a burst gives one balloon, not hundreds) or the Pipes
 * window (popups.c) for what a balloon cannot show, pause and per-source
 * mute (urgent ones pass both), the summary on resume, the unread count in
 * the tooltip, and keeping the icon in the notification area.
 */
#include "app.h"

#include <stdlib.h>
#include <string.h>

static pipes_proto_level more_severe(pipes_proto_level a, pipes_proto_level b)
{
    return a > b ? a : b;
}

void presenter_arrival_from_entry(tray_app *app, tray_arrival *a, const tray_entry *e,
                                  const pipes_proto_notification *n, int via_service)
{
    tray_balloon *b = &a->balloon;
    const char *text = e->body[0] ? e->body : e->source[0] ? e->source : e->title;
    memcpy(a->id, e->id, sizeof(a->id));
    text_utf8_to_wide_buf(e->title, strlen(e->title), b->title, ARRAYSIZE(b->title));
    text_utf8_to_wide_buf(text, strlen(text), b->text, ARRAYSIZE(b->text));
    b->level = e->level;
    memcpy(b->id, e->id, sizeof(b->id));
    memcpy(b->sid, e->sid, sizeof(b->sid));
    a->urgent = n->priority == PIPES_PROTO_PRIORITY_URGENT;
    a->popup = (tray_popup_data *)malloc(sizeof(*a->popup));
    if (a->popup) {
        a->popup->n = *n;
        a->popup->via_service = via_service;
    } else {
        app_log(app, "no memory for the window of %s: a balloon instead", e->id);
    }
}

void presenter_arrival_free(tray_arrival *a)
{
    free(a->popup);
    a->popup = NULL;
}

/* UTF-16 length of UTF-8 text, as a balloon counts it. */
static size_t wide_len(const char *s, size_t len)
{
    int n = len ? MultiByteToWideChar(CP_UTF8, 0, s, (int)len, NULL, 0) : 0;
    return n > 0 ? (size_t)n : 0;
}

/* What a balloon cannot show goes to the Pipes window. */
static int needs_window(const tray_app *app, const pipes_proto_notification *n)
{
    return app->all_in_window || n->action_count > 0 || n->has_progress || n->sticky ||
           n->open_len > 0 || n->priority == PIPES_PROTO_PRIORITY_URGENT ||
           wide_len(n->title, n->title_len) > TRAY_BALLOON_TITLE_MAX ||
           wide_len(n->body, n->body_len) > TRAY_BALLOON_TEXT_MAX;
}

/* Appends "(+N more)" on its own line, shortening the text to make room. */
static void add_more_line(tray_app *app, tray_balloon *b, unsigned more)
{
    wchar_t suffix[64], body[ARRAYSIZE(b->text)];
    size_t room;
    app_format_string(app, IDS_MORE, suffix, ARRAYSIZE(suffix), more);
    room = ARRAYSIZE(b->text) - wcslen(suffix) - 1; /* minus the line break */
    tray_copy_truncated(body, room, b->text);
    swprintf(b->text, ARRAYSIZE(b->text), L"%ls\n%ls", body, suffix);
}

static void show(tray_app *app, const tray_balloon *b)
{
    BOOL ok = app->icon_added && tray_icon_balloon(app->hwnd, b);
    char *title = text_wide_to_utf8(b->title);
    char *text = text_wide_to_utf8(b->text);
    char *p;
    for (p = text; p && *p; ++p) {
        if (*p == '\n') {
            *p = '|'; /* one log line per balloon */
        }
    }
    app_log(app, "balloon %s level=%d title=%s text=%s", ok ? "shown" : "failed", (int)b->level,
            title ? title : "?", text ? text : "?");
    free(title);
    free(text);
    app->last_balloon_tick = GetTickCount64();
    app->last_balloon = *b;
}

static void format_tip(tray_app *app, wchar_t *tip, size_t cap)
{
    if (app->holder[0]) {
        app_format_string(app, IDS_TIP_HELD, tip, cap, app->holder);
    } else {
        app_format_string(app, app->paused ? IDS_TIP_PAUSED : IDS_TIP_UNREAD, tip, cap,
                          app->unread);
    }
}

void presenter_update_tip(tray_app *app)
{
    wchar_t tip[128];
    format_tip(app, tip, ARRAYSIZE(tip));
    if (app->icon_added) {
        tray_icon_set_tip(app->hwnd, tip);
    }
}

void presenter_ensure_icon(tray_app *app)
{
    wchar_t tip[128];
    if (app->icon_added) {
        return;
    }
    format_tip(app, tip, ARRAYSIZE(tip));
    if (tray_icon_add(app->hwnd, app->icon_app, tip)) {
        app->icon_added = 1;
        KillTimer(app->hwnd, TIMER_ICON_RETRY);
        app_log(app, "icon added after %u retries", app->icon_retries);
        app->icon_retries = 0;
    } else {
        /* Explorer may still be starting (ERROR_TIMEOUT) or absent: try again
         * from a timer, so the message loop keeps serving the pipe. */
        ++app->icon_retries;
        app_log(app, "icon add failed (error %lu), retrying", GetLastError());
        SetTimer(app->hwnd, TIMER_ICON_RETRY, TRAY_ICON_RETRY_MS, NULL);
    }
}

void presenter_new_entry(tray_app *app, tray_arrival *arrival)
{
    const tray_balloon b = arrival->balloon;
    tray_popup_data *data = arrival->popup;
    ULONGLONG now, since;
    arrival->popup = NULL; /* ours now: handed on or freed below */
    if (data && data->n.clear) {
        if (!popups_clear_tag(app, data->n.sender.sid, data->n.tag)) {
            app_log(app, "clear %s: tag %s has no window open", data->n.id, data->n.tag);
        }
        free(data);
        return;
    }
    /* A window already on screen is updated whatever the pause or mute says. */
    if (data && popups_update_tag(app, data)) {
        return;
    }
    app_log(app, "show %s", arrival->id);
    if (!app->history_wnd || !IsWindowVisible(app->history_wnd)) {
        ++app->unread;
    }
    if (!arrival->urgent && data && settings_is_muted(app, data->n.source)) {
        app_log(app, "muted %s (source %s)", arrival->id, data->n.source);
        free(data);
        presenter_update_tip(app);
        return;
    }
    if (data && (arrival->urgent || (!app->paused && needs_window(app, &data->n)))) {
        if (arrival->urgent && app->paused) {
            app_log(app, "urgent %s shown while paused", arrival->id);
        }
        popups_show(app, data);
        presenter_update_tip(app);
        return;
    }
    free(data);
    if (app->paused) {
        ++app->paused_count;
        app->paused_level = app->paused_count == 1 ? b.level
                                                   : more_severe(app->paused_level, b.level);
        tray_copy_truncated(app->paused_latest, ARRAYSIZE(app->paused_latest), b.title);
        presenter_update_tip(app);
        return;
    }
    now = GetTickCount64();
    since = now - app->last_balloon_tick;
    if (!app->balloon_timer && (app->last_balloon_tick == 0 || since >= TRAY_BALLOON_HOLDOFF_MS)) {
        show(app, &b);
    } else {
        /* Hold it: when the timer fires, the latest is shown with "+N more". */
        app->held_level = app->held_count == 0 ? b.level : more_severe(app->held_level, b.level);
        ++app->held_count;
        app->held_latest = b;
        if (!app->balloon_timer) {
            UINT wait = since < TRAY_BALLOON_HOLDOFF_MS
                            ? (UINT)(TRAY_BALLOON_HOLDOFF_MS - since)
                            : USER_TIMER_MINIMUM;
            SetTimer(app->hwnd, TIMER_BALLOON, wait, NULL);
            app->balloon_timer = 1;
        }
    }
    presenter_update_tip(app);
}

void presenter_on_timer(tray_app *app)
{
    tray_balloon b;
    KillTimer(app->hwnd, TIMER_BALLOON);
    app->balloon_timer = 0;
    if (app->held_count == 0 || app->paused) {
        return;
    }
    b = app->held_latest;
    b.level = app->held_level;
    if (app->held_count > 1) {
        add_more_line(app, &b, app->held_count - 1);
        b.id[0] = '\0'; /* a summary: a click opens the history */
    }
    app->held_count = 0;
    show(app, &b);
}

void presenter_set_paused(tray_app *app, int paused)
{
    if (paused && !app->paused) {
        /* What the hold-off was keeping joins the summary shown on resume. */
        if (app->held_count > 0) {
            app->paused_count = app->held_count;
            app->paused_level = app->held_level;
            tray_copy_truncated(app->paused_latest, ARRAYSIZE(app->paused_latest),
                                app->held_latest.title);
            app->held_count = 0;
        }
        app->paused = 1;
        app_log(app, "paused");
    } else if (!paused && app->paused) {
        app->paused = 0;
        app_log(app, "resumed after %u", app->paused_count);
        if (app->paused_count > 0) {
            tray_balloon b;
            app_format_string(app, IDS_PAUSED_TITLE, b.title, ARRAYSIZE(b.title),
                              app->paused_count);
            app_format_string(app, IDS_PAUSED_LATEST, b.text, ARRAYSIZE(b.text),
                              app->paused_latest);
            b.level = app->paused_level;
            b.id[0] = b.sid[0] = '\0';
            show(app, &b);
            app->paused_count = 0;
        }
    }
    presenter_update_tip(app);
}

void presenter_mark_read(tray_app *app)
{
    app->unread = 0;
    presenter_update_tip(app);
}

/* Another process holds the pipe name (app->holder says which): a warning
 * balloon, and the tooltip says so until the name is taken. */
void presenter_pipe_held(tray_app *app)
{
    tray_balloon b;
    app_load_string(app, IDS_HELD_TITLE, b.title, ARRAYSIZE(b.title));
    app_format_string(app, IDS_HELD_TEXT, b.text, ARRAYSIZE(b.text), app->pipe_name, app->holder);
    b.level = PIPES_PROTO_LEVEL_WARNING;
    b.id[0] = b.sid[0] = '\0';
    show(app, &b);
    presenter_update_tip(app);
}

void presenter_pipe_taken(tray_app *app)
{
    tray_balloon b;
    app_load_string(app, IDS_APP_TITLE, b.title, ARRAYSIZE(b.title));
    app_format_string(app, IDS_TAKEN_TEXT, b.text, ARRAYSIZE(b.text), app->pipe_name);
    b.level = PIPES_PROTO_LEVEL_INFO;
    b.id[0] = b.sid[0] = '\0';
    show(app, &b);
    presenter_update_tip(app);
}

/* A click on the last balloon: its link, or the history window at it. */
void presenter_balloon_clicked(tray_app *app)
{
    const tray_balloon *b = &app->last_balloon;
    const tray_entry *e = b->id[0] ? tray_history_find(&app->history, b->sid, b->id) : NULL;
    app_log(app, "balloon clicked (%s)", b->id[0] ? b->id : "summary");
    if (e && pipes_proto_parse_notification(e->line, strlen(e->line), app->parsed, NULL) ==
                 PIPES_PROTO_OK &&
        app->parsed->open_len) {
        app_open_url(app, app->parsed->open);
    } else if (e) {
        historywnd_show_entry(app, b->sid, b->id);
    } else {
        historywnd_show(app);
    }
}
