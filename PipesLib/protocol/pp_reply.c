/*
 * pp_reply.c - replies: accepted, rejected, ack, displayed.
 */
#include "pp_internal.h"

#include <string.h>

static const char *const type_names[] = {NULL, "accepted", "rejected", "ack", "displayed"};

static int type_valid(pipes_proto_reply_type t)
{
    return t >= PIPES_PROTO_REPLY_ACCEPTED && t <= PIPES_PROTO_REPLY_DISPLAYED;
}

pipes_proto_status pipes_proto_reply_init(pipes_proto_reply *out, pipes_proto_reply_type type,
                                          const char *id)
{
    if (out == NULL || !type_valid(type))
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    size_t len = id ? pp_strnlen(id, PIPES_PROTO_MAX_ID + 1) : 0;
    if (len == 0 ? type != PIPES_PROTO_REPLY_REJECTED : !pipes_proto_id_valid(id, len))
        return PIPES_PROTO_ERR_BAD_ID;
    out->type = type;
    pp_copy(out->id, id ? id : "", len);
    out->id_len = len;
    return PIPES_PROTO_OK;
}

/* Copies UTF-8 text, cut at a character boundary to fit max bytes. */
static size_t copy_truncated(char *dst, const char *src, size_t len, size_t max)
{
    if (len > max) {
        len = max;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--; /* src[len] continues a character: cut before it */
    }
    pp_copy(dst, src, len);
    return len;
}

void pipes_proto_reply_for_error(pipes_proto_reply *out, const pipes_proto_error *error,
                                 const char *id)
{
    if (out == NULL)
        return;
    size_t len = id ? pp_strnlen(id, PIPES_PROTO_MAX_ID + 1) : 0;
    if (len == 0 || !pipes_proto_id_valid(id, len))
        id = NULL; /* never echo an id that is not one */
    pipes_proto_reply_init(out, PIPES_PROTO_REPLY_REJECTED, id);
    out->reason = PIPES_PROTO_REASON_MALFORMED;
    if (error == NULL || error->status == PIPES_PROTO_OK)
        return;
    out->reason = pipes_proto_reason_for_status(error->status);
    const char *code = pipes_proto_status_code(error->status);
    pp_copy(out->error, code, strlen(code));
    out->has_offset = 1;
    out->offset = error->offset;
    out->detail_len = pipes_proto_error_text(error, out->detail, sizeof out->detail);
}

pipes_proto_status pipes_proto_reply_rejected(pipes_proto_reply *out, const char *id,
                                              pipes_proto_reason reason, const char *detail)
{
    size_t bad;
    if (out == NULL || pipes_proto_reason_name(reason) == NULL)
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    size_t dlen = detail ? strlen(detail) : 0;
    if (detail && pp_text_check(detail, dlen, &bad) != PIPES_PROTO_OK)
        return PIPES_PROTO_ERR_INVALID_UTF8;
    pipes_proto_status st = pipes_proto_reply_init(out, PIPES_PROTO_REPLY_REJECTED, id);
    if (st != PIPES_PROTO_OK)
        return st;
    out->reason = reason;
    out->detail_len = copy_truncated(out->detail, detail ? detail : "", dlen, PIPES_PROTO_MAX_DETAIL);
    return PIPES_PROTO_OK;
}

static pipes_proto_status validate_reply(const pipes_proto_reply *r)
{
    size_t bad;
    if (r == NULL || !type_valid(r->type))
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    if (r->id_len == 0 ? r->type != PIPES_PROTO_REPLY_REJECTED
                       : !pipes_proto_id_valid(r->id, r->id_len))
        return PIPES_PROTO_ERR_BAD_ID;
    if (r->type != PIPES_PROTO_REPLY_REJECTED)
        return PIPES_PROTO_OK;
    if (pipes_proto_reason_name(r->reason) == NULL)
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    size_t elen = pp_strnlen(r->error, sizeof r->error);
    if (elen > PIPES_PROTO_MAX_ERROR_CODE || r->detail_len > PIPES_PROTO_MAX_DETAIL)
        return PIPES_PROTO_ERR_FIELD_TOO_LONG;
    pipes_proto_status st = pp_text_check(r->error, elen, &bad);
    if (st == PIPES_PROTO_OK)
        st = pp_text_check(r->detail, r->detail_len, &bad);
    return st;
}

pipes_proto_status pipes_proto_write_reply(const pipes_proto_reply *reply, char *buf, size_t cap,
                                           size_t *written)
{
    pp_writer w;
    pipes_proto_status st = pp_w_begin(&w, buf, cap, written, validate_reply(reply));
    if (st != PIPES_PROTO_OK)
        return st;
    pp_w_lit(&w, "{\"v\":1,\"type\":\"");
    pp_w_lit(&w, type_names[reply->type]);
    pp_w_lit(&w, "\"");
    if (reply->id_len > 0) {
        pp_w_lit(&w, ",\"id\":");
        pp_w_string(&w, reply->id, reply->id_len);
    }
    if (reply->type == PIPES_PROTO_REPLY_REJECTED) {
        pp_w_lit(&w, ",\"reason\":\"");
        pp_w_lit(&w, pipes_proto_reason_name(reply->reason));
        pp_w_lit(&w, "\"");
        if (reply->error[0] != '\0') {
            pp_w_lit(&w, ",\"error\":");
            pp_w_string(&w, reply->error, strlen(reply->error));
        }
        if (reply->has_offset) {
            pp_w_lit(&w, ",\"offset\":");
            pp_w_uint(&w, reply->offset);
        }
        if (reply->detail_len > 0) {
            pp_w_lit(&w, ",\"detail\":");
            pp_w_string(&w, reply->detail, reply->detail_len);
        }
    }
    if (reply->type == PIPES_PROTO_REPLY_DISPLAYED && reply->has_session) {
        pp_w_lit(&w, ",\"session\":");
        pp_w_uint(&w, reply->session);
    }
    pp_w_lit(&w, "}");
    return pp_w_finish(&w, written);
}

