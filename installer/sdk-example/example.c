/*
 * example.c - a program that uses the installed Pipes SDK: it links pipes.dll
 * through its import library, connects to PipesService's submit pipe and
 * submits one notification in the Pipes protocol (docs/PROTOCOL.md), then
 * prints the service's reply.
 *
 *   example [TITLE [ID]]
 *
 * Exit codes: 0 accepted, 1 failed (no service, rejected, timed out).
 * Build: see CMakeLists.txt beside it and docs/SDK.md, or with MinGW directly
 * (-municode: the entry point is wmain):
 *   x86_64-w64-mingw32-gcc -municode example.c -I "<Pipes>/include" -L "<Pipes>/lib" -lpipes
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "pipes.h"

#define REPLY_TIMEOUT_MS 10000u

typedef struct reply_box {
    HANDLE ready;         /* set when a reply or the disconnect arrived */
    char text[2048];      /* the first reply, NUL-terminated */
    int disconnected;
} reply_box;

/* Runs on a PipesLib worker thread: keep the first reply and wake main. */
static void PIPES_CALL on_event(const pipes_event *ev, void *user_data)
{
    reply_box *box = (reply_box *)user_data;
    if (ev->type == PIPES_EVENT_MESSAGE && box->text[0] == '\0') {
        size_t n = ev->size < sizeof box->text - 1 ? ev->size : sizeof box->text - 1;
        if (n > 0)
            memcpy(box->text, ev->data, n);
        box->text[n] = '\0';
        SetEvent(box->ready);
    } else if (ev->type == PIPES_EVENT_DISCONNECTED) {
        box->disconnected = 1;
        SetEvent(box->ready);
    }
}

/* Writes s as a JSON string body (quotes and backslashes escaped, control
 * characters dropped); returns 0 when it does not fit. */
static int json_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20)
            continue;
        if (o + 3 >= cap)
            return 0;
        if (c == '"' || c == '\\')
            out[o++] = '\\';
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 1;
}

int wmain(int argc, wchar_t **argv)
{
    char title[512], id[80], escaped[1024], msg[2048];
    wchar_t dll_path[MAX_PATH] = L"?";
    const char *version_text = NULL;
    uint32_t version = pipes_version(&version_text);
    HMODULE dll = GetModuleHandleW(L"pipes.dll");
    pipes_client_config cfg;
    pipes_client *client = NULL;
    pipes_status st;
    reply_box box;
    int len, rc = 1;

    if (dll)
        GetModuleFileNameW(dll, dll_path, MAX_PATH);
    wprintf(L"example: pipes.dll %hs (0x%06x, compiled against %hs) from %ls\n", version_text,
            (unsigned)version, PIPES_VERSION_STRING, dll_path);

    /* Title and id from the command line (UTF-16 -> UTF-8), or defaults. */
    if (argc < 2 || !WideCharToMultiByte(CP_UTF8, 0, argv[1], -1, title, (int)sizeof title, NULL, NULL))
        strcpy(title, "Hello from the Pipes SDK example");
    if (argc < 3 || !WideCharToMultiByte(CP_UTF8, 0, argv[2], -1, id, (int)sizeof id, NULL, NULL))
        snprintf(id, sizeof id, "sdk-example-%lu-%llu", (unsigned long)GetCurrentProcessId(),
                 (unsigned long long)GetTickCount64());
    if (!json_escape(title, escaped, sizeof escaped)) {
        fwprintf(stderr, L"example: title too long\n");
        return 1;
    }
    len = snprintf(msg, sizeof msg,
                   "{\"v\":1,\"type\":\"notify\",\"id\":\"%s\",\"title\":\"%s\","
                   "\"body\":\"sent by sdk-example through pipes.dll\",\"level\":\"info\","
                   "\"source\":\"sdk-example\"}",
                   id, escaped);
    if (len <= 0 || (size_t)len >= sizeof msg) {
        fwprintf(stderr, L"example: message too long\n");
        return 1;
    }

    memset(&box, 0, sizeof box);
    box.ready = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!box.ready)
        return 1;

    memset(&cfg, 0, sizeof cfg);
    cfg.struct_size = sizeof cfg;
    cfg.pipe_name = L"\\\\.\\pipe\\Pipes.Service";
    cfg.connect_timeout_ms = 5000;
    cfg.on_event = on_event;
    cfg.user_data = &box;
    st = pipes_client_connect(&cfg, &client);
    if (st != PIPES_OK) {
        fwprintf(stderr, L"example: cannot connect to PipesService: %hs (Win32 error %lu)\n",
                 pipes_status_string(st), pipes_last_system_error());
        CloseHandle(box.ready);
        return 1;
    }
    st = pipes_client_send_wait(client, msg, (size_t)len, 5000);
    if (st != PIPES_OK) {
        fwprintf(stderr, L"example: send failed: %hs\n", pipes_status_string(st));
    } else if (WaitForSingleObject(box.ready, REPLY_TIMEOUT_MS) != WAIT_OBJECT_0) {
        fwprintf(stderr, L"example: no reply within %u ms\n", REPLY_TIMEOUT_MS);
    } else if (box.text[0] == '\0') {
        fwprintf(stderr, L"example: the service closed the pipe without a reply\n");
    } else {
        printf("example: sent %s\nexample: reply %s\n", id, box.text);
        /* The reply is JSON; a plain search is enough for this example. */
        rc = strstr(box.text, "\"type\":\"accepted\"") ? 0 : 1;
    }
    pipes_client_close(client);
    CloseHandle(box.ready);
    fflush(stdout);
    return rc;
}
