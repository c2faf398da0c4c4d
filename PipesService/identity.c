/*
 * identity.c - who a submitter is (docs/SECURITY.md "Senders, abuse and
 * the tray pipe"): read from the token the pipe gives for the
 * connection (pipes_server_get_peer_token: identification level, taken by
 * the library before the first message), never from the message. A client
 * whose token cannot be had, or is anonymous, is no one the service can
 * hold to account: it is refused.
 */
#include "svc.h"

#include <sddl.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* Reads a token information class into buf (cap bytes); 0 on failure. */
static int token_info(HANDLE token, TOKEN_INFORMATION_CLASS cls, void *buf, DWORD cap)
{
    DWORD need = 0;
    return GetTokenInformation(token, cls, buf, cap, &need) != 0;
}

static int sid_text(PSID sid, char *out, size_t cap)
{
    LPWSTR text = NULL;
    int ok = ConvertSidToStringSidW(sid, &text) && svc_to_utf8(text, out, cap) > 0;
    if (text)
        LocalFree(text);
    return ok;
}

/* "DOMAIN\name" of sid in UTF-8, or "" when it does not resolve. */
static void account_of(PSID sid, char *out, size_t cap)
{
    wchar_t name[256], domain[256], both[520];
    DWORD nn = 256, dn = 256;
    SID_NAME_USE use;
    out[0] = '\0';
    if (!LookupAccountSidW(NULL, sid, name, &nn, domain, &dn, &use))
        return;
    if (domain[0])
        swprintf(both, 520, L"%ls\\%ls", domain, name);
    else
        swprintf(both, 520, L"%ls", name);
    if (svc_to_utf8(both, out, cap) < 0)
        out[0] = '\0';
}

static int is_admin(HANDLE token)
{
    BYTE admins[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof admins;
    BOOL member = FALSE;
    /* An identification-level impersonation token is what CheckTokenMembership
     * wants; a UAC-filtered administrator has the group deny-only: not a member. */
    return CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, admins, &size) &&
           CheckTokenMembership(token, admins, &member) && member;
}

/* What tells apart the programs sharing a system account: the executable of
 * the client process (the pipe's record of its id); if that cannot be read
 * (a less privileged service cannot open a LocalSystem process), the
 * service SID (S-1-5-80-...) the token carries; else the process id. */
static void program_of(HANDLE token, uint32_t pid, char *out, size_t cap)
{
    union {
        TOKEN_GROUPS groups;
        BYTE raw[8192];
    } g;
    wchar_t path[MAX_PATH * 2];
    DWORD n = MAX_PATH * 2, i;
    HANDLE process = pid ? OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid) : NULL;
    int ok = process && QueryFullProcessImageNameW(process, 0, path, &n) &&
             svc_to_utf8(path, out, cap) > 0;
    if (process)
        CloseHandle(process);
    if (ok)
        return;
    if (token_info(token, TokenGroups, &g, sizeof g)) {
        for (i = 0; i < g.groups.GroupCount; i++) {
            char sid[PIPES_PROTO_MAX_SID + 1];
            if ((g.groups.Groups[i].Attributes & SE_GROUP_ENABLED) &&
                sid_text(g.groups.Groups[i].Sid, sid, sizeof sid) &&
                strncmp(sid, "S-1-5-80-", 9) == 0 && strlen(sid) < cap) {
                strcpy(out, sid);
                return;
            }
        }
    }
    snprintf(out, cap, "pid %lu", (unsigned long)pid);
}

int svc_token_is_privileged(HANDLE token)
{
    union {
        TOKEN_USER user;
        BYTE raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } u;
    char sid[PIPES_PROTO_MAX_SID + 1];
    if (!token_info(token, TokenUser, &u, sizeof u) || !sid_text(u.user.User.Sid, sid, sizeof sid))
        return 0;
    return IsWellKnownSid(u.user.User.Sid, WinLocalSystemSid) ||
           strncmp(sid, "S-1-5-80-", 9) == 0 || is_admin(token);
}

int svc_identity_from_token(HANDLE token, uint32_t pid, svc_identity *out, const char **why)
{
    union {
        TOKEN_USER user;
        BYTE raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } u;
    char sid[PIPES_PROTO_MAX_SID + 1], account[PIPES_PROTO_MAX_ACCOUNT + 1];
    pipes_proto_sender_kind kind = PIPES_PROTO_SENDER_USER;
    PSID user;

    memset(out, 0, sizeof *out);
    if (!token_info(token, TokenUser, &u, sizeof u) ||
        !sid_text(u.user.User.Sid, sid, sizeof sid)) {
        *why = "its token names no user";
        return 0;
    }
    user = u.user.User.Sid;
    if (IsWellKnownSid(user, WinAnonymousSid)) {
        *why = "it is anonymous";
        return 0;
    }
    if (IsWellKnownSid(user, WinLocalSystemSid) || IsWellKnownSid(user, WinLocalServiceSid) ||
        IsWellKnownSid(user, WinNetworkServiceSid))
        kind = PIPES_PROTO_SENDER_SYSTEM;
    else if (strncmp(sid, "S-1-5-80-", 9) == 0)
        kind = PIPES_PROTO_SENDER_SERVICE; /* a service's own (virtual) account */
    account_of(user, account, sizeof account);
    if (pipes_proto_sender_set(&out->sender, kind, account, sid, NULL) != PIPES_PROTO_OK &&
        pipes_proto_sender_set(&out->sender, kind, NULL, sid, NULL) != PIPES_PROTO_OK) {
        *why = "its SID is not one the protocol can carry";
        return 0;
    }
    out->privileged = kind != PIPES_PROTO_SENDER_USER || is_admin(token);
    svc_identity_set_key(out, token, pid);
    return 1;
}

void svc_identity_set_key(svc_identity *id, HANDLE token, uint32_t pid)
{
    size_t len;
    snprintf(id->key, sizeof id->key, "%s", id->sender.sid);
    if (id->sender.kind != PIPES_PROTO_SENDER_SYSTEM)
        return;
    len = strlen(id->key);
    id->key[len++] = '|';
    program_of(token, pid, id->key + len, sizeof id->key - len);
}

DWORD svc_account_sid(const char *name, char *out, size_t cap)
{
    wchar_t wname[PIPES_PROTO_MAX_USER + 1], domain[256];
    BYTE sid[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof sid, dn = 256;
    SID_NAME_USE use;
    if (svc_to_wide(name, strlen(name), wname, PIPES_PROTO_MAX_USER + 1) <= 0)
        return ERROR_INVALID_PARAMETER;
    if (!LookupAccountNameW(NULL, wname, sid, &size, domain, &dn, &use))
        return GetLastError();
    return sid_text(sid, out, cap) ? ERROR_SUCCESS : ERROR_INVALID_SID;
}
