/*
 * pipes_test_server.c - the "other process" of the security and resilience
 * tests (PipesTests/sec_*.cpp). A pipe server or client living in its own
 * process, so a test can squat a name from outside, kill a server with
 * TerminateProcess, or connect from another process id.
 *
 * usage: pipes_test_server VERB ARGS...
 *   serve  NAME READY QUIT                  echo server (pipes.dll)
 *   record NAME READY QUIT FILE DONE        appends the first 4 bytes of each
 *                                           message (a sequence number) to FILE;
 *                                           sets event DONE on 0xFFFFFFFF
 *   squat  NAME READY QUIT                  raw CreateNamedPipeW, never listens
 *   echo-client NAME COUNT                  sends COUNT messages, checks the echoes
 * READY, QUIT and DONE are names of events the test created: READY is set
 * once the pipe exists, the process exits when QUIT is set ("-" = never).
 *
 * Exit codes: 0 ok; 1 usage or setup error; 2 the server could not start
 * (the pipes_status is printed); 3 echo-client: the connection ended before
 * all echoes came back, or connect failed with PIPES_ERR_PEER_CLOSED (a clean
 * refusal); 4 echo-client: an echo was wrong.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "pipes.h"

#define END_MARKER 0xFFFFFFFFu
/* The recorder's pipe buffer: the tests bound the messages lost with a
 * killed server by it (see sec_reconnect_test.cpp). */
#define RECORD_BUFFER_SIZE 16384u

static HANDLE g_file = INVALID_HANDLE_VALUE;
static HANDLE g_done = NULL;

static HANDLE open_event(const wchar_t *name)
{
    HANDLE h;
    if (wcscmp(name, L"-") == 0)
        return NULL;
    h = OpenEventW(EVENT_MODIFY_STATE | SYNCHRONIZE, FALSE, name);
    if (!h)
        fwprintf(stderr, L"pipes_test_server: OpenEvent %ls failed: %lu\n", name,
                 GetLastError());
    return h;
}

static void PIPES_CALL echo_event(const pipes_event *ev, void *user_data)
{
    (void)user_data;
    if (ev->type == PIPES_EVENT_MESSAGE)
        pipes_server_send(ev->server, ev->connection_id, ev->data, ev->size, NULL);
}

static void PIPES_CALL record_event(const pipes_event *ev, void *user_data)
{
    uint32_t seq;
    DWORD written;
    (void)user_data;
    if (ev->type != PIPES_EVENT_MESSAGE || ev->size < sizeof seq)
        return;
    memcpy(&seq, ev->data, sizeof seq);
    /* One WriteFile per message, no stdio buffer: what was recorded survives
     * TerminateProcess. */
    WriteFile(g_file, &seq, sizeof seq, &written, NULL);
    if (seq == END_MARKER && g_done)
        SetEvent(g_done);
}

/* Waits for the quit event, or until the test process that started us
 * (PIPES_TEST_PARENT_PID) is gone, so no peer outlives a crashed test. */
static void wait_quit(HANDLE quit)
{
    HANDLE waits[2];
    DWORD n = 0;
    wchar_t pid[16];
    HANDLE parent = NULL;
    if (quit)
        waits[n++] = quit;
    if (GetEnvironmentVariableW(L"PIPES_TEST_PARENT_PID", pid, 16) > 0)
        parent = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)wcstoul(pid, NULL, 10));
    if (parent)
        waits[n++] = parent;
    if (n)
        WaitForMultipleObjects(n, waits, FALSE, INFINITE);
    else
        Sleep(INFINITE);
    if (parent)
        CloseHandle(parent);
}

/* Starts a server on name, retrying a name still held by a dying
 * predecessor's connections for up to 5 s, then waits for quit. */
static int run_server(const wchar_t *name, HANDLE ready, HANDLE quit, pipes_event_fn fn,
                      unsigned buffer_size)
{
    pipes_server_config cfg;
    pipes_server *server = NULL;
    pipes_status st;
    ULONGLONG deadline = GetTickCount64() + 5000;

    memset(&cfg, 0, sizeof cfg);
    cfg.struct_size = sizeof cfg;
    cfg.pipe_name = name;
    cfg.on_event = fn;
    cfg.buffer_size = buffer_size;
    for (;;) {
        st = pipes_server_start(&cfg, &server);
        if (st != PIPES_ERR_NAME_IN_USE || GetTickCount64() > deadline)
            break;
        Sleep(10);
    }
    if (st != PIPES_OK) {
        fprintf(stderr, "pipes_test_server: start failed: %s\n", pipes_status_string(st));
        return 2;
    }
    if (ready)
        SetEvent(ready);
    wait_quit(quit);
    pipes_server_stop(server);
    return 0;
}

