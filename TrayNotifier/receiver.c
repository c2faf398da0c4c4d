/*
 * receiver.c - the tray's pipe server and its side of the protocol
 * (docs/PROTOCOL.md): parse each message, store valid ones in history,
 * reply ack (after the history is durable) or rejected (with the reason).
 *
 * What a connection may send depends on who it is (peers.c): the service's
 * notifications keep the "sender" it wrote; anyone else's are stored and
 * shown with that program's own identity instead. Only the service may
 * withdraw a notification, and its "ack" / "rejected" answer the tray's
 * responses (responses.c); those are never answered.
 *
 * PipesLib posts every event to the hidden window (WM_APP_PIPES), so all of
 * this runs on the GUI thread. Messages that are already queued are handled
 * as one batch: stored with one flush, then every reply is sent in arrival
 * order (per connection that is the order the protocol requires).
 */
#include "app.h"

#include <sddl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define REPLY_CAP 2048u /* a reply is at most about 800 bytes (section 3 limits) */

typedef struct reply_slot {
    uint64_t connection;
    size_t size;
    int needs_commit;       /* an ack that is only true once the batch is durable */
    char id[PIPES_PROTO_MAX_ID + 1];
    char data[REPLY_CAP];
} reply_slot;

typedef struct batch {
    unsigned replies;
    unsigned fresh;                            /* new entries (display after commit) */
    reply_slot slot[TRAY_BATCH_MAX];
    /* Copies, not pointers into the history: the commit may evict entries of
     * this very batch before they are displayed (see tray_arrival). */
    tray_arrival arrival[TRAY_BATCH_MAX];
} batch;

/* GUI thread only; too big for the stack. */
static batch g_batch;

static void write_reply(tray_app *app, reply_slot *s, const pipes_proto_reply *reply)
{
    if (pipes_proto_write_reply(reply, s->data, sizeof(s->data), &s->size) != PIPES_PROTO_OK) {
        /* Cannot happen with replies built by the protocol helpers; never
         * leave the sender without an answer if it does. */
        pipes_proto_reply fallback;
        pipes_proto_reply_rejected(&fallback, NULL, PIPES_PROTO_REASON_INTERNAL_ERROR, NULL);
        pipes_proto_write_reply(&fallback, s->data, sizeof(s->data), &s->size);
        app_log(app, "reply could not be written");
    }
}

static int fresh_in_batch(const batch *b, const char *id)
{
    unsigned i;
    for (i = 0; i < b->fresh; ++i) {
        if (strcmp(b->arrival[i].id, id) == 0) {
            return 1;
        }
    }
    return 0;
}

static reply_slot *new_slot(batch *b, const pipes_event *ev, const char *id)
{
    reply_slot *s = &b->slot[b->replies++];
    memset(s, 0, offsetof(reply_slot, data));
    s->connection = ev->connection_id;
    memcpy(s->id, id, sizeof(s->id));
    return s;
}

/* "withdraw" (the service only): the answer is in, from another session. */
static void on_withdraw(tray_app *app, batch *b, const pipes_event *ev, const tray_peer *peer)
{
    pipes_proto_answer a;
    pipes_proto_error err;
    pipes_proto_reply reply;
    pipes_proto_status st = pipes_proto_parse_answer(ev->data, ev->size, &a, &err);
    reply_slot *s = new_slot(b, ev, a.id);
    if (st != PIPES_PROTO_OK) {
        pipes_proto_reply_for_error(&reply, &err, a.id);
    } else if (!peer || !peer->is_service) {
        pipes_proto_reply_rejected(&reply, a.id, PIPES_PROTO_REASON_NOT_ALLOWED,
                                   "only the service withdraws notifications");
    } else {
        /* Stored (and flushed) before the ack; unknown ids are acknowledged
         * too: there is nothing left to withdraw. */
        if (tray_history_find_question(&app->history, a.id) && !tray_history_answer(&app->history, &a)) {
            app_log(app, "withdraw %s not stored in the history", a.id);
        }
        popups_withdraw(app, a.id);
        historywnd_refresh(app);
        pipes_proto_reply_init(&reply, PIPES_PROTO_REPLY_ACK, a.id);
    }
    app_log(app, "withdraw %s: %s", a.id[0] ? a.id : "-",
            reply.type == PIPES_PROTO_REPLY_ACK ? "ack" : pipes_proto_reason_name(reply.reason));
    write_reply(app, s, &reply);
}

