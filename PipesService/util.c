/*
 * util.c - small helpers: time, UTF-8/UTF-16 conversion, Win32 error text.
 * (Folders: safedir.c.)
 */
#include "svc.h"

#include <wchar.h>

int64_t svc_now_ms(void)
{
    FILETIME ft;
    ULARGE_INTEGER u;
    GetSystemTimeAsFileTime(&ft);
    u.LowPart = ft.dwLowDateTime;
    u.HighPart = ft.dwHighDateTime;
    return pipes_proto_time_from_filetime(u.QuadPart);
}

int svc_to_utf8(const wchar_t *in, char *out, size_t cap)
{
    int n;
    if (!out || cap == 0 || cap > INT_MAX)
        return -1;
    n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, in, -1, out, (int)cap, NULL, NULL);
    if (n <= 0) {
        out[0] = '\0';
        return -1;
    }
    return n - 1;
}

int svc_to_wide(const char *in, size_t len, wchar_t *out, size_t cap)
{
    int n = 0;
    if (!out || cap < 1 || cap > INT_MAX || len > INT_MAX)
        return -1;
    if (len > 0) {
        n = MultiByteToWideChar(CP_UTF8, 0, in, (int)len, out, (int)cap - 1);
        if (n <= 0) {
            out[0] = L'\0';
            return -1;
        }
    }
    out[n] = L'\0';
    return n;
}

void svc_win32_text(DWORD error, wchar_t *out, size_t cap)
{
    DWORD n;
    if (cap == 0)
        return;
    n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, error, 0,
                       out, (DWORD)cap, NULL);
    if (n == 0) {
        swprintf(out, cap, L"Win32 error %lu", (unsigned long)error);
        return;
    }
    while (n > 0 && (out[n - 1] == L'\n' || out[n - 1] == L'\r' || out[n - 1] == L' ' ||
                     out[n - 1] == L'.'))
        out[--n] = L'\0';
}
