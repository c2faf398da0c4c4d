/*
 * pipeholder.c - who serves a pipe name the tray could not take: a client
 * connection just long enough for GetNamedPipeServerProcessId, then that
 * process's image name.
 *
 * The connection asks for identification-level impersonation only
 * (SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION), so the holder - which
 * may be hostile - learns who we are but cannot act as us. Nothing is sent.
 */
#include "app.h"

#include <string.h>

int pipe_holder_find(const wchar_t *pipe, DWORD *pid, wchar_t *image, size_t cap)
{
    HANDLE h = CreateFileW(pipe, GENERIC_READ, 0, NULL, OPEN_EXISTING,
                           SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
    ULONG server = 0;
    HANDLE process;
    DWORD len = (DWORD)cap;
    if (cap > 0) {
        image[0] = L'\0';
    }
    *pid = 0;
    if (h == INVALID_HANDLE_VALUE) {
        return 0; /* every instance busy, or we may not open it: unknown */
    }
    if (!GetNamedPipeServerProcessId(h, &server)) {
        server = 0;
    }
    CloseHandle(h);
    if (server == 0) {
        return 0;
    }
    *pid = server;
    /* A process of another user may refuse this; the id alone still helps. */
    process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, server);
    if (process) {
        if (cap > 0 && !QueryFullProcessImageNameW(process, 0, image, &len)) {
            image[0] = L'\0';
        }
        CloseHandle(process);
    }
    return 1;
}