/* "ack" / "rejected" for one of our responses: never answered. */
static void on_reply(tray_app *app, const pipes_event *ev, const tray_peer *peer)
{
    pipes_proto_reply r;
    if (pipes_proto_parse_reply(ev->data, ev->size, &r, NULL) != PIPES_PROTO_OK) {
        app_log(app, "unreadable reply from %llu ignored", (unsigned long long)ev->connection_id);
    } else if (!peer || !peer->is_service) {
        app_log(app, "%s %s from a direct connection ignored", pipes_proto_type_name((pipes_proto_type)r.type),
                r.id[0] ? r.id : "-");
    } else {
        responses_acked(app, &r);
    }
}

static void on_message(tray_app *app, batch *b, const pipes_event *ev)
{
    pipes_proto_notification *n = app->parsed;
    pipes_proto_error err;
    pipes_proto_reply reply;
    pipes_proto_type type = PIPES_PROTO_TYPE_NOTIFY;
    const tray_peer *peer = peers_identify(app, ev);
    int via_service = peer && peer->is_service;
    reply_slot *s;
    pipes_proto_status st;

    if (pipes_proto_parse_type(ev->data, ev->size, &type, NULL) == PIPES_PROTO_OK) {
        if (type == PIPES_PROTO_TYPE_ACK || type == PIPES_PROTO_TYPE_REJECTED) {
            on_reply(app, ev, peer);
            return;
        }
        if (type == PIPES_PROTO_TYPE_WITHDRAW) {
            on_withdraw(app, b, ev, peer);
            return;
        }
    }
    /* Anything else is read as a notification: other types are rejected
     * there (bad_message_type) with the offset of their "type". */
    st = pipes_proto_parse_notification(ev->data, ev->size, n, &err);
    if (st == PIPES_PROTO_OK && !via_service) {
        /* Only the service's word on who sent it counts. */
        if (n->sender.kind != PIPES_PROTO_SENDER_NONE) {
            app_log(app, "sender of %s replaced: %llu is not the service", n->id,
                    (unsigned long long)ev->connection_id);
        }
        if (peer) {
            n->sender = peer->sender;
        } else {
            memset(&n->sender, 0, sizeof(n->sender));
        }
    }
    s = new_slot(b, ev, n->id);
    if (st != PIPES_PROTO_OK) {
        pipes_proto_reply_for_error(&reply, &err, n->id);
        app_log(app, "rejected id=%s error=%s offset=%u", n->id, pipes_proto_status_code(st),
                (unsigned)err.offset);
    } else if (tray_history_contains(&app->history, n->sender.sid, n->id)) {
        /* At-least-once senders repeat ids: acknowledge again, show once. */
        pipes_proto_reply_init(&reply, PIPES_PROTO_REPLY_ACK, n->id);
        s->needs_commit = fresh_in_batch(b, n->id);
        app_log(app, "duplicate %s", n->id);
    } else {
        const tray_entry *e;
        if (!n->has_time) {
            FILETIME ft;
            GetSystemTimeAsFileTime(&ft);
            n->has_time = 1;
            n->time_ms = pipes_proto_time_from_filetime(((uint64_t)ft.dwHighDateTime << 32) |
                                                        ft.dwLowDateTime);
        }
        e = tray_history_append(&app->history, n);
        if (e) {
            pipes_proto_reply_init(&reply, PIPES_PROTO_REPLY_ACK, n->id);
            s->needs_commit = 1;
            presenter_arrival_from_entry(app, &b->arrival[b->fresh++], e, n, via_service);
            app_log(app, "stored %s", n->id);
        } else {
            pipes_proto_reply_rejected(&reply, n->id, PIPES_PROTO_REASON_INTERNAL_ERROR,
                                       "the history could not be written");
            app_log(app, "store failed %s", n->id);
        }
    }
    write_reply(app, s, &reply);
}

