/*
 * pipes_protocol.h - the Pipes notification protocol (docs/PROTOCOL.md):
 * strict parser and writer for notifications and replies.
 *
 * Portable C17, no Win32: builds with MinGW, MSVC, gcc and clang alike.
 *
 * CONVENTIONS
 *   - No global state: every function is reentrant and thread-safe on
 *     distinct arguments.
 *   - No heap allocation anywhere. Parsed messages live in caller-provided
 *     structs with fixed buffers (a notification is about 9 KiB, a reply
 *     about 0.6 KiB). Parsing uses under 16 KiB of stack.
 *   - Text is UTF-8. Every string buffer in the structs is NUL-terminated
 *     and has a length field; protocol strings never contain U+0000.
 *   - Writers produce the exact bytes to send as one pipe message, and a
 *     NUL after them (not counted) when there is room for it.
 */
#ifndef PIPES_PROTOCOL_H
#define PIPES_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Limits (docs/PROTOCOL.md section 3)                                      */
/* ------------------------------------------------------------------------ */

#define PIPES_PROTO_VERSION 1
#define PIPES_PROTO_MAX_MESSAGE 65536u  /* bytes per message; also a big enough
                                           writer buffer for any valid message */
#define PIPES_PROTO_MAX_DEPTH 16u       /* open objects/arrays, top level = 1 */
#define PIPES_PROTO_MAX_MEMBERS 64u     /* members per object */
#define PIPES_PROTO_MAX_ID 64u          /* bytes, excluding the NUL */
#define PIPES_PROTO_MAX_TITLE 256u
#define PIPES_PROTO_MAX_BODY 8192u
#define PIPES_PROTO_MAX_SOURCE 128u
#define PIPES_PROTO_MAX_USER 256u
#define PIPES_PROTO_MAX_DETAIL 512u
#define PIPES_PROTO_MAX_ERROR_CODE 32u
#define PIPES_PROTO_MAX_TTL 31536000u   /* seconds (365 days); minimum 1 */
#define PIPES_PROTO_TIME_BUFSIZE 25u    /* "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL */

/* Pipe names (docs/PROTOCOL.md section 1). */
#define PIPES_PROTO_SERVICE_PIPE_W L"\\\\.\\pipe\\Pipes.Service"
#define PIPES_PROTO_SERVICE_PIPE_A "\\\\.\\pipe\\Pipes.Service"
#define PIPES_PROTO_TRAY_PIPE_PREFIX_A "\\\\.\\pipe\\Pipes.Notify."
#define PIPES_PROTO_PIPE_NAME_BUFSIZE 40u /* enough for any session id + NUL */

/* ------------------------------------------------------------------------ */
/* Status                                                                   */
/* ------------------------------------------------------------------------ */

/* The first four groups are rejection codes of the protocol (their wire name
 * is pipes_proto_status_code()); the last group is about API use. */
typedef enum pipes_proto_status {
    PIPES_PROTO_OK = 0,
    /* size and encoding */
    PIPES_PROTO_ERR_MESSAGE_TOO_LARGE = 1,
    PIPES_PROTO_ERR_INVALID_UTF8 = 2,
    /* JSON */
    PIPES_PROTO_ERR_UNEXPECTED_END = 3,
    PIPES_PROTO_ERR_SYNTAX = 4,
    PIPES_PROTO_ERR_BAD_ESCAPE = 5,
    PIPES_PROTO_ERR_CONTROL_CHAR = 6,
    PIPES_PROTO_ERR_NUL_CHAR = 7,
    PIPES_PROTO_ERR_NOT_OBJECT = 8,
    PIPES_PROTO_ERR_TRAILING_DATA = 9,
    PIPES_PROTO_ERR_TOO_DEEP = 10,
    PIPES_PROTO_ERR_TOO_MANY_MEMBERS = 11,
    PIPES_PROTO_ERR_DUPLICATE_KEY = 12,
    /* fields */
    PIPES_PROTO_ERR_WRONG_TYPE = 13,
    PIPES_PROTO_ERR_MISSING_FIELD = 14,
    PIPES_PROTO_ERR_UNSUPPORTED_VERSION = 15,
    PIPES_PROTO_ERR_BAD_MESSAGE_TYPE = 16,
    PIPES_PROTO_ERR_BAD_ID = 17,
    PIPES_PROTO_ERR_EMPTY_TITLE = 18,
    PIPES_PROTO_ERR_FIELD_TOO_LONG = 19,
    PIPES_PROTO_ERR_BAD_LEVEL = 20,
    PIPES_PROTO_ERR_BAD_TIME = 21,
    PIPES_PROTO_ERR_BAD_TTL = 22,
    PIPES_PROTO_ERR_BAD_TARGET = 23,
    PIPES_PROTO_ERR_OUT_OF_RANGE = 24, /* replies: offset or session */
    /* API use (never sent on the wire) */
    PIPES_PROTO_ERR_INVALID_ARGUMENT = 25, /* NULL pointer, bad enum value */
    PIPES_PROTO_ERR_BUFFER_TOO_SMALL = 26  /* writer: output does not fit */
} pipes_proto_status;

