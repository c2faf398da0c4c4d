/*
 * pp_interactive.c - the fields of interactive notifications (docs/PROTOCOL.md
 * section 2): actions, open, tag and clear, progress, sticky, priority, the
 * string forms of wait, and the service-written sender. Parse, validate,
 * write, and the setters that check their input.
 */
#include "pp_internal.h"

#include <string.h>

static const char *const priority_names[] = {"normal", "low", "high", "urgent"};
static const char *const kind_names[] = {NULL, "user", "system", "service", "broker"};
static const char *const wait_names[] = {NULL, "displayed", "response"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *pipes_proto_priority_name(pipes_proto_priority priority)
{
    return (unsigned)priority < COUNT(priority_names) ? priority_names[priority] : NULL;
}

const char *pipes_proto_sender_kind_name(pipes_proto_sender_kind kind)
{
    return (unsigned)kind < COUNT(kind_names) ? kind_names[kind] : NULL;
}

/* ------------------------------------------------------------------------ */
/* SIDs and URLs                                                            */
/* ------------------------------------------------------------------------ */

int pipes_proto_sid_valid(const char *s, size_t len)
{
    size_t i = 4;
    unsigned groups = 0;
    if (s == NULL || len < 5 || len > PIPES_PROTO_MAX_SID || memcmp(s, "S-1-", 4) != 0)
        return 0;
    for (;;) {
        size_t start = i;
        uint64_t v = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 16)
            v = v * 10 + (uint64_t)(s[i++] - '0');
        size_t digits = i - start;
        /* The authority has up to 15 digits (48 bits); sub-authorities are 32-bit. */
        if (digits == 0 || (groups == 0 ? digits > 15 : (digits > 10 || v > UINT32_MAX)))
            return 0;
        if (++groups > 16)
            return 0; /* the authority and at most 15 sub-authorities */
        if (i == len)
            return 1;
        if (s[i] != '-')
            return 0;
        i++;
    }
}

static int lower_prefix(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    if (len < n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != prefix[i])
            return 0;
    }
    return 1;
}

static int alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Host and port: unreserved characters, ':' and the brackets of an IPv6 literal. */
static int authority_char(char c)
{
    return alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '[' ||
           c == ']';
}

/* What RFC 3986 allows in a URI, percent included (escapes are not decoded). */
static int uri_char(char c)
{
    return alnum(c) || (c != '\0' && strchr("-._~:/?#[]@!$&'()*+,;=%", c) != NULL);
}

pipes_proto_status pipes_proto_url_check(const char *url, size_t len, size_t *host_off,
                                         size_t *host_len)
{
    size_t i, host;
    if (url == NULL || len == 0)
        return PIPES_PROTO_ERR_BAD_URL;
    if (len > PIPES_PROTO_MAX_URL)
        return PIPES_PROTO_ERR_FIELD_TOO_LONG;
    if (lower_prefix(url, len, "https://"))
        i = 8;
    else if (lower_prefix(url, len, "http://"))
        i = 7;
    else
        return PIPES_PROTO_ERR_BAD_URL; /* file:, javascript:, ms-settings:, ... */
    host = i;
    while (i < len && url[i] != '/' && url[i] != '?' && url[i] != '#') {
        if (!authority_char(url[i]))
            return PIPES_PROTO_ERR_BAD_URL; /* '@' (user information) included */
        i++;
    }
    if (i == host || i - host > 255 || url[host] == ':')
        return PIPES_PROTO_ERR_BAD_URL; /* no host */
    if (host_off)
        *host_off = host;
    if (host_len)
        *host_len = i - host;
    for (; i < len; i++) {
        if (!uri_char(url[i]))
            return PIPES_PROTO_ERR_BAD_URL;
    }
    return PIPES_PROTO_OK;
}

/* ------------------------------------------------------------------------ */
/* Parse                                                                    */
/* ------------------------------------------------------------------------ */

