/*
 * pp_internal.h - shared internals of the protocol library (not installed).
 *
 * Parsing is two passes over the message:
 *   1. pp_json_validate: size, UTF-8, full strict JSON grammar, depth,
 *      members, duplicate keys, trailing data. Nothing is extracted.
 *   2. a pp_cursor walks the now-known-valid document and extracts the
 *      fields; it needs no syntax error paths.
 * Splitting them keeps the order of reported errors simple to document
 * (docs/PROTOCOL.md section 3) and the extraction code short.
 */
#ifndef PP_INTERNAL_H
#define PP_INTERNAL_H

#include "pipes_protocol.h"

#include <stddef.h>
#include <stdint.h>

/* ---- UTF-8 (pp_utf8.c) ---- */

/* Returns size when p[0..size) is valid UTF-8, else the offset of the first
 * byte of the first bad sequence. */
size_t pp_utf8_check(const uint8_t *p, size_t size);

/* Encodes code point cp (<= 0x10FFFF, not a surrogate) into out (4 bytes);
 * returns the byte count. */
size_t pp_utf8_encode(uint32_t cp, uint8_t out[4]);

/* Validates a caller-supplied string for a field: UTF-8 and no U+0000.
 * Returns PIPES_PROTO_OK, _INVALID_UTF8 or _NUL_CHAR; *bad gets the offset. */
pipes_proto_status pp_text_check(const char *s, size_t len, size_t *bad);

/* ---- Pass 1: strict validation (pp_json_reader.c) ---- */

typedef struct pp_key {
    uint32_t off; /* offset of the first byte after the opening quote */
    uint32_t len; /* raw length between the quotes */
    int escaped;  /* contains a backslash */
} pp_key;

typedef struct pp_validator {
    const uint8_t *p;
    size_t n;
    size_t pos;
    unsigned depth;
    size_t nkeys; /* keys of all currently open objects, innermost last */
    pp_key keys[PIPES_PROTO_MAX_DEPTH * PIPES_PROTO_MAX_MEMBERS];
    pipes_proto_error err;
} pp_validator;

/* Checks size, UTF-8 and the JSON rules; the top-level value must be an
 * object. Fills v->err on failure. v is scratch space owned by the caller
 * (about 12 KiB; on the stack is fine). */
pipes_proto_status pp_json_validate(pp_validator *v, const uint8_t *data, size_t size);

/* ---- Pass 2: extraction from a valid document (pp_json_reader.c) ---- */

typedef struct pp_cursor {
    const uint8_t *p;
    size_t n;
    size_t pos;
} pp_cursor;

typedef enum pp_kind {
    PP_OBJECT,
    PP_ARRAY,
    PP_STRING,
    PP_NUMBER,
    PP_TRUE,
    PP_FALSE,
    PP_NULL
} pp_kind;

#define PP_KEY_BUF 16 /* longer keys are never known keys */

/* Both passes for a top-level object: validates data (NULL with size 0 is
 * the empty message), then calls member() for every member in document
 * order, even after one of them recorded an error, so a parser can still
 * pick up fields such as the id. On a validation failure *error is that
 * failure and nothing is visited. *end is the offset of the closing brace,
 * where missing-field errors point. */
typedef void (*pp_member_fn)(pp_cursor *c, const char *key, void *out, pipes_proto_error *error,
                             unsigned *seen);
pipes_proto_status pp_parse_object(const void *data, size_t size, pipes_proto_error *error,
                                   pp_member_fn member, void *out, unsigned *seen, size_t *end);

/* The start every public parser shares: points *error at local when the
 * caller passed NULL and clears it; returns PIPES_PROTO_ERR_INVALID_ARGUMENT
 * (also set in (*error)->status) when out is NULL or data is NULL with a
 * nonzero size, else PIPES_PROTO_OK. */
pipes_proto_status pp_parse_start(const void *data, size_t size, const void *out,
                                  pipes_proto_error **error, pipes_proto_error *local);

/* Positions the cursor just inside the top-level object. */
void pp_cursor_begin(pp_cursor *c, const uint8_t *data, size_t size);

