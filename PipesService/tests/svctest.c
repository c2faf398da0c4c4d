/*
 * svctest.c - helper program for the PipesService end-to-end tests
 * (run_service_tests.sh). Subcommands:
 *   tray --session N --out FILE
 *       a test tray on \\.\pipe\Pipes.Notify.N speaking docs/PROTOCOL.md: each
 *       new id is appended to FILE (flushed) before its `ack`, a repeated id
 *       is acknowledged again but not recorded twice (exactly-once display,
 *       surviving a restart: FILE is read back at start). Every received id,
 *       repeats included, goes to FILE.raw. Writes its pid to FILE.pid; exits
 *       when FILE.stop appears. FILE.json gets each new notification as received.
 *       Each connection appends the client's pid to FILE.conn.
 *       --pipe NAME serves NAME instead; --reply accepted answers `accepted`
 *       instead of `ack` (a squatter posing as the service); --reply by-title
 *       answers by the notification's title: "reply:none" no reply,
 *       "reply:rejected" rejected not_allowed, "reply:close" closes the
 *       connection, "reply:garbage" a message that is no reply (and nothing
 *       more), anything else `accepted` (a fake service for the exit codes
 *       and messages of pipes-notify).
 *   load --count N --prefix P --acked FILE [--session S] [--pipe NAME] [--start K]
 *        [--kill-service-at N] [--kill-tray-at N --tray-pid-file FILE]
 *       submits P-00000.. one at a time like a careful submitter: an id goes
 *       to FILE once `accepted`; after a broken pipe it reconnects and resends
 *       the same id; temporary rejections are retried (with --no-retry the
 *       first rejection ends it: "stopped by REASON after N accepted"). Gives
 *       up after 120 s without progress (exit 1).
 *   raw --data TEXT [--pipe NAME] [--anonymous]
 *       sends TEXT as one message, prints the reply; --anonymous opens the
 *       pipe raw at impersonation level SecurityAnonymous (a client whose
 *       identity the server cannot read; Wine ignores the level)
 *   hold --count N --out FILE [--pipe NAME]
 *       an abusive client: opens N raw connections to the submit pipe (each
 *       waits up to 2 s for a free instance), sends nothing and never reads
 *       on its own. Writes "opened K" to FILE, then every 200 ms drains what
 *       the service wrote to each connection (appended to FILE.replies) and
 *       writes the number still open to FILE.open (a connection is closed
 *       once the pipe is broken and drained). Exits when FILE.stop appears.
 *   kill-service                    TerminateProcess on the running service
 *   kill-pid PID                    TerminateProcess on PID
 *   pipe-sddl [--pipe NAME]         prints the submit pipe's owner and DACL as SDDL
 *   path-sddl PATH                  prints a file or directory's owner and DACL as SDDL
 *   import-pfx FILE PASSWORD --key-set user|machine
 *       a PFX's certificates and keys into LocalMachine\My (svctest_cert.c)
 *   import-cert FILE                a DER certificate without key into LocalMachine\My
 */
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "pipes.h"
#include "pipes_protocol.h"

int svctest_import_pfx(int argc, wchar_t **argv); /* svctest_cert.c */
int svctest_import_cert(const wchar_t *path);     /* svctest_cert.c */

static const wchar_t *opt(int argc, wchar_t **argv, const wchar_t *name, const wchar_t *def)
{
    int i;
    for (i = 2; i + 1 < argc; i++)
        if (!wcscmp(argv[i], name))
            return argv[i + 1];
    return def;
}

/* ---- tray ------------------------------------------------------------------ */

#define MAX_SEEN 20000

static struct {
    SRWLOCK lock;
    FILE *out, *raw, *json, *conn;
    pipes_server *server;
    pipes_proto_reply_type reply;
    int by_title;
    char (*seen)[PIPES_PROTO_MAX_ID + 1];
    size_t seen_n;
} T = {SRWLOCK_INIT, NULL, NULL, NULL, NULL, NULL, PIPES_PROTO_REPLY_ACK, 0, NULL, 0};

static int seen(const char *id)
{
    size_t i;
    for (i = 0; i < T.seen_n; i++)
        if (!strcmp(T.seen[i], id))
            return 1;
    return 0;
}

