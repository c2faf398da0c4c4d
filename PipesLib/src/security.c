/*
 * security.c - pipe security descriptors and peer identity.
 */
#include "security.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "runtime.h"

pipes_status pipes_security_token_user(HANDLE token, wchar_t *out, size_t out_chars)
{
    union {
        TOKEN_USER user;
        BYTE bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } info;
    DWORD len = 0;
    LPWSTR text = NULL;
    pipes_status st = PIPES_OK;

    if (!GetTokenInformation(token, TokenUser, &info, sizeof info, &len))
        return pipes_fail_system(PIPES_ERR_SYSTEM, GetLastError());
    if (!ConvertSidToStringSidW(info.user.User.Sid, &text))
        return pipes_fail_system(PIPES_ERR_SYSTEM, GetLastError());
    if (wcslen(text) >= out_chars)
        st = PIPES_ERR_SYSTEM;
    else
        wcscpy(out, text);
    LocalFree(text);
    return st;
}

int pipes_security_token_sid(HANDLE token, BYTE *sid)
{
    union {
        TOKEN_USER user;
        BYTE bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } info;
    DWORD len = 0;
    return GetTokenInformation(token, TokenUser, &info, sizeof info, &len) &&
           CopySid(SECURITY_MAX_SID_SIZE, sid, info.user.User.Sid);
}

/* The user SID of a process's token, when this process may read it. */
static int process_sid(DWORD pid, BYTE *sid)
{
    HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    HANDLE token;
    int ok = 0;
    if (!process)
        return 0;
    if (OpenProcessToken(process, TOKEN_QUERY, &token)) {
        ok = pipes_security_token_sid(token, sid);
        CloseHandle(token);
    }
    CloseHandle(process);
    return ok;
}

pipes_status pipes_security_pipe_owner(HANDLE h, wchar_t *out, size_t cap)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PSID owner = NULL;
    LPWSTR text = NULL;
    pipes_status st = PIPES_ERR_SYSTEM;
    DWORD rc = GetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL,
                               NULL, NULL, &sd);
    if (rc != ERROR_SUCCESS)
        return pipes_fail_system(PIPES_ERR_SYSTEM, rc);
    if (owner && IsValidSid(owner) && ConvertSidToStringSidW(owner, &text)) {
        st = wcslen(text) < cap ? PIPES_OK : PIPES_ERR_INVALID_ARGUMENT;
        if (st == PIPES_OK)
            wcscpy(out, text);
        LocalFree(text);
    }
    LocalFree(sd);
    return st;
}

void pipes_peer_identity_of(const pipes_peer *peer, pipes_peer_identity *out)
{
    LPWSTR text = NULL;
    out->process_id = peer->process_id;
    out->session_id = peer->session_id;
    out->user_sid[0] = L'\0';
    if (IsValidSid((PSID)peer->sid) && ConvertSidToStringSidW((PSID)peer->sid, &text)) {
        if (wcslen(text) < PIPES_MAX_SID_STRING)
            wcscpy(out->user_sid, text);
        LocalFree(text);
    }
}

pipes_status pipes_security_process_user(HANDLE process, wchar_t *out, size_t out_chars)
{
    HANDLE token;
    pipes_status st;
    if (!OpenProcessToken(process, TOKEN_QUERY, &token))
        return pipes_fail_system(PIPES_ERR_SYSTEM, GetLastError());
    st = pipes_security_token_user(token, out, out_chars);
    CloseHandle(token);
    return st;
}

pipes_status pipes_security_descriptor(const wchar_t *sddl, PSECURITY_DESCRIPTOR *sd)
{
    wchar_t user[PIPES_MAX_SID_STRING];
    wchar_t built[4 * PIPES_MAX_SID_STRING];
    pipes_status st;

    if (!sddl) {
        st = pipes_security_process_user(GetCurrentProcess(), user, PIPES_MAX_SID_STRING);
        if (st != PIPES_OK)
            return st;
        /* P = protected: nothing inherited. GA = generic all, mapped by the
         * pipe to FILE_ALL_ACCESS. No Everyone/Anonymous entries, unlike
         * the default named-pipe DACL. */
        if (swprintf(built, sizeof built / sizeof built[0],
                     L"O:%lsD:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;%ls)", user, user) < 0)
            return PIPES_ERR_SYSTEM;
        sddl = built;
    }
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, sd, NULL))
        return pipes_fail_system(PIPES_ERR_INVALID_ARGUMENT, GetLastError());
    return PIPES_OK;
}

void pipes_security_client_identity(HANDLE pipe, pipes_peer *out)
{
    ULONG pid = 0, session = 0;

    memset(out, 0, sizeof *out);
    if (GetNamedPipeClientProcessId(pipe, &pid))
        out->process_id = pid;
    /* The session the pipe recorded when the client opened it: no process
     * id that could be reused in between. */
    if (GetNamedPipeClientSessionId(pipe, &session))
        out->session_id = session;
    else if (pid && ProcessIdToSessionId(pid, &session))
        out->session_id = session;
    /* No user yet: the pipe tells who the client is only once a message
     * was read (pipes_security_client_token). Reading the token of the
     * process with that id instead would be wrong as well as costly: a
     * client that exited at once may have had its id reused, and a less
     * privileged server cannot read other users' processes anyway. */
}

HANDLE pipes_security_client_token(HANDLE pipe, DWORD *error)
{
    HANDLE token = NULL;
    *error = 0;
    /* Identification level at most (our clients ask for it; the SQOS of
     * any client caps what we get): the token answers who, never acts. */
    if (!ImpersonateNamedPipeClient(pipe)) {
        *error = GetLastError();
        return NULL;
    }
    if (!OpenThreadToken(GetCurrentThread(), TOKEN_QUERY | TOKEN_DUPLICATE, TRUE, &token)) {
        *error = GetLastError();
        token = NULL;
    }
    /* Failing to revert would leave a worker thread running as the
     * client: unacceptable, so stop the process. */
    if (!RevertToSelf())
        FatalAppExitW(0, L"PipesLib: RevertToSelf failed");
    return token;
}

void pipes_security_server_identity(HANDLE pipe, pipes_peer *out)
{
    ULONG pid = 0, session = 0;

    memset(out, 0, sizeof *out);
    out->session_id = (uint32_t)-1; /* unknown: matches no required session */
    if (!GetNamedPipeServerProcessId(pipe, &pid))
        return;
    out->process_id = pid;
    if (GetNamedPipeServerSessionId(pipe, &session))
        out->session_id = session;
    else if (ProcessIdToSessionId(pid, &session))
        out->session_id = session;
    if (!process_sid(pid, out->sid))
        memset(out->sid, 0, sizeof out->sid);
}

pipes_status pipes_security_check_server(const pipes_peer *server, int require_session,
                                         uint32_t session, const wchar_t *sid)
{
    pipes_peer_identity id;
    if (server->process_id == 0)
        return PIPES_ERR_SERVER_IDENTITY_MISMATCH;
    if (require_session && server->session_id != session)
        return PIPES_ERR_SERVER_IDENTITY_MISMATCH;
    if (sid) {
        pipes_peer_identity_of(server, &id);
        if (id.user_sid[0] == L'\0' || _wcsicmp(id.user_sid, sid) != 0)
            return PIPES_ERR_SERVER_IDENTITY_MISMATCH;
    }
    return PIPES_OK;
}
