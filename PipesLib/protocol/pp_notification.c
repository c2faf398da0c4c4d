/*
 * pp_notification.c - the "notify" message: parse, validate, write.
 */
#include "pp_internal.h"

#include <string.h>

void pipes_proto_notification_init(pipes_proto_notification *n)
{
    if (n)
        memset(n, 0, sizeof *n);
}

/* ------------------------------------------------------------------------ */
/* Parse                                                                    */
/* ------------------------------------------------------------------------ */

/* Reads a string value of at most max bytes into dst. Returns 1 with *len
 * set; 0 after recording wrong_type or too_long (dst is then ""). */
static int read_text(pp_cursor *c, pipes_proto_error *err, const char *field, char *dst,
                     size_t max, size_t *len, pipes_proto_status too_long)
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

static int read_string(pp_cursor *c, pipes_proto_error *err, const char *field, char *dst,
                       size_t max, size_t *len)
{
    return read_text(c, err, field, dst, max, len, PIPES_PROTO_ERR_FIELD_TOO_LONG);
}

/* Reads a short string (enum values, times) into buf; returns 0 and records
 * wrong_type if the value is not a string. *len may exceed cap - 1. */
static int read_short(pp_cursor *c, pipes_proto_error *err, const char *field, char *buf,
                      size_t cap, size_t *len)
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

/* Reads an integer in lo..hi; range problems are recorded as range_status. */
static int read_uint(pp_cursor *c, pipes_proto_error *err, const char *field, uint64_t lo,
                     uint64_t hi, pipes_proto_status range_status, uint64_t *out)
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

/* Skips a null value; returns 1 if it was one (an optional field's
 * "absent"). */
static int skip_null(pp_cursor *c)
{
    if (pp_cursor_kind(c) != PP_NULL)
        return 0;
    pp_cursor_skip(c);
    return 1;
}

static void parse_target(pp_cursor *c, pipes_proto_notification *out, pipes_proto_error *err)
{
    size_t at = c->pos;
    if (pp_cursor_kind(c) != PP_OBJECT) {
        pp_set_error(err, PIPES_PROTO_ERR_WRONG_TYPE, at, "target", 0);
        pp_cursor_skip(c);
        return;
    }
    int has_session = 0, has_user = 0;
    char key[PP_KEY_BUF];
    size_t klen;
    pp_cursor_enter(c);
    while (pp_cursor_next_member(c, key, &klen)) {
        size_t vat = c->pos;
        if (strcmp(key, "session") == 0 && !skip_null(c)) {
            uint64_t v = 0;
            if (read_uint(c, err, "target.session", 0, UINT32_MAX, PIPES_PROTO_ERR_BAD_TARGET, &v)) {
                out->target_session = (uint32_t)v;
                has_session = 1;
            }
        } else if (strcmp(key, "user") == 0 && !skip_null(c)) {
            if (read_string(c, err, "target.user", out->target_user, PIPES_PROTO_MAX_USER,
                            &out->target_user_len)) {
                if (out->target_user_len == 0)
                    pp_set_error(err, PIPES_PROTO_ERR_BAD_TARGET, vat, "target.user", 0);
                has_user = 1;
            }
        } else if (strcmp(key, "session") != 0 && strcmp(key, "user") != 0) {
            pp_cursor_skip(c); /* unknown member: ignored */
        }
    }
    if (has_session == has_user) {
        pp_set_error(err, PIPES_PROTO_ERR_BAD_TARGET, at, "target", 0);
        return;
    }
    out->target = has_session ? PIPES_PROTO_TARGET_SESSION : PIPES_PROTO_TARGET_USER;
}