static void PIPES_CALL tray_event(const pipes_event *ev, void *ud)
{
    pipes_proto_notification *n;
    pipes_proto_error err;
    pipes_proto_reply r;
    char buf[2048];
    size_t len = 0;
    (void)ud;
    if (ev->type == PIPES_EVENT_CONNECTED && ev->peer) {
        AcquireSRWLockExclusive(&T.lock);
        fprintf(T.conn, "%lu\n", (unsigned long)ev->peer->process_id);
        fflush(T.conn);
        ReleaseSRWLockExclusive(&T.lock);
    }
    if (ev->type != PIPES_EVENT_MESSAGE)
        return;
    n = (pipes_proto_notification *)malloc(sizeof *n);
    if (!n)
        return;
    if (pipes_proto_parse_notification(ev->data, ev->size, n, &err) != PIPES_PROTO_OK) {
        pipes_proto_reply_for_error(&r, &err, n->id);
    } else {
        AcquireSRWLockExclusive(&T.lock);
        fprintf(T.raw, "%s\n", n->id);
        fflush(T.raw);
        if (!seen(n->id) && T.seen_n < MAX_SEEN) {
            memcpy(T.seen[T.seen_n++], n->id, n->id_len + 1);
            fprintf(T.out, "%s\n", n->id);
            fflush(T.out); /* "stored in history" before the ack */
            fwrite(ev->data, 1, ev->size, T.json);
            fputc('\n', T.json);
            fflush(T.json);
        }
        ReleaseSRWLockExclusive(&T.lock);
        pipes_proto_reply_init(&r, T.reply, n->id);
        if (T.by_title && !strcmp(n->title, "reply:none")) {
            free(n);
            return;
        }
        if (T.by_title && !strcmp(n->title, "reply:close")) {
            pipes_server_disconnect(T.server, ev->connection_id);
            free(n);
            return;
        }
        if (T.by_title && !strcmp(n->title, "reply:garbage")) {
            pipes_server_send(T.server, ev->connection_id, "no reply", 8, NULL);
            free(n);
            return;
        }
        if (T.by_title && !strcmp(n->title, "reply:rejected"))
            pipes_proto_reply_rejected(&r, n->id, PIPES_PROTO_REASON_NOT_ALLOWED, "test");
    }
    if (pipes_proto_write_reply(&r, buf, sizeof buf, &len) == PIPES_PROTO_OK)
        pipes_server_send(T.server, ev->connection_id, buf, len, NULL);
    free(n);
}

static int cmd_tray(int argc, wchar_t **argv)
{
    const wchar_t *out = opt(argc, argv, L"--out", NULL);
    uint32_t session = (uint32_t)wcstoul(opt(argc, argv, L"--session", L"1"), NULL, 10);
    wchar_t name[PIPES_PROTO_PIPE_NAME_BUFSIZE], path[MAX_PATH], stop[MAX_PATH];
    pipes_server_config sc;
    pipes_status st;
    FILE *f;
    char line[256];

    if (!out)
        return 2;
    T.seen = calloc(MAX_SEEN, sizeof *T.seen);
    if (!T.seen)
        return 1;
    f = _wfopen(out, L"r");
    if (f) {
        while (fgets(line, sizeof line, f) && T.seen_n < MAX_SEEN) {
            line[strcspn(line, "\r\n")] = '\0';
            if (line[0])
                strcpy(T.seen[T.seen_n++], line);
        }
        fclose(f);
    }
    T.out = _wfopen(out, L"ab");
    swprintf(path, MAX_PATH, L"%ls.raw", out);
    T.raw = _wfopen(path, L"ab");
    swprintf(path, MAX_PATH, L"%ls.json", out);
    T.json = _wfopen(path, L"ab");
    swprintf(path, MAX_PATH, L"%ls.conn", out);
    T.conn = _wfopen(path, L"ab");
    swprintf(stop, MAX_PATH, L"%ls.stop", out);
    if (!T.out || !T.raw || !T.json || !T.conn)
        return 1;
    if (!wcscmp(opt(argc, argv, L"--reply", L"ack"), L"accepted"))
        T.reply = PIPES_PROTO_REPLY_ACCEPTED;
    if (!wcscmp(opt(argc, argv, L"--reply", L"ack"), L"by-title")) {
        T.reply = PIPES_PROTO_REPLY_ACCEPTED;
        T.by_title = 1;
    }
    pipes_proto_tray_pipe_name_w(session, name, PIPES_PROTO_PIPE_NAME_BUFSIZE);
    if (opt(argc, argv, L"--pipe", NULL)) {
        wcsncpy(name, opt(argc, argv, L"--pipe", NULL), PIPES_PROTO_PIPE_NAME_BUFSIZE - 1);
        name[PIPES_PROTO_PIPE_NAME_BUFSIZE - 1] = L'\0';
    }
    memset(&sc, 0, sizeof sc);
    sc.struct_size = sizeof sc;
    sc.pipe_name = name;
    sc.max_message_size = PIPES_PROTO_MAX_MESSAGE;
    /* The real tray's descriptor (the library default: owner = this user),
     * since the service trusts a tray pipe by its owner. */
    sc.sddl = NULL;
    sc.on_event = tray_event;
    st = pipes_server_start(&sc, &T.server);
    if (st != PIPES_OK) {
        fprintf(stderr, "tray: %s\n", pipes_status_string(st));
        return 1;
    }
    swprintf(path, MAX_PATH, L"%ls.pid", out);
    f = _wfopen(path, L"w");
    if (f) {
        fprintf(f, "%lu\n", (unsigned long)GetCurrentProcessId());
        fclose(f);
    }
    fprintf(stdout, "tray listening on session %lu\n", (unsigned long)session);
    fflush(stdout);
    while (GetFileAttributesW(stop) == INVALID_FILE_ATTRIBUTES)
        Sleep(200); /* a test tool: polling a file is fine here */
    pipes_server_stop(T.server);
    fclose(T.out);
    fclose(T.raw);
    fclose(T.json);
    fclose(T.conn);
    return 0;
}

