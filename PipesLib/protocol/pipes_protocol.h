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
/* Interactive notifications (docs/PROTOCOL.md section 2, "Actions, links,
 * tags, progress"); bytes excluding the NUL unless said otherwise. */
#define PIPES_PROTO_MAX_ACTIONS 3u      /* buttons per notification */
#define PIPES_PROTO_MAX_LABEL 64u       /* action label */
#define PIPES_PROTO_MAX_URL 2048u       /* "open" */
#define PIPES_PROTO_MAX_TAG 64u         /* same rules as an id */
#define PIPES_PROTO_MAX_STATUS 128u     /* progress status text */
#define PIPES_PROTO_MAX_ACCOUNT 256u    /* sender account name */
#define PIPES_PROTO_MAX_SID 184u        /* "S-1-" + 48-bit authority + 15 sub-authorities */
#define PIPES_PROTO_MAX_ORIGIN 256u     /* sender origin (broker) */

/* Pipe names (docs/PROTOCOL.md section 1). */
#define PIPES_PROTO_SERVICE_PIPE_W L"\\\\.\\pipe\\Pipes.Service"
#define PIPES_PROTO_SERVICE_PIPE_A "\\\\.\\pipe\\Pipes.Service"
#define PIPES_PROTO_TRAY_PIPE_PREFIX_A "\\\\.\\pipe\\Pipes.Notify."
#define PIPES_PROTO_PIPE_NAME_BUFSIZE 40u /* enough for any session id + NUL */
/* The service's account NT SERVICE\PipesService, whose SID trays grant access
 * to their pipe (docs/SECURITY.md): "S-1-5-80-" and the SHA-1 of the
 * upper-case service name in UTF-16LE as five little-endian 32-bit numbers,
 * what `sc showsid PipesService` prints. */
#define PIPES_PROTO_SERVICE_SID_A "S-1-5-80-3957959930-3555412087-1735592967-3833301536-2774221309"
#define PIPES_PROTO_SERVICE_SID_W                                                                \
    L"S-1-5-80-3957959930-3555412087-1735592967-3833301536-2774221309"

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
    PIPES_PROTO_ERR_BUFFER_TOO_SMALL = 26, /* writer: output does not fit */
    /* fields of interactive notifications and their messages (wire codes
     * again; numbered after the API codes so older values stay put) */
    PIPES_PROTO_ERR_TOO_MANY_ACTIONS = 27,
    PIPES_PROTO_ERR_BAD_ACTION = 28,
    PIPES_PROTO_ERR_BAD_URL = 29,
    PIPES_PROTO_ERR_BAD_TAG = 30,
    PIPES_PROTO_ERR_BAD_PROGRESS = 31,
    PIPES_PROTO_ERR_BAD_PRIORITY = 32,
    PIPES_PROTO_ERR_BAD_WAIT = 33,
    PIPES_PROTO_ERR_BAD_SENDER = 34,
    PIPES_PROTO_ERR_SENDER_NOT_ALLOWED = 35, /* pipes_proto_check_submission */
    PIPES_PROTO_ERR_BAD_RESULT = 36,
    PIPES_PROTO_ERR_BAD_STATE = 37
} pipes_proto_status;

#define PIPES_PROTO_STATUS_COUNT 38

/* Nonzero for a status that is a rejection code of the protocol (sent on the
 * wire in a "rejected" reply); zero for OK, INVALID_ARGUMENT,
 * BUFFER_TOO_SMALL and values out of range. */
int pipes_proto_status_is_wire(pipes_proto_status status);

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

/* "priority" (docs/PROTOCOL.md section 2). NORMAL is the default. */
typedef enum pipes_proto_priority {
    PIPES_PROTO_PRIORITY_NORMAL = 0,
    PIPES_PROTO_PRIORITY_LOW = 1,
    PIPES_PROTO_PRIORITY_HIGH = 2,
    PIPES_PROTO_PRIORITY_URGENT = 3 /* shown even while paused or muted */
} pipes_proto_priority;

