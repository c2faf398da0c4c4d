/*
 * pp_answer.c - the messages around an answer (docs/PROTOCOL.md section 5a):
 * "response" (tray -> service, service -> waiting submitter), "withdraw"
 * (service -> tray), "query" (submitter -> service) and "state" (its
 * answer); and pipes_proto_parse_type, which picks the parser for a message.
 */
#include "pp_internal.h"

#include <string.h>

static const char *const type_names[] = {NULL,     "accepted", "rejected", "ack",   "displayed",
                                         "notify", "response", "withdraw", "query", "state"};
static const char *const result_names[] = {NULL, "action", "dismissed", "timeout"};
static const char *const state_names[] = {NULL,       "unknown",  "pending",
                                          "displayed", "answered", "replaced"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *pipes_proto_type_name(pipes_proto_type type)
{
    return (unsigned)type < COUNT(type_names) ? type_names[type] : NULL;
}

const char *pipes_proto_result_name(pipes_proto_result result)
{
    return (unsigned)result < COUNT(result_names) ? result_names[result] : NULL;
}

const char *pipes_proto_state_name(pipes_proto_state state)
{
    return (unsigned)state < COUNT(state_names) ? state_names[state] : NULL;
}

static int is_answer_type(pipes_proto_type t)
{
    return t == PIPES_PROTO_TYPE_RESPONSE || t == PIPES_PROTO_TYPE_WITHDRAW ||
           t == PIPES_PROTO_TYPE_QUERY || t == PIPES_PROTO_TYPE_STATE;
}

/* ------------------------------------------------------------------------ */
/* The type of any message                                                  */
/* ------------------------------------------------------------------------ */

static void type_member(pp_cursor *c, const char *key, void *out, pipes_proto_error *err,
                        unsigned *seen)
{
    int t = 0;
    (void)seen;
    if (strcmp(key, "type") == 0 && !pp_skip_null(c)) {
        if (pp_read_enum(c, err, "type", type_names, COUNT(type_names),
                         PIPES_PROTO_ERR_BAD_MESSAGE_TYPE, &t))
            *(pipes_proto_type *)out = (pipes_proto_type)t;
    } else if (strcmp(key, "type") != 0) {
        pp_cursor_skip(c);
    }
}

pipes_proto_status pipes_proto_parse_type(const void *data, size_t size, pipes_proto_type *out,
                                          pipes_proto_error *error)
{
    pipes_proto_error local;
    pipes_proto_type t = PIPES_PROTO_TYPE_NOTIFY;
    unsigned seen = 0;
    size_t end = 0;
    if (pp_parse_start(data, size, out, &error, &local) != PIPES_PROTO_OK)
        return error->status;
    pipes_proto_status st = pp_parse_object(data, size, error, type_member, &t, &seen, &end);
    if (st == PIPES_PROTO_OK)
        st = error->status;
    *out = st == PIPES_PROTO_OK ? t : PIPES_PROTO_TYPE_NOTIFY;
    return st;
}

/* ------------------------------------------------------------------------ */
/* Which fields each type (and state) carries                              */
/* ------------------------------------------------------------------------ */

/* The answer fields: result, action, session, user, time. */
static int has_answer_fields(pipes_proto_type type, pipes_proto_state state)
{
    return type == PIPES_PROTO_TYPE_RESPONSE || type == PIPES_PROTO_TYPE_WITHDRAW ||
           (type == PIPES_PROTO_TYPE_STATE && state == PIPES_PROTO_STATE_ANSWERED);
}

static int has_session_field(pipes_proto_type type, pipes_proto_state state)
{
    return has_answer_fields(type, state) ||
           (type == PIPES_PROTO_TYPE_STATE && state == PIPES_PROTO_STATE_DISPLAYED);
}

/* Keeps only what belongs to the type, as replies do: the rest is ignored. */
static void drop_foreign(pipes_proto_answer *a)
{
    if (!has_answer_fields(a->type, a->state)) {
        a->result = PIPES_PROTO_RESULT_NONE;
        a->action[0] = '\0';
        a->action_len = 0;
        a->user[0] = '\0';
        a->user_len = 0;
        a->has_time = 0;
        a->time_ms = 0;
    }
    if (!has_session_field(a->type, a->state)) {
        a->has_session = 0;
        a->session = 0;
    }
    if (a->type != PIPES_PROTO_TYPE_STATE)
        a->state = PIPES_PROTO_STATE_NONE;
}

/* The rules across fields; field names the one missing or wrong. */
static pipes_proto_status cross_check(const pipes_proto_answer *a, const char **field)
{
    int answered = a->type == PIPES_PROTO_TYPE_RESPONSE ||
                   (a->type == PIPES_PROTO_TYPE_STATE && a->state == PIPES_PROTO_STATE_ANSWERED);
    *field = NULL;
    if (a->type == PIPES_PROTO_TYPE_STATE && a->state == PIPES_PROTO_STATE_NONE) {
        *field = "state";
        return PIPES_PROTO_ERR_MISSING_FIELD;
    }
    if (answered && a->result == PIPES_PROTO_RESULT_NONE) {
        *field = "result";
        return PIPES_PROTO_ERR_MISSING_FIELD;
    }
    if (a->result == PIPES_PROTO_RESULT_ACTION && a->action_len == 0) {
        *field = "action";
        return PIPES_PROTO_ERR_MISSING_FIELD;
    }
    if (a->result != PIPES_PROTO_RESULT_ACTION && a->action_len > 0) {
        *field = "action";
        return PIPES_PROTO_ERR_BAD_RESULT; /* an action without result "action" */
    }
    if ((answered || (a->type == PIPES_PROTO_TYPE_STATE && a->state == PIPES_PROTO_STATE_DISPLAYED)) &&
        !a->has_session) {
        *field = "session";
        return PIPES_PROTO_ERR_MISSING_FIELD;
    }
    return PIPES_PROTO_OK;
}

/* ------------------------------------------------------------------------ */
/* Parse                                                                    */
/* ------------------------------------------------------------------------ */

enum { SEEN_V = 1, SEEN_TYPE = 2, SEEN_ID = 4 };

static void answer_member(pp_cursor *c, const char *key, void *out_, pipes_proto_error *err,
                          unsigned *seen)
{
    pipes_proto_answer *out = (pipes_proto_answer *)out_;
    size_t at = c->pos;
    uint64_t v = 0;
    int e = 0;

    if (strcmp(key, "v") == 0) {
        *seen |= SEEN_V;
        pp_read_version(c, err);
    } else if (strcmp(key, "type") == 0) {
        *seen |= SEEN_TYPE;
        if (pp_read_enum(c, err, "type", type_names, COUNT(type_names),
                         PIPES_PROTO_ERR_BAD_MESSAGE_TYPE, &e)) {
            out->type = (pipes_proto_type)e;
            if (!is_answer_type(out->type))
                pp_set_error(err, PIPES_PROTO_ERR_BAD_MESSAGE_TYPE, at, "type", 0);
        }
    } else if (strcmp(key, "id") == 0) {
        if (pp_read_id(c, err, "id", out->id, &out->id_len, PIPES_PROTO_ERR_BAD_ID))
            *seen |= SEEN_ID;
    } else if (pp_skip_null(c)) {
        return; /* the other fields are optional: null = absent */
    } else if (strcmp(key, "result") == 0) {
        if (pp_read_enum(c, err, "result", result_names, COUNT(result_names),
                         PIPES_PROTO_ERR_BAD_RESULT, &e))
            out->result = (pipes_proto_result)e;
    } else if (strcmp(key, "action") == 0) {
        pp_read_id(c, err, "action", out->action, &out->action_len, PIPES_PROTO_ERR_BAD_ACTION);
    } else if (strcmp(key, "session") == 0) {
        if (pp_read_uint(c, err, "session", 0, UINT32_MAX, PIPES_PROTO_ERR_OUT_OF_RANGE, &v)) {
            out->session = (uint32_t)v;
            out->has_session = 1;
        }
    } else if (strcmp(key, "user") == 0) {
        pp_read_string(c, err, "user", out->user, PIPES_PROTO_MAX_ACCOUNT, &out->user_len);
    } else if (strcmp(key, "time") == 0) {
        out->has_time = pp_read_time(c, err, "time", &out->time_ms);
    } else if (strcmp(key, "state") == 0) {
        if (pp_read_enum(c, err, "state", state_names, COUNT(state_names),
                         PIPES_PROTO_ERR_BAD_STATE, &e))
            out->state = (pipes_proto_state)e;
    } else {
        pp_cursor_skip(c); /* unknown field: ignored */
    }
}

pipes_proto_status pipes_proto_parse_answer(const void *data, size_t size,
                                            pipes_proto_answer *out, pipes_proto_error *error)
{
    pipes_proto_error local;
    unsigned seen = 0;
    size_t end = 0;
    const char *field = NULL;
    pipes_proto_status st = pp_parse_message(data, size, out, sizeof *out, &error, &local, answer_member,
                                             &seen, &end);
    if (st != PIPES_PROTO_OK)
        return st;
    if (!(seen & SEEN_V))
        pp_set_error(error, PIPES_PROTO_ERR_MISSING_FIELD, end, "v", 0);
    if (!(seen & SEEN_TYPE))
        pp_set_error(error, PIPES_PROTO_ERR_MISSING_FIELD, end, "type", 0);
    if (!(seen & SEEN_ID))
        pp_set_error(error, PIPES_PROTO_ERR_MISSING_FIELD, end, "id", 0);
    if (error->status == PIPES_PROTO_OK) {
        drop_foreign(out);
        st = cross_check(out, &field);
        if (st != PIPES_PROTO_OK)
            pp_set_error(error, st, end, field, 0);
    }
    if (error->status != PIPES_PROTO_OK) {
        /* Only the id is kept, for the rejection. */
        char id[PIPES_PROTO_MAX_ID + 1];
        size_t id_len = out->id_len;
        pp_copy(id, out->id, id_len);
        memset(out, 0, sizeof *out);
        pp_copy(out->id, id, id_len);
        out->id_len = id_len;
    }
    return error->status;
}

/* ------------------------------------------------------------------------ */
/* Build, validate, write                                                   */
/* ------------------------------------------------------------------------ */

pipes_proto_status pipes_proto_answer_init(pipes_proto_answer *out, pipes_proto_type type,
                                           const char *id)
{
    size_t len;
    if (out == NULL || !is_answer_type(type))
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    len = id ? pp_strnlen(id, PIPES_PROTO_MAX_ID + 1) : 0;
    if (!pipes_proto_id_valid(id, len))
        return PIPES_PROTO_ERR_BAD_ID;
    memset(out, 0, sizeof *out);
    out->type = type;
    pp_copy(out->id, id, len);
    out->id_len = len;
    return PIPES_PROTO_OK;
}

pipes_proto_status pipes_proto_answer_validate(const pipes_proto_answer *a,
                                               pipes_proto_error *error)
{
    pipes_proto_error local;
    const char *field = NULL;
    pipes_proto_status st;
    if (error == NULL)
        error = &local;
    memset(error, 0, sizeof *error);
    if (a == NULL || !is_answer_type(a->type))
        return pp_fail_field(error, PIPES_PROTO_ERR_INVALID_ARGUMENT, a ? "type" : NULL);
    if (!pipes_proto_id_valid(a->id, a->id_len))
        return pp_fail_field(error, PIPES_PROTO_ERR_BAD_ID, "id");
    if (pipes_proto_state_name(a->state) == NULL && a->state != PIPES_PROTO_STATE_NONE)
        return pp_fail_field(error, PIPES_PROTO_ERR_BAD_STATE, "state");
    if (pipes_proto_result_name(a->result) == NULL && a->result != PIPES_PROTO_RESULT_NONE)
        return pp_fail_field(error, PIPES_PROTO_ERR_BAD_RESULT, "result");
    /* What does not belong to the type must be zero: it could not be written. */
    if ((a->type != PIPES_PROTO_TYPE_STATE && a->state != PIPES_PROTO_STATE_NONE) ||
        (!has_answer_fields(a->type, a->state) &&
         (a->result || a->action_len || a->user_len || a->has_time)) ||
        (!has_session_field(a->type, a->state) && a->has_session))
        return pp_fail_field(error, PIPES_PROTO_ERR_INVALID_ARGUMENT, NULL);
    if (a->action_len > 0 && !pipes_proto_id_valid(a->action, a->action_len))
        return pp_fail_field(error, PIPES_PROTO_ERR_BAD_ACTION, "action");
    if ((st = pp_check_text(error, "user", a->user, a->user_len, PIPES_PROTO_MAX_ACCOUNT)) != 0)
        return st;
    if (a->has_time && !pp_time_in_range(a->time_ms))
        return pp_fail_field(error, PIPES_PROTO_ERR_BAD_TIME, "time");
    st = cross_check(a, &field);
    if (st != PIPES_PROTO_OK)
        return pp_fail_field(error, st, field);
    return PIPES_PROTO_OK;
}

pipes_proto_status pipes_proto_write_answer(const pipes_proto_answer *a, char *buf, size_t cap,
                                            size_t *written)
{
    pp_writer w;
    pipes_proto_status st = pp_w_begin(&w, buf, cap, written, pipes_proto_answer_validate(a, NULL));
    if (st != PIPES_PROTO_OK)
        return st;
    pp_w_lit(&w, "{\"v\":1,\"type\":\"");
    pp_w_lit(&w, type_names[a->type]);
    pp_w_lit(&w, "\"");
    pp_w_member_string(&w, ",\"id\":", a->id, a->id_len);
    if (a->state != PIPES_PROTO_STATE_NONE) {
        pp_w_lit(&w, ",\"state\":\"");
        pp_w_lit(&w, state_names[a->state]);
        pp_w_lit(&w, "\"");
    }
    if (a->result != PIPES_PROTO_RESULT_NONE) {
        pp_w_lit(&w, ",\"result\":\"");
        pp_w_lit(&w, result_names[a->result]);
        pp_w_lit(&w, "\"");
    }
    if (a->action_len > 0)
        pp_w_member_string(&w, ",\"action\":", a->action, a->action_len);
    if (a->has_session) {
        pp_w_lit(&w, ",\"session\":");
        pp_w_uint(&w, a->session);
    }
    if (a->user_len > 0)
        pp_w_member_string(&w, ",\"user\":", a->user, a->user_len);
    if (a->has_time)
        pp_w_time(&w, ",\"time\":", a->time_ms);
    pp_w_lit(&w, "}");
    return pp_w_finish(&w, written);
}
