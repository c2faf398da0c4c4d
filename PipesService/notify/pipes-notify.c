/*
 * pipes-notify.c - submit one notification to PipesService from a command
 * line, script or scheduled task:
 *   pipes-notify --title T [--body B|-] [--level info|warning|error]
 *                [--source S] [--session N | --user NAME] [--id ID] [--ttl S]
 *                [--wait] [--timeout S] [--pipe NAME [--verify-service]]
 *                [--action ID=LABEL]... [--open URL] [--tag T | --clear-tag T]
 *                [--progress N|-1 [--status TEXT]] [--sticky]
 *                [--priority low|normal|high|urgent] [--wait-response]
 *   pipes-notify --query ID [--timeout S] [--pipe NAME [--verify-service]]
 * Exit codes (also in --help and docs/SERVICE.md):
 *   0 accepted (with --wait: displayed in at least one session; with
 *     --wait-response: answered with an action, whose id is on stdout;
 *     with --query: the state is on stdout)
 *   1 unexpected failure       2 usage error
 *   3 rejected, do not retry   4 rejected, retry later (queue full, rate limit...)
 *   5 service not running      6 timed out
 *   7 connection lost before the reply, the service stopped or crashed (resend)
 *   8 the pipe is not served by the PipesService service (nothing was sent)
 *   9 --wait-response: dismissed (closed without an action)
 *  10 --wait-response: it timed out on the desktop, unanswered
 * A connection the running service closes without a reply (its connection
 * limit) is exit 4, like its `rate_limited` rejection of a connection over a cap.
 *
 * Before sending, the process serving the submit pipe must be the one the
 * Service Control Manager runs as PipesService: while the service is
 * stopped any local program could create \\.\pipe\Pipes.Service, collect
 * notifications and answer "accepted".
 */
#include <windows.h>

#include <bcrypt.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <winsvc.h>

#include "pipes.h"
#include "pipes_protocol.h"

enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_REJECTED = 3,
    EXIT_REJECTED_TEMPORARY = 4,
    EXIT_NOT_RUNNING = 5,
    EXIT_TIMEOUT = 6,
    EXIT_BROKEN = 7,
    EXIT_NOT_THE_SERVICE = 8,
    EXIT_DISMISSED = 9,
    EXIT_UNANSWERED = 10
};

#define NOTIFY_SERVICE_NAME L"PipesService"


#define MAX_REPLIES 8

typedef struct session_state {
    SRWLOCK lock;
    HANDLE signal; /* auto-reset: a reply or the disconnect arrived */
    char replies[MAX_REPLIES][2048];
    size_t reply_len[MAX_REPLIES];
    size_t head, count;
    int disconnected;
} session_state;

static void PIPES_CALL on_event(const pipes_event *ev, void *user_data)
{
    session_state *s = (session_state *)user_data;
    AcquireSRWLockExclusive(&s->lock);
    if (ev->type == PIPES_EVENT_MESSAGE && s->count < MAX_REPLIES) {
        size_t slot = (s->head + s->count) % MAX_REPLIES;
        size_t n = ev->size < sizeof s->replies[0] ? ev->size : sizeof s->replies[0];
        memcpy(s->replies[slot], ev->data, n);
        s->reply_len[slot] = n;
        s->count++;
    } else if (ev->type == PIPES_EVENT_DISCONNECTED) {
        s->disconnected = 1;
    }
    ReleaseSRWLockExclusive(&s->lock);
    SetEvent(s->signal);
}