/* One element of "actions" (the cursor is at it). */
static void parse_action(pp_cursor *c, pipes_proto_notification *out, pipes_proto_error *err)
{
    pipes_proto_action a;
    char key[PP_KEY_BUF];
    size_t klen;
    size_t at = c->pos;
    int has_id = 0, has_label = 0;
    memset(&a, 0, sizeof a);
    if (pp_cursor_kind(c) != PP_OBJECT) {
        pp_set_error(err, PIPES_PROTO_ERR_WRONG_TYPE, at, "actions", 0);
        pp_cursor_skip(c);
        return;
    }
    pp_cursor_enter(c);
    while (pp_cursor_next_member(c, key, &klen)) {
        size_t vat = c->pos;
        if (strcmp(key, "id") == 0) {
            has_id = pp_read_id(c, err, "actions.id", a.id, &a.id_len, PIPES_PROTO_ERR_BAD_ACTION);
        } else if (strcmp(key, "label") == 0) {
            has_label = pp_read_string(c, err, "actions.label", a.label, PIPES_PROTO_MAX_LABEL,
                                       &a.label_len);
            if (has_label && a.label_len == 0)
                pp_set_error(err, PIPES_PROTO_ERR_BAD_ACTION, vat, "actions.label", 0);
        } else {
            pp_cursor_skip(c); /* unknown member: ignored (null id/label included) */
        }
    }
    if (!has_id || !has_label) {
        pp_set_error(err, PIPES_PROTO_ERR_BAD_ACTION, at, has_id ? "actions.label" : "actions.id",
                     0);
        return;
    }
    for (unsigned i = 0; i < out->action_count; i++) {
        if (strcmp(out->actions[i].id, a.id) == 0) {
            pp_set_error(err, PIPES_PROTO_ERR_BAD_ACTION, at, "actions.id", 0); /* twice */
            return;
        }
    }
    if (out->action_count < PIPES_PROTO_MAX_ACTIONS)
        out->actions[out->action_count++] = a;
}

static void parse_actions(pp_cursor *c, pipes_proto_notification *out, pipes_proto_error *err)
{
    unsigned seen = 0;
    if (pp_cursor_kind(c) != PP_ARRAY) {
        pp_set_error(err, PIPES_PROTO_ERR_WRONG_TYPE, c->pos, "actions", 0);
        pp_cursor_skip(c);
        return;
    }
    pp_cursor_enter(c);
    while (pp_cursor_next_element(c)) {
        if (++seen > PIPES_PROTO_MAX_ACTIONS) {
            pp_set_error(err, PIPES_PROTO_ERR_TOO_MANY_ACTIONS, c->pos, "actions",
                         PIPES_PROTO_MAX_ACTIONS);
            pp_cursor_skip(c);
        } else {
            parse_action(c, out, err);
        }
    }
}

static void parse_progress(pp_cursor *c, pipes_proto_notification *out, pipes_proto_error *err)
{
    char key[PP_KEY_BUF];
    size_t klen;
    uint64_t v = 0;
    if (pp_cursor_kind(c) != PP_OBJECT) {
        pp_set_error(err, PIPES_PROTO_ERR_WRONG_TYPE, c->pos, "progress", 0);
        pp_cursor_skip(c);
        return;
    }
    out->has_progress = 1;
    out->progress_value = -1; /* absent or null value: indeterminate */
    pp_cursor_enter(c);
    while (pp_cursor_next_member(c, key, &klen)) {
        if (strcmp(key, "value") == 0 && !pp_skip_null(c)) {
            if (pp_read_uint(c, err, "progress.value", 0, 100, PIPES_PROTO_ERR_BAD_PROGRESS, &v))
                out->progress_value = (int)v;
        } else if (strcmp(key, "status") == 0 && !pp_skip_null(c)) {
            pp_read_string(c, err, "progress.status", out->progress_status,
                           PIPES_PROTO_MAX_STATUS, &out->progress_status_len);
        } else if (strcmp(key, "value") != 0 && strcmp(key, "status") != 0) {
            pp_cursor_skip(c); /* unknown member: ignored */
        }
    }
}

