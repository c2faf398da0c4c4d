/*
 * policy.c - who may notify whom (docs/SERVICE.md "Who may notify whom"),
 * applied to each submission after its sender is known:
 *   - administrators, the system accounts and services reach any session;
 *   - a standard user, while StandardUserReach is 0 (the default), reaches
 *     only his own sessions: an untargeted notification is turned into one
 *     for his own SID (spool_next matches it against each session's user
 *     SID), and a target of another session or user is refused not_allowed;
 *   - a standard user's ttl is cut to MaxUserTtlSeconds;
 *   - a target user that no account has is refused; a record for a session
 *     that does not exist now keeps at most AbsentSessionTtlSeconds.
 */
#include "svc.h"

#include <stdio.h>
#include <string.h>

/* The SID a target user names: itself when it is a SID string, else the
 * account's. Returns a Win32 error (ERROR_NONE_MAPPED: no such account). */
static DWORD target_sid(const pipes_proto_notification *n, char *out, size_t cap)
{
    if (strncmp(n->target_user, "S-1-", 4) == 0) {
        if (!pipes_proto_sid_valid(n->target_user, n->target_user_len) ||
            n->target_user_len >= cap)
            return ERROR_NONE_MAPPED;
        memcpy(out, n->target_user, n->target_user_len + 1);
        return ERROR_SUCCESS;
    }
    return svc_account_sid(n->target_user, out, cap);
}

static void set_target_sid(pipes_proto_notification *n, const pipes_proto_sender *to)
{
    n->target = PIPES_PROTO_TARGET_USER;
    memcpy(n->target_user, to->sid, to->sid_len + 1);
    n->target_user_len = to->sid_len;
}

static void cap_ttl(const svc_config *cfg, pipes_proto_notification *n, uint32_t max)
{
    uint32_t ttl = n->has_ttl ? n->ttl : cfg->default_ttl;
    if (ttl > max) {
        n->has_ttl = 1;
        n->ttl = max;
    }
}

pipes_proto_reason svc_policy_apply(const svc_config *cfg, const svc_identity *who,
                                    pipes_proto_notification *n, char *detail, size_t cap)
{
    char sid[PIPES_PROTO_MAX_SID + 1] = "";
    int own_only = !who->privileged && cfg->standard_user_reach == 0;
    const char *self = who->sender.sid;

    if (n->target == PIPES_PROTO_TARGET_USER) {
        DWORD rc = target_sid(n, sid, sizeof sid);
        if (rc == ERROR_NONE_MAPPED) {
            snprintf(detail, cap, "no account is named \"%s\"", n->target_user);
            return PIPES_PROTO_REASON_NOT_ALLOWED;
        }
        if (rc != ERROR_SUCCESS)
            sid[0] = '\0'; /* cannot be resolved now (e.g. no domain controller) */
    }
    if (own_only) {
        switch (n->target) {
        case PIPES_PROTO_TARGET_SESSION:
            svc_session_user_sid(n->target_session, sid, sizeof sid);
            if (_stricmp(sid, self) != 0) {
                snprintf(detail, cap, "session %lu is not yours: a standard user may notify "
                                      "only his own sessions (StandardUserReach)",
                         (unsigned long)n->target_session);
                return PIPES_PROTO_REASON_NOT_ALLOWED;
            }
            break;
        case PIPES_PROTO_TARGET_USER:
            if (_stricmp(sid, self) != 0) {
                snprintf(detail, cap, "\"%s\" is not you: a standard user may notify only "
                                      "his own sessions (StandardUserReach)",
                         n->target_user);
                return PIPES_PROTO_REASON_NOT_ALLOWED;
            }
            set_target_sid(n, &who->sender);
            break;
        default:
            set_target_sid(n, &who->sender); /* his own sessions, not every desktop */
            break;
        }
        cap_ttl(cfg, n, cfg->user_max_ttl);
    }
    if (n->target == PIPES_PROTO_TARGET_SESSION && !svc_session_exists(n->target_session))
        cap_ttl(cfg, n, cfg->absent_session_ttl);
    return PIPES_PROTO_REASON_NONE;
}