static void usage(FILE *to)
{
    fwprintf(to,
             L"usage: pipes-notify --title TEXT [options]\n"
             L"  --title TEXT        the notification's title (required)\n"
             L"  --body TEXT | -     its body; '-' reads it from standard input (UTF-8)\n"
             L"  --level LEVEL       info (default), warning or error\n"
             L"  --source TEXT       who sends it (program, task, host)\n"
             L"  --session N         only to session N\n"
             L"  --user NAME         only to sessions of user NAME or DOMAIN\\NAME\n"
             L"  --id ID             its id (default: a random one); resending an id is safe\n"
             L"  --ttl SECONDS       how long it stays worth delivering (default: the "
             L"service's)\n"
             L"  --action ID=LABEL   a button (up to 3; repeat the option); ID as for --id\n"
             L"  --open URL          an https:// or http:// link opened when it is clicked\n"
             L"  --tag TAG           replace your earlier notification with this tag\n"
             L"  --clear-tag TAG     remove your notification with this tag (no --title needed)\n"
             L"  --progress N        a progress bar at N percent (0..100; -1 = indeterminate)\n"
             L"  --status TEXT       with --progress: the text under the bar\n"
             L"  --sticky            stays on screen until dismissed\n"
             L"  --priority P        low, normal (default), high or urgent (urgent shows even\n"
             L"                      while notifications are paused or muted)\n"
             L"  --wait              wait until a desktop displayed it\n"
             L"  --wait-response     (needs --action) wait for the answer and print it alone on\n"
             L"                      stdout: the action's ID, 'dismissed' or 'timeout' (progress\n"
             L"                      goes to stderr); use a --timeout long enough for a person\n"
             L"  --query ID          print the state of your notification ID: unknown, pending,\n"
             L"                      displayed or answered, with the answer's details\n"
             L"  --timeout SECONDS   give up after this long (default 30)\n"
             L"  --pipe NAME         submit pipe (default \\\\.\\pipe\\Pipes.Service); with it the\n"
             L"                      server is not checked unless --verify-service is given\n"
             L"  --verify-service    with --pipe: still require the PipesService process\n"
             L"exit codes: 0 accepted (with --wait: displayed), 1 failed, 2 usage,\n"
             L"  3 rejected (do not retry), 4 rejected (retry later), 5 service not running,\n"
             L"  6 timed out, 7 connection lost before the reply (service stopped or crashed),\n"
             L"  8 the pipe is not served by the PipesService service (nothing sent),\n"
             L"  9 --wait-response: dismissed, 10 --wait-response: timed out unanswered\n");
}

static int usage_error(const wchar_t *msg, const wchar_t *arg)
{
    fwprintf(stderr, L"pipes-notify: %ls%ls\n", msg, arg ? arg : L"");
    usage(stderr);
    return EXIT_USAGE;
}

/* UTF-16 to UTF-8 into a static buffer; NULL (and a message) when too long. */
static const char *utf8_of(const wchar_t *value, const wchar_t *option, size_t *len)
{
    static char buf[PIPES_PROTO_MAX_BODY * 4 + 1]; /* the longest text option */
    int n = WideCharToMultiByte(CP_UTF8, 0, value, -1, buf, (int)sizeof buf, NULL, NULL);
    if (n <= 0) {
        fwprintf(stderr, L"pipes-notify: %ls is too long or not valid text\n", option);
        return NULL;
    }
    *len = (size_t)n - 1;
    return buf;
}

static int proto_error(const wchar_t *option, pipes_proto_status st)
{
    fwprintf(stderr, L"pipes-notify: %ls: %hs\n", option, pipes_proto_status_string(st));
    return 0;
}

/* Sets a string field from UTF-16 text; prints the problem on failure. */
static int set_field(pipes_proto_notification *n, const char *field, const wchar_t *value)
{
    wchar_t option[24];
    size_t len = 0;
    const char *utf8;
    pipes_proto_status st;
    swprintf(option, sizeof option / sizeof option[0], L"--%hs", field);
    utf8 = utf8_of(value, option, &len);
    if (!utf8)
        return 0;
    st = pipes_proto_notification_set(n, field, utf8, len);
    return st == PIPES_PROTO_OK || proto_error(option, st);
}

/* --action ID=LABEL: the id before the first '=', the label after it. */
static int add_action(pipes_proto_notification *n, const wchar_t *value)
{
    size_t len = 0;
    const char *utf8 = utf8_of(value, L"--action", &len);
    const char *eq = utf8 ? (const char *)memchr(utf8, '=', len) : NULL;
    pipes_proto_status st;
    if (!utf8)
        return 0;
    if (!eq) {
        fwprintf(stderr, L"pipes-notify: --action needs ID=LABEL, not %ls\n", value);
        return 0;
    }
    st = pipes_proto_notification_add_action(n, utf8, (size_t)(eq - utf8), eq + 1,
                                             len - (size_t)(eq - utf8) - 1);
    return st == PIPES_PROTO_OK || proto_error(L"--action", st);
}