static int kill_pid(DWORD pid);
static int cmd_kill_service(void);

/* ---- a synchronous client for load/raw --------------------------------------- */

typedef struct sclient {
    pipes_client *cl;
    SRWLOCK lock;
    HANDLE signal;
    char reply[4096];
    size_t reply_len;
    int have, broken;
} sclient;

static void PIPES_CALL sc_event(const pipes_event *ev, void *ud)
{
    sclient *c = (sclient *)ud;
    AcquireSRWLockExclusive(&c->lock);
    if (ev->type == PIPES_EVENT_MESSAGE && !c->have) {
        c->reply_len = ev->size < sizeof c->reply - 1 ? ev->size : sizeof c->reply - 1;
        memcpy(c->reply, ev->data, c->reply_len);
        c->reply[c->reply_len] = '\0';
        c->have = 1;
    } else if (ev->type == PIPES_EVENT_DISCONNECTED) {
        c->broken = 1;
    }
    ReleaseSRWLockExclusive(&c->lock);
    SetEvent(c->signal);
}

static pipes_status sc_open(sclient *c, const wchar_t *pipe)
{
    pipes_client_config cc;
    memset(&cc, 0, sizeof cc);
    cc.struct_size = sizeof cc;
    cc.pipe_name = pipe;
    cc.connect_timeout_ms = 3000;
    cc.on_event = sc_event;
    cc.user_data = c;
    c->broken = 0;
    c->have = 0;
    return pipes_client_connect(&cc, &c->cl);
}

/* Sends and waits for one reply: 1 = reply, 0 = timeout, -1 = broken. */
static int sc_call(sclient *c, const void *data, size_t len, DWORD timeout)
{
    ULONGLONG deadline = GetTickCount64() + timeout;
    AcquireSRWLockExclusive(&c->lock);
    c->have = 0;
    ReleaseSRWLockExclusive(&c->lock);
    if (pipes_client_send(c->cl, data, len, NULL) != PIPES_OK)
        return -1;
    for (;;) {
        int have, broken;
        ULONGLONG now = GetTickCount64();
        AcquireSRWLockExclusive(&c->lock);
        have = c->have;
        broken = c->broken;
        ReleaseSRWLockExclusive(&c->lock);
        if (have)
            return 1;
        if (broken)
            return -1;
        if (now >= deadline)
            return 0;
        WaitForSingleObject(c->signal, (DWORD)(deadline - now));
    }
}