#define PIPES_PROTO_STATUS_COUNT 27

/* Wire code such as "duplicate_key" ("ok" for PIPES_PROTO_OK, "unknown" for
 * values out of range). Static string. */
const char *pipes_proto_status_code(pipes_proto_status status);

/* English description such as "duplicate key". Static string. */
const char *pipes_proto_status_string(pipes_proto_status status);

/* Where and why parsing failed. */
typedef struct pipes_proto_error {
    pipes_proto_status status;
    size_t offset;     /* byte offset of the problem in the message */
    const char *field; /* static name of the field concerned ("title",
                          "target.session"), or NULL */
    size_t limit;      /* the limit broken (bytes, depth, members), or 0 */
} pipes_proto_error;

/* Writes a one-line English description of *error into buf, such as
 * "field \"title\": field too long (max 256 bytes) at byte 17", truncated to
 * fit and always NUL-terminated (if cap > 0). Returns the length written. */
size_t pipes_proto_error_text(const pipes_proto_error *error, char *buf, size_t cap);

/* ------------------------------------------------------------------------ */
/* Notifications                                                            */
/* ------------------------------------------------------------------------ */

typedef enum pipes_proto_level {
    PIPES_PROTO_LEVEL_INFO = 0, /* the default */
    PIPES_PROTO_LEVEL_WARNING = 1,
    PIPES_PROTO_LEVEL_ERROR = 2
} pipes_proto_level;

/* "info", "warning", "error"; NULL for values out of range. */
const char *pipes_proto_level_name(pipes_proto_level level);

typedef enum pipes_proto_target_kind {
    PIPES_PROTO_TARGET_ALL = 0, /* no target: every interactive session */
    PIPES_PROTO_TARGET_SESSION = 1,
    PIPES_PROTO_TARGET_USER = 2
} pipes_proto_target_kind;

typedef struct pipes_proto_notification {
    char id[PIPES_PROTO_MAX_ID + 1];
    size_t id_len;
    char title[PIPES_PROTO_MAX_TITLE + 1];
    size_t title_len;
    char body[PIPES_PROTO_MAX_BODY + 1]; /* "" when absent */
    size_t body_len;
    char source[PIPES_PROTO_MAX_SOURCE + 1]; /* "" when absent */
    size_t source_len;
    pipes_proto_level level;
    int has_time;    /* nonzero: time_ms is set */
    int64_t time_ms; /* milliseconds since 1970-01-01T00:00:00Z */
    int has_ttl;     /* nonzero: ttl is set */
    uint32_t ttl;    /* seconds, 1..PIPES_PROTO_MAX_TTL */
    pipes_proto_target_kind target;
    uint32_t target_session;                 /* PIPES_PROTO_TARGET_SESSION */
    char target_user[PIPES_PROTO_MAX_USER + 1]; /* PIPES_PROTO_TARGET_USER */
    size_t target_user_len;
    int wait; /* nonzero: the submitter wants a "displayed" reply */
} pipes_proto_notification;

/* Zeroes *n: no id, no title, level info, nothing optional set. */
void pipes_proto_notification_init(pipes_proto_notification *n);