static void parse_sender(pp_cursor *c, pipes_proto_notification *out, pipes_proto_error *err)
{
    pipes_proto_sender *s = &out->sender;
    char key[PP_KEY_BUF];
    size_t klen;
    size_t at = c->pos;
    int kind = 0;
    if (pp_cursor_kind(c) != PP_OBJECT) {
        pp_set_error(err, PIPES_PROTO_ERR_WRONG_TYPE, at, "sender", 0);
        pp_cursor_skip(c);
        return;
    }
    pp_cursor_enter(c);
    while (pp_cursor_next_member(c, key, &klen)) {
        size_t vat = c->pos;
        if (strcmp(key, "kind") == 0 && !pp_skip_null(c)) {
            if (pp_read_enum(c, err, "sender.kind", kind_names, COUNT(kind_names),
                             PIPES_PROTO_ERR_BAD_SENDER, &kind))
                s->kind = (pipes_proto_sender_kind)kind;
        } else if (strcmp(key, "account") == 0 && !pp_skip_null(c)) {
            pp_read_string(c, err, "sender.account", s->account, PIPES_PROTO_MAX_ACCOUNT,
                           &s->account_len);
        } else if (strcmp(key, "sid") == 0 && !pp_skip_null(c)) {
            if (pp_read_text(c, err, "sender.sid", s->sid, PIPES_PROTO_MAX_SID, &s->sid_len,
                             PIPES_PROTO_ERR_BAD_SENDER) &&
                !pipes_proto_sid_valid(s->sid, s->sid_len))
                pp_set_error(err, PIPES_PROTO_ERR_BAD_SENDER, vat, "sender.sid", 0);
        } else if (strcmp(key, "origin") == 0 && !pp_skip_null(c)) {
            pp_read_string(c, err, "sender.origin", s->origin, PIPES_PROTO_MAX_ORIGIN,
                           &s->origin_len);
        } else if (strcmp(key, "kind") != 0 && strcmp(key, "account") != 0 &&
                   strcmp(key, "sid") != 0 && strcmp(key, "origin") != 0) {
            pp_cursor_skip(c); /* unknown member: ignored */
        }
    }
    if (s->kind == PIPES_PROTO_SENDER_NONE || s->sid_len == 0)
        pp_set_error(err, PIPES_PROTO_ERR_BAD_SENDER, at, s->kind ? "sender.sid" : "sender.kind", 0);
    else if ((s->kind == PIPES_PROTO_SENDER_BROKER) != (s->origin_len > 0))
        pp_set_error(err, PIPES_PROTO_ERR_BAD_SENDER, at, "sender.origin", 0);
}

/* "wait": true, false, "displayed" or "response". */
static void parse_wait(pp_cursor *c, pipes_proto_notification *out, pipes_proto_error *err)
{
    int b = 0, e = 0;
    if (pp_cursor_kind(c) == PP_STRING) {
        if (pp_read_enum(c, err, "wait", wait_names, COUNT(wait_names), PIPES_PROTO_ERR_BAD_WAIT,
                         &e))
            out->wait = e;
    } else if (pp_read_bool(c, err, "wait", &b)) {
        out->wait = b ? PIPES_PROTO_WAIT_DISPLAYED : PIPES_PROTO_WAIT_NONE;
    }
}

int pp_interactive_member(pp_cursor *c, const char *key, pipes_proto_notification *out,
                          pipes_proto_error *err)
{
    size_t at = c->pos;
    int e = 0;
    if (strcmp(key, "wait") == 0) {
        parse_wait(c, out, err);
    } else if (strcmp(key, "actions") == 0) {
        parse_actions(c, out, err);
    } else if (strcmp(key, "open") == 0) {
        if (pp_read_string(c, err, "open", out->open, PIPES_PROTO_MAX_URL, &out->open_len) &&
            pipes_proto_url_check(out->open, out->open_len, NULL, NULL) != PIPES_PROTO_OK) {
            pp_set_error(err, PIPES_PROTO_ERR_BAD_URL, at, "open", 0);
            out->open[0] = '\0';
            out->open_len = 0;
        }
    } else if (strcmp(key, "tag") == 0) {
        pp_read_id(c, err, "tag", out->tag, &out->tag_len, PIPES_PROTO_ERR_BAD_TAG);
    } else if (strcmp(key, "clear") == 0) {
        pp_read_bool(c, err, "clear", &out->clear);
    } else if (strcmp(key, "progress") == 0) {
        parse_progress(c, out, err);
    } else if (strcmp(key, "sticky") == 0) {
        pp_read_bool(c, err, "sticky", &out->sticky);
    } else if (strcmp(key, "priority") == 0) {
        if (pp_read_enum(c, err, "priority", priority_names, COUNT(priority_names),
                         PIPES_PROTO_ERR_BAD_PRIORITY, &e))
            out->priority = (pipes_proto_priority)e;
    } else if (strcmp(key, "sender") == 0) {
        parse_sender(c, out, err);
    } else {
        return 0;
    }
    return 1;
}