/* --progress N (0..100, or -1 for indeterminate) with an optional --status. */
static int set_progress(pipes_proto_notification *n, const wchar_t *value, const wchar_t *status)
{
    wchar_t *end = NULL;
    long v = value ? wcstol(value, &end, 10) : 0;
    size_t len = 0;
    const char *utf8 = "";
    pipes_proto_status st;
    if (!value || !*value || !end || *end || v < -1 || v > 100) {
        fwprintf(stderr, L"pipes-notify: --progress needs 0..100 or -1, not %ls\n",
                 value ? value : L"");
        return 0;
    }
    if (status) {
        utf8 = utf8_of(status, L"--status", &len);
        if (!utf8)
            return 0;
    }
    st = pipes_proto_notification_set_progress(n, (int)v, utf8, len);
    return st == PIPES_PROTO_OK || proto_error(L"--status", st);
}

/* Reads all of stdin as the body: UTF-8 (a BOM is skipped); bytes that are
 * not UTF-8 are taken in the console/ANSI code page. One trailing newline
 * (as echo adds) is dropped. */
static int read_body(pipes_proto_notification *n)
{
    size_t cap = PIPES_PROTO_MAX_BODY * 4 + 16, len = 0;
    char *buf = (char *)malloc(cap);
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    DWORD got;
    const char *p;
    pipes_proto_status st;
    int ok = 0;

    if (!buf)
        return 0;
    while (len < cap && ReadFile(in, buf + len, (DWORD)(cap - len), &got, NULL) && got > 0)
        len += got;
    p = buf;
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF) {
        p += 3;
        len -= 3;
    }
    if (len > 0 && p[len - 1] == '\n')
        len--;
    if (len > 0 && p[len - 1] == '\r')
        len--;
    if (!pipes_proto_utf8_valid(p, len, NULL)) {
        /* Legacy code page input: convert it to UTF-8. */
        UINT cp = GetConsoleCP() ? GetConsoleCP() : CP_ACP;
        wchar_t *w = (wchar_t *)malloc((len + 1) * sizeof(wchar_t));
        int wn = w ? MultiByteToWideChar(cp, 0, p, (int)len, w, (int)len + 1) : 0;
        if (wn > 0) {
            w[wn] = L'\0';
            ok = set_field(n, "body", w);
        } else {
            fwprintf(stderr, L"pipes-notify: standard input is not valid text\n");
        }
        free(w);
        free(buf);
        return ok;
    }
    st = pipes_proto_notification_set(n, "body", p, len);
    if (st != PIPES_PROTO_OK)
        fwprintf(stderr, L"pipes-notify: body from standard input: %hs\n",
                 pipes_proto_status_string(st));
    free(buf);
    return st == PIPES_PROTO_OK;
}

static int parse_u32(const wchar_t *s, uint32_t min, uint32_t max, uint32_t *out)
{
    wchar_t *end = NULL;
    unsigned long long v;
    if (!s || !*s || *s == L'-')
        return 0;
    v = wcstoull(s, &end, 10);
    if (!end || *end || v < min || v > max)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

static void random_id(pipes_proto_notification *n)
{
    unsigned char r[12];
    char id[40];
    size_t i;
    if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, r, sizeof r, BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
        ULONGLONG t = GetTickCount64() ^ ((ULONGLONG)GetCurrentProcessId() << 32);
        memcpy(r, &t, 8);
        memset(r + 8, 0, 4);
    }
    memcpy(id, "pn-", 3);
    for (i = 0; i < sizeof r; i++)
        snprintf(id + 3 + 2 * i, 3, "%02x", r[i]);
    pipes_proto_notification_set(n, "id", id, 3 + 2 * sizeof r);
}

/* A message from the service: a reply, or (type RESPONSE / STATE) an answer. */
typedef struct service_msg {
    pipes_proto_type type;
    pipes_proto_reply reply;
    pipes_proto_answer answer;
} service_msg;

