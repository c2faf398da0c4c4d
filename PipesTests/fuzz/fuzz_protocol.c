/*
 * fuzz_protocol.c - libFuzzer target for the notification protocol
 * (PipesLib/protocol). Built natively by run_fuzz.sh with
 * -fsanitize=fuzzer,address,undefined.
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks properties:
 *   - a parse failure has a known status, an offset within the input (or the
 *     size limit), and yields a rejection reply that writes and re-parses;
 *   - an accepted notification, reply or answer message (response,
 *     withdraw, query, state) validates, writes, re-parses to the same
 *     fields, and writing that again gives the same bytes (round trip);
 *   - the type a message reports (pipes_proto_parse_type) is the one its
 *     own parser accepts;
 *   - the parser and the standalone UTF-8 check agree;
 *   - a time string that parses formats and re-parses to the same instant.
 * A broken property aborts, which libFuzzer reports as a crash.
 */
#include "pipes_protocol.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Large objects live here, not on the stack; the fuzzer is single-threaded. */
static pipes_proto_notification g_first, g_second;
static char g_wire[PIPES_PROTO_MAX_MESSAGE], g_wire2[PIPES_PROTO_MAX_MESSAGE];

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "property failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int same_text(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0 && a[alen] == '\0' && b[blen] == '\0';
}

static int same_action(const pipes_proto_action *a, const pipes_proto_action *b)
{
    return same_text(a->id, a->id_len, b->id, b->id_len) &&
           same_text(a->label, a->label_len, b->label, b->label_len);
}

static int same_interactive(const pipes_proto_notification *a, const pipes_proto_notification *b)
{
    if (a->action_count != b->action_count)
        return 0;
    for (unsigned i = 0; i < a->action_count; i++) {
        if (!same_action(&a->actions[i], &b->actions[i]))
            return 0;
    }
    return same_text(a->open, a->open_len, b->open, b->open_len) &&
           same_text(a->tag, a->tag_len, b->tag, b->tag_len) && a->clear == b->clear &&
           a->has_progress == b->has_progress && a->progress_value == b->progress_value &&
           same_text(a->progress_status, a->progress_status_len, b->progress_status,
                     b->progress_status_len) &&
           a->sticky == b->sticky && a->priority == b->priority &&
           a->sender.kind == b->sender.kind &&
           same_text(a->sender.account, a->sender.account_len, b->sender.account,
                     b->sender.account_len) &&
           same_text(a->sender.sid, a->sender.sid_len, b->sender.sid, b->sender.sid_len) &&
           same_text(a->sender.origin, a->sender.origin_len, b->sender.origin,
                     b->sender.origin_len);
}

static int same_notification(const pipes_proto_notification *a, const pipes_proto_notification *b)
{
    return same_text(a->id, a->id_len, b->id, b->id_len) &&
           same_text(a->title, a->title_len, b->title, b->title_len) &&
           same_text(a->body, a->body_len, b->body, b->body_len) &&
           same_text(a->source, a->source_len, b->source, b->source_len) && a->level == b->level &&
           a->has_time == b->has_time && (!a->has_time || a->time_ms == b->time_ms) &&
           a->has_ttl == b->has_ttl && (!a->has_ttl || a->ttl == b->ttl) && a->target == b->target &&
           (a->target != PIPES_PROTO_TARGET_SESSION || a->target_session == b->target_session) &&
           (a->target != PIPES_PROTO_TARGET_USER ||
            same_text(a->target_user, a->target_user_len, b->target_user, b->target_user_len)) &&
           a->wait == b->wait && same_interactive(a, b);
}

static int same_reply(const pipes_proto_reply *a, const pipes_proto_reply *b)
{
    return a->type == b->type && same_text(a->id, a->id_len, b->id, b->id_len) &&
           a->reason == b->reason && strcmp(a->error, b->error) == 0 &&
           a->has_offset == b->has_offset && a->offset == b->offset &&
           same_text(a->detail, a->detail_len, b->detail, b->detail_len) &&
           a->has_session == b->has_session && a->session == b->session;
}

