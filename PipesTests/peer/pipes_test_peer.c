/*
 * pipes_test_peer.exe - a PipesLib client in its own process, for tests
 * that need a peer they can kill (TerminateProcess), restart, or watch exit.
 * It links pipes.dll like any application and speaks the test message format
 * of test_message.h.
 *
 * USAGE
 *   pipes_test_peer [--timeout MS] VERB PIPE_NAME [ARGS...]
 *
 * VERBS
 *   echo NAME              send every message received straight back; runs
 *                          until the server ends the connection.
 *   send NAME COUNT SIZE   send COUNT test messages of SIZE bytes (SIZE >= 16;
 *                          seq 0..COUNT-1, tag = this process id), each with
 *                          pipes_client_send_wait, then wait until the server
 *                          ends the connection.
 *   stream NAME SIZE       send test messages of SIZE bytes (tag = process id,
 *                          seq 0, 1, ...) as fast as the pipe takes them, until
 *                          the connection ends or the process is killed.
 *   recv NAME COUNT        receive COUNT test messages, checking each one's
 *                          content and that seq runs 0, 1, ... per tag; then
 *                          close and exit.
 *   hold NAME              connect and wait until the server ends the
 *                          connection.
 *
 * OPTIONS
 *   --timeout MS           connect timeout, and the longest wait for any one
 *                          step (default 30000).
 *
 * OUTPUT AND EXIT STATUS
 *   One line per step on stdout ("connected", "sent N", "received N",
 *   "disconnected STATUS"), flushed at once. Exit status:
 *   0 done as described, 2 usage, 3 connect failed, 4 a send failed,
 *   5 timed out, 6 a received message was malformed or out of order.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "pipes.h"
#include "test_message.h"

#define EXIT_OK 0
#define EXIT_USAGE 2
#define EXIT_CONNECT 3
#define EXIT_SEND 4
#define EXIT_TIMEOUT 5
#define EXIT_BAD_MESSAGE 6

#define MAX_TAGS 64

typedef struct peer_state {
    HANDLE ended;      /* manual reset: the connection ended */
    HANDLE recv_done;  /* manual reset: recv got its COUNT messages */
    volatile LONG received;
    volatile LONG bad;
    volatile LONG echo_failed;
    volatile LONG end_status;
    long recv_target;
    int echo;
    /* recv: next expected seq per tag (the first MAX_TAGS tags seen) */
    uint32_t tags[MAX_TAGS];
    uint32_t next_seq[MAX_TAGS];
    int tag_count;
} peer_state;

