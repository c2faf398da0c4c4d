/*
 * tray_sender.c - test sender for TrayNotifier (used by run_tray_tests.sh).
 *
 *   tray_sender --pipe NAME --out RECORD [--prefix P] [--count N] [--start K]
 *               [--window W] [--delay-ms D] [--resend OLD_RECORD] [--malformed]
 *               [--connect-wait MS] [--written FILE]
 *
 * Sends notifications with ids "<P>-<00001..>" over pipes.dll (pipelined,
 * at most W unanswered) and appends one line per reply to RECORD as it
 * arrives:  "ack <id>"  or  "rejected <id or -> <reason> <error>".
 * --resend OLD_RECORD skips the ids OLD_RECORD shows as acknowledged: what a
 * sender does after losing the receiver (at-least-once).
 * --written FILE creates FILE once every message has been written into the
 * pipe (all in the receiver's pipe buffer, whether or not it reads).
 * --malformed sends 20 invalid messages and one valid one and checks each
 * reply: rejected with the expected error code and reason, then ack.
 * --id ID --title T [--body B] [--level L] [--source S] sends that one
 * notification instead (for demos and screenshots).
 * --taskbar-created only broadcasts the "TaskbarCreated" message, as
 * Explorer does when it starts (Wine's explorer does not).
 * --ui about|copy|folder|suspend|resume --pipe NAME drives one tray menu
 * command, or suspends/resumes the tray's GUI thread, instead (tray_ui.c).
 * --squat NAME --until FILE --out RECORD holds the pipe name NAME until FILE
 * exists, as a squatter would (tray_squat.c).
 * --dll-probe ... -- PROGRAM [ARGS] checks that PROGRAM loads no DLL planted
 * in its current directory or on PATH (dll_probe.c).
 * --raw-file FILE sends the message in FILE as it is (a trailing newline
 * dropped) and expects an ack.
 * --service-end --spool DIR --until FILE [--break-on-first-response |
 * --no-ack] plays the service's end of a tray connection
 * (tray_service_end.c).
 * --starting-service --pipe NAME --out FILE --until FILE2, run by the Service
 * Control Manager, connects to NAME while it reports START_PENDING and
 * stays so until FILE2 exists (tray_starting_service.c).
 *
 * Exit: 0 every message answered as expected; 3 the connection broke before
 * every reply came (RECORD says which were acknowledged); 1 anything else.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipes.h"
#include "pipes_protocol.h"
#include "dll_probe.h"
#include "tray_service_end.h"
#include "tray_squat.h"
#include "tray_starting_service.h"
#include "tray_ui.h"

#define MAX_MESSAGES 4096
#define BIG_SIZE (PIPES_PROTO_MAX_MESSAGE + 1u)

typedef struct outgoing {
    char id[PIPES_PROTO_MAX_ID + 1]; /* "" when the message has no valid id */
    char *data;
    size_t size;
    const char *expect_error;        /* NULL: expect ack */
    const char *expect_reason;
} outgoing;

typedef struct sender {
    SRWLOCK lock;
    CONDITION_VARIABLE changed;
    unsigned sent, replied, failures, written, total;
    int broken;
    HANDLE record;
    const char *written_file; /* --written: created when written == total */
    outgoing *msgs;
} sender;

static void record_line(sender *s, const char *line)
{
    DWORD done;
    WriteFile(s->record, line, (DWORD)strlen(line), &done, NULL);
}

static void check_reply(sender *s, const outgoing *m, const pipes_proto_reply *r, const char *raw)
{
    char line[800];
    int ok;
    if (r->type == PIPES_PROTO_REPLY_ACK) {
        snprintf(line, sizeof(line), "ack %s\n", r->id);
        ok = !m->expect_error && strcmp(r->id, m->id) == 0;
    } else if (r->type == PIPES_PROTO_REPLY_REJECTED) {
        const char *reason = pipes_proto_reason_name(r->reason);
        snprintf(line, sizeof(line), "rejected %s %s %s\n", r->id[0] ? r->id : "-",
                 reason ? reason : "?", r->error[0] ? r->error : "-");
        ok = m->expect_error && strcmp(r->error, m->expect_error) == 0 && reason &&
             strcmp(reason, m->expect_reason) == 0 && strcmp(r->id, m->id) == 0;
    } else {
        snprintf(line, sizeof(line), "unexpected %s\n", raw);
        ok = 0;
    }
    record_line(s, line);
    if (!ok) {
        ++s->failures;
        fprintf(stderr, "tray_sender: reply %u (%s) not as expected (%s): %s", s->replied,
                m->id[0] ? m->id : "-", m->expect_error ? m->expect_error : "ack", line);
    }
}

