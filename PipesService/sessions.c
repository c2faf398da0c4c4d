/*
 * sessions.c - which interactive sessions exist: WTSEnumerateSessionsW
 * (sessions with a user: active, connected or disconnected) plus the
 * active console session, since Wine's enumeration returns none. Session 0
 * is never interactive. A session's user is that of the session whose
 * processes serve it (sessionhost.c: itself, in the product).
 */
#include "svc.h"

#include <wtsapi32.h>
#include <wchar.h>

static void add_unique(uint32_t *out, size_t cap, size_t *n, uint32_t id)
{
    size_t i;
    if (id == 0 || id == 0xFFFFFFFFu)
        return;
    for (i = 0; i < *n; i++)
        if (out[i] == id)
            return;
    if (*n < cap)
        out[(*n)++] = id;
}

size_t svc_sessions_enumerate(uint32_t *out, size_t cap)
{
    WTS_SESSION_INFOW *info = NULL;
    DWORD count = 0, i;
    size_t n = 0, real, j;

    if (WTSEnumerateSessionsW(WTS_CURRENT_SERVER_HANDLE, 0, 1, &info, &count)) {
        for (i = 0; i < count; i++) {
            WTS_CONNECTSTATE_CLASS st = info[i].State;
            if (st == WTSActive || st == WTSConnected || st == WTSDisconnected) {
                char user[8];
                /* A session without a user (the logon screen) has no tray. */
                svc_session_user(info[i].SessionId, user, sizeof user);
                if (user[0] != '\0' || st == WTSActive)
                    add_unique(out, cap, &n, info[i].SessionId);
            }
        }
        WTSFreeMemory(info);
    }
    add_unique(out, cap, &n, WTSGetActiveConsoleSessionId());
    /* Sessions played by these (none in the product: sessionhost.c). */
    for (real = n, j = 0; j < real; j++)
        add_unique(out, cap, &n, svc_session_stand_in(out[j]));
    return n;
}

static int query_string(uint32_t session, WTS_INFO_CLASS cls, wchar_t *out, size_t cap)
{
    LPWSTR buf = NULL;
    DWORD bytes = 0;
    int ok = 0;
    if (WTSQuerySessionInformationW(WTS_CURRENT_SERVER_HANDLE, svc_session_host(session), cls,
                                    &buf, &bytes) &&
        buf) {
        if (wcslen(buf) < cap) {
            wcscpy(out, buf);
            ok = buf[0] != L'\0';
        }
        WTSFreeMemory(buf);
    }
    if (!ok && cap)
        out[0] = L'\0';
    return ok;
}

void svc_session_user(uint32_t session, char *out, size_t cap)
{
    wchar_t user[256], domain[256], both[520];
    if (cap == 0)
        return;
    out[0] = '\0';
    if (!query_string(session, WTSUserName, user, 256))
        return;
    if (query_string(session, WTSDomainName, domain, 256))
        swprintf(both, 520, L"%ls\\%ls", domain, user);
    else
        swprintf(both, 520, L"%ls", user);
    if (svc_to_utf8(both, out, cap) < 0)
        out[0] = '\0';
}

void svc_session_user_sid(uint32_t session, char *out, size_t cap)
{
    char user[520];
    if (cap == 0)
        return;
    out[0] = '\0';
    svc_session_user(session, user, sizeof user);
    if (user[0] && svc_account_sid(user, out, cap) != ERROR_SUCCESS)
        out[0] = '\0';
}

int svc_session_exists(uint32_t session)
{
    uint32_t ids[SVC_MAX_SESSIONS];
    size_t n = svc_sessions_enumerate(ids, SVC_MAX_SESSIONS), i;
    for (i = 0; i < n; i++)
        if (ids[i] == session)
            return 1;
    return 0;
}
