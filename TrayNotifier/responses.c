/*
 * responses.c - answers on their way to the service (docs/PROTOCOL.md 5a).
 *
 * When the user answers a notification that came from the service (a
 * button, the close button or Esc, or the timeout), the tray sends a
 * "response" on the service's connection and keeps it until the service
 * acknowledges it with an "ack" naming the notification's id. Until then it
 * is in <data dir>\responses.jsonl (one response per line, rewritten whole -
 * temp file, flush, replace - on every change: answers come from clicks, so
 * they are few), and it is sent again on every new connection of the
 * service. A permanent "rejected" drops it (logged); a temporary one keeps
 * it for the next connection. At most TRAY_PENDING_MAX are kept: the oldest
 * goes first (logged).
 *
 * GUI thread only.
 */
#include "app.h"

#include <stdlib.h>
#include <string.h>

#define RESPONSES_FILE L"responses.jsonl"

static void send_one(tray_app *app, uint64_t connection, const pipes_proto_answer *a)
{
    char buf[2048];
    size_t len = 0;
    pipes_status st;
    if (!app->server || connection == 0 ||
        pipes_proto_write_answer(a, buf, sizeof(buf), &len) != PIPES_PROTO_OK) {
        return;
    }
    st = pipes_server_send(app->server, connection, buf, len, NULL);
    app_log(app, "response %s result=%s action=%s sent to %llu (%s)", a->id,
            pipes_proto_result_name(a->result), a->action[0] ? a->action : "-",
            (unsigned long long)connection, pipes_status_string(st));
}

/* Rewrites the file with what is pending; FALSE when it could not. */
static BOOL save(tray_app *app)
{
    wchar_t temp[MAX_PATH];
    char line[2048];
    HANDLE f;
    unsigned i;
    BOOL ok = TRUE;
    if (swprintf(temp, MAX_PATH, L"%ls.tmp", app->pending_path) < 0) {
        return FALSE;
    }
    f = CreateFileW(temp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (f == INVALID_HANDLE_VALUE) {
        return FALSE;
    }
    for (i = 0; ok && i < app->pending_count; ++i) {
        size_t len = 0;
        DWORD done = 0;
        ok = pipes_proto_write_answer(&app->pending[i], line, sizeof(line) - 1, &len) ==
             PIPES_PROTO_OK;
        line[len++] = '\n';
        ok = ok && WriteFile(f, line, (DWORD)len, &done, NULL) && done == len;
    }
    ok = ok && FlushFileBuffers(f);
    CloseHandle(f);
    ok = ok && MoveFileExW(temp, app->pending_path, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
    if (!ok) {
        DeleteFileW(temp);
        app_log(app, "responses could not be saved (error %lu)", GetLastError());
    }
    return ok;
}

void responses_open(tray_app *app)
{
    HANDLE f;
    char *data = NULL;
    DWORD size = 0, got = 0;
    size_t pos = 0;
    app->pending = (pipes_proto_answer *)calloc(TRAY_PENDING_MAX, sizeof(*app->pending));
    app->pending_count = 0;
    swprintf(app->pending_path, MAX_PATH, L"%ls\\" RESPONSES_FILE, app->data_dir);
    f = CreateFileW(app->pending_path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (f == INVALID_HANDLE_VALUE || !app->pending) {
        return;
    }
    size = GetFileSize(f, NULL);
    if (size != INVALID_FILE_SIZE && size < (TRAY_PENDING_MAX + 1u) * 2048u &&
        (data = (char *)malloc((size_t)size + 1)) != NULL && ReadFile(f, data, size, &got, NULL)) {
        while (pos < got && app->pending_count < TRAY_PENDING_MAX) {
            const char *nl = (const char *)memchr(data + pos, '\n', got - pos);
            size_t len = nl ? (size_t)(nl - (data + pos)) : got - pos;
            pipes_proto_answer *a = &app->pending[app->pending_count];
            /* A line that is not a response (a torn write) is dropped: it was
             * never acknowledged, and the history keeps the answer anyway. */
            if (pipes_proto_parse_answer(data + pos, len, a, NULL) == PIPES_PROTO_OK &&
                a->type == PIPES_PROTO_TYPE_RESPONSE) {
                ++app->pending_count;
            }
            pos += len + 1;
        }
    } else {
        app_log(app, "responses.jsonl unreadable or too large (%lu bytes): ignored",
                (unsigned long)size);
    }
    free(data);
    CloseHandle(f);
    app_log(app, "responses: %u waiting for the service", app->pending_count);
}

void responses_add(tray_app *app, const pipes_proto_answer *a)
{
    if (!app->pending) {
        return;
    }
    if (app->pending_count == TRAY_PENDING_MAX) {
        app_log(app, "responses: %u waiting, dropping the oldest (%s)", app->pending_count,
                app->pending[0].id);
        memmove(&app->pending[0], &app->pending[1], (app->pending_count - 1) * sizeof(*a));
        --app->pending_count;
    }
    app->pending[app->pending_count++] = *a;
    save(app);
    send_one(app, peers_service_connection(app), a);
}

void responses_send_all(tray_app *app, uint64_t connection)
{
    unsigned i;
    for (i = 0; i < app->pending_count; ++i) {
        send_one(app, connection, &app->pending[i]);
    }
}

void responses_acked(tray_app *app, const pipes_proto_reply *reply)
{
    unsigned i;
    for (i = 0; i < app->pending_count; ++i) {
        if (strcmp(app->pending[i].id, reply->id) != 0) {
            continue;
        }
        if (reply->type == PIPES_PROTO_REPLY_REJECTED &&
            pipes_proto_reason_is_temporary(reply->reason)) {
            app_log(app, "response %s refused for now (%s); kept", reply->id,
                    pipes_proto_reason_name(reply->reason));
            return;
        }
        app_log(app, "response %s %s by the service", reply->id,
                reply->type == PIPES_PROTO_REPLY_ACK ? "acknowledged" : "rejected");
        memmove(&app->pending[i], &app->pending[i + 1],
                (app->pending_count - i - 1) * sizeof(app->pending[0]));
        --app->pending_count;
        save(app);
        return;
    }
    app_log(app, "ack %s from the service matches no waiting response", reply->id);
}

void responses_close(tray_app *app)
{
    free(app->pending);
    app->pending = NULL;
    app->pending_count = 0;
}