static void say(const char *line)
{
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static int check_order(peer_state *st, uint32_t tag, uint32_t seq)
{
    int i;
    /* Events of one connection are delivered one at a time: no lock needed. */
    for (i = 0; i < st->tag_count; i++) {
        if (st->tags[i] == tag) {
            if (st->next_seq[i] != seq)
                return 0;
            st->next_seq[i]++;
            return 1;
        }
    }
    if (st->tag_count == MAX_TAGS || seq != 0)
        return 0;
    st->tags[st->tag_count] = tag;
    st->next_seq[st->tag_count] = 1;
    st->tag_count++;
    return 1;
}

static void PIPES_CALL on_event(const pipes_event *ev, void *user_data)
{
    peer_state *st = (peer_state *)user_data;
    char line[96];
    switch (ev->type) {
    case PIPES_EVENT_CONNECTED:
        say("connected");
        break;
    case PIPES_EVENT_MESSAGE:
        if (st->echo) {
            if (pipes_client_send(ev->client, ev->data, ev->size, NULL) != PIPES_OK)
                InterlockedIncrement(&st->echo_failed);
        } else if (st->recv_target > 0) {
            uint32_t tag = 0, seq = 0;
            if (!pt_msg_check(ev->data, ev->size, 1, &tag, &seq) || !check_order(st, tag, seq))
                InterlockedIncrement(&st->bad);
            if (InterlockedIncrement(&st->received) == st->recv_target)
                SetEvent(st->recv_done);
        }
        break;
    case PIPES_EVENT_DISCONNECTED:
        InterlockedExchange(&st->end_status, (LONG)ev->status);
        snprintf(line, sizeof line, "disconnected %s", pipes_status_string(ev->status));
        say(line);
        SetEvent(st->ended);
        break;
    default:
        break;
    }
}

static int usage(void)
{
    fputs("usage: pipes_test_peer [--timeout MS] echo|send|stream|recv|hold PIPE_NAME [ARGS]\n"
          "  echo NAME | send NAME COUNT SIZE | stream NAME SIZE | recv NAME COUNT | hold NAME\n",
          stderr);
    return EXIT_USAGE;
}

static int parse_count(const wchar_t *s, long min, long *out)
{
    wchar_t *end = NULL;
    long v = wcstol(s, &end, 10);
    if (!end || *end != L'\0' || end == s || v < min)
        return 0;
    *out = v;
    return 1;
}

/* Waits for the server to end the connection. */
static int wait_ended(peer_state *st, DWORD timeout_ms)
{
    if (WaitForSingleObject(st->ended, timeout_ms) != WAIT_OBJECT_0) {
        say("timed out waiting for the server to disconnect");
        return EXIT_TIMEOUT;
    }
    return EXIT_OK;
}

static int run_send(pipes_client *client, peer_state *st, long count, long size, DWORD timeout,
                    int forever)
{
    uint8_t *buf = (uint8_t *)malloc((size_t)size);
    uint32_t tag = GetCurrentProcessId();
    uint32_t seq;
    char line[64];
    if (!buf)
        return EXIT_SEND;
    for (seq = 0; forever || (long)seq < count; seq++) {
        pipes_status s;
        pt_msg_fill(buf, (size_t)size, tag, seq);
        s = pipes_client_send_wait(client, buf, (size_t)size, timeout);
        if (s != PIPES_OK) {
            free(buf);
            if (forever && WaitForSingleObject(st->ended, timeout) == WAIT_OBJECT_0)
                return EXIT_OK; /* stream: the server ended it */
            snprintf(line, sizeof line, "send %lu failed: %s", (unsigned long)seq,
                     pipes_status_string(s));
            say(line);
            return s == PIPES_ERR_TIMEOUT ? EXIT_TIMEOUT : EXIT_SEND;
        }
    }
    free(buf);
    snprintf(line, sizeof line, "sent %ld", count);
    say(line);
    return wait_ended(st, timeout);
}

int wmain(int argc, wchar_t **argv)
{
    peer_state st;
    pipes_client_config cfg;
    pipes_client *client = NULL;
    pipes_status s;
    DWORD timeout = 30000;
    long count = 0, size = 0;
    const wchar_t *verb;
    int i = 1, rc = EXIT_OK;
    char line[96];

    if (argc > 2 && wcscmp(argv[1], L"--timeout") == 0) {
        long t;
        if (!parse_count(argv[2], 1, &t))
            return usage();
        timeout = (DWORD)t;
        i = 3;
    }
    if (argc - i < 2)
        return usage();
    verb = argv[i];

    memset(&st, 0, sizeof st);
    if (wcscmp(verb, L"echo") == 0 || wcscmp(verb, L"hold") == 0) {
        if (argc - i != 2)
            return usage();
        st.echo = wcscmp(verb, L"echo") == 0;
    } else if (wcscmp(verb, L"send") == 0) {
        if (argc - i != 4 || !parse_count(argv[i + 2], 0, &count) ||
            !parse_count(argv[i + 3], (long)PT_MSG_HEADER_SIZE, &size))
            return usage();
    } else if (wcscmp(verb, L"stream") == 0) {
        if (argc - i != 3 || !parse_count(argv[i + 2], (long)PT_MSG_HEADER_SIZE, &size))
            return usage();
    } else if (wcscmp(verb, L"recv") == 0) {
        if (argc - i != 3 || !parse_count(argv[i + 2], 1, &count))
            return usage();
        st.recv_target = count;
    } else {
        return usage();
    }

    st.ended = CreateEventW(NULL, TRUE, FALSE, NULL);
    st.recv_done = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!st.ended || !st.recv_done)
        return EXIT_CONNECT;

    memset(&cfg, 0, sizeof cfg);
    cfg.struct_size = sizeof cfg;
    cfg.pipe_name = argv[i + 1];
    cfg.connect_timeout_ms = timeout;
    cfg.max_message_size = 64u << 20;
    cfg.on_event = on_event;
    cfg.user_data = &st;
    s = pipes_client_connect(&cfg, &client);
    if (s != PIPES_OK) {
        snprintf(line, sizeof line, "connect failed: %s (win32 %lu)", pipes_status_string(s),
                 pipes_last_system_error());
        say(line);
        return EXIT_CONNECT;
    }

    if (wcscmp(verb, L"send") == 0) {
        rc = run_send(client, &st, count, size, timeout, 0);
    } else if (wcscmp(verb, L"stream") == 0) {
        rc = run_send(client, &st, 0, size, timeout, 1);
    } else if (wcscmp(verb, L"recv") == 0) {
        HANDLE both[2];
        DWORD w;
        both[0] = st.recv_done;
        both[1] = st.ended;
        w = WaitForMultipleObjects(2, both, FALSE, timeout);
        if (w == WAIT_OBJECT_0) {
            snprintf(line, sizeof line, "received %ld", st.received);
            say(line);
            rc = st.bad ? EXIT_BAD_MESSAGE : EXIT_OK;
        } else {
            snprintf(line, sizeof line, "received only %ld of %ld", st.received, count);
            say(line);
            rc = w == WAIT_TIMEOUT ? EXIT_TIMEOUT : EXIT_BAD_MESSAGE;
        }
    } else {
        rc = wait_ended(&st, timeout);
        if (rc == EXIT_OK && st.echo_failed)
            rc = EXIT_SEND;
    }

    pipes_client_close(client);
    CloseHandle(st.ended);
    CloseHandle(st.recv_done);
    return rc;
}