void pp_interactive_finish(const pipes_proto_notification *n, pipes_proto_error *err, size_t end)
{
    if (n->clear && n->tag_len == 0)
        pp_set_error(err, PIPES_PROTO_ERR_MISSING_FIELD, end, "tag", 0);
    if (n->wait == PIPES_PROTO_WAIT_RESPONSE && n->action_count == 0)
        pp_set_error(err, PIPES_PROTO_ERR_BAD_WAIT, end, "wait", 0); /* nothing to answer */
}

/* ------------------------------------------------------------------------ */
/* Validate                                                                 */
/* ------------------------------------------------------------------------ */

static pipes_proto_status check_action(const pipes_proto_action *a, pipes_proto_error *err)
{
    if (!pipes_proto_id_valid(a->id, a->id_len))
        return pp_fail_field(err, PIPES_PROTO_ERR_BAD_ACTION, "actions.id");
    if (a->label_len == 0)
        return pp_fail_field(err, PIPES_PROTO_ERR_BAD_ACTION, "actions.label");
    return pp_check_text(err, "actions.label", a->label, a->label_len, PIPES_PROTO_MAX_LABEL);
}

static pipes_proto_status check_sender(const pipes_proto_sender *s, pipes_proto_error *err)
{
    pipes_proto_status st;
    if (pipes_proto_sender_kind_name(s->kind) == NULL)
        return pp_fail_field(err, PIPES_PROTO_ERR_BAD_SENDER, "sender.kind");
    if (!pipes_proto_sid_valid(s->sid, s->sid_len))
        return pp_fail_field(err, PIPES_PROTO_ERR_BAD_SENDER, "sender.sid");
    if ((s->kind == PIPES_PROTO_SENDER_BROKER) != (s->origin_len > 0))
        return pp_fail_field(err, PIPES_PROTO_ERR_BAD_SENDER, "sender.origin");
    st = pp_check_text(err, "sender.account", s->account, s->account_len, PIPES_PROTO_MAX_ACCOUNT);
    if (st == PIPES_PROTO_OK)
        st = pp_check_text(err, "sender.origin", s->origin, s->origin_len, PIPES_PROTO_MAX_ORIGIN);
    return st;
}

pipes_proto_status pp_interactive_validate(const pipes_proto_notification *n,
                                           pipes_proto_error *err)
{
    pipes_proto_status st;
    if (n->wait < PIPES_PROTO_WAIT_NONE || n->wait > PIPES_PROTO_WAIT_RESPONSE ||
        (n->wait == PIPES_PROTO_WAIT_RESPONSE && n->action_count == 0))
        return pp_fail_field(err, PIPES_PROTO_ERR_BAD_WAIT, "wait");
    if (n->action_count > PIPES_PROTO_MAX_ACTIONS)
        return pp_fail_field(err, PIPES_PROTO_ERR_TOO_MANY_ACTIONS, "actions");
    for (unsigned i = 0; i < n->action_count; i++) {
        if ((st = check_action(&n->actions[i], err)) != PIPES_PROTO_OK)
            return st;
        for (unsigned j = 0; j < i; j++) {
            if (strcmp(n->actions[i].id, n->actions[j].id) == 0)
                return pp_fail_field(err, PIPES_PROTO_ERR_BAD_ACTION, "actions.id");
        }
    }
    if (n->open_len > 0 && (st = pipes_proto_url_check(n->open, n->open_len, NULL, NULL)) != 0)
        return pp_fail_field(err, st, "open");
    if (n->tag_len > 0 && !pipes_proto_id_valid(n->tag, n->tag_len))
        return pp_fail_field(err, PIPES_PROTO_ERR_BAD_TAG, "tag");
    if (n->clear && n->tag_len == 0)
        return pp_fail_field(err, PIPES_PROTO_ERR_MISSING_FIELD, "tag");
    if (n->has_progress) {
        if (n->progress_value < -1 || n->progress_value > 100)
            return pp_fail_field(err, PIPES_PROTO_ERR_BAD_PROGRESS, "progress.value");
        st = pp_check_text(err, "progress.status", n->progress_status, n->progress_status_len,
                           PIPES_PROTO_MAX_STATUS);
        if (st != PIPES_PROTO_OK)
            return st;
    }
    if (pipes_proto_priority_name(n->priority) == NULL)
        return pp_fail_field(err, PIPES_PROTO_ERR_BAD_PRIORITY, "priority");
    if (n->sender.kind != PIPES_PROTO_SENDER_NONE)
        return check_sender(&n->sender, err);
    return PIPES_PROTO_OK;
}