/* "low", "normal", "high", "urgent"; NULL for values out of range. */
const char *pipes_proto_priority_name(pipes_proto_priority priority);

/* "wait" (service only): what the submitter waits for after "accepted". */
typedef enum pipes_proto_wait {
    PIPES_PROTO_WAIT_NONE = 0,      /* absent, false */
    PIPES_PROTO_WAIT_DISPLAYED = 1, /* true or "displayed": a "displayed" reply */
    PIPES_PROTO_WAIT_RESPONSE = 2   /* "response": "displayed", then "response" */
} pipes_proto_wait;

/* Who submitted a notification, as PipesService authenticated it from the
 * pipe (never taken from a submitter: pipes_proto_check_submission). */
typedef enum pipes_proto_sender_kind {
    PIPES_PROTO_SENDER_NONE = 0,   /* no sender */
    PIPES_PROTO_SENDER_USER = 1,   /* an interactive or other user account */
    PIPES_PROTO_SENDER_SYSTEM = 2, /* LocalSystem, LocalService, NetworkService */
    PIPES_PROTO_SENDER_SERVICE = 3,/* a service's own account (NT SERVICE\name) */
    PIPES_PROTO_SENDER_BROKER = 4  /* relayed by a local broker; origin says from where */
} pipes_proto_sender_kind;

/* "user", "system", "service", "broker"; NULL for NONE and out of range. */
const char *pipes_proto_sender_kind_name(pipes_proto_sender_kind kind);

typedef struct pipes_proto_sender {
    pipes_proto_sender_kind kind;                /* NONE: no "sender" */
    char account[PIPES_PROTO_MAX_ACCOUNT + 1];   /* "DOMAIN\user"; "" when unresolved */
    size_t account_len;
    char sid[PIPES_PROTO_MAX_SID + 1];           /* "S-1-5-21-..." (required) */
    size_t sid_len;
    char origin[PIPES_PROTO_MAX_ORIGIN + 1];     /* BROKER only (required there) */
    size_t origin_len;
} pipes_proto_sender;

/* Fills *s with checks: kind not NONE, account 0..256 bytes, sid a valid SID
 * string (pipes_proto_sid_valid), origin 1..256 bytes for BROKER and empty
 * otherwise; all UTF-8 without U+0000. Strings are NUL-terminated; NULL
 * account or origin = "". Returns _BAD_SENDER, _FIELD_TOO_LONG,
 * _INVALID_UTF8 or _NUL_CHAR without changing *s. */
pipes_proto_status pipes_proto_sender_set(pipes_proto_sender *s, pipes_proto_sender_kind kind,
                                          const char *account, const char *sid,
                                          const char *origin);

/* Nonzero when s (len bytes) is "S-1-" + authority (1-15 digits) + 0..15
 * sub-authorities "-" (1-10 digits, at most 4294967295), at most 184 bytes. */
int pipes_proto_sid_valid(const char *s, size_t len);

typedef struct pipes_proto_action {
    char id[PIPES_PROTO_MAX_ID + 1];         /* id rules (pipes_proto_id_valid) */
    size_t id_len;
    char label[PIPES_PROTO_MAX_LABEL + 1];   /* 1..64 bytes, the button's text */
    size_t label_len;
} pipes_proto_action;

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
    int wait; /* a pipes_proto_wait value (1 = "displayed", as "wait":true) */
    /* Interactive notifications (all optional; zero = absent). */
    unsigned action_count;                   /* 0..PIPES_PROTO_MAX_ACTIONS */
    pipes_proto_action actions[PIPES_PROTO_MAX_ACTIONS];
    char open[PIPES_PROTO_MAX_URL + 1];      /* http(s) URL, or "" */
    size_t open_len;
    char tag[PIPES_PROTO_MAX_TAG + 1];       /* id rules, or "" */
    size_t tag_len;
    int clear;                               /* nonzero: remove the tag's notification */
    int has_progress;
    int progress_value;                      /* 0..100, or -1 = indeterminate */
    char progress_status[PIPES_PROTO_MAX_STATUS + 1];
    size_t progress_status_len;
    int sticky;                              /* nonzero: stays until dismissed */
    pipes_proto_priority priority;
    pipes_proto_sender sender;               /* kind NONE when absent */
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
 * user; also sets target to PIPES_PROTO_TARGET_USER), "open" (a URL,
 * pipes_proto_url_check), "tag" (id rules). Returns
 * PIPES_PROTO_ERR_INVALID_UTF8, _NUL_CHAR, _BAD_ID, _EMPTY_TITLE, _BAD_URL,
 * _BAD_TAG or _FIELD_TOO_LONG without changing *n, or _INVALID_ARGUMENT for
 * another field name. */
