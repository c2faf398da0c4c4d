/*
 * tray_squat.c - holds a pipe name the way a squatter would, for the tray
 * tests:
 *
 *   tray_sender --squat NAME --until FILE --out RECORD
 *
 * Creates NAME (first instance), writes "pid <its process id>" to RECORD,
 * then accepts and drops every connection (so whoever looks can see it is
 * served), writing "connection <n>" for each, until FILE exists; then
 * closes the name and writes "left after <n> connections". Exit 0, or 1 when the name could not be
 * created.
 */
#include "tray_squat.h"

#include <stdio.h>
#include <string.h>

#define POLL_MS 50u /* how often FILE is looked for while nobody connects */

static void record(const char *path, const char *line)
{
    HANDLE f = CreateFileA(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD done;
    if (f != INVALID_HANDLE_VALUE) {
        WriteFile(f, line, (DWORD)strlen(line), &done, NULL);
        CloseHandle(f);
    }
}

int tray_squat_run(const wchar_t *pipe, const char *until_file, const char *record_path)
{
    OVERLAPPED ov;
    HANDLE h;
    unsigned connections = 0;
    char line[64];
    int listening = 0;

    memset(&ov, 0, sizeof ov);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    h = CreateNamedPipeW(pipe, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                         PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, 1, 4096, 4096, 0,
                         NULL);
    if (!ov.hEvent || h == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "tray_squat: cannot create the pipe (error %lu)\n", GetLastError());
        return 1;
    }
    snprintf(line, sizeof line, "pid %lu\n", (unsigned long)GetCurrentProcessId());
    record(record_path, line);
    while (GetFileAttributesA(until_file) == INVALID_FILE_ATTRIBUTES) {
        if (!listening) {
            ResetEvent(ov.hEvent);
            if (ConnectNamedPipe(h, &ov) || GetLastError() == ERROR_PIPE_CONNECTED) {
                SetEvent(ov.hEvent);
            } else if (GetLastError() != ERROR_IO_PENDING) {
                fprintf(stderr, "tray_squat: ConnectNamedPipe failed (error %lu)\n", GetLastError());
                break;
            }
            listening = 1;
        }
        if (WaitForSingleObject(ov.hEvent, POLL_MS) == WAIT_OBJECT_0) {
            /* Someone connected: drop them and listen again at once. */
            ++connections;
            DisconnectNamedPipe(h);
            snprintf(line, sizeof line, "connection %u\n", connections);
            record(record_path, line);
            listening = 0;
        }
    }
    if (listening) {
        DWORD unused;
        CancelIoEx(h, &ov);
        GetOverlappedResult(h, &ov, &unused, TRUE); /* ov is ours again */
    }
    CloseHandle(h);
    CloseHandle(ov.hEvent);
    snprintf(line, sizeof line, "left after %u connections\n", connections);
    record(record_path, line);
    return 0;
}