/* One member of the top-level object; the cursor is at its value. */
static void parse_member(pp_cursor *c, const char *key, void *out_, pipes_proto_error *err,
                         unsigned *seen)
{
    pipes_proto_notification *out = (pipes_proto_notification *)out_;
    char buf[40];
    size_t len = 0;
    size_t at = c->pos;
    uint64_t v = 0;

    if (strcmp(key, "v") == 0) {
        *seen |= 1u;
        read_uint(c, err, "v", PIPES_PROTO_VERSION, PIPES_PROTO_VERSION,
                  PIPES_PROTO_ERR_UNSUPPORTED_VERSION, &v);
    } else if (strcmp(key, "id") == 0) {
        *seen |= 2u;
        if (read_text(c, err, "id", out->id, PIPES_PROTO_MAX_ID, &out->id_len,
                      PIPES_PROTO_ERR_BAD_ID) &&
            !pipes_proto_id_valid(out->id, out->id_len)) {
            pp_set_error(err, PIPES_PROTO_ERR_BAD_ID, at, "id", 0);
            out->id[0] = '\0';
            out->id_len = 0;
        }
    } else if (strcmp(key, "title") == 0) {
        *seen |= 4u;
        if (read_string(c, err, "title", out->title, PIPES_PROTO_MAX_TITLE, &out->title_len) &&
            out->title_len == 0)
            pp_set_error(err, PIPES_PROTO_ERR_EMPTY_TITLE, at, "title", 0);
    } else if (skip_null(c)) {
        return; /* every other known field is optional: null = absent */
    } else if (strcmp(key, "type") == 0) {
        if (read_short(c, err, "type", buf, sizeof buf, &len) && strcmp(buf, "notify") != 0)
            pp_set_error(err, PIPES_PROTO_ERR_BAD_MESSAGE_TYPE, at, "type", 0);
    } else if (strcmp(key, "body") == 0) {
        read_string(c, err, "body", out->body, PIPES_PROTO_MAX_BODY, &out->body_len);
    } else if (strcmp(key, "source") == 0) {
        read_string(c, err, "source", out->source, PIPES_PROTO_MAX_SOURCE, &out->source_len);
    } else if (strcmp(key, "level") == 0) {
        if (read_short(c, err, "level", buf, sizeof buf, &len) == 0)
            return;
        if (strcmp(buf, "info") == 0)
            out->level = PIPES_PROTO_LEVEL_INFO;
        else if (strcmp(buf, "warning") == 0)
            out->level = PIPES_PROTO_LEVEL_WARNING;
        else if (strcmp(buf, "error") == 0)
            out->level = PIPES_PROTO_LEVEL_ERROR;
        else
            pp_set_error(err, PIPES_PROTO_ERR_BAD_LEVEL, at, "level", 0);
    } else if (strcmp(key, "time") == 0) {
        if (read_short(c, err, "time", buf, sizeof buf, &len) == 0)
            return;
        if (len >= sizeof buf || pipes_proto_time_parse(buf, len, &out->time_ms) != PIPES_PROTO_OK)
            pp_set_error(err, PIPES_PROTO_ERR_BAD_TIME, at, "time", 0);
        else
            out->has_time = 1;
    } else if (strcmp(key, "ttl") == 0) {
        if (read_uint(c, err, "ttl", 1, PIPES_PROTO_MAX_TTL, PIPES_PROTO_ERR_BAD_TTL, &v)) {
            out->ttl = (uint32_t)v;
            out->has_ttl = 1;
        }
    } else if (strcmp(key, "target") == 0) {
        parse_target(c, out, err);
    } else if (strcmp(key, "wait") == 0) {
        pp_kind k = pp_cursor_kind(c);
        if (k == PP_TRUE || k == PP_FALSE)
            out->wait = (k == PP_TRUE);
        else
            pp_set_error(err, PIPES_PROTO_ERR_WRONG_TYPE, at, "wait", 0);
        pp_cursor_skip(c);
    } else {
        pp_cursor_skip(c); /* unknown field: ignored */
    }
}