static int cmd_load(int argc, wchar_t **argv)
{
    int count = _wtoi(opt(argc, argv, L"--count", L"0"));
    int start = _wtoi(opt(argc, argv, L"--start", L"0"));
    const wchar_t *prefix = opt(argc, argv, L"--prefix", L"load");
    const wchar_t *acked = opt(argc, argv, L"--acked", NULL);
    const wchar_t *session = opt(argc, argv, L"--session", NULL);
    const wchar_t *pipe = opt(argc, argv, L"--pipe", PIPES_PROTO_SERVICE_PIPE_W);
    static pipes_proto_notification n;
    static char msg[PIPES_PROTO_MAX_MESSAGE];
    sclient c;
    FILE *out;
    int i, connected = 0;
    ULONGLONG progress = GetTickCount64();
    int no_retry = 0;
    int kill_service_at = _wtoi(opt(argc, argv, L"--kill-service-at", L"0"));
    int kill_tray_at = _wtoi(opt(argc, argv, L"--kill-tray-at", L"0"));
    const wchar_t *tray_pid_file = opt(argc, argv, L"--tray-pid-file", NULL);

    for (i = 2; i < argc; i++)
        no_retry |= !wcscmp(argv[i], L"--no-retry");
    if (!acked || count <= 0)
        return 2;
    out = _wfopen(acked, L"ab");
    if (!out)
        return 1;
    memset(&c, 0, sizeof c);
    InitializeSRWLock(&c.lock);
    c.signal = CreateEventW(NULL, FALSE, FALSE, NULL);
    for (i = start; i < start + count;) {
        char id[80], title[80];
        size_t len = 0;
        int r;
        pipes_proto_reply rep;
        pipes_proto_error err;
        if (GetTickCount64() - progress > 120000) {
            fprintf(stderr, "load: no progress for 120 s at %d\n", i);
            return 1;
        }
        if (!connected) {
            if (sc_open(&c, pipe) != PIPES_OK) {
                Sleep(200);
                continue;
            }
            connected = 1;
        }
        pipes_proto_notification_init(&n);
        snprintf(id, sizeof id, "%ls-%05d", prefix, i);
        snprintf(title, sizeof title, "load %d", i);
        pipes_proto_notification_set(&n, "id", id, strlen(id));
        pipes_proto_notification_set(&n, "title", title, strlen(title));
        if (session) {
            n.target = PIPES_PROTO_TARGET_SESSION;
            n.target_session = (uint32_t)wcstoul(session, NULL, 10);
        }
        pipes_proto_write_notification(&n, msg, sizeof msg, &len);
        r = sc_call(&c, msg, len, 10000);
        if (r <= 0) {
            /* No reply: the service may have died. Resend the same id. */
            pipes_client_close(c.cl);
            connected = 0;
            Sleep(100);
            continue;
        }
        if (pipes_proto_parse_reply(c.reply, c.reply_len, &rep, &err) != PIPES_PROTO_OK) {
            fprintf(stderr, "load: bad reply %s\n", c.reply);
            return 1;
        }
        if (rep.type == PIPES_PROTO_REPLY_ACCEPTED && !strcmp(rep.id, id)) {
            fprintf(out, "%s\n", id);
            fflush(out);
            progress = GetTickCount64();
            i++;
            if (i - start == kill_service_at) {
                /* Mid-stream, from here: deterministic, unlike a script polling. */
                printf("load: killing the service after %d accepted\n", i - start);
                cmd_kill_service();
                fflush(stdout);
            }
            if (i - start == kill_tray_at && tray_pid_file) {
                FILE *pf = _wfopen(tray_pid_file, L"r");
                unsigned long pid = 0;
                if (pf) {
                    if (fscanf(pf, "%lu", &pid) != 1)
                        pid = 0;
                    fclose(pf);
                }
                printf("load: killing the tray (pid %lu) after %d accepted\n", pid, i - start);
                if (pid)
                    kill_pid((DWORD)pid);
                fflush(stdout);
            }
        } else if (rep.type == PIPES_PROTO_REPLY_REJECTED && no_retry) {
            printf("load: stopped by %s after %d accepted\n",
                   pipes_proto_reason_name(rep.reason), i - start);
            pipes_client_close(c.cl);
            fclose(out);
            return 0;
        } else if (rep.type == PIPES_PROTO_REPLY_REJECTED &&
                   pipes_proto_reason_is_temporary(rep.reason)) {
            Sleep(200);
        } else {
            fprintf(stderr, "load: unexpected reply %s\n", c.reply);
            return 1;
        }
    }
    if (connected)
        pipes_client_close(c.cl);
    fclose(out);
    printf("load: %d accepted\n", count);
    return 0;
}

