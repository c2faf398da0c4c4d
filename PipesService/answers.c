/*
 * answers.c - a tray's `response` on the service's delivery connection
 * (docs/PROTOCOL.md 5a): validated with the protocol library, stored with
 * its question in the spool (spoolanswer.c; the session is the
 * connection's, not the tray's claim), and answered: `ack` only once it is
 * on disk, or `rejected` - permanent when it cannot answer anything here
 * (malformed, no such question in this session, not one of its actions),
 * temporary (internal_error) when the store failed, so the tray keeps it
 * and sends it again.
 */
#include "svc.h"

#include <string.h>
#include <wchar.h>

#include "messages.h"

/* Event 1021: who answered what, and how (the first answer and late ones). */
static void log_answer(const spool_viewer *v, const spool_answered *out,
                       const pipes_proto_answer *a)
{
    wchar_t id[PIPES_PROTO_MAX_ID + 1], ws[16], text[PIPES_PROTO_MAX_ACCOUNT + 160];
    wchar_t user[PIPES_PROTO_MAX_ACCOUNT + 1];
    const char *result = pipes_proto_result_name(a->result);
    svc_to_wide(out->id, strlen(out->id), id, PIPES_PROTO_MAX_ID + 1);
    if (svc_to_wide(a->user, a->user_len, user, PIPES_PROTO_MAX_ACCOUNT + 1) < 0)
        user[0] = L'\0';
    swprintf(ws, 16, L"%lu", (unsigned long)v->session);
    swprintf(text, sizeof text / sizeof text[0], L"%hs%hs%hs by %ls%ls (submitter %hs)",
             result ? result : "?", a->action[0] ? " " : "", a->action,
             user[0] ? user : L"an unknown user",
             out->outcome == SPOOL_ANSWER_LATE ? L", late: another session answered first"
                                               : L"",
             out->sid[0] ? out->sid : "none");
    svc_event(EVENTLOG_INFORMATION_TYPE, MSG_ANSWER, id, ws, text);
}

int answers_from_tray(spool *s, const spool_viewer *v, const void *data, size_t size,
                      char *reply, size_t cap, size_t *reply_len, spool_answered *out)
{
    pipes_proto_answer a;
    pipes_proto_error err;
    pipes_proto_reply r;
    pipes_proto_status st = pipes_proto_parse_answer(data, size, &a, &err);
    spool_result res = SPOOL_NOT_FOUND;
    const char *why = NULL;

    memset(out, 0, sizeof *out);
    if (st != PIPES_PROTO_OK) {
        pipes_proto_reply_for_error(&r, &err, a.id);
    } else if (a.type != PIPES_PROTO_TYPE_RESPONSE) {
        pipes_proto_reply_rejected(&r, a.id, PIPES_PROTO_REASON_NOT_ALLOWED,
                                   "a tray sends the service only responses and replies");
    } else {
        res = spool_answer(s, v, &a, svc_now_ms(), out, &why);
        if (res == SPOOL_OK) {
            pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_ACK, a.id);
            if (out->outcome != SPOOL_ANSWER_REPEAT)
                log_answer(v, out, &a);
        } else if (res == SPOOL_NOT_FOUND) {
            pipes_proto_reply_rejected(&r, a.id, PIPES_PROTO_REASON_NOT_ALLOWED, why);
        } else {
            pipes_proto_reply_rejected(&r, a.id, PIPES_PROTO_REASON_INTERNAL_ERROR,
                                       "the service could not store the response; retry later");
        }
    }
    *reply_len = 0;
    if (pipes_proto_write_reply(&r, reply, cap, reply_len) != PIPES_PROTO_OK)
        *reply_len = 0;
    return res == SPOOL_OK && out->outcome == SPOOL_ANSWER_WON;
}