pipes_proto_status pipes_proto_notification_set(pipes_proto_notification *n, const char *field,
                                                const char *utf8, size_t len);

/* Appends an action button (id with id rules, label 1..64 bytes UTF-8).
 * Returns _TOO_MANY_ACTIONS when three are there, _BAD_ACTION for a bad id,
 * an empty label or an id already used, _FIELD_TOO_LONG, _INVALID_UTF8 or
 * _NUL_CHAR, without changing *n. */
pipes_proto_status pipes_proto_notification_add_action(pipes_proto_notification *n,
                                                       const char *id, size_t id_len,
                                                       const char *label, size_t label_len);

/* Sets progress: value 0..100, or -1 for indeterminate; status (0..128 bytes
 * UTF-8, NULL = none). Returns _BAD_PROGRESS, _FIELD_TOO_LONG, _INVALID_UTF8
 * or _NUL_CHAR without changing *n. */
pipes_proto_status pipes_proto_notification_set_progress(pipes_proto_notification *n, int value,
                                                         const char *status, size_t status_len);

/* What PipesService applies to a submission on top of the parser's rules:
 * a submitter may not set "sender" (_SENDER_NOT_ALLOWED, reason
 * not_allowed: the service writes it from the pipe's identity). *error
 * (optional) names the field. */
pipes_proto_status pipes_proto_check_submission(const pipes_proto_notification *n,
                                                pipes_proto_error *error);

/* Checks an "open" URL: 1..2048 bytes; scheme "https" or "http" (any case)
 * then "://"; an authority of 1..255 bytes of A-Z a-z 0-9 - . _ ~ : [ ]
 * (host and optional port; no user information, so no "@"); then nothing,
 * or a path, query or fragment starting with / ? or # made of the
 * characters RFC 3986 allows (A-Z a-z 0-9 - . _ ~ : / ? # [ ] @ ! $ & ' ( )
 * * + , ; = %). Returns PIPES_PROTO_OK or PIPES_PROTO_ERR_BAD_URL (or
 * _FIELD_TOO_LONG over 2048 bytes); *host_off / *host_len (optional) get the
 * authority's span, which a receiver shows before opening. */
pipes_proto_status pipes_proto_url_check(const char *url, size_t len, size_t *host_off,
                                         size_t *host_len);

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
/* Message types; responses, withdrawals, queries (docs/PROTOCOL.md 5a)     */
/* ------------------------------------------------------------------------ */

/* Every message type. The reply types keep their pipes_proto_reply_type
 * values. */
typedef enum pipes_proto_type {
    PIPES_PROTO_TYPE_ACCEPTED = 1,
    PIPES_PROTO_TYPE_REJECTED = 2,
    PIPES_PROTO_TYPE_ACK = 3,
    PIPES_PROTO_TYPE_DISPLAYED = 4,
    PIPES_PROTO_TYPE_NOTIFY = 5,   /* also when "type" is absent */
    PIPES_PROTO_TYPE_RESPONSE = 6, /* tray -> service; service -> waiting submitter */
    PIPES_PROTO_TYPE_WITHDRAW = 7, /* service -> tray */
    PIPES_PROTO_TYPE_QUERY = 8,    /* submitter -> service */
    PIPES_PROTO_TYPE_STATE = 9     /* service -> submitter: the answer to a query */
} pipes_proto_type;

/* "accepted" ... "state"; NULL for values out of range. */
const char *pipes_proto_type_name(pipes_proto_type type);

