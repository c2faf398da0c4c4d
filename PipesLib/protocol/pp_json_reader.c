/*
 * pp_json_reader.c - strict JSON (RFC 8259) for protocol messages.
 *
 * Pass 1 (pp_json_validate) checks everything and reports the first problem
 * with its byte offset. Pass 2 (pp_cursor_*) walks a document that pass 1
 * accepted, so it has no error paths. Recursion is bounded by
 * PIPES_PROTO_MAX_DEPTH; duplicate-key checks are bounded by
 * PIPES_PROTO_MAX_MEMBERS per object, so the cost stays linear-ish in the
 * (already bounded) message size.
 */
#include "pp_internal.h"

#include <string.h>

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at p; -1 if any is not hex. */
static long hex4(const uint8_t *p)
{
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p[k]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* Decodes one code point of validated string content at p[*i] (escape or
 * UTF-8 sequence) and advances *i past it. */
static uint32_t next_cp(const uint8_t *p, size_t *i)
{
    uint8_t c = p[*i];
    if (c == '\\') {
        uint8_t e = p[*i + 1];
        *i += 2;
        switch (e) {
        case 'b': return 0x08;
        case 'f': return 0x0C;
        case 'n': return 0x0A;
        case 'r': return 0x0D;
        case 't': return 0x09;
        case 'u': {
            uint32_t cu = (uint32_t)hex4(p + *i);
            *i += 4;
            if (cu >= 0xD800 && cu <= 0xDBFF) {
                uint32_t lo = (uint32_t)hex4(p + *i + 2);
                *i += 6;
                return 0x10000 + ((cu - 0xD800) << 10) + (lo - 0xDC00);
            }
            return cu;
        }
        default: return e; /* " \ / */
        }
    }
    if (c < 0x80) {
        *i += 1;
        return c;
    }
    if (c < 0xE0) {
        uint32_t cp = ((uint32_t)(c & 0x1F) << 6) | (p[*i + 1] & 0x3Fu);
        *i += 2;
        return cp;
    }
    if (c < 0xF0) {
        uint32_t cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(p[*i + 1] & 0x3F) << 6) |
                      (p[*i + 2] & 0x3Fu);
        *i += 3;
        return cp;
    }
    uint32_t cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(p[*i + 1] & 0x3F) << 12) |
                  ((uint32_t)(p[*i + 2] & 0x3F) << 6) | (p[*i + 3] & 0x3Fu);
    *i += 4;
    return cp;
}

/* ======================================================================== */
/* Pass 1                                                                   */
/* ======================================================================== */

static pipes_proto_status fail(pp_validator *v, pipes_proto_status st, size_t off)
{
    pp_set_error(&v->err, st, off, NULL, 0);
    return st;
}

