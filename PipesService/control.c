/*
 * control.c - the status pipe \\.\pipe\Pipes.Service.Control: any message
 * sent to it is answered with the engine's live status report (UTF-8
 * lines "name: value"). Its DACL is the library default (LocalSystem,
 * Administrators and the creating account), so only administrators can ask.
 * `PipesService status` is its client.
 */
#include "svc.h"

#include <stdlib.h>
#include <string.h>

#define REPORT_MAX 16384

struct control {
    pipes_server *server; /* for control_stop: callbacks use ev->server, which
                             may come before pipes_server_start stores this */
    control_status_fn fn;
    void *ctx;
};

static void PIPES_CALL on_server_event(const pipes_event *ev, void *user_data)
{
    control *c = (control *)user_data;
    char *buf;
    size_t n;
    if (ev->type != PIPES_EVENT_MESSAGE)
        return;
    buf = (char *)malloc(REPORT_MAX);
    if (!buf)
        return;
    n = c->fn(buf, REPORT_MAX, c->ctx);
    pipes_server_send(ev->server, ev->connection_id, buf, n, NULL);
    free(buf);
}

pipes_status control_start(control_status_fn fn, void *ctx, control **out)
{
    control *c = (control *)calloc(1, sizeof *c);
    pipes_server_config sc;
    pipes_status st;
    if (!c)
        return PIPES_ERR_OUT_OF_MEMORY;
    c->fn = fn;
    c->ctx = ctx;
    memset(&sc, 0, sizeof sc);
    sc.struct_size = sizeof sc;
    sc.pipe_name = SVC_CONTROL_PIPE;
    sc.listen_instances = 1;
    sc.max_connections = 8;
    sc.max_message_size = 4096;
    sc.on_event = on_server_event;
    sc.user_data = c;
    st = pipes_server_start(&sc, &c->server);
    if (st != PIPES_OK) {
        free(c);
        return st;
    }
    *out = c;
    return PIPES_OK;
}

void control_stop(control *c)
{
    if (!c)
        return;
    pipes_server_stop(c->server);
    free(c);
}

/* ---- client -------------------------------------------------------------- */

typedef struct query {
    HANDLE done;
    char *out;
    size_t cap;
    int have;
    pipes_status status;
} query;

static void PIPES_CALL on_client_event(const pipes_event *ev, void *user_data)
{
    query *q = (query *)user_data;
    if (ev->type == PIPES_EVENT_MESSAGE && !q->have) {
        size_t n = ev->size < q->cap - 1 ? ev->size : q->cap - 1;
        memcpy(q->out, ev->data, n);
        q->out[n] = '\0';
        q->have = 1;
        SetEvent(q->done);
    } else if (ev->type == PIPES_EVENT_DISCONNECTED && !q->have) {
        q->status = ev->status;
        SetEvent(q->done);
    }
}

pipes_status control_query(char *out, size_t cap, uint32_t timeout_ms)
{
    pipes_client_config cc;
    pipes_client *cl = NULL;
    pipes_status st;
    query q;

    if (!out || cap < 2)
        return PIPES_ERR_INVALID_ARGUMENT;
    memset(&q, 0, sizeof q);
    q.out = out;
    q.cap = cap;
    q.status = PIPES_ERR_TIMEOUT;
    q.done = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!q.done)
        return PIPES_ERR_SYSTEM;
    memset(&cc, 0, sizeof cc);
    cc.struct_size = sizeof cc;
    cc.pipe_name = SVC_CONTROL_PIPE;
    cc.connect_timeout_ms = timeout_ms;
    cc.max_message_size = REPORT_MAX;
    cc.on_event = on_client_event;
    cc.user_data = &q;
    st = pipes_client_connect(&cc, &cl);
    if (st == PIPES_OK) {
        static const char req[] = "{\"v\":1,\"type\":\"status\"}";
        st = pipes_client_send(cl, req, sizeof req - 1, NULL);
        if (st == PIPES_OK) {
            WaitForSingleObject(q.done, timeout_ms);
            st = q.have ? PIPES_OK : (q.status == PIPES_OK ? PIPES_ERR_TIMEOUT : q.status);
        }
        pipes_client_close(cl);
    }
    CloseHandle(q.done);
    return st;
}
