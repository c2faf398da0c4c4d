/*
 * pp_util.c - status texts, error descriptions, ids, enum names, pipe names.
 */
#include "pp_internal.h"

#include <string.h>

static const struct {
    const char *code;
    const char *text;
} status_info[PIPES_PROTO_STATUS_COUNT] = {
    {"ok", "ok"},
    {"message_too_large", "message too large"},
    {"invalid_utf8", "invalid UTF-8"},
    {"unexpected_end", "unexpected end of message"},
    {"syntax", "JSON syntax error"},
    {"bad_escape", "bad escape sequence"},
    {"control_char", "unescaped control character in a string"},
    {"nul_char", "U+0000 in a string"},
    {"not_object", "top-level value is not an object"},
    {"trailing_data", "trailing data after the top-level object"},
    {"too_deep", "nesting too deep"},
    {"too_many_members", "too many members in an object"},
    {"duplicate_key", "duplicate key"},
    {"wrong_type", "wrong JSON type"},
    {"missing_field", "required field missing"},
    {"unsupported_version", "unsupported format version"},
    {"bad_message_type", "unknown message type"},
    {"bad_id", "invalid id (1-64 characters of A-Z a-z 0-9 - _ . :)"},
    {"empty_title", "empty title"},
    {"field_too_long", "field too long"},
    {"bad_level", "level must be info, warning or error"},
    {"bad_time", "time is not RFC 3339 UTC"},
    {"bad_ttl", "ttl out of range (1-31536000 seconds)"},
    {"bad_target", "target needs exactly one of session (0-4294967295) or user"},
    {"out_of_range", "number out of range"},
    {"invalid_argument", "invalid argument"},
    {"buffer_too_small", "output buffer too small"},
    {"too_many_actions", "too many actions"},
    {"bad_action", "action needs an id (A-Z a-z 0-9 - _ . :, unique) and a non-empty label"},
    {"bad_url", "open must be an http:// or https:// URL with a host and no user information"},
    {"bad_tag", "invalid tag (1-64 characters of A-Z a-z 0-9 - _ . :)"},
    {"bad_progress", "progress value must be 0-100 or null"},
    {"bad_priority", "priority must be low, normal, high or urgent"},
    {"bad_wait", "wait must be true, false, \"displayed\" or \"response\" (response needs actions)"},
    {"bad_sender", "sender needs a kind (user, system, service, broker), a SID, and an origin for a broker only"},
    {"sender_not_allowed", "sender is set by the service, not by a submitter"},
    {"bad_result", "result must be action, dismissed or timeout, with action exactly for action"},
    {"bad_state", "state must be unknown, pending, displayed or answered"},
};

const char *pipes_proto_status_code(pipes_proto_status status)
{
    if ((unsigned)status >= PIPES_PROTO_STATUS_COUNT)
        return "unknown";
    return status_info[status].code;
}

int pipes_proto_status_is_wire(pipes_proto_status status)
{
    return (unsigned)status < PIPES_PROTO_STATUS_COUNT && status != PIPES_PROTO_OK &&
           status != PIPES_PROTO_ERR_INVALID_ARGUMENT &&
           status != PIPES_PROTO_ERR_BUFFER_TOO_SMALL;
}

const char *pipes_proto_status_string(pipes_proto_status status)
{
    if ((unsigned)status >= PIPES_PROTO_STATUS_COUNT)
        return "unknown status";
    return status_info[status].text;
}

void pp_set_error(pipes_proto_error *err, pipes_proto_status st, size_t off, const char *field,
                  size_t limit)
{
    if (err == NULL || err->status != PIPES_PROTO_OK)
        return;
    err->status = st;
    err->offset = off;
    err->field = field;
    err->limit = limit;
}

size_t pp_strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0')
        n++;
    return n;
}

void pp_copy(char *dst, const char *src, size_t len)
{
    if (len > 0)
        memcpy(dst, src, len);
    dst[len] = '\0';
}

size_t pp_u64_to_dec(uint64_t v, char out[21])
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* Appends s to buf[*len..cap-1], keeping room for the NUL. */
static void append(char *buf, size_t cap, size_t *len, const char *s)
{
    while (*s && *len + 1 < cap)
        buf[(*len)++] = *s++;
}