/* Parses one received message (data, size) as a notification, applying every
 * rule of docs/PROTOCOL.md. On PIPES_PROTO_OK *out holds it. On failure the
 * status is returned, *error (if not NULL) says where, and out->id holds the
 * message's id when it was a JSON object with a valid id (else out->id is ""),
 * so the rejection can name it. *out is always initialised first.
 * data may be NULL only when size is 0. No allocation. */
pipes_proto_status pipes_proto_parse_notification(const void *data, size_t size,
                                                  pipes_proto_notification *out,
                                                  pipes_proto_error *error);

/* Checks *n against the same rules the parser applies (id, lengths, non-empty
 * title, UTF-8 without U+0000 in every string, level, time range, ttl,
 * target). Returns PIPES_PROTO_OK or the first problem; *error (optional)
 * names the field (offset 0). */
pipes_proto_status pipes_proto_notification_validate(const pipes_proto_notification *n,
                                                     pipes_proto_error *error);

/* Copies a UTF-8 string of len bytes into a string field of *n, checking it
 * first: field is one of "id", "title", "body", "source", "user" (the target
 * user; also sets target to PIPES_PROTO_TARGET_USER). Returns
 * PIPES_PROTO_ERR_INVALID_UTF8, _NUL_CHAR, _BAD_ID, _EMPTY_TITLE or
 * _FIELD_TOO_LONG without changing *n, or _INVALID_ARGUMENT for another
 * field name. */
pipes_proto_status pipes_proto_notification_set(pipes_proto_notification *n, const char *field,
                                                const char *utf8, size_t len);

/* Validates *n and writes it as one JSON message into buf (cap bytes).
 * Fields are written in a fixed order; defaults (level info, empty body and
 * source, no target, wait false) are left out. A buffer of
 * PIPES_PROTO_MAX_MESSAGE bytes is always enough. *written (optional) gets
 * the byte count. Errors: validation failures, PIPES_PROTO_ERR_BUFFER_TOO_SMALL. */
pipes_proto_status pipes_proto_write_notification(const pipes_proto_notification *n, char *buf,
                                                  size_t cap, size_t *written);

/* ------------------------------------------------------------------------ */
/* Replies                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum pipes_proto_reply_type {
    PIPES_PROTO_REPLY_ACCEPTED = 1, /* service: durably spooled */
    PIPES_PROTO_REPLY_REJECTED = 2, /* service or tray: not taken, see reason */
    PIPES_PROTO_REPLY_ACK = 3,      /* tray: stored in history */
    PIPES_PROTO_REPLY_DISPLAYED = 4 /* service: acknowledged by a tray (wait) */
} pipes_proto_reply_type;

typedef enum pipes_proto_reason {
    PIPES_PROTO_REASON_NONE = 0, /* not a rejection */
    PIPES_PROTO_REASON_MALFORMED = 1,
    PIPES_PROTO_REASON_TOO_LARGE = 2,
    PIPES_PROTO_REASON_UNSUPPORTED_VERSION = 3,
    PIPES_PROTO_REASON_NOT_ALLOWED = 4,
    PIPES_PROTO_REASON_QUEUE_FULL = 5,
    PIPES_PROTO_REASON_RATE_LIMITED = 6,
    PIPES_PROTO_REASON_SHUTTING_DOWN = 7,
    PIPES_PROTO_REASON_INTERNAL_ERROR = 8,
    PIPES_PROTO_REASON_UNKNOWN = 9 /* parsed a reason this version does not
                                      know: treat as permanent */
} pipes_proto_reason;

/* Wire name ("queue_full"); NULL for NONE, UNKNOWN and out-of-range values. */
const char *pipes_proto_reason_name(pipes_proto_reason reason);

/* Nonzero when the sender may retry later (queue_full, rate_limited,
 * shutting_down, internal_error); zero when it must not. */
int pipes_proto_reason_is_temporary(pipes_proto_reason reason);

/* The reason a parse failure is reported with: too_large,
 * unsupported_version, or malformed. */
pipes_proto_reason pipes_proto_reason_for_status(pipes_proto_status status);