static void skip_ws(pp_validator *v)
{
    while (v->pos < v->n) {
        uint8_t c = v->p[v->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        v->pos++;
    }
}

/* Four hex digits at v->p[from]; a problem is reported at the escape's
 * backslash (esc), or as the end of the message. */
static pipes_proto_status check_hex4(pp_validator *v, size_t from, size_t esc)
{
    for (size_t k = 0; k < 4; k++) {
        if (from + k >= v->n)
            return fail(v, PIPES_PROTO_ERR_UNEXPECTED_END, v->n);
        if (hexval(v->p[from + k]) < 0)
            return fail(v, PIPES_PROTO_ERR_BAD_ESCAPE, esc);
    }
    return PIPES_PROTO_OK;
}

/* The \u escape at v->pos (pointing at the backslash). */
static pipes_proto_status check_u_escape(pp_validator *v)
{
    size_t at = v->pos;
    pipes_proto_status st = check_hex4(v, at + 2, at);
    if (st != PIPES_PROTO_OK)
        return st;
    long cu = hex4(v->p + at + 2);
    if (cu == 0)
        return fail(v, PIPES_PROTO_ERR_NUL_CHAR, at);
    if (cu >= 0xDC00 && cu <= 0xDFFF)
        return fail(v, PIPES_PROTO_ERR_BAD_ESCAPE, at); /* lone low surrogate */
    if (cu >= 0xD800 && cu <= 0xDBFF) {
        /* A high surrogate must be followed at once by an escaped low one. */
        for (size_t k = 6; k < 8; k++) {
            if (at + k >= v->n)
                return fail(v, PIPES_PROTO_ERR_UNEXPECTED_END, v->n);
            if (v->p[at + k] != (k == 6 ? '\\' : 'u'))
                return fail(v, PIPES_PROTO_ERR_BAD_ESCAPE, at);
        }
        st = check_hex4(v, at + 8, at + 6);
        if (st != PIPES_PROTO_OK)
            return st;
        long lo = hex4(v->p + at + 8);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fail(v, PIPES_PROTO_ERR_BAD_ESCAPE, at);
        v->pos = at + 12;
        return PIPES_PROTO_OK;
    }
    v->pos = at + 6;
    return PIPES_PROTO_OK;
}

/* The string at v->pos (at the opening quote); *key (optional) gets its span. */
static pipes_proto_status check_string(pp_validator *v, pp_key *key)
{
    size_t start = ++v->pos;
    int escaped = 0;
    for (;;) {
        if (v->pos >= v->n)
            return fail(v, PIPES_PROTO_ERR_UNEXPECTED_END, v->n);
        uint8_t c = v->p[v->pos];
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(v, PIPES_PROTO_ERR_CONTROL_CHAR, v->pos);
        if (c != '\\') {
            v->pos++; /* UTF-8 was checked for the whole message already */
            continue;
        }
        escaped = 1;
        if (v->pos + 1 >= v->n)
            return fail(v, PIPES_PROTO_ERR_UNEXPECTED_END, v->n);
        switch (v->p[v->pos + 1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            v->pos += 2;
            break;
        case 'u': {
            pipes_proto_status st = check_u_escape(v);
            if (st != PIPES_PROTO_OK)
                return st;
            break;
        }
        default:
            return fail(v, PIPES_PROTO_ERR_BAD_ESCAPE, v->pos);
        }
    }
    if (key) {
        key->off = (uint32_t)start;
        key->len = (uint32_t)(v->pos - start);
        key->escaped = escaped;
    }
    v->pos++; /* closing quote */
    return PIPES_PROTO_OK;
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Requires one or more digits at v->pos. */
static pipes_proto_status digits(pp_validator *v)
{
    if (v->pos >= v->n)
        return fail(v, PIPES_PROTO_ERR_UNEXPECTED_END, v->n);
    if (!is_digit(v->p[v->pos]))
        return fail(v, PIPES_PROTO_ERR_SYNTAX, v->pos);
    while (v->pos < v->n && is_digit(v->p[v->pos]))
        v->pos++;
    return PIPES_PROTO_OK;
}

static pipes_proto_status check_number(pp_validator *v)
{
    if (v->p[v->pos] == '-')
        v->pos++;
    if (v->pos >= v->n)
        return fail(v, PIPES_PROTO_ERR_UNEXPECTED_END, v->n);
    if (v->p[v->pos] == '0') {
        v->pos++; /* no leading zeros: "01" fails at the '1' in the caller */
    } else {
        pipes_proto_status st = digits(v);
        if (st != PIPES_PROTO_OK)
            return st;
    }
    if (v->pos < v->n && v->p[v->pos] == '.') {
        v->pos++;
        pipes_proto_status st = digits(v);
        if (st != PIPES_PROTO_OK)
            return st;
    }
    if (v->pos < v->n && (v->p[v->pos] == 'e' || v->p[v->pos] == 'E')) {
        v->pos++;
        if (v->pos < v->n && (v->p[v->pos] == '+' || v->p[v->pos] == '-'))
            v->pos++;
        return digits(v);
    }
    return PIPES_PROTO_OK;
}

static pipes_proto_status check_literal(pp_validator *v, const char *word)
{
    for (size_t k = 0; word[k]; k++, v->pos++) {
        if (v->pos >= v->n)
            return fail(v, PIPES_PROTO_ERR_UNEXPECTED_END, v->n);
        if (v->p[v->pos] != (uint8_t)word[k])
            return fail(v, PIPES_PROTO_ERR_SYNTAX, v->pos);
    }
    return PIPES_PROTO_OK;
}

/* Compares two keys by their unescaped code points. */
static int key_equal(const uint8_t *p, const pp_key *a, const pp_key *b)
{
    if (!a->escaped && !b->escaped)
        return a->len == b->len && memcmp(p + a->off, p + b->off, a->len) == 0;
    size_t i = a->off, ie = (size_t)a->off + a->len;
    size_t j = b->off, je = (size_t)b->off + b->len;
    while (i < ie && j < je) {
        if (next_cp(p, &i) != next_cp(p, &j))
            return 0;
    }
    return i == ie && j == je;
}

static pipes_proto_status check_value(pp_validator *v);

static pipes_proto_status enter(pp_validator *v)
{
    if (v->depth >= PIPES_PROTO_MAX_DEPTH) {
        pp_set_error(&v->err, PIPES_PROTO_ERR_TOO_DEEP, v->pos, NULL, PIPES_PROTO_MAX_DEPTH);
        return PIPES_PROTO_ERR_TOO_DEEP;
    }
    v->depth++;
    v->pos++;
    return PIPES_PROTO_OK;
}

/* After a member or element: ',' (returns 1), the closer (returns 0), or an
 * error (returns -1). */
static int after_item(pp_validator *v, uint8_t closer)
{
    skip_ws(v);
    if (v->pos >= v->n) {
        fail(v, PIPES_PROTO_ERR_UNEXPECTED_END, v->n);
        return -1;
    }
    if (v->p[v->pos] == ',') {
        v->pos++;
        return 1;
    }
    if (v->p[v->pos] == closer) {
        v->pos++;
        return 0;
    }
    fail(v, PIPES_PROTO_ERR_SYNTAX, v->pos);
    return -1;
}

static pipes_proto_status check_object(pp_validator *v)
{
    pipes_proto_status st = enter(v);
    if (st != PIPES_PROTO_OK)
        return st;
    size_t base = v->nkeys;
    skip_ws(v);
    if (v->pos < v->n && v->p[v->pos] == '}') {
        v->pos++;
        v->depth--;
        return PIPES_PROTO_OK;
    }
    for (;;) {
        skip_ws(v);
        if (v->pos >= v->n)
            return fail(v, PIPES_PROTO_ERR_UNEXPECTED_END, v->n);
        if (v->p[v->pos] != '"')
            return fail(v, PIPES_PROTO_ERR_SYNTAX, v->pos);
        size_t key_at = v->pos;
        pp_key key;
        st = check_string(v, &key);
        if (st != PIPES_PROTO_OK)
            return st;
        if (v->nkeys - base >= PIPES_PROTO_MAX_MEMBERS) {
            pp_set_error(&v->err, PIPES_PROTO_ERR_TOO_MANY_MEMBERS, key_at, NULL,
                         PIPES_PROTO_MAX_MEMBERS);
            return PIPES_PROTO_ERR_TOO_MANY_MEMBERS;
        }
        for (size_t k = base; k < v->nkeys; k++) {
            if (key_equal(v->p, &v->keys[k], &key))
                return fail(v, PIPES_PROTO_ERR_DUPLICATE_KEY, key_at);
        }
        v->keys[v->nkeys++] = key;
        skip_ws(v);
        if (v->pos >= v->n)
            return fail(v, PIPES_PROTO_ERR_UNEXPECTED_END, v->n);
        if (v->p[v->pos] != ':')
            return fail(v, PIPES_PROTO_ERR_SYNTAX, v->pos);
        v->pos++;
        st = check_value(v);
        if (st != PIPES_PROTO_OK)
            return st;
        int more = after_item(v, '}');
        if (more < 0)
            return v->err.status;
        if (more == 0)
            break;
    }
    v->nkeys = base;
    v->depth--;
    return PIPES_PROTO_OK;
}

static pipes_proto_status check_array(pp_validator *v)
{
    pipes_proto_status st = enter(v);
    if (st != PIPES_PROTO_OK)
        return st;
    skip_ws(v);
    if (v->pos < v->n && v->p[v->pos] == ']') {
        v->pos++;
        v->depth--;
        return PIPES_PROTO_OK;
    }
    for (;;) {
        st = check_value(v);
        if (st != PIPES_PROTO_OK)
            return st;
        int more = after_item(v, ']');
        if (more < 0)
            return v->err.status;
        if (more == 0)
            break;
    }
    v->depth--;
    return PIPES_PROTO_OK;
}

static pipes_proto_status check_value(pp_validator *v)
{
    skip_ws(v);
    if (v->pos >= v->n)
        return fail(v, PIPES_PROTO_ERR_UNEXPECTED_END, v->n);
    uint8_t c = v->p[v->pos];
    switch (c) {
    case '{': return check_object(v);
    case '[': return check_array(v);
    case '"': return check_string(v, NULL);
    case 't': return check_literal(v, "true");
    case 'f': return check_literal(v, "false");
    case 'n': return check_literal(v, "null");
    default:
        if (c == '-' || is_digit(c))
            return check_number(v);
        return fail(v, PIPES_PROTO_ERR_SYNTAX, v->pos);
    }
}

pipes_proto_status pp_json_validate(pp_validator *v, const uint8_t *data, size_t size)
{
    v->p = data;
    v->n = size;
    v->pos = 0;
    v->depth = 0;
    v->nkeys = 0;
    v->err.status = PIPES_PROTO_OK;
    v->err.offset = 0;
    v->err.field = NULL;
    v->err.limit = 0;

    if (size > PIPES_PROTO_MAX_MESSAGE) {
        pp_set_error(&v->err, PIPES_PROTO_ERR_MESSAGE_TOO_LARGE, PIPES_PROTO_MAX_MESSAGE, NULL,
                     PIPES_PROTO_MAX_MESSAGE);
        return PIPES_PROTO_ERR_MESSAGE_TOO_LARGE;
    }
    size_t bad = pp_utf8_check(data, size);
    if (bad != size)
        return fail(v, PIPES_PROTO_ERR_INVALID_UTF8, bad);
    skip_ws(v);
    size_t start = v->pos;
    pipes_proto_status st = check_value(v);
    if (st != PIPES_PROTO_OK)
        return st;
    if (data[start] != '{')
        return fail(v, PIPES_PROTO_ERR_NOT_OBJECT, start);
    skip_ws(v);
    if (v->pos < v->n)
        return fail(v, PIPES_PROTO_ERR_TRAILING_DATA, v->pos);
    return PIPES_PROTO_OK;
}

/* ======================================================================== */
/* Pass 2                                                                   */
/* ======================================================================== */

static void cskip_ws(pp_cursor *c)
{
    while (c->pos < c->n) {
        uint8_t ch = c->p[c->pos];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
            break;
        c->pos++;
    }
}

void pp_cursor_begin(pp_cursor *c, const uint8_t *data, size_t size)
{
    c->p = data;
    c->n = size;
    c->pos = 0;
    pp_cursor_enter(c);
}

void pp_cursor_enter(pp_cursor *c)
{
    cskip_ws(c);
    c->pos++; /* '{' */
}

int pp_cursor_next_member(pp_cursor *c, char key[PP_KEY_BUF], size_t *key_len)
{
    cskip_ws(c);
    if (c->p[c->pos] == ',') {
        c->pos++;
        cskip_ws(c);
    }
    if (c->p[c->pos] == '}') {
        c->pos++;
        return 0;
    }
    size_t len = pp_cursor_string(c, key, PP_KEY_BUF);
    if (len >= PP_KEY_BUF)
        key[0] = '\0';
    *key_len = len;
    cskip_ws(c);
    c->pos++; /* ':' */
    cskip_ws(c);
    return 1;
}

int pp_cursor_next_element(pp_cursor *c)
{
    cskip_ws(c);
    if (c->p[c->pos] == ',') {
        c->pos++;
        cskip_ws(c);
    }
    if (c->p[c->pos] == ']') {
        c->pos++;
        return 0;
    }
    return 1;
}

pp_kind pp_cursor_kind(pp_cursor *c)
{
    cskip_ws(c);
    switch (c->p[c->pos]) {
    case '{': return PP_OBJECT;
    case '[': return PP_ARRAY;
    case '"': return PP_STRING;
    case 't': return PP_TRUE;
    case 'f': return PP_FALSE;
    case 'n': return PP_NULL;
    default: return PP_NUMBER;
    }
}

static int is_number_char(uint8_t ch)
{
    return is_digit(ch) || ch == '-' || ch == '+' || ch == '.' || ch == 'e' || ch == 'E';
}

void pp_cursor_skip(pp_cursor *c)
{
    size_t depth = 0;
    cskip_ws(c);
    do {
        uint8_t ch = c->p[c->pos];
        if (ch == '"') {
            c->pos++;
            while (c->p[c->pos] != '"')
                c->pos += (c->p[c->pos] == '\\') ? 2 : 1;
            c->pos++;
        } else if (ch == '{' || ch == '[') {
            depth++;
            c->pos++;
        } else if (ch == '}' || ch == ']') {
            depth--;
            c->pos++;
        } else if (depth == 0 && (ch == 't' || ch == 'n')) {
            c->pos += 4;
        } else if (depth == 0 && ch == 'f') {
            c->pos += 5;
        } else if (depth == 0) {
            while (c->pos < c->n && is_number_char(c->p[c->pos]))
                c->pos++;
        } else {
            c->pos++; /* inside a container: punctuation, literals, digits */
        }
    } while (depth > 0);
}

size_t pp_cursor_string(pp_cursor *c, char *out, size_t cap)
{
    size_t len = 0;
    cskip_ws(c);
    c->pos++; /* opening quote */
    while (c->p[c->pos] != '"') {
        uint8_t buf[4];
        size_t k = pp_utf8_encode(next_cp(c->p, &c->pos), buf);
        if (len + k < cap)
            memcpy(out + len, buf, k);
        len += k;
    }
    c->pos++;
    if (cap > 0)
        out[len < cap ? len : cap - 1] = '\0';
    return len;
}

pp_int_result pp_cursor_uint(pp_cursor *c, uint64_t max, uint64_t *out)
{
    cskip_ws(c);
    int negative = 0, fraction = 0, overflow = 0;
    uint64_t v = 0;
    while (c->pos < c->n) {
        uint8_t ch = c->p[c->pos];
        if (ch == '-') {
            negative = 1;
        } else if (ch == '.' || ch == 'e' || ch == 'E' || ch == '+') {
            fraction = 1;
        } else if (is_digit(ch)) {
            if (!fraction) {
                unsigned d = (unsigned)(ch - '0');
                if (v > (UINT64_MAX - d) / 10)
                    overflow = 1;
                else
                    v = v * 10 + d;
            }
        } else {
            break;
        }
        c->pos++;
    }
    if (fraction)
        return PP_INT_NOT_INTEGER;
    if (negative || overflow || v > max)
        return PP_INT_RANGE;
    *out = v;
    return PP_INT_OK;
}

pipes_proto_status pp_parse_start(const void *data, size_t size, const void *out,
                                  pipes_proto_error **error, pipes_proto_error *local)
{
    if (*error == NULL)
        *error = local;
    memset(*error, 0, sizeof **error);
    if (out == NULL || (data == NULL && size != 0))
        (*error)->status = PIPES_PROTO_ERR_INVALID_ARGUMENT;
    return (*error)->status;
}

pipes_proto_status pp_parse_object(const void *data, size_t size, pipes_proto_error *error,
                                   pp_member_fn member, void *out, unsigned *seen, size_t *end)
{
    pp_validator v;
    pp_cursor c;
    char key[PP_KEY_BUF];
    size_t klen;
    pipes_proto_status st;

    if (data == NULL)
        data = "";
    st = pp_json_validate(&v, (const uint8_t *)data, size);
    if (st != PIPES_PROTO_OK) {
        *error = v.err;
        return st;
    }
    pp_cursor_begin(&c, (const uint8_t *)data, size);
    while (pp_cursor_next_member(&c, key, &klen))
        member(&c, key, out, error, seen);
    *end = c.pos - 1; /* the closing brace */
    return PIPES_PROTO_OK;
}
