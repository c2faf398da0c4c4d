/*
 * rawio.c - synchronous and one-outstanding overlapped pipe I/O for the
 * baselines (see rawio.h).
 */
#include "rawio.h"

#include <string.h>

#include "completion_probe.h"

static DWORD wait_completion(raw_pipe *p, DWORD *bytes);

HANDLE raw_create_instance(const wchar_t *name, int overlapped, int first)
{
    DWORD open_mode = PIPE_ACCESS_DUPLEX;
    if (overlapped)
        open_mode |= FILE_FLAG_OVERLAPPED;
    if (first)
        open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
    return CreateNamedPipeW(name, open_mode,
                            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
                                PIPE_REJECT_REMOTE_CLIENTS,
                            PIPE_UNLIMITED_INSTANCES, BENCH_PIPE_BUFFER, BENCH_PIPE_BUFFER, 0,
                            NULL);
}

int raw_bind_port(raw_pipe *p, int skip)
{
    p->port = CreateIoCompletionPort(p->h, NULL, 0, 1);
    if (!p->port)
        return 1;
    p->skip = skip;
    if (skip) { /* asked here, once per process, before anything is measured */
        int works = 0;
        pipes_probe_completion_modes(&works, &p->more_data_queues);
    }
    return !skip || SetFileCompletionNotificationModes(p->h, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS)
               ? 0
               : 1;
}

/* After an overlapped call on p that returned ok: 0 if it completed in the
 * call and queued no packet (skip mode), else what waiting for its packet
 * gives. An immediate ERROR_MORE_DATA is waited for where it queues a
 * packet: always outside skip mode, in skip mode where the probe saw it
 * (Windows; Wine 8 queues none). The baselines' buffers always fit; the
 * zero-byte reads of iocpz never do. */
static DWORD finish(raw_pipe *p, BOOL ok, OVERLAPPED *ov, DWORD *bytes)
{
    DWORD e = ok ? 0 : GetLastError();
    if (ok && p->skip)
        return GetOverlappedResult(p->h, ov, bytes, FALSE) ? 0 : GetLastError();
    if (!ok && e != ERROR_IO_PENDING &&
        (e != ERROR_MORE_DATA || (p->skip && !p->more_data_queues)))
        return e;
    return wait_completion(p, bytes);
}

/* Waits for the one operation outstanding on p. */
static DWORD wait_completion(raw_pipe *p, DWORD *bytes)
{
    ULONG_PTR key = 0;
    OVERLAPPED *ov = NULL;
    COUNT_CALL(dequeues);
    if (p->probe_every && ++p->dequeues % p->probe_every == 0) {
        /* One operation is outstanding, so this finds one packet; under Wine
         * asking for more costs a request that finds none (PERF-5). */
        OVERLAPPED_ENTRY entries[16];
        ULONG n = 0;
        ULONG want = p->probe_every < 16u ? p->probe_every : 16u;
        if (!GetQueuedCompletionStatusEx(p->port, entries, want, &n, INFINITE, FALSE))
            return GetLastError();
        if (n != 1)
            return ERROR_INVALID_HANDLE; /* a packet of no operation of ours */
        return GetOverlappedResult(p->h, entries[0].lpOverlapped, bytes, FALSE) ? 0 : GetLastError();
    }
    if (!GetQueuedCompletionStatus(p->port, bytes, &key, &ov, INFINITE))
        return ov ? GetLastError() : ERROR_INVALID_HANDLE;
    return 0;
}

DWORD raw_accept(raw_pipe *p)
{
    OVERLAPPED ov;
    DWORD bytes = 0;
    BOOL ok;
    COUNT_CALL(connects);
    if (!p->port)
        return ConnectNamedPipe(p->h, NULL) || GetLastError() == ERROR_PIPE_CONNECTED
                   ? 0
                   : GetLastError();
    memset(&ov, 0, sizeof ov);
    ok = ConnectNamedPipe(p->h, &ov);
    if (!ok && GetLastError() == ERROR_PIPE_CONNECTED)
        return 0; /* no packet is queued for this case */
    return finish(p, ok, &ov, &bytes);
}

DWORD raw_read(raw_pipe *p, void *buf, DWORD cap, DWORD *got)
{
    OVERLAPPED ov;
    *got = 0;
    COUNT_CALL(reads);
    if (!p->port)
        return ReadFile(p->h, buf, cap, got, NULL) ? 0 : GetLastError();
    memset(&ov, 0, sizeof ov);
    return finish(p, ReadFile(p->h, buf, cap, NULL, &ov), &ov, got);
}

DWORD raw_read_zero_first(raw_pipe *p, void *buf, DWORD cap, DWORD *got)
{
    static char none;
    OVERLAPPED ov;
    DWORD bytes = 0, e;
    *got = 0;
    COUNT_CALL(reads);
    memset(&ov, 0, sizeof ov);
    e = finish(p, ReadFile(p->h, &none, 0, NULL, &ov), &ov, &bytes);
    if (e != 0 && e != ERROR_MORE_DATA) /* a message is there when it did not fit */
        return e;
    return raw_read(p, buf, cap, got);
}

DWORD raw_write(raw_pipe *p, const void *buf, DWORD len)
{
    OVERLAPPED ov;
    DWORD done = 0;
    COUNT_CALL(writes);
    if (!p->port)
        return WriteFile(p->h, buf, len, &done, NULL) ? 0 : GetLastError();
    memset(&ov, 0, sizeof ov);
    return finish(p, WriteFile(p->h, buf, len, NULL, &ov), &ov, &done);
}

void raw_close(raw_pipe *p)
{
    if (p->h && p->h != INVALID_HANDLE_VALUE)
        CloseHandle(p->h);
    if (p->port)
        CloseHandle(p->port);
    p->h = NULL;
    p->port = NULL;
}