typedef struct pipes_proto_reply {
    pipes_proto_reply_type type;
    char id[PIPES_PROTO_MAX_ID + 1]; /* "" only in a rejected without id */
    size_t id_len;
    pipes_proto_reason reason;       /* rejected only */
    char error[PIPES_PROTO_MAX_ERROR_CODE + 1]; /* rejected: the error code, or "" */
    int has_offset;
    uint64_t offset;                 /* rejected: byte offset, when has_offset */
    char detail[PIPES_PROTO_MAX_DETAIL + 1]; /* rejected: text, or "" */
    size_t detail_len;
    int has_session;
    uint32_t session;                /* displayed: the session, when has_session */
} pipes_proto_reply;

/* Fills *out with a reply of the given type for id (NUL-terminated; NULL or ""
 * allowed only for REJECTED). Other fields zero. Returns _BAD_ID or
 * _INVALID_ARGUMENT on bad input. */
pipes_proto_status pipes_proto_reply_init(pipes_proto_reply *out, pipes_proto_reply_type type,
                                          const char *id);

/* Fills *out with the "rejected" reply for a failed parse: reason from the
 * status, error code, offset, and detail from pipes_proto_error_text. id is
 * the id to echo (the failed parse leaves it in the notification's id) or
 * NULL / "". */
void pipes_proto_reply_for_error(pipes_proto_reply *out, const pipes_proto_error *error,
                                 const char *id);

/* Fills *out with a "rejected" reply for a receiver-side reason (queue_full,
 * rate_limited, ...) and an optional detail text (NULL or UTF-8, truncated at
 * a character boundary to PIPES_PROTO_MAX_DETAIL bytes). */
pipes_proto_status pipes_proto_reply_rejected(pipes_proto_reply *out, const char *id,
                                              pipes_proto_reason reason, const char *detail);

/* Writes *reply as one JSON message. The reply is validated first (type,
 * id rules, reason set exactly for rejected, string limits and UTF-8).
 * A buffer of PIPES_PROTO_MAX_MESSAGE bytes is always enough. */
pipes_proto_status pipes_proto_write_reply(const pipes_proto_reply *reply, char *buf, size_t cap,
                                           size_t *written);

/* Parses a received reply with the same strict JSON rules as notifications.
 * Required: v (1), type (a reply type), id (except for rejected), reason
 * (rejected). Unknown fields ignored; an unknown reason string gives
 * PIPES_PROTO_REASON_UNKNOWN. */
pipes_proto_status pipes_proto_parse_reply(const void *data, size_t size, pipes_proto_reply *out,
                                           pipes_proto_error *error);

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Nonzero when s (len bytes) is a valid id: 1..64 chars of A-Z a-z 0-9 - _ . : */
int pipes_proto_id_valid(const char *s, size_t len);

/* Nonzero when data is valid UTF-8 (no overlongs, surrogates, values above
 * U+10FFFF or cut sequences). On failure *bad_offset (optional) gets the
 * offset of the first byte of the bad sequence. */
int pipes_proto_utf8_valid(const void *data, size_t size, size_t *bad_offset);

/* Parses RFC 3339 UTC time (docs/PROTOCOL.md section 4) into milliseconds
 * since the Unix epoch. Returns PIPES_PROTO_OK or PIPES_PROTO_ERR_BAD_TIME. */
pipes_proto_status pipes_proto_time_parse(const char *s, size_t len, int64_t *out_ms);

/* Formats ms as "YYYY-MM-DDTHH:MM:SSZ", or with ".mmm" when the milliseconds
 * are not zero, into out (PIPES_PROTO_TIME_BUFSIZE bytes). Returns the length,
 * or 0 when ms is outside years 0000..9999. */
size_t pipes_proto_time_format(int64_t ms, char out[PIPES_PROTO_TIME_BUFSIZE]);

/* Converts a Windows FILETIME value (100 ns ticks since 1601-01-01 UTC, as
 * from GetSystemTimeAsFileTime) to Unix milliseconds. */
int64_t pipes_proto_time_from_filetime(uint64_t filetime);

/* Writes "\\.\pipe\Pipes.Notify.<session>" (the tray pipe of a session) into
 * out. Returns the length without the NUL, or 0 if cap is too small
 * (PIPES_PROTO_PIPE_NAME_BUFSIZE always suffices). */
size_t pipes_proto_tray_pipe_name_a(uint32_t session, char *out, size_t cap);
size_t pipes_proto_tray_pipe_name_w(uint32_t session, wchar_t *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* PIPES_PROTOCOL_H */