/* raw --anonymous: a bare handle opened at SecurityAnonymous, one message
 * written, one reply read (or the pipe's end). */
static int raw_anonymous(const wchar_t *pipe, const char *msg, size_t len)
{
    HANDLE h = CreateFileW(pipe, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                           SECURITY_SQOS_PRESENT | SECURITY_ANONYMOUS, NULL);
    DWORD mode = PIPE_READMODE_MESSAGE, w = 0, got = 0;
    char reply[4096];
    int ok;
    if (h == INVALID_HANDLE_VALUE)
        return 5;
    SetNamedPipeHandleState(h, &mode, NULL, NULL);
    ok = WriteFile(h, msg, (DWORD)len, &w, NULL) &&
         ReadFile(h, reply, sizeof reply - 1, &got, NULL);
    CloseHandle(h);
    if (!ok)
        return 6;
    reply[got] = '\0';
    printf("%s\n", reply);
    return 0;
}

static int cmd_raw(int argc, wchar_t **argv)
{
    const wchar_t *data = opt(argc, argv, L"--data", NULL);
    const wchar_t *pipe = opt(argc, argv, L"--pipe", PIPES_PROTO_SERVICE_PIPE_W);
    char buf[8192];
    sclient c;
    int n, r;
    if (!data)
        return 2;
    n = WideCharToMultiByte(CP_UTF8, 0, data, -1, buf, sizeof buf, NULL, NULL);
    if (n <= 0)
        return 2;
    for (r = 2; r < argc; r++)
        if (!wcscmp(argv[r], L"--anonymous"))
            return raw_anonymous(pipe, buf, (size_t)n - 1);
    memset(&c, 0, sizeof c);
    InitializeSRWLock(&c.lock);
    c.signal = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (sc_open(&c, pipe) != PIPES_OK)
        return 5;
    r = sc_call(&c, buf, (size_t)n - 1, 10000);
    if (r == 1)
        printf("%s\n", c.reply);
    pipes_client_close(c.cl);
    return r == 1 ? 0 : 6;
}

/* ---- hold: connections that send nothing ---------------------------------------- */

/* Reads and records what waits on h; 0 once the pipe is broken and drained. */
static int drain_alive(HANDLE h, FILE *replies)
{
    for (;;) {
        char buf[4096];
        DWORD avail = 0, got = 0;
        if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL))
            return 0;
        if (avail == 0)
            return 1;
        if (!ReadFile(h, buf, sizeof buf - 1, &got, NULL) && GetLastError() != ERROR_MORE_DATA)
            return 0;
        buf[got] = '\0';
        fprintf(replies, "%s\n", buf);
        fflush(replies);
    }
}

static int cmd_hold(int argc, wchar_t **argv)
{
    int count = _wtoi(opt(argc, argv, L"--count", L"0"));
    const wchar_t *out = opt(argc, argv, L"--out", NULL);
    const wchar_t *pipe = opt(argc, argv, L"--pipe", PIPES_PROTO_SERVICE_PIPE_W);
    wchar_t path[MAX_PATH], stop[MAX_PATH];
    HANDLE *h;
    int i, opened = 0;
    FILE *f, *replies;

    if (!out || count <= 0)
        return 2;
    h = (HANDLE *)calloc((size_t)count, sizeof *h);
    swprintf(path, MAX_PATH, L"%ls.replies", out);
    replies = _wfopen(path, L"ab");
    swprintf(stop, MAX_PATH, L"%ls.stop", out);
    if (!h || !replies)
        return 1;
    for (i = 0; i < count; i++) {
        ULONGLONG until = GetTickCount64() + 2000;
        for (;;) {
            h[i] = CreateFileW(pipe, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                               SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
            if (h[i] != INVALID_HANDLE_VALUE || GetLastError() != ERROR_PIPE_BUSY ||
                GetTickCount64() >= until)
                break;
            WaitNamedPipeW(pipe, 200);
        }
        if (h[i] == INVALID_HANDLE_VALUE)
            h[i] = NULL;
        else
            opened++;
    }
    f = _wfopen(out, L"w");
    if (f) {
        fprintf(f, "opened %d\n", opened);
        fclose(f);
    }
    swprintf(path, MAX_PATH, L"%ls.open", out);
    while (GetFileAttributesW(stop) == INVALID_FILE_ATTRIBUTES) {
        int open = 0;
        for (i = 0; i < count; i++) {
            if (h[i] && !drain_alive(h[i], replies)) {
                CloseHandle(h[i]);
                h[i] = NULL;
            }
            open += h[i] != NULL;
        }
        f = _wfopen(path, L"w");
        if (f) {
            fprintf(f, "%d\n", open);
            fclose(f);
        }
        Sleep(200); /* a test tool: polling is fine here */
    }
    for (i = 0; i < count; i++)
        if (h[i])
            CloseHandle(h[i]);
    fclose(replies);
    free(h);
    return 0;
}

/* ---- process control --------------------------------------------------------- */

static int kill_pid(DWORD pid)
{
    HANDLE h = OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE, FALSE, pid);
    if (!h || !TerminateProcess(h, 9)) {
        fprintf(stderr, "kill: %lu: error %lu\n", (unsigned long)pid,
                (unsigned long)GetLastError());
        if (h)
            CloseHandle(h);
        return 1;
    }
    WaitForSingleObject(h, 10000);
    CloseHandle(h);
    printf("killed %lu\n", (unsigned long)pid);
    return 0;
}

