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
        if (strcmp(key, "session") == 0 && !pp_skip_null(c)) {
            uint64_t v = 0;
            if (pp_read_uint(c, err, "target.session", 0, UINT32_MAX, PIPES_PROTO_ERR_BAD_TARGET, &v)) {
                out->target_session = (uint32_t)v;
                has_session = 1;
            }
        } else if (strcmp(key, "user") == 0 && !pp_skip_null(c)) {
            if (pp_read_string(c, err, "target.user", out->target_user, PIPES_PROTO_MAX_USER,
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
    static const char *const levels[] = {"info", "warning", "error"};
    pipes_proto_notification *out = (pipes_proto_notification *)out_;
    char buf[40];
    size_t len = 0;
    size_t at = c->pos;
    uint64_t v = 0;
    int e = 0;

    if (strcmp(key, "v") == 0) {
        *seen |= 1u;
        pp_read_version(c, err);
    } else if (strcmp(key, "id") == 0) {
        *seen |= 2u;
        pp_read_id(c, err, "id", out->id, &out->id_len, PIPES_PROTO_ERR_BAD_ID);
    } else if (strcmp(key, "title") == 0) {
        *seen |= 4u;
        if (pp_read_string(c, err, "title", out->title, PIPES_PROTO_MAX_TITLE, &out->title_len) &&
            out->title_len == 0)
            pp_set_error(err, PIPES_PROTO_ERR_EMPTY_TITLE, at, "title", 0);
    } else if (pp_skip_null(c)) {
        return; /* every other known field is optional: null = absent */
    } else if (strcmp(key, "type") == 0) {
        if (pp_read_short(c, err, "type", buf, sizeof buf, &len) && strcmp(buf, "notify") != 0)
            pp_set_error(err, PIPES_PROTO_ERR_BAD_MESSAGE_TYPE, at, "type", 0);
    } else if (strcmp(key, "body") == 0) {
        pp_read_string(c, err, "body", out->body, PIPES_PROTO_MAX_BODY, &out->body_len);
    } else if (strcmp(key, "source") == 0) {
        pp_read_string(c, err, "source", out->source, PIPES_PROTO_MAX_SOURCE, &out->source_len);
    } else if (strcmp(key, "level") == 0) {
        if (pp_read_enum(c, err, "level", levels, 3, PIPES_PROTO_ERR_BAD_LEVEL, &e))
            out->level = (pipes_proto_level)e;
    } else if (strcmp(key, "time") == 0) {
        out->has_time = pp_read_time(c, err, "time", &out->time_ms);
    } else if (strcmp(key, "ttl") == 0) {
        if (pp_read_uint(c, err, "ttl", 1, PIPES_PROTO_MAX_TTL, PIPES_PROTO_ERR_BAD_TTL, &v)) {
            out->ttl = (uint32_t)v;
            out->has_ttl = 1;
        }
    } else if (strcmp(key, "target") == 0) {
        parse_target(c, out, err);
    } else if (!pp_interactive_member(c, key, out, err)) {
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
    if (!(seen & 4u) && !out->clear) /* a clear needs no title */
        pp_set_error(error, PIPES_PROTO_ERR_MISSING_FIELD, end, "title", 0);
    pp_interactive_finish(out, error, end);

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

pipes_proto_status pipes_proto_notification_validate(const pipes_proto_notification *n,
                                                     pipes_proto_error *error)
{
    pipes_proto_error local;
    pipes_proto_status st;
    if (error == NULL)
        error = &local;
    memset(error, 0, sizeof *error);
    if (n == NULL)
        return pp_fail_field(error, PIPES_PROTO_ERR_INVALID_ARGUMENT, NULL);
    if (!pipes_proto_id_valid(n->id, n->id_len))
        return pp_fail_field(error, PIPES_PROTO_ERR_BAD_ID, "id");
    if (n->title_len == 0 && !n->clear)
        return pp_fail_field(error, PIPES_PROTO_ERR_EMPTY_TITLE, "title");
    if ((st = pp_check_text(error, "title", n->title, n->title_len, PIPES_PROTO_MAX_TITLE)) != 0)
        return st;
    if ((st = pp_check_text(error, "body", n->body, n->body_len, PIPES_PROTO_MAX_BODY)) != 0)
        return st;
    if ((st = pp_check_text(error, "source", n->source, n->source_len, PIPES_PROTO_MAX_SOURCE)) != 0)
        return st;
    if (pipes_proto_level_name(n->level) == NULL)
        return pp_fail_field(error, PIPES_PROTO_ERR_BAD_LEVEL, "level");
    if (n->has_time && !pp_time_in_range(n->time_ms))
        return pp_fail_field(error, PIPES_PROTO_ERR_BAD_TIME, "time");
    if (n->has_ttl && (n->ttl == 0 || n->ttl > PIPES_PROTO_MAX_TTL))
        return pp_fail_field(error, PIPES_PROTO_ERR_BAD_TTL, "ttl");
    switch (n->target) {
    case PIPES_PROTO_TARGET_ALL:
    case PIPES_PROTO_TARGET_SESSION:
        break;
    case PIPES_PROTO_TARGET_USER:
        if (n->target_user_len == 0)
            return pp_fail_field(error, PIPES_PROTO_ERR_BAD_TARGET, "target.user");
        st = pp_check_text(error, "target.user", n->target_user, n->target_user_len,
                        PIPES_PROTO_MAX_USER);
        if (st != PIPES_PROTO_OK)
            return st;
        break;
    default:
        return pp_fail_field(error, PIPES_PROTO_ERR_BAD_TARGET, "target");
    }
    return pp_interactive_validate(n, error);
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
    static const char *const names[] = {"id", "title", "body", "source", "user", "open", "tag"};
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
    case 5: dst = n->open; dst_len = &n->open_len; max = PIPES_PROTO_MAX_URL; break;
    case 6: dst = n->tag; dst_len = &n->tag_len; max = PIPES_PROTO_MAX_TAG; break;
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
    if (dst == n->tag && !pipes_proto_id_valid(utf8, len))
        return PIPES_PROTO_ERR_BAD_TAG;
    if (dst == n->open) {
        pipes_proto_status ust = pipes_proto_url_check(utf8, len, NULL, NULL);
        if (ust != PIPES_PROTO_OK)
            return ust;
    }
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
    pipes_proto_status st = pp_w_begin(&w, buf, cap, written, pipes_proto_notification_validate(n, NULL));
    if (st != PIPES_PROTO_OK)
        return st;
    pp_w_lit(&w, "{\"v\":1,\"id\":");
    pp_w_string(&w, n->id, n->id_len);
    if (n->title_len > 0) /* only a clear has none */
        pp_w_member_string(&w, ",\"title\":", n->title, n->title_len);
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
    if (n->has_time)
        pp_w_time(&w, ",\"time\":", n->time_ms);
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
    pp_w_interactive(&w, n); /* wait and the interactive fields */
    pp_w_lit(&w, "}");
    return pp_w_finish(&w, written);
}
