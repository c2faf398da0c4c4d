/*
 * pp_json_writer.c - bounded JSON output with escaping.
 *
 * The writer never writes past cap; once something does not fit it only
 * records the overflow, so callers check once at the end (pp_w_finish).
 * Strings are emitted as UTF-8; only '"', '\' and control characters are
 * escaped, which keeps every valid message within PIPES_PROTO_MAX_MESSAGE.
 */
#include "pp_internal.h"

#include <string.h>

void pp_w_init(pp_writer *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

void pp_w_raw(pp_writer *w, const char *s, size_t len)
{
    if (len == 0)
        return;
    if (w->overflow || len > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    memcpy(w->buf + w->len, s, len);
    w->len += len;
}

void pp_w_lit(pp_writer *w, const char *s)
{
    pp_w_raw(w, s, strlen(s));
}

void pp_w_string(pp_writer *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    pp_w_raw(w, "\"", 1);
    size_t run = 0; /* start of the pending run of bytes needing no escape */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        pp_w_raw(w, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xF];
            elen = 6;
            break;
        }
        pp_w_raw(w, esc, elen);
    }
    pp_w_raw(w, s + run, len - run);
    pp_w_raw(w, "\"", 1);
}

void pp_w_uint(pp_writer *w, uint64_t value)
{
    char digits[21];
    size_t n = pp_u64_to_dec(value, digits);
    pp_w_raw(w, digits, n);
}

pipes_proto_status pp_w_begin(pp_writer *w, char *buf, size_t cap, size_t *written,
                              pipes_proto_status valid)
{
    if (written)
        *written = 0;
    if (buf == NULL)
        return PIPES_PROTO_ERR_INVALID_ARGUMENT;
    if (valid != PIPES_PROTO_OK) {
        if (cap > 0)
            buf[0] = '\0';
        return valid;
    }
    pp_w_init(w, buf, cap);
    return PIPES_PROTO_OK;
}

pipes_proto_status pp_w_finish(pp_writer *w, size_t *written)
{
    if (w->overflow) {
        if (w->cap > 0)
            w->buf[0] = '\0';
        if (written)
            *written = 0;
        return PIPES_PROTO_ERR_BUFFER_TOO_SMALL;
    }
    if (w->len < w->cap)
        w->buf[w->len] = '\0';
    if (written)
        *written = w->len;
    return PIPES_PROTO_OK;
}