static int same_answer(const pipes_proto_answer *a, const pipes_proto_answer *b)
{
    return a->type == b->type && same_text(a->id, a->id_len, b->id, b->id_len) &&
           a->result == b->result && same_text(a->action, a->action_len, b->action, b->action_len) &&
           a->has_session == b->has_session && a->session == b->session &&
           same_text(a->user, a->user_len, b->user, b->user_len) && a->has_time == b->has_time &&
           a->time_ms == b->time_ms && a->state == b->state;
}

static void check_failure(const uint8_t *data, size_t size, pipes_proto_status st,
                          const pipes_proto_error *err, const char *id)
{
    char text[600];
    CHECK(pipes_proto_status_is_wire(st));
    CHECK(err->status == st);
    CHECK(strcmp(pipes_proto_status_code(st), "unknown") != 0);
    CHECK(err->offset <= size);
    CHECK(pipes_proto_error_text(err, text, sizeof text) < sizeof text);
    CHECK(id[0] == '\0' || pipes_proto_id_valid(id, strlen(id)));
    if (st == PIPES_PROTO_ERR_INVALID_UTF8)
        CHECK(!pipes_proto_utf8_valid(data, size, NULL));

    /* The rejection a receiver would send must be a valid reply. */
    pipes_proto_reply r, back;
    size_t n = 0;
    pipes_proto_reply_for_error(&r, err, id);
    CHECK(pipes_proto_write_reply(&r, g_wire, sizeof g_wire, &n) == PIPES_PROTO_OK);
    CHECK(pipes_proto_parse_reply(g_wire, n, &back, NULL) == PIPES_PROTO_OK);
    CHECK(same_reply(&r, &back));
}

static void fuzz_notification(const uint8_t *data, size_t size)
{
    pipes_proto_error err;
    size_t n1 = 0, n2 = 0;
    pipes_proto_status st = pipes_proto_parse_notification(data, size, &g_first, &err);
    if (size > PIPES_PROTO_MAX_MESSAGE)
        CHECK(st == PIPES_PROTO_ERR_MESSAGE_TOO_LARGE);
    else if (!pipes_proto_utf8_valid(data, size, NULL))
        CHECK(st == PIPES_PROTO_ERR_INVALID_UTF8);
    if (st != PIPES_PROTO_OK) {
        check_failure(data, size, st, &err, g_first.id);
        return;
    }
    CHECK(pipes_proto_notification_validate(&g_first, NULL) == PIPES_PROTO_OK);
    /* An http(s) URL is all "open" can hold, with a host to show. */
    if (g_first.open_len > 0) {
        size_t host_off = 0, host_len = 0;
        CHECK(pipes_proto_url_check(g_first.open, g_first.open_len, &host_off, &host_len) ==
              PIPES_PROTO_OK);
        CHECK(host_len > 0 && host_off + host_len <= g_first.open_len);
        CHECK(strncmp(g_first.open, "file:", 5) != 0 && strncmp(g_first.open, "javascript:", 11));
    }
    CHECK(g_first.action_count <= PIPES_PROTO_MAX_ACTIONS);
    CHECK(g_first.title_len > 0 || g_first.clear);
    CHECK(pipes_proto_write_notification(&g_first, g_wire, sizeof g_wire, &n1) == PIPES_PROTO_OK);
    st = pipes_proto_parse_notification(g_wire, n1, &g_second, &err);
    if (st != PIPES_PROTO_OK)
        fprintf(stderr, "re-parse failed: %s at %zu\n", pipes_proto_status_code(st), err.offset);
    CHECK(st == PIPES_PROTO_OK);
    CHECK(same_notification(&g_first, &g_second));
    CHECK(pipes_proto_write_notification(&g_second, g_wire2, sizeof g_wire2, &n2) == PIPES_PROTO_OK);
    CHECK(n1 == n2 && memcmp(g_wire, g_wire2, n1) == 0);
}