/* Enters the object value at the cursor (for pp_cursor_next_member). */
void pp_cursor_enter(pp_cursor *c);

/* Steps to the next member of the object the cursor is in. Returns 1 and
 * decodes the key into key (NUL-terminated; "" with *key_len >= PP_KEY_BUF
 * when too long to be known), leaving the cursor at the value; returns 0 and
 * consumes the closing brace at the end of the object. */
int pp_cursor_next_member(pp_cursor *c, char key[PP_KEY_BUF], size_t *key_len);

/* Kind of the value at the cursor (whitespace skipped). */
pp_kind pp_cursor_kind(pp_cursor *c);

/* Skips the value at the cursor. */
void pp_cursor_skip(pp_cursor *c);

/* Decodes the string at the cursor into out (cap bytes incl. NUL), moving
 * past it. Returns the full decoded length, which may exceed cap - 1 (then
 * out holds a prefix, cut anywhere: the caller rejects it as too long). */
size_t pp_cursor_string(pp_cursor *c, char *out, size_t cap);

typedef enum pp_int_result { PP_INT_OK, PP_INT_NOT_INTEGER, PP_INT_RANGE } pp_int_result;

/* Reads the number at the cursor, moving past it. PP_INT_OK and *out when it
 * is an integer in 0..max; PP_INT_NOT_INTEGER with a fraction or exponent;
 * PP_INT_RANGE when negative or above max. */
pp_int_result pp_cursor_uint(pp_cursor *c, uint64_t max, uint64_t *out);

/* Steps to the next element of the array the cursor is in (entered with
 * pp_cursor_enter). Returns 1 with the cursor at the element; 0 after
 * consuming the closing bracket. */
int pp_cursor_next_element(pp_cursor *c);

/* ---- Field readers (pp_fields.c) ----
 * Each reads the value at the cursor, moves past it, and on a wrong value
 * records the error (first one wins, pp_set_error) and returns 0. */

/* A string of at most max bytes into dst (max + 1 bytes); too long records
 * too_long (with the limit when it is _FIELD_TOO_LONG). dst is "" on error. */
int pp_read_text(pp_cursor *c, pipes_proto_error *err, const char *field, char *dst, size_t max,
                 size_t *len, pipes_proto_status too_long);
int pp_read_string(pp_cursor *c, pipes_proto_error *err, const char *field, char *dst, size_t max,
                   size_t *len); /* too long = _FIELD_TOO_LONG */
/* A short string (enum values, times) into buf; *len may exceed cap - 1. */
int pp_read_short(pp_cursor *c, pipes_proto_error *err, const char *field, char *buf, size_t cap,
                  size_t *len);
/* An integer in lo..hi; out of range records range_status. */
int pp_read_uint(pp_cursor *c, pipes_proto_error *err, const char *field, uint64_t lo, uint64_t hi,
                 pipes_proto_status range_status, uint64_t *out);
int pp_read_bool(pp_cursor *c, pipes_proto_error *err, const char *field, int *out);
/* "v": an integer that must be PIPES_PROTO_VERSION (else unsupported_version). */
int pp_read_version(pp_cursor *c, pipes_proto_error *err);
/* pp_parse_start, then *out (out_size bytes) zeroed, then pp_parse_object:
 * the start of every public parser. */
pipes_proto_status pp_parse_message(const void *data, size_t size, void *out, size_t out_size,
                                    pipes_proto_error **error, pipes_proto_error *local,
                                    pp_member_fn member, unsigned *seen, size_t *end);
/* A string with the id rules (dst has PIPES_PROTO_MAX_ID + 1 bytes); a bad
 * or too long one records bad and leaves dst "". */
int pp_read_id(pp_cursor *c, pipes_proto_error *err, const char *field, char *dst, size_t *len,
               pipes_proto_status bad);