/* Reads only the "type" of a message (checks 1-3 of section 3 first, then
 * the type field): *out gets it (NOTIFY when absent or null). Errors: the
 * JSON ones, _WRONG_TYPE, _BAD_MESSAGE_TYPE (an unknown type string). Use it
 * to pick the parser for a message that may be of several types. */
pipes_proto_status pipes_proto_parse_type(const void *data, size_t size, pipes_proto_type *out,
                                          pipes_proto_error *error);

/* The outcome a response reports. */
typedef enum pipes_proto_result {
    PIPES_PROTO_RESULT_NONE = 0,      /* absent (withdraw, state) */
    PIPES_PROTO_RESULT_ACTION = 1,    /* a button was chosen: action holds its id */
    PIPES_PROTO_RESULT_DISMISSED = 2, /* closed by the user */
    PIPES_PROTO_RESULT_TIMEOUT = 3    /* hidden by its timeout, unanswered */
} pipes_proto_result;

const char *pipes_proto_result_name(pipes_proto_result result); /* NULL for NONE */

/* The delivery state a "state" message reports. */
typedef enum pipes_proto_state {
    PIPES_PROTO_STATE_NONE = 0,
    PIPES_PROTO_STATE_UNKNOWN = 1,   /* no such record (never, expired, or another submitter's) */
    PIPES_PROTO_STATE_PENDING = 2,   /* accepted, no tray acknowledged it yet */
    PIPES_PROTO_STATE_DISPLAYED = 3, /* a tray acknowledged it; session = the first */
    PIPES_PROTO_STATE_ANSWERED = 4,  /* answered: result, action, session, user, time */
    PIPES_PROTO_STATE_REPLACED = 5   /* a newer one of its tag replaced it before any tray
                                      * acknowledged it: it will not be displayed */
} pipes_proto_state;

const char *pipes_proto_state_name(pipes_proto_state state); /* NULL for NONE */

/* One "response", "withdraw", "query" or "state" message. Which fields each
 * type needs and allows is in docs/PROTOCOL.md section 5a; fields that do
 * not belong to the type are ignored on parse and must be zero to write. */
typedef struct pipes_proto_answer {
    pipes_proto_type type;           /* RESPONSE, WITHDRAW, QUERY or STATE */
    char id[PIPES_PROTO_MAX_ID + 1]; /* the notification's id */
    size_t id_len;
    pipes_proto_result result;       /* response (required); withdraw, state: the winning one */
    char action[PIPES_PROTO_MAX_ID + 1]; /* result ACTION: the action's id */
    size_t action_len;
    int has_session;
    uint32_t session;                /* the session that answered / displayed */
    char user[PIPES_PROTO_MAX_ACCOUNT + 1]; /* who answered, "DOMAIN\user", or "" */
    size_t user_len;
    int has_time;
    int64_t time_ms;                 /* when it was answered (Unix ms) */
    pipes_proto_state state;         /* state (required) */
} pipes_proto_answer;

/* Zeroes *out and sets type and id (id rules). _INVALID_ARGUMENT for
 * another type, _BAD_ID for a bad id. */
pipes_proto_status pipes_proto_answer_init(pipes_proto_answer *out, pipes_proto_type type,
                                           const char *id);

/* Checks *a as the writer does (offset 0; *error optional). */
pipes_proto_status pipes_proto_answer_validate(const pipes_proto_answer *a,
                                               pipes_proto_error *error);

/* Validates and writes *a as one JSON message. */
pipes_proto_status pipes_proto_write_answer(const pipes_proto_answer *a, char *buf, size_t cap,
                                            size_t *written);

/* Parses a "response", "withdraw", "query" or "state" message with the same
 * strict rules (another type: _BAD_MESSAGE_TYPE). On failure out->id keeps
 * the id when the JSON was valid (for a rejection), everything else zero. */
pipes_proto_status pipes_proto_parse_answer(const void *data, size_t size,
                                            pipes_proto_answer *out, pipes_proto_error *error);

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