static int run_squat(const wchar_t *name, HANDLE ready, HANDLE quit)
{
    /* A hostile squatter: default security, no FIRST_PIPE_INSTANCE, and no
     * ConnectNamedPipe, so nobody is ever served. */
    HANDLE pipe = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX,
                                   PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                                   PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, NULL);
    if (pipe == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "pipes_test_server: squat CreateNamedPipe failed: %lu\n",
                GetLastError());
        return 1;
    }
    if (ready)
        SetEvent(ready);
    wait_quit(quit);
    CloseHandle(pipe);
    return 0;
}

/* ---- echo-client ---------------------------------------------------------- */

typedef struct echo_state {
    SRWLOCK lock;
    CONDITION_VARIABLE cv;
    unsigned echoes;
    int bad;
    int ended;
} echo_state;

static void PIPES_CALL client_event(const pipes_event *ev, void *user_data)
{
    echo_state *s = (echo_state *)user_data;
    AcquireSRWLockExclusive(&s->lock);
    if (ev->type == PIPES_EVENT_MESSAGE) {
        unsigned expect = s->echoes;
        if (ev->size != sizeof expect || memcmp(ev->data, &expect, sizeof expect) != 0)
            s->bad = 1;
        s->echoes++;
    } else if (ev->type == PIPES_EVENT_DISCONNECTED) {
        s->ended = 1;
    }
    WakeAllConditionVariable(&s->cv);
    ReleaseSRWLockExclusive(&s->lock);
}

static int run_echo_client(const wchar_t *name, unsigned count)
{
    pipes_client_config cfg;
    pipes_client *client = NULL;
    echo_state s;
    pipes_status st;
    unsigned i;
    int rc = 0;

    memset(&s, 0, sizeof s);
    InitializeSRWLock(&s.lock);
    InitializeConditionVariable(&s.cv);
    memset(&cfg, 0, sizeof cfg);
    cfg.struct_size = sizeof cfg;
    cfg.pipe_name = name;
    cfg.on_event = client_event;
    cfg.user_data = &s;
    st = pipes_client_connect(&cfg, &client);
    if (st != PIPES_OK) {
        fprintf(stderr, "pipes_test_server: connect failed: %s (win32 %lu)\n",
                pipes_status_string(st), pipes_last_system_error());
        /* A server that refuses at once may close the pipe while we open it. */
        return st == PIPES_ERR_PEER_CLOSED ? 3 : 1;
    }
    for (i = 0; i < count && rc == 0; i++) {
        st = pipes_client_send_wait(client, &i, sizeof i, 5000);
        AcquireSRWLockExclusive(&s.lock);
        while (st == PIPES_OK && s.echoes <= i && !s.ended)
            if (!SleepConditionVariableSRW(&s.cv, &s.lock, 5000, 0))
                break;
        if (s.bad)
            rc = 4;
        else if (s.echoes <= i)
            rc = s.ended || st != PIPES_OK ? 3 : 1;
        ReleaseSRWLockExclusive(&s.lock);
        if (rc)
            fprintf(stderr, "pipes_test_server: echo %u: send %s, ended %d\n", i,
                    pipes_status_string(st), s.ended);
    }
    pipes_client_close(client);
    return rc;
}

int wmain(int argc, wchar_t **argv)
{
    HANDLE ready, quit;
    int rc;

    if (argc >= 4 && wcscmp(argv[1], L"echo-client") == 0)
        return run_echo_client(argv[2], (unsigned)wcstoul(argv[3], NULL, 10));
    if (argc < 5) {
        fprintf(stderr, "usage: pipes_test_server serve|record|squat NAME READY QUIT ...\n");
        return 1;
    }
    ready = open_event(argv[3]);
    quit = open_event(argv[4]);
    if (wcscmp(argv[1], L"serve") == 0) {
        rc = run_server(argv[2], ready, quit, echo_event, 0);
    } else if (wcscmp(argv[1], L"squat") == 0) {
        rc = run_squat(argv[2], ready, quit);
    } else if (wcscmp(argv[1], L"record") == 0 && argc >= 7) {
        g_file = CreateFileW(argv[5], FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                             OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        g_done = open_event(argv[6]);
        if (g_file == INVALID_HANDLE_VALUE) {
            fprintf(stderr, "pipes_test_server: cannot open the record file: %lu\n",
                    GetLastError());
            return 1;
        }
        rc = run_server(argv[2], ready, quit, record_event, RECORD_BUFFER_SIZE);
        CloseHandle(g_file);
    } else {
        fprintf(stderr, "pipes_test_server: unknown verb or missing arguments\n");
        rc = 1;
    }
    if (ready)
        CloseHandle(ready);
    if (quit)
        CloseHandle(quit);
    if (g_done)
        CloseHandle(g_done);
    return rc;
}