size_t pipes_proto_error_text(const pipes_proto_error *error, char *buf, size_t cap)
{
    size_t len = 0;
    char num[21];
    if (buf == NULL || cap == 0)
        return 0;
    if (error == NULL) {
        buf[0] = '\0';
        return 0;
    }
    if (error->field) {
        append(buf, cap, &len, "field \"");
        append(buf, cap, &len, error->field);
        append(buf, cap, &len, "\": ");
    }
    append(buf, cap, &len, pipes_proto_status_string(error->status));
    if (error->limit != 0) {
        pp_u64_to_dec(error->limit, num);
        append(buf, cap, &len, " (max ");
        append(buf, cap, &len, num);
        int bytes = error->status == PIPES_PROTO_ERR_FIELD_TOO_LONG ||
                    error->status == PIPES_PROTO_ERR_MESSAGE_TOO_LARGE;
        append(buf, cap, &len, bytes ? " bytes)" : ")");
    }
    if (error->status != PIPES_PROTO_OK) {
        pp_u64_to_dec(error->offset, num);
        append(buf, cap, &len, " at byte ");
        append(buf, cap, &len, num);
    }
    buf[len] = '\0';
    return len;
}

int pipes_proto_id_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > PIPES_PROTO_MAX_ID)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok)
            return 0;
    }
    return 1;
}

const char *pipes_proto_level_name(pipes_proto_level level)
{
    switch (level) {
    case PIPES_PROTO_LEVEL_INFO: return "info";
    case PIPES_PROTO_LEVEL_WARNING: return "warning";
    case PIPES_PROTO_LEVEL_ERROR: return "error";
    default: return NULL;
    }
}

static const char *const reason_names[] = {
    NULL,           "malformed",    "too_large",     "unsupported_version", "not_allowed",
    "queue_full",   "rate_limited", "shutting_down", "internal_error",
};

const char *pipes_proto_reason_name(pipes_proto_reason reason)
{
    if ((unsigned)reason >= sizeof reason_names / sizeof reason_names[0])
        return NULL;
    return reason_names[reason];
}

/* Inverse of pipes_proto_reason_name; UNKNOWN for other strings. */
pipes_proto_reason pp_reason_from_name(const char *s)
{
    for (size_t i = 1; i < sizeof reason_names / sizeof reason_names[0]; i++) {
        if (strcmp(s, reason_names[i]) == 0)
            return (pipes_proto_reason)i;
    }
    return PIPES_PROTO_REASON_UNKNOWN;
}

int pipes_proto_reason_is_temporary(pipes_proto_reason reason)
{
    return reason == PIPES_PROTO_REASON_QUEUE_FULL || reason == PIPES_PROTO_REASON_RATE_LIMITED ||
           reason == PIPES_PROTO_REASON_SHUTTING_DOWN ||
           reason == PIPES_PROTO_REASON_INTERNAL_ERROR;
}

pipes_proto_reason pipes_proto_reason_for_status(pipes_proto_status status)
{
    if (status == PIPES_PROTO_OK)
        return PIPES_PROTO_REASON_NONE;
    if (status == PIPES_PROTO_ERR_MESSAGE_TOO_LARGE)
        return PIPES_PROTO_REASON_TOO_LARGE;
    if (status == PIPES_PROTO_ERR_UNSUPPORTED_VERSION)
        return PIPES_PROTO_REASON_UNSUPPORTED_VERSION;
    if (status == PIPES_PROTO_ERR_SENDER_NOT_ALLOWED)
        return PIPES_PROTO_REASON_NOT_ALLOWED;
    return PIPES_PROTO_REASON_MALFORMED;
}

size_t pipes_proto_tray_pipe_name_a(uint32_t session, char *out, size_t cap)
{
    static const char prefix[] = PIPES_PROTO_TRAY_PIPE_PREFIX_A;
    char num[21];
    size_t plen = sizeof prefix - 1;
    size_t nlen = pp_u64_to_dec(session, num);
    if (out == NULL || cap < plen + nlen + 1) {
        if (out != NULL && cap > 0)
            out[0] = '\0';
        return 0;
    }
    memcpy(out, prefix, plen);
    memcpy(out + plen, num, nlen + 1);
    return plen + nlen;
}

size_t pipes_proto_tray_pipe_name_w(uint32_t session, wchar_t *out, size_t cap)
{
    char narrow[PIPES_PROTO_PIPE_NAME_BUFSIZE];
    size_t n = pipes_proto_tray_pipe_name_a(session, narrow, sizeof narrow);
    if (out == NULL || n == 0 || cap < n + 1) {
        if (out != NULL && cap > 0)
            out[0] = L'\0';
        return 0;
    }
    for (size_t i = 0; i <= n; i++)
        out[i] = (wchar_t)(unsigned char)narrow[i]; /* the name is ASCII */
    return n;
}
