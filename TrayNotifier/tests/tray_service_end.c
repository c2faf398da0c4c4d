/*
 * tray_service_end.c - the service's end of a tray connection, for tests:
 *
 *   tray_sender --service-end --pipe NAME --out RECORD --spool DIR --until FILE
 *               [--break-on-first-response | --no-ack]
 *
 * Writes "pid <its process id>" to RECORD first (the tray is then started
 * with --test-service-pid, so it treats this process as PipesService), then
 * connects to the tray's pipe (reconnecting when it breaks) and, until FILE
 * exists:
 *   - sends each file DIR\*.json (one message each, in name order; the test
 *     writes each aside and renames it in) and renames it to *.sent;
 *   - records each reply to them ("ack <id>", "rejected <id> <reason>
 *     <error>") and each "response" ("response <id> <result> <action or ->
 *     <session> <user>") and answers the response with "ack <id>", as the
 *     service does (docs/PROTOCOL.md 5a);
 *   - with --break-on-first-response, the first response is recorded
 *     ("response-unacked ...") but not acknowledged: the connection is closed
 *     and made again ("reconnected"), so the tray must send it again;
 *   - with --no-ack, no response is acknowledged ("response-unacked ...").
 * Exit: 0 when FILE appeared; 1 on a setup failure.
 */
#include "tray_service_end.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipes.h"
#include "pipes_protocol.h"

typedef struct service_end {
    SRWLOCK lock;
    HANDLE record;
    int break_first;
    int no_ack;
    volatile LONG want_break; /* set by the callback, done by the main loop */
    volatile LONG responses;
} service_end;

static void record(service_end *s, const char *line)
{
    DWORD done;
    AcquireSRWLockExclusive(&s->lock);
    WriteFile(s->record, line, (DWORD)strlen(line), &done, NULL);
    ReleaseSRWLockExclusive(&s->lock);
}

static void on_response(service_end *s, const pipes_event *ev)
{
    pipes_proto_answer a;
    pipes_proto_reply ack;
    char line[600], buf[256];
    size_t len = 0;
    int first;
    if (pipes_proto_parse_answer(ev->data, ev->size, &a, NULL) != PIPES_PROTO_OK) {
        record(s, "unreadable response\n");
        return;
    }
    first = InterlockedIncrement(&s->responses) == 1;
    snprintf(line, sizeof line, "%s %s %s %s %u %s\n",
             (first && s->break_first) || s->no_ack ? "response-unacked" : "response", a.id,
             pipes_proto_result_name(a.result), a.action[0] ? a.action : "-", a.session,
             a.user[0] ? a.user : "-");
    record(s, line);
    if (first && s->break_first) {
        InterlockedExchange(&s->want_break, 1);
        return;
    }
    if (s->no_ack)
        return;
    if (pipes_proto_reply_init(&ack, PIPES_PROTO_REPLY_ACK, a.id) == PIPES_PROTO_OK &&
        pipes_proto_write_reply(&ack, buf, sizeof buf, &len) == PIPES_PROTO_OK)
        pipes_client_send(ev->client, buf, len, NULL);
}

static void PIPES_CALL on_event(const pipes_event *ev, void *user)
{
    service_end *s = (service_end *)user;
    pipes_proto_type type = PIPES_PROTO_TYPE_NOTIFY;
    pipes_proto_reply r;
    char line[600];
    if (ev->type == PIPES_EVENT_CONNECTED) {
        record(s, "connected\n");
        return;
    }
    if (ev->type != PIPES_EVENT_MESSAGE)
        return;
    pipes_proto_parse_type(ev->data, ev->size, &type, NULL);
    if (type == PIPES_PROTO_TYPE_RESPONSE) {
        on_response(s, ev);
    } else if (pipes_proto_parse_reply(ev->data, ev->size, &r, NULL) == PIPES_PROTO_OK) {
        const char *reason = pipes_proto_reason_name(r.reason);
        if (r.type == PIPES_PROTO_REPLY_ACK)
            snprintf(line, sizeof line, "ack %s\n", r.id);
        else
            snprintf(line, sizeof line, "rejected %s %s %s\n", r.id[0] ? r.id : "-",
                     reason ? reason : "?", r.error[0] ? r.error : "-");
        record(s, line);
    } else {
        record(s, "unreadable message\n");
    }
}