pipes_proto_status pipes_proto_parse_notification(const void *data, size_t size,
                                                  pipes_proto_notification *out,
                                                  pipes_proto_error *error)
{
    pipes_proto_error local;
    unsigned seen = 0;
    size_t end = 0;
    if (pp_parse_start(data, size, out, &error, &local) != PIPES_PROTO_OK)
        return error->status;
    pipes_proto_notification_init(out);

    /* Every member is visited even after a field error, so the id can be
     * echoed in the rejection whatever order the fields came in. */
    pipes_proto_status st = pp_parse_object(data, size, error, parse_member, out, &seen, &end);
    if (st != PIPES_PROTO_OK)
        return st;
    if (!(seen & 1u))
        pp_set_error(error, PIPES_PROTO_ERR_MISSING_FIELD, end, "v", 0);
    if (!(seen & 2u))
        pp_set_error(error, PIPES_PROTO_ERR_MISSING_FIELD, end, "id", 0);
    if (!(seen & 4u))
        pp_set_error(error, PIPES_PROTO_ERR_MISSING_FIELD, end, "title", 0);

    if (error->status != PIPES_PROTO_OK) {
        /* On failure only the id is kept (for the rejection). */
        char id[PIPES_PROTO_MAX_ID + 1];
        size_t id_len = out->id_len;
        pp_copy(id, out->id, id_len);
        pipes_proto_notification_init(out);
        pp_copy(out->id, id, id_len);
        out->id_len = id_len;
    }
    return error->status;
}

/* ------------------------------------------------------------------------ */
/* Validate and write                                                       */
/* ------------------------------------------------------------------------ */

/* A text field: length within min..max, UTF-8, no U+0000. */
static pipes_proto_status check_text(pipes_proto_error *err, const char *field, const char *s,
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

static pipes_proto_status fail_field(pipes_proto_error *err, pipes_proto_status st,
                                     const char *field)
{
    pp_set_error(err, st, 0, field, 0);
    return st;
}

pipes_proto_status pipes_proto_notification_validate(const pipes_proto_notification *n,
                                                     pipes_proto_error *error)
{
    pipes_proto_error local;
    pipes_proto_status st;
    if (error == NULL)
        error = &local;
    memset(error, 0, sizeof *error);
    if (n == NULL)
        return fail_field(error, PIPES_PROTO_ERR_INVALID_ARGUMENT, NULL);
    if (!pipes_proto_id_valid(n->id, n->id_len))
        return fail_field(error, PIPES_PROTO_ERR_BAD_ID, "id");
    if (n->title_len == 0)
        return fail_field(error, PIPES_PROTO_ERR_EMPTY_TITLE, "title");
    if ((st = check_text(error, "title", n->title, n->title_len, PIPES_PROTO_MAX_TITLE)) != 0)
        return st;
    if ((st = check_text(error, "body", n->body, n->body_len, PIPES_PROTO_MAX_BODY)) != 0)
        return st;
    if ((st = check_text(error, "source", n->source, n->source_len, PIPES_PROTO_MAX_SOURCE)) != 0)
        return st;
    if (pipes_proto_level_name(n->level) == NULL)
        return fail_field(error, PIPES_PROTO_ERR_BAD_LEVEL, "level");
    if (n->has_time && !pp_time_in_range(n->time_ms))
        return fail_field(error, PIPES_PROTO_ERR_BAD_TIME, "time");
    if (n->has_ttl && (n->ttl == 0 || n->ttl > PIPES_PROTO_MAX_TTL))
        return fail_field(error, PIPES_PROTO_ERR_BAD_TTL, "ttl");
    switch (n->target) {
    case PIPES_PROTO_TARGET_ALL:
    case PIPES_PROTO_TARGET_SESSION:
        break;
    case PIPES_PROTO_TARGET_USER:
        if (n->target_user_len == 0)
            return fail_field(error, PIPES_PROTO_ERR_BAD_TARGET, "target.user");
        st = check_text(error, "target.user", n->target_user, n->target_user_len,
                        PIPES_PROTO_MAX_USER);
        if (st != PIPES_PROTO_OK)
            return st;
        break;
    default:
        return fail_field(error, PIPES_PROTO_ERR_BAD_TARGET, "target");
    }
    return PIPES_PROTO_OK;
}

pipes_proto_status pipes_proto_notification_set(pipes_proto_notification *n, const char *field,
                                                const char *utf8, size_t len)
{
    char *dst = NULL;
    size_t *dst_len = NULL;
    size_t max = 0;
    size_t bad;
    if (n == NULL || field == NULL || (utf8 == NULL && len != 0))
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    if (utf8 == NULL)
        utf8 = "";
    /* A name table plus a switch, not an initializer with pointers into *n
     * (non-constant aggregate initializers draw MSVC warning C4204). */
    static const char *const names[] = {"id", "title", "body", "source", "user"};
    size_t which = sizeof names / sizeof names[0];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(field, names[i]) == 0)
            which = i;
    }
    switch (which) {
    case 0: dst = n->id; dst_len = &n->id_len; max = PIPES_PROTO_MAX_ID; break;
    case 1: dst = n->title; dst_len = &n->title_len; max = PIPES_PROTO_MAX_TITLE; break;
    case 2: dst = n->body; dst_len = &n->body_len; max = PIPES_PROTO_MAX_BODY; break;
    case 3: dst = n->source; dst_len = &n->source_len; max = PIPES_PROTO_MAX_SOURCE; break;
    case 4: dst = n->target_user; dst_len = &n->target_user_len; max = PIPES_PROTO_MAX_USER; break;
    default: break;
    }
    if (dst == NULL)
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    if (dst == n->id && !pipes_proto_id_valid(utf8, len))
        return PIPES_PROTO_ERR_BAD_ID;
    if (dst == n->title && len == 0)
        return PIPES_PROTO_ERR_EMPTY_TITLE;
    if (dst == n->target_user && len == 0)
        return PIPES_PROTO_ERR_BAD_TARGET;
    if (len > max)
        return PIPES_PROTO_ERR_FIELD_TOO_LONG;
    pipes_proto_status st = pp_text_check(utf8, len, &bad);
    if (st != PIPES_PROTO_OK)
        return st;
    pp_copy(dst, utf8, len);
    *dst_len = len;
    if (dst == n->target_user)
        n->target = PIPES_PROTO_TARGET_USER;
    return PIPES_PROTO_OK;
}

