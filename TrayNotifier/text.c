/*
 * text.c - UTF-8 <-> UTF-16 conversions. The protocol and the history file
 * are UTF-8; every Windows API the app calls takes UTF-16.
 */
#include "app.h"

#include <stdlib.h>

wchar_t *text_utf8_to_wide(const char *utf8, size_t len)
{
    int n;
    wchar_t *out;
    if (len > (size_t)INT_MAX / 2) {
        return NULL;
    }
    n = len ? MultiByteToWideChar(CP_UTF8, 0, utf8, (int)len, NULL, 0) : 0;
    if (len && n <= 0) {
        return NULL;
    }
    out = (wchar_t *)malloc(((size_t)n + 1) * sizeof(wchar_t));
    if (!out) {
        return NULL;
    }
    if (n) {
        MultiByteToWideChar(CP_UTF8, 0, utf8, (int)len, out, n);
    }
    out[n] = L'\0';
    return out;
}

size_t text_utf8_to_wide_buf(const char *utf8, size_t len, wchar_t *out, size_t cap)
{
    wchar_t *all;
    if (cap == 0) {
        return 0;
    }
    all = text_utf8_to_wide(utf8, len);
    if (!all) {
        out[0] = L'\0';
        return 0;
    }
    tray_copy_truncated(out, cap, all);
    free(all);
    return wcslen(out);
}

char *text_wide_to_utf8(const wchar_t *wide)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, wide, -1, NULL, 0, NULL, NULL);
    char *out;
    if (n <= 0) {
        return NULL;
    }
    out = (char *)malloc((size_t)n);
    if (out && WideCharToMultiByte(CP_UTF8, 0, wide, -1, out, n, NULL, NULL) <= 0) {
        free(out);
        out = NULL;
    }
    return out;
}
