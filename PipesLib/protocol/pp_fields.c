/*
 * pp_fields.c - reading one field's value during extraction (pass 2), with
 * the error each wrong value records. Shared by every message parser, so a
 * field of one rule reads the same way wherever it appears.
 */
#include "pp_internal.h"

#include <string.h>

int pp_read_text(pp_cursor *c, pipes_proto_error *err, const char *field, char *dst, size_t max,
                 size_t *len, pipes_proto_status too_long)
{
    size_t at = c->pos;
    if (pp_cursor_kind(c) != PP_STRING) {
        pp_set_error(err, PIPES_PROTO_ERR_WRONG_TYPE, at, field, 0);
        pp_cursor_skip(c);
        dst[0] = '\0';
        return 0;
    }
    size_t n = pp_cursor_string(c, dst, max + 1);
    if (n > max) {
        pp_set_error(err, too_long, at, field, too_long == PIPES_PROTO_ERR_FIELD_TOO_LONG ? max : 0);
        dst[0] = '\0';
        return 0;
    }
    *len = n;
    return 1;
}

int pp_read_string(pp_cursor *c, pipes_proto_error *err, const char *field, char *dst, size_t max,
                   size_t *len)
{
    return pp_read_text(c, err, field, dst, max, len, PIPES_PROTO_ERR_FIELD_TOO_LONG);
}

int pp_read_short(pp_cursor *c, pipes_proto_error *err, const char *field, char *buf, size_t cap,
                  size_t *len)
{
    size_t at = c->pos;
    if (pp_cursor_kind(c) != PP_STRING) {
        pp_set_error(err, PIPES_PROTO_ERR_WRONG_TYPE, at, field, 0);
        pp_cursor_skip(c);
        return 0;
    }
    *len = pp_cursor_string(c, buf, cap);
    return 1;
}

int pp_read_uint(pp_cursor *c, pipes_proto_error *err, const char *field, uint64_t lo, uint64_t hi,
                 pipes_proto_status range_status, uint64_t *out)
{
    size_t at = c->pos;
    if (pp_cursor_kind(c) != PP_NUMBER) {
        pp_set_error(err, PIPES_PROTO_ERR_WRONG_TYPE, at, field, 0);
        pp_cursor_skip(c);
        return 0;
    }
    uint64_t v = 0;
    pp_int_result r = pp_cursor_uint(c, hi, &v);
    if (r == PP_INT_NOT_INTEGER) {
        pp_set_error(err, PIPES_PROTO_ERR_WRONG_TYPE, at, field, 0);
        return 0;
    }
    if (r == PP_INT_RANGE || v < lo) {
        pp_set_error(err, range_status, at, field, 0);
        return 0;
    }
    *out = v;
    return 1;
}

int pp_read_version(pp_cursor *c, pipes_proto_error *err)
{
    uint64_t v = 0;
    return pp_read_uint(c, err, "v", PIPES_PROTO_VERSION, PIPES_PROTO_VERSION,
                        PIPES_PROTO_ERR_UNSUPPORTED_VERSION, &v);
}

pipes_proto_status pp_parse_message(const void *data, size_t size, void *out, size_t out_size,
                                    pipes_proto_error **error, pipes_proto_error *local,
                                    pp_member_fn member, unsigned *seen, size_t *end)
{
    if (pp_parse_start(data, size, out, error, local) != PIPES_PROTO_OK)
        return (*error)->status;
    memset(out, 0, out_size);
    return pp_parse_object(data, size, *error, member, out, seen, end);
}

int pp_read_bool(pp_cursor *c, pipes_proto_error *err, const char *field, int *out)
{
    size_t at = c->pos;
    pp_kind k = pp_cursor_kind(c);
    pp_cursor_skip(c);
    if (k != PP_TRUE && k != PP_FALSE) {
        pp_set_error(err, PIPES_PROTO_ERR_WRONG_TYPE, at, field, 0);
        return 0;
    }
    *out = k == PP_TRUE;
    return 1;
}

int pp_read_id(pp_cursor *c, pipes_proto_error *err, const char *field, char *dst, size_t *len,
               pipes_proto_status bad)
{
    size_t at = c->pos;
    if (!pp_read_text(c, err, field, dst, PIPES_PROTO_MAX_ID, len, bad)) {
        *len = 0;
        return 0;
    }
    if (pipes_proto_id_valid(dst, *len))
        return 1;
    pp_set_error(err, bad, at, field, 0); /* read, but not an id */
    dst[0] = '\0';
    *len = 0;
    return 0;
}

int pp_read_time(pp_cursor *c, pipes_proto_error *err, const char *field, int64_t *out)
{
    char buf[40];
    size_t len = 0;
    size_t at = c->pos;
    if (pp_read_short(c, err, field, buf, sizeof buf, &len) == 0)
        return 0;
    if (len >= sizeof buf || pipes_proto_time_parse(buf, len, out) != PIPES_PROTO_OK) {
        pp_set_error(err, PIPES_PROTO_ERR_BAD_TIME, at, field, 0);
        return 0;
    }
    return 1;
}

int pp_read_enum(pp_cursor *c, pipes_proto_error *err, const char *field,
                 const char *const *names, size_t count, pipes_proto_status bad, int *out)
{
    char buf[40];
    size_t len = 0;
    size_t at = c->pos;
    if (pp_read_short(c, err, field, buf, sizeof buf, &len) == 0)
        return 0;
    for (size_t i = 0; i < count; i++) {
        if (names[i] != NULL && len < sizeof buf && strcmp(buf, names[i]) == 0) {
            *out = (int)i;
            return 1;
        }
    }
    pp_set_error(err, bad, at, field, 0);
    return 0;
}

int pp_skip_null(pp_cursor *c)
{
    if (pp_cursor_kind(c) != PP_NULL)
        return 0;
    pp_cursor_skip(c);
    return 1;
}

pipes_proto_status pp_check_text(pipes_proto_error *err, const char *field, const char *s,
                                 size_t len, size_t max)
{
    size_t bad = 0;
    if (len > max) {
        pp_set_error(err, PIPES_PROTO_ERR_FIELD_TOO_LONG, 0, field, max);
        return PIPES_PROTO_ERR_FIELD_TOO_LONG;
    }
    pipes_proto_status st = pp_text_check(s, len, &bad);
    if (st != PIPES_PROTO_OK)
        pp_set_error(err, st, bad, field, 0);
    return st;
}

pipes_proto_status pp_fail_field(pipes_proto_error *err, pipes_proto_status st, const char *field)
{
    pp_set_error(err, st, 0, field, 0);
    return st;
}

void pp_w_member_string(pp_writer *w, const char *name, const char *s, size_t len)
{
    pp_w_lit(w, name);
    pp_w_string(w, s, len);
}

void pp_w_time(pp_writer *w, const char *name, int64_t ms)
{
    char t[PIPES_PROTO_TIME_BUFSIZE];
    size_t tl = pipes_proto_time_format(ms, t);
    pp_w_lit(w, name);
    pp_w_lit(w, "\"");
    pp_w_raw(w, t, tl);
    pp_w_lit(w, "\"");
}