/* Waits for the next message; returns 1 with it parsed, 0 on timeout, -1
 * when the connection ended. */
static int next_reply(session_state *s, ULONGLONG deadline, service_msg *out)
{
    for (;;) {
        ULONGLONG now = GetTickCount64();
        int have = 0, gone;
        char buf[2048];
        size_t len = 0;
        AcquireSRWLockExclusive(&s->lock);
        if (s->count) {
            len = s->reply_len[s->head];
            memcpy(buf, s->replies[s->head], len);
            s->head = (s->head + 1) % MAX_REPLIES;
            s->count--;
            have = 1;
        }
        gone = s->disconnected;
        ReleaseSRWLockExclusive(&s->lock);
        if (have) {
            pipes_proto_error err;
            pipes_proto_status ps = pipes_proto_parse_type(buf, len, &out->type, &err);
            if (ps == PIPES_PROTO_OK &&
                (out->type == PIPES_PROTO_TYPE_RESPONSE || out->type == PIPES_PROTO_TYPE_STATE))
                ps = pipes_proto_parse_answer(buf, len, &out->answer, &err);
            else if (ps == PIPES_PROTO_OK)
                ps = pipes_proto_parse_reply(buf, len, &out->reply, &err);
            if (ps == PIPES_PROTO_OK)
                return 1;
            fwprintf(stderr, L"pipes-notify: ignoring an unreadable reply (%hs)\n",
                     pipes_proto_status_string(err.status));
            continue;
        }
        if (gone)
            return -1;
        if (now >= deadline)
            return 0;
        WaitForSingleObject(s->signal, (DWORD)(deadline - now));
    }
}

/* The state of the PipesService service and its process id (0 unless
 * running). Returns 0, or the Win32 error that kept it from being read. */
static DWORD service_state(DWORD *state, DWORD *pid)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    SERVICE_STATUS_PROCESS ssp;
    DWORD need, err = 0;
    *state = 0;
    *pid = 0;
    svc = scm ? OpenServiceW(scm, NOTIFY_SERVICE_NAME, SERVICE_QUERY_STATUS) : NULL;
    if (!svc)
        err = GetLastError();
    else if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&ssp, sizeof ssp, &need))
        err = GetLastError();
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    if (!err) {
        *state = ssp.dwCurrentState;
        *pid = ssp.dwCurrentState == SERVICE_RUNNING ? ssp.dwProcessId : 0;
    }
    return err;
}

/* Is the process serving this connection (server_pid) the one the Service
 * Control Manager runs as PipesService? Prints why not and returns 0
 * otherwise. A service that is still starting (its pipe exists before it
 * reports RUNNING) is waited for until the deadline. */
static int server_is_service(DWORD server_pid, const wchar_t *pipe, ULONGLONG deadline)
{
    DWORD state, pid, err;
    while ((err = service_state(&state, &pid)) == 0 && state == SERVICE_START_PENDING &&
           GetTickCount64() < deadline)
        Sleep(100);
    if (!err && pid != 0 && pid == server_pid)
        return 1;
    if (err == ERROR_SERVICE_DOES_NOT_EXIST)
        fwprintf(stderr, L"pipes-notify: %ls is served by process %lu, but the %ls service is "
                         L"not installed.\n",
                 pipe, (unsigned long)server_pid, NOTIFY_SERVICE_NAME);
    else if (err)
        fwprintf(stderr, L"pipes-notify: %ls is served by process %lu, and the state of the %ls "
                         L"service cannot be read (error %lu).\n",
                 pipe, (unsigned long)server_pid, NOTIFY_SERVICE_NAME, (unsigned long)err);
    else if (state != SERVICE_RUNNING)
        fwprintf(stderr, L"pipes-notify: %ls is served by process %lu, but the %ls service is "
                         L"not running.\n",
                 pipe, (unsigned long)server_pid, NOTIFY_SERVICE_NAME);
    else
        fwprintf(stderr, L"pipes-notify: %ls is served by process %lu, but the %ls service runs "
                         L"as process %lu.\n",
                 pipe, (unsigned long)server_pid, NOTIFY_SERVICE_NAME, (unsigned long)pid);
    fwprintf(stderr, L"pipes-notify: refusing to send: another program may be posing as the "
                     L"service. Nothing was sent.\n");
    return 0;
}