/* ------------------------------------------------------------------------ */
/* Parse                                                                    */
/* ------------------------------------------------------------------------ */

#define TOO_LONG PIPES_PROTO_ERR_FIELD_TOO_LONG

enum { SEEN_V = 1, SEEN_TYPE = 2, SEEN_ID = 4, SEEN_REASON = 8 };

static void reply_member(pp_cursor *c, const char *key, void *out_, pipes_proto_error *err,
                         unsigned *seen)
{
    pipes_proto_reply *out = (pipes_proto_reply *)out_;
    char buf[PIPES_PROTO_MAX_ERROR_CODE + 1];
    size_t len = 0;
    size_t at = c->pos;
    uint64_t v = 0;

    if (strcmp(key, "v") == 0) {
        *seen |= SEEN_V;
        pp_read_version(c, err);
    } else if (strcmp(key, "type") == 0) {
        *seen |= SEEN_TYPE;
        if (pp_cursor_kind(c) == PP_STRING) {
            len = pp_cursor_string(c, buf, sizeof buf);
            for (int t = PIPES_PROTO_REPLY_ACCEPTED; t <= PIPES_PROTO_REPLY_DISPLAYED; t++) {
                if (len < sizeof buf && strcmp(buf, type_names[t]) == 0)
                    out->type = (pipes_proto_reply_type)t;
            }
            if (out->type == 0)
                pp_set_error(err, PIPES_PROTO_ERR_BAD_MESSAGE_TYPE, at, "type", 0);
        } else {
            pp_set_error(err, PIPES_PROTO_ERR_WRONG_TYPE, at, "type", 0);
            pp_cursor_skip(c);
        }
    } else if (pp_cursor_kind(c) == PP_NULL) {
        pp_cursor_skip(c); /* the other fields are optional: null = absent */
    } else if (strcmp(key, "id") == 0) {
        if (pp_read_text(c, err, "id", out->id, PIPES_PROTO_MAX_ID, &out->id_len,
                       PIPES_PROTO_ERR_BAD_ID)) {
            if (pipes_proto_id_valid(out->id, out->id_len)) {
                *seen |= SEEN_ID;
            } else {
                pp_set_error(err, PIPES_PROTO_ERR_BAD_ID, at, "id", 0);
                out->id[0] = '\0';
                out->id_len = 0;
            }
        }
    } else if (strcmp(key, "reason") == 0) {
        if (pp_read_text(c, err, "reason", buf, PIPES_PROTO_MAX_ERROR_CODE, &len, TOO_LONG)) {
            out->reason = pp_reason_from_name(buf);
            *seen |= SEEN_REASON;
        }
    } else if (strcmp(key, "error") == 0) {
        pp_read_text(c, err, "error", out->error, PIPES_PROTO_MAX_ERROR_CODE, &len, TOO_LONG);
    } else if (strcmp(key, "offset") == 0) {
        out->has_offset =
            pp_read_uint(c, err, "offset", 0, UINT64_MAX, PIPES_PROTO_ERR_OUT_OF_RANGE, &out->offset);
    } else if (strcmp(key, "detail") == 0) {
        pp_read_text(c, err, "detail", out->detail, PIPES_PROTO_MAX_DETAIL, &out->detail_len,
                   TOO_LONG);
    } else if (strcmp(key, "session") == 0) {
        if (pp_read_uint(c, err, "session", 0, UINT32_MAX, PIPES_PROTO_ERR_OUT_OF_RANGE, &v)) {
            out->session = (uint32_t)v;
            out->has_session = 1;
        }
    } else {
        pp_cursor_skip(c); /* unknown field: ignored */
    }
}

pipes_proto_status pipes_proto_parse_reply(const void *data, size_t size, pipes_proto_reply *out,
                                           pipes_proto_error *error)
{
    pipes_proto_error local;
    unsigned seen = 0;
    size_t end = 0;
    pipes_proto_status st = pp_parse_message(data, size, out, sizeof *out, &error, &local, reply_member,
                                             &seen, &end);
    if (st != PIPES_PROTO_OK)
        return st;
    if (!(seen & SEEN_V))
        pp_set_error(error, PIPES_PROTO_ERR_MISSING_FIELD, end, "v", 0);
    if (!(seen & SEEN_TYPE))
        pp_set_error(error, PIPES_PROTO_ERR_MISSING_FIELD, end, "type", 0);
    if (!(seen & SEEN_ID) && out->type != PIPES_PROTO_REPLY_REJECTED)
        pp_set_error(error, PIPES_PROTO_ERR_MISSING_FIELD, end, "id", 0);
    if (!(seen & SEEN_REASON) && out->type == PIPES_PROTO_REPLY_REJECTED)
        pp_set_error(error, PIPES_PROTO_ERR_MISSING_FIELD, end, "reason", 0);
    if (error->status != PIPES_PROTO_OK) {
        memset(out, 0, sizeof *out);
        return error->status;
    }
    /* Fields that do not belong to this type are ignored, like unknown ones. */
    if (out->type != PIPES_PROTO_REPLY_REJECTED) {
        out->reason = PIPES_PROTO_REASON_NONE;
        out->error[0] = '\0';
        out->has_offset = 0;
        out->offset = 0;
        out->detail[0] = '\0';
        out->detail_len = 0;
    }
    if (out->type != PIPES_PROTO_REPLY_DISPLAYED) {
        out->has_session = 0;
        out->session = 0;
    }
    return PIPES_PROTO_OK;
}
