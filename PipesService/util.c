/*
 * util.c - small helpers: time, UTF-8/UTF-16 conversion, directories with
 * a protected DACL, Win32 error text.
 */
#include "svc.h"

#include <aclapi.h>
#include <sddl.h>
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

/* Applies a protected DACL from sddl to an existing path. */
static DWORD apply_dacl(const wchar_t *path, const wchar_t *sddl)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    DWORD rc;

    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL))
        return GetLastError();
    if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) || !present) {
        LocalFree(sd);
        return ERROR_INVALID_SECURITY_DESCR;
    }
    rc = SetNamedSecurityInfoW((LPWSTR)path, SE_FILE_OBJECT,
                               DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                               NULL, NULL, dacl, NULL);
    LocalFree(sd);
    return rc;
}

DWORD svc_make_dir(const wchar_t *dir, const wchar_t *sddl)
{
    wchar_t buf[MAX_PATH];
    size_t i, len = wcslen(dir);
    SECURITY_ATTRIBUTES sa;
    PSECURITY_DESCRIPTOR sd = NULL;

    if (len == 0 || len >= MAX_PATH)
        return ERROR_BAD_PATHNAME;
    if (sddl && !ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd,
                                                                      NULL))
        return GetLastError();
    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = sd;
    sa.bInheritHandle = FALSE;
    wcscpy(buf, dir);
    /* Create every missing parent, then the directory itself, which gets
     * its DACL at creation: there is no moment with a default one. */
    for (i = 3; i <= len; i++) {
        if (buf[i] == L'\\' || buf[i] == L'/' || buf[i] == L'\0') {
            wchar_t saved = buf[i];
            buf[i] = L'\0';
            if (!CreateDirectoryW(buf, i == len && sd ? &sa : NULL)) {
                DWORD e = GetLastError();
                if (e != ERROR_ALREADY_EXISTS && e != ERROR_ACCESS_DENIED) {
                    LocalFree(sd);
                    return e;
                }
            }
            buf[i] = saved;
        }
    }
    LocalFree(sd);
    if (GetFileAttributesW(dir) == INVALID_FILE_ATTRIBUTES)
        return GetLastError();
    /* Also when it existed already (created by someone else, or earlier). */
    return sddl ? apply_dacl(dir, sddl) : ERROR_SUCCESS;
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