/* The connection to server_pid ended before any reply. If that process is
 * still the running service, it let us go on purpose (at its connection
 * limit, or it refused this client): retry later. Otherwise it stopped or
 * crashed: resend. */
static int ended_without_reply(DWORD server_pid)
{
    DWORD state, pid;
    if (service_state(&state, &pid) == 0 && pid != 0 && pid == server_pid) {
        fwprintf(stderr, L"pipes-notify: the service closed the connection without a reply: it "
                         L"is at its connection limit or refused this client. Retry later (the "
                         L"same --id is safe).\n");
        return EXIT_REJECTED_TEMPORARY;
    }
    fwprintf(stderr, L"pipes-notify: the connection ended before the reply (the service stopped "
                     L"or crashed); resend with the same --id.\n");
    return EXIT_BROKEN;
}

/* "answered action ID in session N by USER at TIME" and the like: one line. */
/* Completes n from the options that needed all of them and writes it;
 * _INVALID_ARGUMENT when an option was bad (said on stderr). */
static pipes_proto_status compose(pipes_proto_notification *n, const wchar_t *body,
                                  const wchar_t *progress, const wchar_t *status, int have_id,
                                  char *msg, size_t cap, size_t *msg_len)
{
    if (status && !progress) {
        usage_error(L"--status needs --progress", NULL);
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    }
    if (progress && !set_progress(n, progress, status))
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    if (body && !wcscmp(body, L"-")) {
        if (!read_body(n))
            return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    } else if (body && !set_field(n, "body", body)) {
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    }
    if (!have_id)
        random_id(n);
    return pipes_proto_write_notification(n, msg, cap, msg_len);
}

static void print_state(const pipes_proto_answer *a)
{
    char when[PIPES_PROTO_TIME_BUFSIZE] = "";
    wchar_t user[PIPES_PROTO_MAX_ACCOUNT + 1] = L"";
    const char *result = pipes_proto_result_name(a->result);
    printf("%s", pipes_proto_state_name(a->state) ? pipes_proto_state_name(a->state) : "unknown");
    if (a->state == PIPES_PROTO_STATE_ANSWERED) {
        printf(" %s%s%s", result ? result : "?", a->action[0] ? " " : "", a->action);
    }
    if (a->has_session)
        printf(" in session %lu", (unsigned long)a->session);
    fflush(stdout);
    if (a->user_len) {
        MultiByteToWideChar(CP_UTF8, 0, a->user, -1, user, PIPES_PROTO_MAX_ACCOUNT + 1);
        fwprintf(stdout, L" by %ls", user);
        fflush(stdout);
    }
    if (a->has_time && pipes_proto_time_format(a->time_ms, when))
        printf(" at %s", when);
    printf("\n");
}

/* --wait-response: the answer alone on stdout, and its exit code. */
static int print_response(const pipes_proto_answer *a)
{
    if (a->result == PIPES_PROTO_RESULT_ACTION) {
        printf("%s\n", a->action);
        return EXIT_OK;
    }
    printf("%s\n", pipes_proto_result_name(a->result) ? pipes_proto_result_name(a->result) : "?");
    return a->result == PIPES_PROTO_RESULT_DISMISSED ? EXIT_DISMISSED : EXIT_UNANSWERED;
}