static void fuzz_reply(const uint8_t *data, size_t size)
{
    pipes_proto_reply a, b;
    pipes_proto_error err;
    size_t n1 = 0, n2 = 0;
    pipes_proto_status st = pipes_proto_parse_reply(data, size, &a, &err);
    if (st != PIPES_PROTO_OK) {
        CHECK(err.status == st && err.offset <= size);
        return;
    }
    if (a.type == PIPES_PROTO_REPLY_REJECTED && a.reason == PIPES_PROTO_REASON_UNKNOWN) {
        /* A reason this version does not know cannot be written back. */
        CHECK(pipes_proto_write_reply(&a, g_wire, sizeof g_wire, &n1) ==
              PIPES_PROTO_ERR_INVALID_ARGUMENT);
        return;
    }
    CHECK(pipes_proto_write_reply(&a, g_wire, sizeof g_wire, &n1) == PIPES_PROTO_OK);
    CHECK(pipes_proto_parse_reply(g_wire, n1, &b, NULL) == PIPES_PROTO_OK);
    CHECK(same_reply(&a, &b));
    CHECK(pipes_proto_write_reply(&b, g_wire2, sizeof g_wire2, &n2) == PIPES_PROTO_OK);
    CHECK(n1 == n2 && memcmp(g_wire, g_wire2, n1) == 0);
}

static void fuzz_answer(const uint8_t *data, size_t size)
{
    pipes_proto_answer a, b;
    pipes_proto_error err;
    size_t n1 = 0, n2 = 0;
    pipes_proto_status st = pipes_proto_parse_answer(data, size, &a, &err);
    if (st != PIPES_PROTO_OK) {
        check_failure(data, size, st, &err, a.id);
        return;
    }
    CHECK(pipes_proto_answer_validate(&a, NULL) == PIPES_PROTO_OK);
    CHECK(pipes_proto_write_answer(&a, g_wire, sizeof g_wire, &n1) == PIPES_PROTO_OK);
    CHECK(pipes_proto_parse_answer(g_wire, n1, &b, NULL) == PIPES_PROTO_OK);
    CHECK(same_answer(&a, &b));
    CHECK(pipes_proto_write_answer(&b, g_wire2, sizeof g_wire2, &n2) == PIPES_PROTO_OK);
    CHECK(n1 == n2 && memcmp(g_wire, g_wire2, n1) == 0);
}

/* The type a message reports must be the one its parser takes. */
static void fuzz_type(const uint8_t *data, size_t size)
{
    pipes_proto_type t = PIPES_PROTO_TYPE_NOTIFY;
    pipes_proto_answer a;
    pipes_proto_reply r;
    if (pipes_proto_parse_type(data, size, &t, NULL) != PIPES_PROTO_OK) {
        CHECK(pipes_proto_parse_notification(data, size, &g_first, NULL) != PIPES_PROTO_OK);
        CHECK(pipes_proto_parse_answer(data, size, &a, NULL) != PIPES_PROTO_OK);
        return;
    }
    CHECK(pipes_proto_type_name(t) != NULL);
    if (pipes_proto_parse_notification(data, size, &g_first, NULL) == PIPES_PROTO_OK)
        CHECK(t == PIPES_PROTO_TYPE_NOTIFY);
    if (pipes_proto_parse_answer(data, size, &a, NULL) == PIPES_PROTO_OK)
        CHECK(t == a.type);
    if (pipes_proto_parse_reply(data, size, &r, NULL) == PIPES_PROTO_OK)
        CHECK(t == (pipes_proto_type)r.type);
}

static void fuzz_time(const uint8_t *data, size_t size)
{
    int64_t ms = 0, again = 0;
    char text[PIPES_PROTO_TIME_BUFSIZE];
    if (size > 64)
        return;
    if (pipes_proto_time_parse((const char *)data, size, &ms) != PIPES_PROTO_OK)
        return;
    size_t n = pipes_proto_time_format(ms, text);
    CHECK(n > 0);
    CHECK(pipes_proto_time_parse(text, n, &again) == PIPES_PROTO_OK);
    CHECK(again == ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_notification(data, size);
    fuzz_reply(data, size);
    fuzz_answer(data, size);
    fuzz_type(data, size);
    fuzz_time(data, size);
    return 0;
}