static void on_other_event(tray_app *app, const pipes_event *ev)
{
    switch (ev->type) {
    case PIPES_EVENT_CONNECTED:
        app_log(app, "connected %llu pid=%u", (unsigned long long)ev->connection_id,
                ev->peer ? ev->peer->process_id : 0u);
        peers_on_connected(app, ev);
        if (peers_service_connection(app) == ev->connection_id) {
            /* A new connection of the service: whatever it did not acknowledge. */
            responses_send_all(app, ev->connection_id);
        }
        break;
    case PIPES_EVENT_DISCONNECTED:
        app_log(app, "disconnected %llu (%s)", (unsigned long long)ev->connection_id,
                pipes_status_string(ev->status));
        peers_on_disconnected(app, ev->connection_id);
        break;
    case PIPES_EVENT_LIMIT:
        app_log(app, "limit %llu (%s)", (unsigned long long)ev->connection_id,
                pipes_status_string(ev->status));
        break;
    default:
        break;
    }
}

static void handle(tray_app *app, batch *b, pipes_event *ev)
{
    if (ev->type == PIPES_EVENT_MESSAGE) {
        on_message(app, b, ev);
    } else {
        on_other_event(app, ev);
    }
    pipes_event_free(ev);
}

void receiver_on_event(tray_app *app, pipes_event *first)
{
    batch *b = &g_batch;
    MSG msg;
    unsigned i;
    b->replies = 0;
    b->fresh = 0;
    handle(app, b, first);
    /* Take what else is already queued, so a burst costs one flush. */
    while (b->replies < TRAY_BATCH_MAX &&
           PeekMessageW(&msg, app->hwnd, WM_APP_PIPES, WM_APP_PIPES, PM_REMOVE)) {
        handle(app, b, (pipes_event *)msg.lParam);
    }
    if (b->fresh > 0 && !tray_history_commit(&app->history)) {
        /* Not durable, so not acknowledged: the sender will try again. */
        app_log(app, "history flush failed (error %lu)", GetLastError());
        for (i = 0; i < b->fresh; ++i) {
            presenter_arrival_free(&b->arrival[i]);
        }
        for (i = 0; i < b->replies; ++i) {
            if (b->slot[i].needs_commit) {
                pipes_proto_reply reply;
                pipes_proto_reply_rejected(&reply, b->slot[i].id,
                                           PIPES_PROTO_REASON_INTERNAL_ERROR,
                                           "the history could not be written");
                write_reply(app, &b->slot[i], &reply);
            }
        }
        b->fresh = 0;
    }
    if (b->replies > 0) {
        app_log(app, "batch %u messages, %u new", b->replies, b->fresh);
    }
    for (i = 0; i < b->replies && app->server; ++i) {
        pipes_status st = pipes_server_send(app->server, b->slot[i].connection, b->slot[i].data,
                                            b->slot[i].size, NULL);
        if (st != PIPES_OK) {
            app_log(app, "reply to %llu failed (%s)", (unsigned long long)b->slot[i].connection,
                    pipes_status_string(st));
        }
    }
    for (i = 0; i < b->fresh; ++i) {
        presenter_new_entry(app, &b->arrival[i]);
    }
    if (b->fresh > 0) {
        historywnd_refresh(app);
    }
}

/* The pipe's descriptor: the library's default (owner and full access this
 * user; full access SYSTEM and Administrators), plus read/write without
 * FILE_CREATE_PIPE_INSTANCE for the service's account NT SERVICE\PipesService,
 * which delivers here and is neither SYSTEM nor an administrator
 * (docs/SECURITY.md). 0 when this user's SID cannot be read. */
static int pipe_sddl(wchar_t *out, size_t cap)
{
    HANDLE token;
    union {
        TOKEN_USER user;
        BYTE bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } info;
    DWORD len = 0;
    wchar_t *sid = NULL;
    int n = -1;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
        if (GetTokenInformation(token, TokenUser, &info, sizeof(info), &len) &&
            ConvertSidToStringSidW(info.user.User.Sid, &sid)) {
            n = swprintf(out, cap,
                         L"O:%lsD:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;%ls)(A;;0x0012019b;;;%ls)", sid,
                         sid, PIPES_PROTO_SERVICE_SID_W);
            LocalFree(sid);
        }
        CloseHandle(token);
    }
    return n > 0;
}