static void PIPES_CALL on_event(const pipes_event *ev, void *user)
{
    sender *s = (sender *)user;
    AcquireSRWLockExclusive(&s->lock);
    if (ev->type == PIPES_EVENT_MESSAGE) {
        pipes_proto_reply r;
        char raw[256];
        size_t n = ev->size < sizeof(raw) - 1 ? ev->size : sizeof(raw) - 1;
        memcpy(raw, ev->data ? (const char *)ev->data : "", n);
        raw[n] = '\0';
        if (s->replied >= s->sent) {
            record_line(s, "unexpected extra reply\n");
            ++s->failures;
        } else if (pipes_proto_parse_reply(ev->data, ev->size, &r, NULL) != PIPES_PROTO_OK) {
            ++s->failures;
            fprintf(stderr, "tray_sender: unparsable reply: %s\n", raw);
            ++s->replied;
        } else {
            check_reply(s, &s->msgs[s->replied], &r, raw);
            ++s->replied;
        }
    } else if (ev->type == PIPES_EVENT_SEND_COMPLETE && ev->status == PIPES_OK &&
               ++s->written == s->total && s->written_file) {
        HANDLE f = CreateFileA(s->written_file, GENERIC_WRITE, FILE_SHARE_READ, NULL,
                               CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (f != INVALID_HANDLE_VALUE)
            CloseHandle(f);
    } else if (ev->type == PIPES_EVENT_DISCONNECTED) {
        s->broken = 1;
    }
    ReleaseSRWLockExclusive(&s->lock);
    WakeAllConditionVariable(&s->changed);
}

static char *dup_bytes(const char *p, size_t n)
{
    char *c = (char *)malloc(n + 1);
    if (c) {
        memcpy(c, p, n);
        c[n] = '\0';
    }
    return c;
}

static void add_raw(outgoing *m, unsigned *count, const char *id, const char *data, size_t size,
                    const char *error, const char *reason)
{
    outgoing *o = &m[(*count)++];
    snprintf(o->id, sizeof(o->id), "%s", id);
    o->data = dup_bytes(data, size);
    o->size = size;
    o->expect_error = error;
    o->expect_reason = reason;
}

#define RAW(id, text, err) add_raw(m, &n, id, text, sizeof(text) - 1, err, "malformed")
#define RAW_REASON(id, text, err, reason) add_raw(m, &n, id, text, sizeof(text) - 1, err, reason)

/* Twenty messages, each breaking one rule of docs/PROTOCOL.md. The id is
 * expected back only where the message is a well-formed JSON object (field
 * rules broken), as section 5 says. */
static unsigned build_malformed(outgoing *m)
{
    unsigned n = 0, i;
    char *big;
    char title[300];
    char buf[400];
    RAW("", "", "unexpected_end");
    RAW("", "not json", "syntax");
    RAW("", "[1,2]", "not_object");
    RAW("", "{\"v\":1,\"id\":\"m1\",\"title\":\"x\"} extra", "trailing_data");
    RAW("m2", "{\"v\":1,\"id\":\"m2\"}", "missing_field");
    RAW("m3", "{\"v\":1,\"id\":\"m3\",\"title\":\"\"}", "empty_title");
    RAW_REASON("m4", "{\"v\":2,\"id\":\"m4\",\"title\":\"x\"}", "unsupported_version",
               "unsupported_version");
    RAW("m5", "{\"v\":1,\"id\":\"m5\",\"title\":\"x\",\"level\":\"loud\"}", "bad_level");
    RAW("", "{\"v\":1,\"id\":\"bad id!\",\"title\":\"x\"}", "bad_id");
    RAW("", "{\"v\":1,\"id\":\"m6\",\"title\":\"x\",\"title\":\"y\"}", "duplicate_key");
    RAW("m7", "{\"v\":1,\"id\":\"m7\",\"title\":5}", "wrong_type");
    RAW("m8", "{\"v\":1,\"id\":\"m8\",\"title\":\"x\",\"time\":\"2026-11-24T22:40:00+01:00\"}",
        "bad_time");
    RAW("", "{\"v\":1,\"id\":\"m9\",\"title\":\"\xff\"}", "invalid_utf8");
    RAW("", "{\"v\":1,\"id\":\"m10\",\"title\":\"a\\u0000b\"}", "nul_char");
    RAW("", "{\"v\":1,\"id\":\"m11\",\"title\":\"a\\qb\"}", "bad_escape");
    RAW("", "{\"v\":1,\"id\":\"m12\",\"title\":\"a\x01" "b\"}", "control_char");
    RAW("", "{\"v\":1,\"id\":\"m13\",\"title\":\"x\",\"z\":[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}",
        "too_deep");
    memset(title, 'a', 257);
    title[257] = '\0';
    snprintf(buf, sizeof(buf), "{\"v\":1,\"id\":\"m14\",\"title\":\"%s\"}", title);
    add_raw(m, &n, "m14", buf, strlen(buf), "field_too_long", "malformed");
    /* One byte over the message limit, otherwise valid. */
    big = (char *)malloc(BIG_SIZE);
    if (big) {
        const char *head = "{\"v\":1,\"id\":\"m15\",\"title\":\"x\",\"pad\":\"";
        size_t hl = strlen(head);
        memcpy(big, head, hl);
        for (i = (unsigned)hl; i < BIG_SIZE - 2; ++i) {
            big[i] = 'p';
        }
        big[BIG_SIZE - 2] = '"';
        big[BIG_SIZE - 1] = '}';
        add_raw(m, &n, "", big, BIG_SIZE, "message_too_large", "too_large");
        free(big);
    }
    RAW("m16", "{\"v\":1,\"id\":\"m16\",\"title\":\"x\",\"type\":\"ping\"}", "bad_message_type");
    /* And a valid one: the tray must still be there and answering. */
    RAW("m-ok", "{\"v\":1,\"id\":\"m-ok\",\"title\":\"still running\"}", NULL);
    return n;
}

/* Ids in an earlier record that were acknowledged. */
static int acked_before(const char *record, size_t record_len, const char *id)
{
    char needle[PIPES_PROTO_MAX_ID + 8];
    const char *p = record;
    size_t nl = (size_t)snprintf(needle, sizeof(needle), "ack %s\n", id);
    while (p && (size_t)(p - record) + nl <= record_len) {
        if ((p == record || p[-1] == '\n') && memcmp(p, needle, nl) == 0) {
            return 1;
        }
        p = (const char *)memchr(p, '\n', record_len - (size_t)(p - record));
        p = p ? p + 1 : NULL;
    }
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;
    *len = 0;
    if (!f) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = (char *)malloc((size_t)size + 1);
        if (buf) {
            *len = fread(buf, 1, (size_t)size, f);
            buf[*len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

static unsigned build_normal(outgoing *m, const char *prefix, unsigned start, unsigned count,
                             const char *resend)
{
    size_t old_len = 0;
    char *old = resend ? read_file(resend, &old_len) : NULL;
    unsigned n = 0, i;
    for (i = start; i < start + count && n < MAX_MESSAGES; ++i) {
        pipes_proto_notification note;
        char id[PIPES_PROTO_MAX_ID + 1], text[200], out[1024];
        size_t len = 0;
        snprintf(id, sizeof(id), "%s-%05u", prefix, i);
        if (old && acked_before(old, old_len, id)) {
            continue;
        }
        pipes_proto_notification_init(&note);
        pipes_proto_notification_set(&note, "id", id, strlen(id));
        snprintf(text, sizeof(text), "Build %s #%u finished", prefix, i);
        pipes_proto_notification_set(&note, "title", text, strlen(text));
        snprintf(text, sizeof(text), "Notification %u of sender %s: 42 files, 3.1 GB copied.", i,
                 prefix);
        pipes_proto_notification_set(&note, "body", text, strlen(text));
        snprintf(text, sizeof(text), "tray_sender %s", prefix);
        pipes_proto_notification_set(&note, "source", text, strlen(text));
        note.level = (pipes_proto_level)(i % 3u);
        if (pipes_proto_write_notification(&note, out, sizeof(out), &len) != PIPES_PROTO_OK) {
            continue;
        }
        add_raw(m, &n, id, out, len, NULL, NULL);
    }
    free(old);
    return n;
}

/* One notification from the command line (ANSI code page text is fine for
 * the ASCII used in tests; the writer checks it is valid UTF-8). */
static unsigned build_one(outgoing *m, const char *id, const char *title, const char *body,
                          const char *level, const char *source)
{
    pipes_proto_notification note;
    char out[PIPES_PROTO_MAX_MESSAGE];
    size_t len = 0;
    unsigned n = 0;
    pipes_proto_notification_init(&note);
    note.level = !strcmp(level, "error")     ? PIPES_PROTO_LEVEL_ERROR
                 : !strcmp(level, "warning") ? PIPES_PROTO_LEVEL_WARNING
                                             : PIPES_PROTO_LEVEL_INFO;
    if (pipes_proto_notification_set(&note, "id", id, strlen(id)) != PIPES_PROTO_OK ||
        pipes_proto_notification_set(&note, "title", title, strlen(title)) != PIPES_PROTO_OK ||
        pipes_proto_notification_set(&note, "body", body, strlen(body)) != PIPES_PROTO_OK ||
        pipes_proto_notification_set(&note, "source", source, strlen(source)) != PIPES_PROTO_OK ||
        pipes_proto_write_notification(&note, out, sizeof(out), &len) != PIPES_PROTO_OK) {
        return 0;
    }
    add_raw(m, &n, id, out, len, NULL, NULL);
    return n;
}

int main(int argc, char **argv)
{
    const char *pipe = NULL, *out = NULL, *prefix = "s", *resend = NULL;
    const char *one_id = "demo-1", *one_title = NULL, *one_body = "", *one_level = "info",
               *one_source = "", *ui_action = NULL, *squat = NULL, *squat_until = NULL;
    unsigned count = 10, start = 1, window = 16, delay = 0, connect_wait = 15000, total, i;
    const char *raw_file = NULL, *spool = NULL;
    int malformed = 0, service_end = 0, starting_service = 0, ack_mode = TRAY_SERVICE_END_ACK, rc;
    wchar_t wpipe[PIPES_MAX_PIPE_NAME + 1];
    pipes_client_config cfg;
    pipes_client *client = NULL;
    pipes_status st;
    ULONGLONG until;
    static sender s;

    if (argc > 1 && !strcmp(argv[1], "--dll-probe"))
        return dll_probe_run(argc, argv);
    for (i = 1; i < (unsigned)argc; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "--taskbar-created")) {
            DWORD_PTR result;
            return SendMessageTimeoutW(HWND_BROADCAST, RegisterWindowMessageW(L"TaskbarCreated"), 0,
                                       0, SMTO_ABORTIFHUNG, 5000, &result)
                       ? 0
                       : 1;
        }
        const char *v = i + 1 < (unsigned)argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--malformed")) {
            malformed = 1;
            continue;
        }
        if (!strcmp(a, "--service-end")) {
            service_end = 1;
            continue;
        }
        if (!strcmp(a, "--starting-service")) {
            starting_service = 1;
            continue;
        }
        if (!strcmp(a, "--break-on-first-response") || !strcmp(a, "--no-ack")) {
            ack_mode = a[2] == 'b' ? TRAY_SERVICE_END_BREAK_FIRST : TRAY_SERVICE_END_NO_ACK;
            continue;
        }
        if (!v) {
            fprintf(stderr, "tray_sender: %s needs a value\n", a);
            return 1;
        }
        ++i;
        if (!strcmp(a, "--pipe")) pipe = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--prefix")) prefix = v;
        else if (!strcmp(a, "--resend")) resend = v;
        else if (!strcmp(a, "--count")) count = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--start")) start = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--window")) window = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--delay-ms")) delay = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--connect-wait")) connect_wait = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--id")) one_id = v;
        else if (!strcmp(a, "--title")) one_title = v;
        else if (!strcmp(a, "--body")) one_body = v;
        else if (!strcmp(a, "--level")) one_level = v;
        else if (!strcmp(a, "--source")) one_source = v;
        else if (!strcmp(a, "--ui")) ui_action = v;
        else if (!strcmp(a, "--written")) s.written_file = v;
        else if (!strcmp(a, "--squat")) squat = v;
        else if (!strcmp(a, "--until")) squat_until = v;
        else if (!strcmp(a, "--raw-file")) raw_file = v;
        else if (!strcmp(a, "--spool")) spool = v;
        else {
            fprintf(stderr, "tray_sender: unknown argument %s\n", a);
            return 1;
        }
    }
    if (ui_action && pipe &&
        MultiByteToWideChar(CP_UTF8, 0, pipe, -1, wpipe, (int)(sizeof(wpipe) / sizeof(wpipe[0]))))
        return tray_ui_run(ui_action, wpipe);
    if (starting_service && pipe && out && squat_until &&
        MultiByteToWideChar(CP_UTF8, 0, pipe, -1, wpipe, (int)(sizeof(wpipe) / sizeof(wpipe[0]))))
        return tray_starting_service_run(wpipe, out, squat_until);
    if (service_end && pipe && out && spool && squat_until &&
        MultiByteToWideChar(CP_UTF8, 0, pipe, -1, wpipe, (int)(sizeof(wpipe) / sizeof(wpipe[0]))))
        return tray_service_end_run(wpipe, out, spool, squat_until, ack_mode);
    if (squat && squat_until && out &&
        MultiByteToWideChar(CP_UTF8, 0, squat, -1, wpipe, (int)(sizeof(wpipe) / sizeof(wpipe[0]))))
        return tray_squat_run(wpipe, squat_until, out);
    if (!pipe || !out || window == 0 ||
        !MultiByteToWideChar(CP_UTF8, 0, pipe, -1, wpipe, (int)(sizeof(wpipe) / sizeof(wpipe[0])))) {
        fprintf(stderr, "usage: tray_sender --pipe NAME --out RECORD [options]\n");
        return 1;
    }

    InitializeSRWLock(&s.lock);
    InitializeConditionVariable(&s.changed);
    s.msgs = (outgoing *)calloc(MAX_MESSAGES, sizeof(outgoing));
    s.record = CreateFileA(out, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (!s.msgs || s.record == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "tray_sender: cannot open %s\n", out);
        return 1;
    }
    if (malformed) {
        total = build_malformed(s.msgs);
    } else if (raw_file) {
        size_t len = 0;
        char *data = read_file(raw_file, &len);
        while (data && len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
            len--;
        total = 0;
        if (data)
            add_raw(s.msgs, &total, one_id, data, len, NULL, NULL);
        free(data);
    } else if (one_title) {
        total = build_one(s.msgs, one_id, one_title, one_body, one_level, one_source);
    } else {
        total = build_normal(s.msgs, prefix, start, count, resend);
    }
    if (total == 0) {
        fprintf(stderr, "tray_sender: nothing to send\n");
        return 1;
    }
    s.total = total;

    memset(&cfg, 0, sizeof(cfg));
    cfg.struct_size = sizeof(cfg);
    cfg.pipe_name = wpipe;
    cfg.connect_timeout_ms = 5000;
    cfg.on_event = on_event;
    cfg.user_data = &s;
    until = GetTickCount64() + connect_wait;
    while ((st = pipes_client_connect(&cfg, &client)) == PIPES_ERR_NOT_FOUND &&
           GetTickCount64() < until) {
        Sleep(100); /* the tray is still starting */
    }
    if (st != PIPES_OK) {
        fprintf(stderr, "tray_sender: connect to %s failed: %s\n", pipe, pipes_status_string(st));
        return 3;
    }

    for (i = 0; i < total; ++i) {
        AcquireSRWLockExclusive(&s.lock);
        while (!s.broken && s.sent - s.replied >= window) {
            SleepConditionVariableSRW(&s.changed, &s.lock, 1000, 0);
        }
        if (s.broken) {
            ReleaseSRWLockExclusive(&s.lock);
            break;
        }
        ++s.sent; /* counted before the send, so a fast reply finds its entry */
        ReleaseSRWLockExclusive(&s.lock);
        /* A context asks for the SEND_COMPLETE event that --written counts. */
        st = pipes_client_send(client, s.msgs[i].data, s.msgs[i].size, &s);
        if (st != PIPES_OK) {
            AcquireSRWLockExclusive(&s.lock);
            --s.sent;
            s.broken = 1;
            ReleaseSRWLockExclusive(&s.lock);
            fprintf(stderr, "tray_sender: send failed: %s\n", pipes_status_string(st));
            break;
        }
        if (delay) {
            Sleep(delay);
        }
    }
    until = GetTickCount64() + 60000;
    AcquireSRWLockExclusive(&s.lock);
    while (!s.broken && s.replied < s.sent && GetTickCount64() < until) {
        SleepConditionVariableSRW(&s.changed, &s.lock, 500, 0);
    }
    rc = s.replied == total && s.failures == 0 ? 0 : s.broken || s.replied < total ? 3 : 1;
    fprintf(stderr, "tray_sender %s: %u messages, %u sent, %u answered, %u not as expected%s\n",
            malformed ? "malformed" : prefix, total, s.sent, s.replied, s.failures,
            s.broken ? ", connection lost" : "");
    ReleaseSRWLockExclusive(&s.lock);
    pipes_client_close(client);
    CloseHandle(s.record);
    for (i = 0; i < total; ++i) {
        free(s.msgs[i].data);
    }
    free(s.msgs);
    return rc;
}