pipes_proto_status pipes_proto_check_submission(const pipes_proto_notification *n,
                                                pipes_proto_error *error)
{
    pipes_proto_error local;
    if (error == NULL)
        error = &local;
    memset(error, 0, sizeof *error);
    if (n == NULL)
        return pp_fail_field(error, PIPES_PROTO_ERR_INVALID_ARGUMENT, NULL);
    if (n->sender.kind != PIPES_PROTO_SENDER_NONE)
        return pp_fail_field(error, PIPES_PROTO_ERR_SENDER_NOT_ALLOWED, "sender");
    return PIPES_PROTO_OK;
}

/* ------------------------------------------------------------------------ */
/* Write                                                                    */
/* ------------------------------------------------------------------------ */

static void w_enum(pp_writer *w, const char *name, const char *value)
{
    pp_w_lit(w, name);
    pp_w_lit(w, "\"");
    pp_w_lit(w, value);
    pp_w_lit(w, "\"");
}

void pp_w_interactive(pp_writer *w, const pipes_proto_notification *n)
{
    /* "wait":true keeps a waiting submission readable by older services. */
    if (n->wait == PIPES_PROTO_WAIT_DISPLAYED)
        pp_w_lit(w, ",\"wait\":true");
    else if (n->wait == PIPES_PROTO_WAIT_RESPONSE)
        pp_w_lit(w, ",\"wait\":\"response\"");
    if (n->action_count > 0) {
        pp_w_lit(w, ",\"actions\":[");
        for (unsigned i = 0; i < n->action_count; i++) {
            pp_w_member_string(w, i ? ",{\"id\":" : "{\"id\":", n->actions[i].id,
                               n->actions[i].id_len);
            pp_w_member_string(w, ",\"label\":", n->actions[i].label, n->actions[i].label_len);
            pp_w_lit(w, "}");
        }
        pp_w_lit(w, "]");
    }
    if (n->open_len > 0)
        pp_w_member_string(w, ",\"open\":", n->open, n->open_len);
    if (n->tag_len > 0)
        pp_w_member_string(w, ",\"tag\":", n->tag, n->tag_len);
    if (n->clear)
        pp_w_lit(w, ",\"clear\":true");
    if (n->has_progress) {
        pp_w_lit(w, ",\"progress\":{\"value\":");
        if (n->progress_value < 0)
            pp_w_lit(w, "null");
        else
            pp_w_uint(w, (uint64_t)n->progress_value);
        if (n->progress_status_len > 0)
            pp_w_member_string(w, ",\"status\":", n->progress_status, n->progress_status_len);
        pp_w_lit(w, "}");
    }
    if (n->sticky)
        pp_w_lit(w, ",\"sticky\":true");
    if (n->priority != PIPES_PROTO_PRIORITY_NORMAL)
        w_enum(w, ",\"priority\":", pipes_proto_priority_name(n->priority));
    if (n->sender.kind != PIPES_PROTO_SENDER_NONE) {
        w_enum(w, ",\"sender\":{\"kind\":", pipes_proto_sender_kind_name(n->sender.kind));
        pp_w_member_string(w, ",\"account\":", n->sender.account, n->sender.account_len);
        pp_w_member_string(w, ",\"sid\":", n->sender.sid, n->sender.sid_len);
        if (n->sender.origin_len > 0)
            pp_w_member_string(w, ",\"origin\":", n->sender.origin, n->sender.origin_len);
        pp_w_lit(w, "}");
    }
}