static int cmd_kill_service(void)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    SERVICE_STATUS_PROCESS ssp;
    DWORD need;
    if (!scm)
        return 1;
    svc = OpenServiceW(scm, L"PipesService", SERVICE_QUERY_STATUS);
    if (!svc || !QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&ssp, sizeof ssp,
                                      &need) ||
        ssp.dwProcessId == 0) {
        fprintf(stderr, "kill-service: no running service\n");
        return 1;
    }
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return kill_pid(ssp.dwProcessId);
}

static int cmd_pipe_sddl(int argc, wchar_t **argv)
{
    const wchar_t *pipe = opt(argc, argv, L"--pipe", PIPES_PROTO_SERVICE_PIPE_W);
    HANDLE h = CreateFileW(pipe, READ_CONTROL, 0, NULL, OPEN_EXISTING, 0, NULL);
    PSECURITY_DESCRIPTOR sd = NULL;
    LPWSTR text = NULL;
    if (h == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "pipe-sddl: open failed %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    if (GetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                        NULL, NULL, NULL, NULL, &sd) != ERROR_SUCCESS ||
        !ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd, SDDL_REVISION_1, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &text,
            NULL)) {
        CloseHandle(h);
        return 1;
    }
    wprintf(L"%ls\n", text);
    LocalFree(text);
    LocalFree(sd);
    CloseHandle(h);
    return 0;
}

static int cmd_path_sddl(const wchar_t *path)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    LPWSTR text = NULL;
    const SECURITY_INFORMATION what = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    DWORD rc = GetNamedSecurityInfoW(path, SE_FILE_OBJECT, what, NULL, NULL, NULL, NULL, &sd);
    if (rc != ERROR_SUCCESS) {
        fprintf(stderr, "path-sddl: error %lu\n", (unsigned long)rc);
        return 1;
    }
    if (!ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1, what, &text,
                                                              NULL)) {
        LocalFree(sd);
        return 1;
    }
    wprintf(L"%ls\n", text);
    LocalFree(text);
    LocalFree(sd);
    return 0;
}

int wmain(int argc, wchar_t **argv)
{
    if (argc < 2)
        return 2;
    if (!wcscmp(argv[1], L"tray"))
        return cmd_tray(argc, argv);
    if (!wcscmp(argv[1], L"load"))
        return cmd_load(argc, argv);
    if (!wcscmp(argv[1], L"raw"))
        return cmd_raw(argc, argv);
    if (!wcscmp(argv[1], L"hold"))
        return cmd_hold(argc, argv);
    if (!wcscmp(argv[1], L"kill-service"))
        return cmd_kill_service();
    if (!wcscmp(argv[1], L"kill-pid") && argc > 2)
        return kill_pid((DWORD)wcstoul(argv[2], NULL, 10));
    if (!wcscmp(argv[1], L"path-sddl") && argc > 2)
        return cmd_path_sddl(argv[2]);
    if (!wcscmp(argv[1], L"pipe-sddl"))
        return cmd_pipe_sddl(argc, argv);
    if (!wcscmp(argv[1], L"import-pfx") && argc > 3)
        return svctest_import_pfx(argc, argv);
    if (!wcscmp(argv[1], L"import-cert") && argc > 2)
        return svctest_import_cert(argv[2]);
    return 2;
}
