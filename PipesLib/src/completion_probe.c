/*
 * completion_probe.c - the skip-mode probe (completion_probe.h).
 *
 * On a private message-mode pipe pair bound to a private port, in skip
 * mode: a 2-byte message is written (must complete at once, no packet),
 * read with a 1-byte buffer (must fail at once with ERROR_MORE_DATA; does
 * a packet follow?), then the rest is read (at once, no packet). Windows
 * queues a packet for the ERROR_MORE_DATA read, Wine 8 does not; anything
 * else unexpected turns skip mode off.
 *
 * No timing decides it: a packet for an I/O that completed inside its call
 * is queued before the call returns, and a port hands out packets in the
 * order they were queued. So a marker packet posted after the three calls
 * comes out after any packet they queued, and the packets seen before the
 * marker are exactly the ones the calls queued: the same answer on every
 * run of the same platform, however loaded the machine.
 */
#include "completion_probe.h"

#include <windows.h>

#include <stdio.h>
#include <wchar.h>

#define PROBE_MARKER_KEY ((ULONG_PTR)0x50524F42u) /* "PROB" */
/* Only a platform that lost the marker would wait this long: skip mode off. */
#define PROBE_MARKER_WAIT_MS 10000

static int g_skip_mode, g_more_data_queues;
static INIT_ONCE g_probe_once = INIT_ONCE_STATIC_INIT;
/* Static, because the probe runs once: should an operation unexpectedly
 * pend, closing the handles cancels it and its late completion writes here,
 * never into a stack frame that is gone. */
static OVERLAPPED g_write_ov, g_read_ov, g_rest_ov;
static char g_buf[4];

/* The packets queued before the marker, as bits: PROBE_WRITE, PROBE_READ,
 * PROBE_REST; -1 if a packet for anything else came, or no marker. */
#define PROBE_WRITE 1
#define PROBE_READ 2
#define PROBE_REST 4
static int packets_before_marker(HANDLE port)
{
    int seen = 0;
    if (!PostQueuedCompletionStatus(port, 0, PROBE_MARKER_KEY, NULL))
        return -1;
    for (;;) {
        DWORD bytes;
        ULONG_PTR key = 0;
        OVERLAPPED *got = NULL;
        if (!GetQueuedCompletionStatus(port, &bytes, &key, &got, PROBE_MARKER_WAIT_MS) && !got)
            return -1;
        if (!got && key == PROBE_MARKER_KEY)
            return seen;
        if (got == &g_write_ov)
            seen |= PROBE_WRITE;
        else if (got == &g_read_ov)
            seen |= PROBE_READ;
        else if (got == &g_rest_ov)
            seen |= PROBE_REST;
        else
            return -1;
    }
}

static int skip_on(HANDLE h)
{
    return SetFileCompletionNotificationModes(h, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) != 0;
}

/* Runs the checks on a connected pair; returns 1 and sets *more_data_queues
 * if skip mode behaves as documented for immediate successes. */
static int probe_pair(HANDLE server, HANDLE client, HANDLE port, int *more_data_queues)
{
    DWORD bytes = 0;
    int seen;

    if (!WriteFile(client, "pp", 2, NULL, &g_write_ov))
        return 0;
    if (ReadFile(server, g_buf, 1, NULL, &g_read_ov) || GetLastError() != ERROR_MORE_DATA)
        return 0;
    if (!ReadFile(server, g_buf, sizeof g_buf, NULL, &g_rest_ov) ||
        !GetOverlappedResult(server, &g_rest_ov, &bytes, FALSE) || bytes != 1)
        return 0;
    /* The two successes must not queue a packet; the ERROR_MORE_DATA read
     * may (Windows) or may not (Wine 8). */
    seen = packets_before_marker(port);
    if (seen < 0 || (seen & (PROBE_WRITE | PROBE_REST)) != 0)
        return 0;
    *more_data_queues = (seen & PROBE_READ) != 0;
    return 1;
}

static BOOL CALLBACK run_probe(PINIT_ONCE once, PVOID param, PVOID *context)
{
    static volatile LONG serial;
    wchar_t name[96];
    HANDLE server, client = INVALID_HANDLE_VALUE, port = NULL;
    DWORD mode = PIPE_READMODE_MESSAGE;
    int more_data_queues = 0;
    (void)once;
    (void)param;
    (void)context;

    swprintf(name, sizeof name / sizeof name[0], L"\\\\.\\pipe\\pipes-probe-%lu-%ld",
             (unsigned long)GetCurrentProcessId(), (long)InterlockedIncrement(&serial));
    /* One instance, first instance, local only: nobody else can be on it. */
    server = CreateNamedPipeW(name,
                              PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                                  FILE_FLAG_FIRST_PIPE_INSTANCE,
                              PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
                                  PIPE_REJECT_REMOTE_CLIENTS,
                              1, 64, 64, 0, NULL);
    if (server == INVALID_HANDLE_VALUE)
        return TRUE; /* no skip mode */
    client = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                         FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                         NULL);
    if (client != INVALID_HANDLE_VALUE && SetNamedPipeHandleState(client, &mode, NULL, NULL))
        port = CreateIoCompletionPort(server, NULL, 0, 1);
    if (port && CreateIoCompletionPort(client, port, 0, 0) && skip_on(server) &&
        skip_on(client) && probe_pair(server, client, port, &more_data_queues)) {
        g_skip_mode = 1;
        g_more_data_queues = more_data_queues;
    }
    if (client != INVALID_HANDLE_VALUE)
        CloseHandle(client);
    CloseHandle(server);
    if (port)
        CloseHandle(port);
    return TRUE;
}

void pipes_probe_completion_modes(int *skip_mode, int *more_data_queues)
{
    *skip_mode = 0;
    *more_data_queues = 0;
    if (!InitOnceExecuteOnce(&g_probe_once, run_probe, NULL, NULL))
        return;
    *skip_mode = g_skip_mode;
    *more_data_queues = g_more_data_queues;
}
