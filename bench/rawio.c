/*
 * rawio.c - synchronous and one-outstanding overlapped pipe I/O for the
 * baselines (see rawio.h).
 */
#include "rawio.h"

#include <string.h>

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

int raw_bind_port(raw_pipe *p)
{
    p->port = CreateIoCompletionPort(p->h, NULL, 0, 1);
    return p->port ? 0 : 1;
}

/* Waits for the one operation outstanding on p. */
static DWORD wait_completion(raw_pipe *p, DWORD *bytes)
{
    ULONG_PTR key = 0;
    OVERLAPPED *ov = NULL;
    COUNT_CALL(dequeues);
    if (!GetQueuedCompletionStatus(p->port, bytes, &key, &ov, INFINITE))
        return ov ? GetLastError() : ERROR_INVALID_HANDLE;
    return 0;
}

DWORD raw_accept(raw_pipe *p)
{
    OVERLAPPED ov;
    DWORD bytes = 0, e;
    memset(&ov, 0, sizeof ov);
    COUNT_CALL(connects);
    if (ConnectNamedPipe(p->h, p->port ? &ov : NULL))
        return p->port ? wait_completion(p, &bytes) : 0;
    e = GetLastError();
    if (e == ERROR_PIPE_CONNECTED)
        return 0; /* no packet is queued for this case */
    if (e != ERROR_IO_PENDING || !p->port)
        return e;
    return wait_completion(p, &bytes);
}

DWORD raw_read(raw_pipe *p, void *buf, DWORD cap, DWORD *got)
{
    OVERLAPPED ov;
    DWORD e;
    *got = 0;
    COUNT_CALL(reads);
    if (!p->port)
        return ReadFile(p->h, buf, cap, got, NULL) ? 0 : GetLastError();
    memset(&ov, 0, sizeof ov);
    if (!ReadFile(p->h, buf, cap, NULL, &ov)) {
        e = GetLastError();
        if (e != ERROR_IO_PENDING && e != ERROR_MORE_DATA)
            return e;
    }
    return wait_completion(p, got);
}

DWORD raw_write(raw_pipe *p, const void *buf, DWORD len)
{
    OVERLAPPED ov;
    DWORD done = 0, e;
    COUNT_CALL(writes);
    if (!p->port)
        return WriteFile(p->h, buf, len, &done, NULL) ? 0 : GetLastError();
    memset(&ov, 0, sizeof ov);
    if (!WriteFile(p->h, buf, len, NULL, &ov)) {
        e = GetLastError();
        if (e != ERROR_IO_PENDING)
            return e;
    }
    return wait_completion(p, &done);
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