pipes_proto_status pipes_proto_write_notification(const pipes_proto_notification *n, char *buf,
                                                  size_t cap, size_t *written)
{
    pp_writer w;
    if (written)
        *written = 0;
    if (buf == NULL)
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    pipes_proto_status st = pipes_proto_notification_validate(n, NULL);
    if (st != PIPES_PROTO_OK) {
        if (cap > 0)
            buf[0] = '\0';
        return st;
    }
    pp_w_init(&w, buf, cap);
    pp_w_lit(&w, "{\"v\":1,\"id\":");
    pp_w_string(&w, n->id, n->id_len);
    pp_w_lit(&w, ",\"title\":");
    pp_w_string(&w, n->title, n->title_len);
    if (n->body_len > 0) {
        pp_w_lit(&w, ",\"body\":");
        pp_w_string(&w, n->body, n->body_len);
    }
    if (n->level != PIPES_PROTO_LEVEL_INFO) {
        pp_w_lit(&w, ",\"level\":\"");
        pp_w_lit(&w, pipes_proto_level_name(n->level));
        pp_w_lit(&w, "\"");
    }
    if (n->source_len > 0) {
        pp_w_lit(&w, ",\"source\":");
        pp_w_string(&w, n->source, n->source_len);
    }
    if (n->has_time) {
        char t[PIPES_PROTO_TIME_BUFSIZE];
        size_t tl = pipes_proto_time_format(n->time_ms, t);
        pp_w_lit(&w, ",\"time\":\"");
        pp_w_raw(&w, t, tl);
        pp_w_lit(&w, "\"");
    }
    if (n->has_ttl) {
        pp_w_lit(&w, ",\"ttl\":");
        pp_w_uint(&w, n->ttl);
    }
    if (n->target == PIPES_PROTO_TARGET_SESSION) {
        pp_w_lit(&w, ",\"target\":{\"session\":");
        pp_w_uint(&w, n->target_session);
        pp_w_lit(&w, "}");
    } else if (n->target == PIPES_PROTO_TARGET_USER) {
        pp_w_lit(&w, ",\"target\":{\"user\":");
        pp_w_string(&w, n->target_user, n->target_user_len);
        pp_w_lit(&w, "}");
    }
    if (n->wait)
        pp_w_lit(&w, ",\"wait\":true");
    pp_w_lit(&w, "}");
    return pp_w_finish(&w, written);
}