int wmain(int argc, wchar_t **argv)
{
    static pipes_proto_notification n;
    static char msg[PIPES_PROTO_MAX_MESSAGE + 1];
    const wchar_t *pipe = PIPES_PROTO_SERVICE_PIPE_W;
    const wchar_t *body = NULL, *progress = NULL, *status = NULL;
    uint32_t timeout_s = 30;
    int have_title = 0, have_target = 0, have_id = 0, i, rc = EXIT_FAILED;
    int pipe_given = 0, verify_flag = 0;
    size_t msg_len = 0;
    pipes_proto_status ps;
    pipes_client_config cc;
    pipes_client *cl = NULL;
    pipes_status st;
    session_state s;
    ULONGLONG deadline;
    service_msg m;
    pipes_proto_reply *reply = &m.reply;
    pipes_peer_identity server;
    const wchar_t *query = NULL;
    FILE *progress_out = stdout;

    /* First thing: from here on a DLL loaded by name (by us, or inside a
     * system DLL) comes from System32 or this exe's folder only, never from
     * the current directory - which for a command-line tool is wherever
     * the user, or a script, happens to be - or PATH.
     * The imports were resolved by the loader before wmain: KERNEL32,
     * ADVAPI32 and msvcrt are KnownDLLs (always System32); bcrypt and
     * pipes.dll are found in this exe's folder first, then System32, both
     * before the current directory and PATH - so the install folder must be
     * writable by administrators only (its ACL). No delay-loaded imports. */
    SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_SYSTEM32 | LOAD_LIBRARY_SEARCH_APPLICATION_DIR);
    /* What we say on stderr must be there at once, not when we exit: a
     * script (or a hang guard) that kills us must still find why. The CRT
     * may buffer a stderr redirected to a file (Wine's msvcrt held every
     * fwprintf until exit). */
    setvbuf(stderr, NULL, _IONBF, 0);
    pipes_proto_notification_init(&n);
    for (i = 1; i < argc; i++) {
        const wchar_t *a = argv[i];
        const wchar_t *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!wcscmp(a, L"--help") || !wcscmp(a, L"-h") || !wcscmp(a, L"/?")) {
            usage(stdout);
            return EXIT_OK;
        }
        if (!wcscmp(a, L"--wait")) {
            n.wait = n.wait ? n.wait : PIPES_PROTO_WAIT_DISPLAYED;
            continue;
        }
        if (!wcscmp(a, L"--wait-response")) {
            n.wait = PIPES_PROTO_WAIT_RESPONSE;
            progress_out = stderr; /* stdout holds the answer only */
            continue;
        }
        if (!wcscmp(a, L"--verify-service")) {
            verify_flag = 1;
            continue;
        }
        if (!wcscmp(a, L"--sticky")) {
            n.sticky = 1;
            continue;
        }
        if (!v)
            return usage_error(L"missing value or unknown option: ", a);
        i++;
        if (!wcscmp(a, L"--title")) {
            if (!set_field(&n, "title", v))
                return EXIT_USAGE;
            have_title = 1;
        } else if (!wcscmp(a, L"--query")) {
            query = v;
        } else if (!wcscmp(a, L"--body")) {
            body = v;
        } else if (!wcscmp(a, L"--source")) {
            if (!set_field(&n, "source", v))
                return EXIT_USAGE;
        } else if (!wcscmp(a, L"--id")) {
            if (!set_field(&n, "id", v))
                return EXIT_USAGE;
            have_id = 1;
        } else if (!wcscmp(a, L"--level")) {
            if (!wcscmp(v, L"info"))
                n.level = PIPES_PROTO_LEVEL_INFO;
            else if (!wcscmp(v, L"warning"))
                n.level = PIPES_PROTO_LEVEL_WARNING;
            else if (!wcscmp(v, L"error"))
                n.level = PIPES_PROTO_LEVEL_ERROR;
            else
                return usage_error(L"--level must be info, warning or error, not ", v);
        } else if (!wcscmp(a, L"--session")) {
            if (have_target++)
                return usage_error(L"give only one of --session and --user", NULL);
            if (!parse_u32(v, 0, 0xFFFFFFFFu, &n.target_session))
                return usage_error(L"--session needs a session number, not ", v);
            n.target = PIPES_PROTO_TARGET_SESSION;
        } else if (!wcscmp(a, L"--user")) {
            if (have_target++)
                return usage_error(L"give only one of --session and --user", NULL);
            if (!set_field(&n, "user", v))
                return EXIT_USAGE;
        } else if (!wcscmp(a, L"--ttl")) {
            if (!parse_u32(v, 1, PIPES_PROTO_MAX_TTL, &n.ttl))
                return usage_error(L"--ttl needs 1..31536000 seconds, not ", v);
            n.has_ttl = 1;
        } else if (!wcscmp(a, L"--timeout")) {
            if (!parse_u32(v, 1, 86400, &timeout_s))
                return usage_error(L"--timeout needs 1..86400 seconds, not ", v);
        } else if (!wcscmp(a, L"--pipe")) {
            pipe = v;
            pipe_given = 1;
        } else if (!wcscmp(a, L"--action")) {
            if (!add_action(&n, v))
                return EXIT_USAGE;
        } else if (!wcscmp(a, L"--open")) {
            if (!set_field(&n, "open", v))
                return EXIT_USAGE;
        } else if (!wcscmp(a, L"--tag") || !wcscmp(a, L"--clear-tag")) {
            if (n.tag_len > 0)
                return usage_error(L"give only one of --tag and --clear-tag", NULL);
            if (!set_field(&n, "tag", v))
                return EXIT_USAGE;
            n.clear = !wcscmp(a, L"--clear-tag");
        } else if (!wcscmp(a, L"--progress")) {
            progress = v;
        } else if (!wcscmp(a, L"--status")) {
            status = v;
        } else if (!wcscmp(a, L"--priority")) {
            size_t len = 0;
            const char *name = utf8_of(v, L"--priority", &len);
            int k = PIPES_PROTO_PRIORITY_URGENT;
            while (name && k >= 0 && strcmp(name, pipes_proto_priority_name((pipes_proto_priority)k)))
                k--;
            if (!name || k < 0)
                return usage_error(L"--priority must be low, normal, high or urgent, not ", v);
            n.priority = (pipes_proto_priority)k;
        } else {
            return usage_error(L"unknown option ", a);
        }
    }
    if (query) {
        pipes_proto_answer q;
        size_t len = 0;
        const char *id = utf8_of(query, L"--query", &len);
        if (!id || pipes_proto_answer_init(&q, PIPES_PROTO_TYPE_QUERY, id) != PIPES_PROTO_OK)
            return usage_error(L"--query needs an id (1-64 of A-Z a-z 0-9 - _ . :), not ", query);
        if (have_title || n.clear || n.wait)
            return usage_error(L"--query takes no notification options", NULL);
        memcpy(n.id, q.id, sizeof n.id); /* the id the replies are matched to */
        n.id_len = q.id_len;
        ps = pipes_proto_write_answer(&q, msg, sizeof msg, &msg_len);
    } else {
        if (!have_title && !n.clear)
            return usage_error(L"--title is required (except with --clear-tag)", NULL);
        if (n.wait == PIPES_PROTO_WAIT_RESPONSE && n.action_count == 0)
            return usage_error(L"--wait-response needs at least one --action", NULL);
        ps = compose(&n, body, progress, status, have_id, msg, sizeof msg, &msg_len);
        if (ps == PIPES_PROTO_ERR_INVALID_ARGUMENT)
            return EXIT_USAGE; /* said already */
    }
    if (ps != PIPES_PROTO_OK) {
        fwprintf(stderr, L"pipes-notify: %hs\n", pipes_proto_status_string(ps));
        return EXIT_USAGE;
    }


    memset(&s, 0, sizeof s);
    InitializeSRWLock(&s.lock);
    s.signal = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (!s.signal)
        return EXIT_FAILED;
    deadline = GetTickCount64() + (ULONGLONG)timeout_s * 1000;
    memset(&cc, 0, sizeof cc);
    cc.struct_size = sizeof cc;
    cc.pipe_name = pipe;
    cc.connect_timeout_ms = timeout_s * 1000;
    cc.max_message_size = PIPES_PROTO_MAX_MESSAGE;
    cc.on_event = on_event;
    cc.user_data = &s;
    st = pipes_client_connect(&cc, &cl);
    if (st != PIPES_OK) {
        CloseHandle(s.signal);
        if (st == PIPES_ERR_NOT_FOUND) {
            fwprintf(stderr, L"pipes-notify: the service is not running (no pipe %ls)\n", pipe);
            return EXIT_NOT_RUNNING;
        }
        if (st == PIPES_ERR_PEER_CLOSED) {
            /* Dropped at once: a server at its connection limit does that. */
            fwprintf(stderr, L"pipes-notify: %ls closed the connection at once (busy: at its "
                             L"connection limit, or it refused this client); retry later\n",
                     pipe);
            return EXIT_REJECTED_TEMPORARY;
        }
        fwprintf(stderr, L"pipes-notify: cannot connect to %ls: %hs\n", pipe,
                 pipes_status_string(st));
        return st == PIPES_ERR_TIMEOUT ? EXIT_TIMEOUT : EXIT_FAILED;
    }
    memset(&server, 0, sizeof server);
    pipes_client_get_server(cl, &server);
    /* The service's own pipe: only the service may answer it. */
    if ((!pipe_given || verify_flag) && !server_is_service(server.process_id, pipe, deadline)) {
        rc = EXIT_NOT_THE_SERVICE;
        goto done;
    }
    st = pipes_client_send(cl, msg, msg_len, NULL);
    if (st != PIPES_OK && st != PIPES_ERR_NOT_CONNECTED) {
        fwprintf(stderr, L"pipes-notify: send failed: %hs\n", pipes_status_string(st));
        rc = EXIT_FAILED;
        goto done;
    }
    for (;;) {
        int r = next_reply(&s, deadline, &m);
        if (r == 0) {
            fwprintf(stderr, L"pipes-notify: timed out after %lu s\n", (unsigned long)timeout_s);
            rc = EXIT_TIMEOUT;
            break;
        }
        if (r < 0) {
            rc = ended_without_reply(server.process_id);
            break;
        }
        if (m.type == PIPES_PROTO_TYPE_STATE || m.type == PIPES_PROTO_TYPE_RESPONSE) {
            if (strcmp(m.answer.id, n.id) != 0)
                continue; /* not about ours */
            if (m.type == PIPES_PROTO_TYPE_STATE && query) {
                print_state(&m.answer);
                rc = EXIT_OK;
                break;
            }
            if (m.type == PIPES_PROTO_TYPE_RESPONSE && n.wait == PIPES_PROTO_WAIT_RESPONSE) {
                rc = print_response(&m.answer);
                break;
            }
            continue;
        }
        if (reply->type == PIPES_PROTO_REPLY_REJECTED) {
            const char *reason = pipes_proto_reason_name(reply->reason);
            fwprintf(stderr, L"pipes-notify: rejected: %hs%hs%hs%hs%hs\n",
                     reason ? reason : "unknown reason", reply->error[0] ? " (" : "", reply->error,
                     reply->error[0] ? ")" : "", "");
            if (reply->detail[0]) {
                wchar_t w[PIPES_PROTO_MAX_DETAIL + 1];
                MultiByteToWideChar(CP_UTF8, 0, reply->detail, -1, w, PIPES_PROTO_MAX_DETAIL + 1);
                fwprintf(stderr, L"pipes-notify: %ls\n", w);
            }
            rc = pipes_proto_reason_is_temporary(reply->reason) ? EXIT_REJECTED_TEMPORARY
                                                                : EXIT_REJECTED;
            break;
        }
        if (strcmp(reply->id, n.id) != 0)
            continue; /* not about ours */
        if (reply->type == PIPES_PROTO_REPLY_ACCEPTED) {
            fprintf(progress_out, "accepted %s\n", n.id);
            fflush(progress_out);
            if (!n.wait) {
                rc = EXIT_OK;
                break;
            }
        } else if (reply->type == PIPES_PROTO_REPLY_DISPLAYED ||
                   reply->type == PIPES_PROTO_REPLY_ACK) {
            /* ack: --pipe named a tray directly; it stored it. */
            if (reply->type == PIPES_PROTO_REPLY_DISPLAYED && reply->has_session)
                fprintf(progress_out, "displayed %s in session %lu\n", n.id,
                        (unsigned long)reply->session);
            else
                fprintf(progress_out, "displayed %s\n", n.id);
            fflush(progress_out);
            if (n.wait == PIPES_PROTO_WAIT_RESPONSE && reply->type == PIPES_PROTO_REPLY_DISPLAYED)
                continue; /* the answer follows */
            rc = EXIT_OK;
            break;
        }
    }
done:
    pipes_client_close(cl);
    CloseHandle(s.signal);
    fflush(stdout);
    return rc;
}
