/*
 * control.c - the status pipe \\.\pipe\Pipes.Service.Control: any message
 * sent to it is answered with the engine's live status report (UTF-8
 * lines "name: value"). Its DACL is the library default (LocalSystem,
 * Administrators and the creating account), so only administrators can ask.
 * `PipesService status` is its client, and believes only the engine: while
 * the service is stopped anyone could create the pipe and answer.
 */
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

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

/* The process id the SCM reports for the running service, or 0. */
static DWORD service_pid(void)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    SERVICE_STATUS_PROCESS ssp;
    DWORD need, pid = 0;
    svc = scm ? OpenServiceW(scm, SVC_NAME, SERVICE_QUERY_STATUS) : NULL;
    if (svc && QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&ssp, sizeof ssp, &need) &&
        ssp.dwCurrentState == SERVICE_RUNNING)
        pid = ssp.dwProcessId;
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    return pid;
}

/* A console engine: this very executable (`PipesService run`), run by an
 * administrator or LocalSystem. image gets the process's executable. */
static int console_engine(DWORD pid, wchar_t *image, DWORD cap)
{
    wchar_t self[MAX_PATH * 2];
    HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    HANDLE token = NULL, ident = NULL;
    int ok = 0;
    image[0] = L'\0';
    if (!process)
        return 0;
    if (QueryFullProcessImageNameW(process, 0, image, &cap) &&
        GetModuleFileNameW(NULL, self, MAX_PATH * 2) &&
        CompareStringOrdinal(image, -1, self, -1, TRUE) == CSTR_EQUAL &&
        OpenProcessToken(process, TOKEN_QUERY | TOKEN_DUPLICATE, &token) &&
        DuplicateToken(token, SecurityIdentification, &ident))
        ok = svc_token_is_privileged(ident);
    if (ident)
        CloseHandle(ident);
    if (token)
        CloseHandle(token);
    CloseHandle(process);
    return ok;
}

/* Is the status pipe served by the engine: the service's process, or a
 * console engine? Says why not on stderr. */
static int server_is_engine(pipes_client *cl)
{
    pipes_peer_identity who;
    wchar_t image[MAX_PATH * 2];
    if (pipes_client_get_server(cl, &who) != PIPES_OK)
        return 0;
    if (who.process_id != 0 && who.process_id == service_pid())
        return 1;
    if (console_engine(who.process_id, image, MAX_PATH * 2))
        return 1;
    fwprintf(stderr, L"PipesService: %ls is served by process %lu (%ls), which is neither the "
                     L"PipesService service nor `PipesService run` started by an administrator; "
                     L"its answer is ignored.\n",
             SVC_CONTROL_PIPE, (unsigned long)who.process_id, image[0] ? image : L"unknown");
    return 0;
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
        st = server_is_engine(cl) ? pipes_client_send(cl, req, sizeof req - 1, NULL)
                                  : PIPES_ERR_SERVER_IDENTITY_MISMATCH;
        if (st == PIPES_OK) {
            WaitForSingleObject(q.done, timeout_ms);
            st = q.have ? PIPES_OK : (q.status == PIPES_OK ? PIPES_ERR_TIMEOUT : q.status);
        }
        pipes_client_close(cl);
    }
    CloseHandle(q.done);
    return st;
}