static pipes_client *connect_to(const wchar_t *pipe, service_end *s)
{
    pipes_client_config cfg;
    pipes_client *c = NULL;
    memset(&cfg, 0, sizeof cfg);
    cfg.struct_size = sizeof cfg;
    cfg.pipe_name = pipe;
    cfg.flags = PIPES_CLIENT_RECONNECT;
    cfg.reconnect_min_ms = 100;
    cfg.reconnect_max_ms = 500;
    cfg.on_event = on_event;
    cfg.user_data = s;
    return pipes_client_connect(&cfg, &c) == PIPES_OK ? c : NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Sends one spool file and marks it sent. */
static void send_file(pipes_client *c, const char *dir, const char *name)
{
    char path[MAX_PATH], sent[MAX_PATH + 8];
    FILE *f;
    char *data;
    long size;
    snprintf(path, sizeof path, "%s\\%s", dir, name);
    f = fopen(path, "rb");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = size > 0 ? (char *)malloc((size_t)size) : NULL;
    if (data && fread(data, 1, (size_t)size, f) == (size_t)size) {
        /* A trailing newline (from echo) is not part of the message. */
        while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
            size--;
        pipes_client_send(c, data, (size_t)size, NULL);
    }
    free(data);
    fclose(f);
    snprintf(sent, sizeof sent, "%s.sent", path);
    MoveFileExA(path, sent, MOVEFILE_REPLACE_EXISTING);
}

/* Sends every DIR\*.json in name order (the directory lists them in any
 * order). The test writes each aside and renames it in, so none is partial. */
static void send_spool(pipes_client *c, const char *dir)
{
    static char names[512][MAX_PATH];
    char pattern[MAX_PATH];
    WIN32_FIND_DATAA fd;
    HANDLE find;
    size_t n = 0, i;
    snprintf(pattern, sizeof pattern, "%s\\*.json", dir);
    find = FindFirstFileA(pattern, &fd);
    if (find == INVALID_HANDLE_VALUE)
        return;
    do {
        if (n < sizeof names / sizeof names[0])
            snprintf(names[n++], MAX_PATH, "%s", fd.cFileName);
    } while (FindNextFileA(find, &fd));
    FindClose(find);
    qsort(names, n, sizeof names[0], by_name);
    for (i = 0; i < n; i++)
        send_file(c, dir, names[i]);
}

int tray_service_end_run(const wchar_t *pipe, const char *out, const char *spool,
                         const char *until, int mode)
{
    static service_end s;
    pipes_client *c;
    char line[64];
    InitializeSRWLock(&s.lock);
    s.break_first = mode == TRAY_SERVICE_END_BREAK_FIRST;
    s.no_ack = mode == TRAY_SERVICE_END_NO_ACK;
    s.record = CreateFileA(out, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (s.record == INVALID_HANDLE_VALUE)
        return 1;
    snprintf(line, sizeof line, "pid %lu\n", (unsigned long)GetCurrentProcessId());
    record(&s, line);
    c = connect_to(pipe, &s);
    if (!c)
        return 1;
    while (GetFileAttributesA(until) == INVALID_FILE_ATTRIBUTES) {
        if (InterlockedExchange(&s.want_break, 0)) {
            pipes_client_close(c);
            c = connect_to(pipe, &s);
            record(&s, "reconnected\n");
            if (!c)
                return 1;
        }
        send_spool(c, spool);
        Sleep(50); /* a test helper polling its spool folder and stop file */
    }
    pipes_client_close(c);
    CloseHandle(s.record);
    return 0;
}