int pp_read_time(pp_cursor *c, pipes_proto_error *err, const char *field, int64_t *out);
/* A string that must equal names[i] (NULL entries never match): *out = i. */
int pp_read_enum(pp_cursor *c, pipes_proto_error *err, const char *field,
                 const char *const *names, size_t count, pipes_proto_status bad, int *out);
/* Skips a null value; returns 1 if it was one (an optional field's "absent"). */
int pp_skip_null(pp_cursor *c);

/* Validation helpers (pp_fields.c): a text field of at most max bytes,
 * UTF-8 without U+0000; a failure for a field at offset 0. */
pipes_proto_status pp_check_text(pipes_proto_error *err, const char *field, const char *s,
                                 size_t len, size_t max);
pipes_proto_status pp_fail_field(pipes_proto_error *err, pipes_proto_status st, const char *field);

/* ---- Interactive notification fields (pp_interactive.c) ---- */

/* Parses a member of a notification that belongs to interactive
 * notifications (actions, open, tag, clear, progress, sticky, priority,
 * wait, sender). Returns 0 when key is none of them (nothing consumed). */
int pp_interactive_member(pp_cursor *c, const char *key, pipes_proto_notification *out,
                          pipes_proto_error *err);
/* The rules across fields, checked after every member (at offset end). */
void pp_interactive_finish(const pipes_proto_notification *n, pipes_proto_error *err, size_t end);
/* Validation of those fields (after the base fields). */
pipes_proto_status pp_interactive_validate(const pipes_proto_notification *n,
                                           pipes_proto_error *err);

/* ---- Writer (pp_json_writer.c) ---- */

typedef struct pp_writer {
    char *buf;
    size_t cap;
    size_t len;
    int overflow;
} pp_writer;

void pp_w_init(pp_writer *w, char *buf, size_t cap);
/* The start of every public writer: *written = 0; INVALID_ARGUMENT for a
 * NULL buf; a failed validation (valid) is returned with buf set to "";
 * else the writer is ready. */
pipes_proto_status pp_w_begin(pp_writer *w, char *buf, size_t cap, size_t *written,
                              pipes_proto_status valid);
void pp_w_raw(pp_writer *w, const char *s, size_t len);
void pp_w_lit(pp_writer *w, const char *s); /* NUL-terminated, raw */
void pp_w_string(pp_writer *w, const char *s, size_t len); /* quoted + escaped */
void pp_w_uint(pp_writer *w, uint64_t value);
/* name is the raw text before the value, such as ",\"title\":" */
void pp_w_member_string(pp_writer *w, const char *name, const char *s, size_t len);
void pp_w_time(pp_writer *w, const char *name, int64_t ms); /* RFC 3339, quoted */
/* Writes the interactive fields of n (pp_interactive.c), after "wait". */
void pp_w_interactive(pp_writer *w, const pipes_proto_notification *n);
/* Ends the message: PIPES_PROTO_OK (NUL added when it fits) or
 * PIPES_PROTO_ERR_BUFFER_TOO_SMALL (buf set to "" when cap > 0). */
pipes_proto_status pp_w_finish(pp_writer *w, size_t *written);

/* ---- Time (pp_time.c) ---- */

/* Nonzero when ms lies in years 0000..9999, the range RFC 3339 can write. */
int pp_time_in_range(int64_t ms);

/* ---- Misc (pp_util.c) ---- */

/* Records err's status/offset/field unless an error is already recorded. */
void pp_set_error(pipes_proto_error *err, pipes_proto_status st, size_t off, const char *field,
                  size_t limit);

/* Inverse of pipes_proto_reason_name; PIPES_PROTO_REASON_UNKNOWN otherwise. */
pipes_proto_reason pp_reason_from_name(const char *s);

/* Bounded strlen (strnlen is not C17). */
size_t pp_strnlen(const char *s, size_t max);

/* Copies len bytes into dst and NUL-terminates it (dst has len + 1 bytes). */
void pp_copy(char *dst, const char *src, size_t len);

/* Integer to decimal; returns the digit count (out needs 21 bytes). */
size_t pp_u64_to_dec(uint64_t v, char out[21]);

#endif /* PP_INTERNAL_H */
