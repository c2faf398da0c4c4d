/*
 * security.h - security descriptors for pipe instances and the identity of
 * the process at the other end of a pipe.
 */
#ifndef PIPES_SECURITY_H
#define PIPES_SECURITY_H

#include <windows.h>

#include "pipes.h"

/* How a connection keeps its peer's identity: the user SID in binary (a
 * user SID takes 28 bytes, its string form up to 384), turned into a
 * pipes_peer_identity only when one is handed out. */
typedef struct pipes_peer {
    uint32_t process_id;
    uint32_t session_id;
    BYTE sid[SECURITY_MAX_SID_SIZE]; /* a SID, or all zero when unknown */
} pipes_peer;

/* The owner of the pipe instance h is a handle to, as a SID string
 * (GetSecurityInfo, OWNER_SECURITY_INFORMATION; the handle needs
 * READ_CONTROL, which GENERIC_READ includes). */
pipes_status pipes_security_pipe_owner(HANDLE h, wchar_t *out, size_t cap);

/* The public form of *peer (SID as a string, "" when unknown). */
void pipes_peer_identity_of(const pipes_peer *peer, pipes_peer_identity *out);

/* Builds the security descriptor every instance of a server gets: from
 * `sddl`, or when NULL the default (owner: the calling process's user;
 * DACL, protected: full access for LocalSystem, Administrators and that
 * user, nobody else). *sd is freed with LocalFree.
 * PIPES_ERR_INVALID_ARGUMENT for an SDDL string Windows cannot parse. */
pipes_status pipes_security_descriptor(const wchar_t *sddl, PSECURITY_DESCRIPTOR *sd);

/* The SID string of the user the current process runs as. */
pipes_status pipes_security_process_user(HANDLE process, wchar_t *out, size_t out_chars);

/* Identity of the client connected to a server instance, at connect time:
 * process id and session id, as the pipe recorded them when the client
 * opened it. The user is not known yet (pipes_security_client_token). */
void pipes_security_client_identity(HANDLE pipe, pipes_peer *out);

/* The client's token as the pipe knows it, by identification-level
 * impersonation (reverted at once; a failed revert ends the process).
 * Windows allows it only after a message was read from the pipe. NULL and
 * *error set when it cannot be had (e.g. ERROR_CANNOT_IMPERSONATE before a
 * read, ERROR_CANT_OPEN_ANONYMOUS for an anonymous client). The caller
 * closes the token. */
HANDLE pipes_security_client_token(HANDLE pipe, DWORD *error);

/* The SID string of a token's user. */
pipes_status pipes_security_token_user(HANDLE token, wchar_t *out, size_t out_chars);

/* Copies a token's user SID into sid (SECURITY_MAX_SID_SIZE bytes);
 * nonzero on success. */
int pipes_security_token_sid(HANDLE token, BYTE *sid);

/* Identity of the process serving `pipe` (client side): process id,
 * session id, and user SID when its token can be read (it often cannot for
 * a LocalSystem server seen from a user process: then ""). */
void pipes_security_server_identity(HANDLE pipe, pipes_peer *out);

/* Checks a server identity against the required session (if
 * require_session) and SID (if not NULL). Fails closed: an identity that
 * could not be read does not match. */
pipes_status pipes_security_check_server(const pipes_peer *server, int require_session,
                                         uint32_t session, const wchar_t *sid);

#endif /* PIPES_SECURITY_H */
