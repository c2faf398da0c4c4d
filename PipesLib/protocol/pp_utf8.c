/*
 * pp_utf8.c - UTF-8 validation and encoding (RFC 3629, Unicode table 3-7).
 */
#include "pp_internal.h"

/* Checks one sequence starting at p[i]; returns its length, or 0 if bad.
 * The second-byte ranges below are what exclude overlong forms (E0, F0),
 * surrogates (ED) and code points above U+10FFFF (F4). */
static size_t seq_len(const uint8_t *p, size_t size, size_t i)
{
    uint8_t b0 = p[i];
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;

    if (b0 < 0x80)
        return 1;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 3;
        if (b0 == 0xE0)
            lo = 0xA0;
        else if (b0 == 0xED)
            hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 4;
        if (b0 == 0xF0)
            lo = 0x90;
        else if (b0 == 0xF4)
            hi = 0x8F;
    } else {
        return 0; /* 80..C1 (continuation or overlong lead), F5..FF */
    }
    if (size - i < need)
        return 0; /* cut short by the end of the data */
    if (p[i + 1] < lo || p[i + 1] > hi)
        return 0;
    for (size_t k = 2; k < need; k++) {
        if (p[i + k] < 0x80 || p[i + k] > 0xBF)
            return 0;
    }
    return need;
}

size_t pp_utf8_check(const uint8_t *p, size_t size)
{
    size_t i = 0;
    while (i < size) {
        /* ASCII fast path: most notification text is. */
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = seq_len(p, size, i);
        if (len == 0)
            return i;
        i += len;
    }
    return size;
}

size_t pp_utf8_encode(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

pipes_proto_status pp_text_check(const char *s, size_t len, size_t *bad)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t off = pp_utf8_check(p, len);
    if (off != len) {
        *bad = off;
        return PIPES_PROTO_ERR_INVALID_UTF8;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] == 0) {
            *bad = i;
            return PIPES_PROTO_ERR_NUL_CHAR;
        }
    }
    return PIPES_PROTO_OK;
}

int pipes_proto_utf8_valid(const void *data, size_t size, size_t *bad_offset)
{
    if (data == NULL) {
        if (bad_offset)
            *bad_offset = 0;
        return size == 0;
    }
    size_t off = pp_utf8_check((const uint8_t *)data, size);
    if (off != size) {
        if (bad_offset)
            *bad_offset = off;
        return 0;
    }
    return 1;
}
