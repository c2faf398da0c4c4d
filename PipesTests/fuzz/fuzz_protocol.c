/*
 * fuzz_protocol.c - libFuzzer target for the notification protocol
 * (PipesLib/protocol). Built natively by run_fuzz.sh with
 * -fsanitize=fuzzer,address,undefined.
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks properties:
 *   - a parse failure has a known status, an offset within the input (or the
 *     size limit), and yields a rejection reply that writes and re-parses;
 *   - an accepted notification or reply validates, writes, re-parses to the
 *     same fields, and writing that again gives the same bytes (round trip);
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
           (a->wait != 0) == (b->wait != 0);
}

static int same_reply(const pipes_proto_reply *a, const pipes_proto_reply *b)
{
    return a->type == b->type && same_text(a->id, a->id_len, b->id, b->id_len) &&
           a->reason == b->reason && strcmp(a->error, b->error) == 0 &&
           a->has_offset == b->has_offset && a->offset == b->offset &&
           same_text(a->detail, a->detail_len, b->detail, b->detail_len) &&
           a->has_session == b->has_session && a->session == b->session;
}

static void check_failure(const uint8_t *data, size_t size, pipes_proto_status st,
                          const pipes_proto_error *err, const char *id)
{
    char text[600];
    CHECK(st > PIPES_PROTO_OK && st < PIPES_PROTO_ERR_INVALID_ARGUMENT);
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
    fuzz_time(data, size);
    return 0;
}