/* ------------------------------------------------------------------------ */
/* Setters                                                                  */
/* ------------------------------------------------------------------------ */

pipes_proto_status pipes_proto_notification_add_action(pipes_proto_notification *n,
                                                       const char *id, size_t id_len,
                                                       const char *label, size_t label_len)
{
    pipes_proto_action *a;
    size_t bad;
    pipes_proto_status st;
    if (n == NULL || (label == NULL && label_len != 0))
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    if (n->action_count >= PIPES_PROTO_MAX_ACTIONS)
        return PIPES_PROTO_ERR_TOO_MANY_ACTIONS;
    if (!pipes_proto_id_valid(id, id_len) || label_len == 0)
        return PIPES_PROTO_ERR_BAD_ACTION;
    if (label_len > PIPES_PROTO_MAX_LABEL)
        return PIPES_PROTO_ERR_FIELD_TOO_LONG;
    if ((st = pp_text_check(label, label_len, &bad)) != PIPES_PROTO_OK)
        return st;
    for (unsigned i = 0; i < n->action_count; i++) {
        if (n->actions[i].id_len == id_len && memcmp(n->actions[i].id, id, id_len) == 0)
            return PIPES_PROTO_ERR_BAD_ACTION;
    }
    a = &n->actions[n->action_count++];
    pp_copy(a->id, id, id_len);
    a->id_len = id_len;
    pp_copy(a->label, label, label_len);
    a->label_len = label_len;
    return PIPES_PROTO_OK;
}

pipes_proto_status pipes_proto_notification_set_progress(pipes_proto_notification *n, int value,
                                                         const char *status, size_t status_len)
{
    size_t bad;
    pipes_proto_status st;
    if (n == NULL || (status == NULL && status_len != 0))
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    if (value < -1 || value > 100)
        return PIPES_PROTO_ERR_BAD_PROGRESS;
    if (status_len > PIPES_PROTO_MAX_STATUS)
        return PIPES_PROTO_ERR_FIELD_TOO_LONG;
    if (status_len > 0 && (st = pp_text_check(status, status_len, &bad)) != PIPES_PROTO_OK)
        return st;
    n->has_progress = 1;
    n->progress_value = value;
    pp_copy(n->progress_status, status ? status : "", status_len);
    n->progress_status_len = status_len;
    return PIPES_PROTO_OK;
}

pipes_proto_status pipes_proto_sender_set(pipes_proto_sender *s, pipes_proto_sender_kind kind,
                                          const char *account, const char *sid,
                                          const char *origin)
{
    pipes_proto_sender t;
    pipes_proto_status st;
    if (s == NULL)
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    memset(&t, 0, sizeof t);
    t.kind = kind;
    t.account_len = account ? pp_strnlen(account, PIPES_PROTO_MAX_ACCOUNT + 1) : 0;
    t.sid_len = sid ? pp_strnlen(sid, PIPES_PROTO_MAX_SID + 1) : 0;
    t.origin_len = origin ? pp_strnlen(origin, PIPES_PROTO_MAX_ORIGIN + 1) : 0;
    if (t.account_len > PIPES_PROTO_MAX_ACCOUNT || t.origin_len > PIPES_PROTO_MAX_ORIGIN)
        return PIPES_PROTO_ERR_FIELD_TOO_LONG;
    if (t.sid_len > PIPES_PROTO_MAX_SID)
        return PIPES_PROTO_ERR_BAD_SENDER;
    pp_copy(t.account, account ? account : "", t.account_len);
    pp_copy(t.sid, sid ? sid : "", t.sid_len);
    pp_copy(t.origin, origin ? origin : "", t.origin_len);
    st = check_sender(&t, NULL);
    if (st == PIPES_PROTO_OK)
        *s = t;
    return st;
}