static pipes_status try_listen(tray_app *app)
{
    pipes_server_config config;
    wchar_t sddl[512];
    if (!pipe_sddl(sddl, ARRAYSIZE(sddl))) {
        return PIPES_ERR_SYSTEM;
    }
    memset(&config, 0, sizeof(config));
    config.struct_size = sizeof(config);
    config.pipe_name = app->pipe_name;
    /* Room above the protocol limit, so a message that is a little too large
     * gets its "too_large" rejection instead of a dropped connection. */
    config.max_message_size = 2u * PIPES_PROTO_MAX_MESSAGE;
    config.sddl = sddl; /* read once, by pipes_server_start */
    config.notify_window = app->hwnd;
    config.notify_message = WM_APP_PIPES;
    config.user_data = app;
    return pipes_server_start(&config, &app->server);
}

static void retry_later(tray_app *app)
{
    app->listen_retry_ms = app->listen_retry_ms == 0 ? TRAY_LISTEN_RETRY_FIRST_MS
                           : app->listen_retry_ms >= TRAY_LISTEN_RETRY_MAX_MS / 2
                               ? TRAY_LISTEN_RETRY_MAX_MS
                               : 2u * app->listen_retry_ms;
    ++app->listen_retries;
    SetTimer(app->hwnd, TIMER_LISTEN_RETRY, app->listen_retry_ms, NULL);
}

/* Another process holds the name. The user hears who, once per holder (a
 * squatter that restarts under a new process id is news); then retry. */
static void name_held(tray_app *app)
{
    DWORD pid = 0;
    wchar_t image[MAX_PATH];
    pipe_holder_find(app->pipe_name, &pid, image, ARRAYSIZE(image));
    if (app->holder[0] == L'\0' || pid != app->holder_pid) {
        const wchar_t *file = wcsrchr(image, L'\\');
        char *pipe = text_wide_to_utf8(app->pipe_name);
        char *path = text_wide_to_utf8(image[0] ? image : L"?");
        file = file ? file + 1 : image;
        app->holder_pid = pid;
        if (pid) {
            app_format_string(app, IDS_HOLDER, app->holder, ARRAYSIZE(app->holder), pid,
                              file[0] ? file : L"?");
        } else {
            app_load_string(app, IDS_HOLDER_UNKNOWN, app->holder, ARRAYSIZE(app->holder));
        }
        app_log(app, "pipe %s is held by process %lu (%s); retrying until it is free",
                pipe ? pipe : "?", (unsigned long)pid, path ? path : "?");
        free(pipe);
        free(path);
        presenter_pipe_held(app);
    }
    retry_later(app);
}

pipes_status receiver_start(tray_app *app)
{
    pipes_status st = try_listen(app);
    if (st == PIPES_OK) {
        app_log(app, "listening");
    } else if (st == PIPES_ERR_NAME_IN_USE) {
        name_held(app);
        st = PIPES_OK;
    }
    return st;
}

void receiver_on_retry(tray_app *app)
{
    pipes_status st;
    KillTimer(app->hwnd, TIMER_LISTEN_RETRY);
    if (app->server) {
        return; /* a late WM_TIMER after the name was taken */
    }
    st = try_listen(app);
    if (st == PIPES_OK) {
        app_log(app, "pipe taken after %u retries", app->listen_retries);
        app_log(app, "listening");
        app->listen_retry_ms = 0;
        app->listen_retries = 0;
        app->holder_pid = 0;
        app->holder[0] = L'\0';
        presenter_pipe_taken(app);
    } else if (st == PIPES_ERR_NAME_IN_USE) {
        name_held(app);
    } else {
        /* Any other failure while waiting for the name (the holder may be
         * closing its instances just as we try) is logged and retried. */
        app_log(app, "server start failed: %s; retrying", pipes_status_string(st));
        retry_later(app);
    }
}

void receiver_stop(tray_app *app)
{
    MSG msg;
    unsigned dropped = 0;
    KillTimer(app->hwnd, TIMER_LISTEN_RETRY);
    if (app->server) {
        pipes_server_stop(app->server);
        app->server = NULL;
    }
    peers_clear(app);
    /* Events posted before the stop are still ours to free. Messages among
     * them were never acknowledged, so their senders will resend. */
    while (PeekMessageW(&msg, app->hwnd, WM_APP_PIPES, WM_APP_PIPES, PM_REMOVE)) {
        pipes_event_free((pipes_event *)msg.lParam);
        ++dropped;
    }
    if (dropped) {
        app_log(app, "stopped with %u unhandled events", dropped);
    }
}
