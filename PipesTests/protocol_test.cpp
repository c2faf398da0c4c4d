// protocol_test.cpp - unit tests of the notification protocol (docs/PROTOCOL.md)
// against PipesLib/protocol. Each rule of the document is checked at its
// limit and one past it, with the reported status, offset and field.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "pipes_protocol.h"

namespace {

using Notification = pipes_proto_notification;

// Notifications are ~9 KiB: keep them off the test's stack frames.
std::unique_ptr<Notification> NewNotification()
{
    auto n = std::make_unique<Notification>();
    pipes_proto_notification_init(n.get());
    return n;
}

struct ParseResult {
    pipes_proto_status status;
    pipes_proto_error error;
    std::unique_ptr<Notification> n;
};

ParseResult Parse(const std::string &msg)
{
    ParseResult r{PIPES_PROTO_OK, {}, NewNotification()};
    r.status = pipes_proto_parse_notification(msg.data(), msg.size(), r.n.get(), &r.error);
    EXPECT_EQ(r.status, r.error.status);
    return r;
}

std::string Describe(const ParseResult &r)
{
    char text[600];
    pipes_proto_error_text(&r.error, text, sizeof text);
    return text;
}

// Asserts a rejection: status, and the offset / field when given.
void ExpectReject(const std::string &msg, pipes_proto_status status, long offset = -1,
                  const char *field = nullptr)
{
    SCOPED_TRACE("message: " + msg);
    ParseResult r = Parse(msg);
    ASSERT_EQ(r.status, status) << pipes_proto_status_code(r.status) << " / " << Describe(r);
    if (offset >= 0) {
        EXPECT_EQ(r.error.offset, static_cast<size_t>(offset)) << Describe(r);
    }
    if (field != nullptr) {
        ASSERT_NE(r.error.field, nullptr);
        EXPECT_STREQ(r.error.field, field);
    }
}

void ExpectOk(const std::string &msg)
{
    SCOPED_TRACE("message: " + msg);
    ParseResult r = Parse(msg);
    EXPECT_EQ(r.status, PIPES_PROTO_OK) << pipes_proto_status_code(r.status) << " / " << Describe(r);
}

// A valid notification with extra members spliced in before the closing brace.
std::string Msg(const std::string &extra = "")
{
    return "{\"v\":1,\"id\":\"n-1\",\"title\":\"T\"" + (extra.empty() ? "" : "," + extra) + "}";
}

// Offset of the first occurrence of needle in hay (for expected error positions).
long At(const std::string &hay, const std::string &needle)
{
    size_t p = hay.find(needle);
    EXPECT_NE(p, std::string::npos) << needle;
    return static_cast<long>(p);
}

// Writes any message with its writer; a failure is a test failure (and "").
template <class Message>
std::string WriteWith(pipes_proto_status (*writer)(const Message *, char *, size_t, size_t *),
                      const Message &m)
{
    std::string buf(PIPES_PROTO_MAX_MESSAGE, '\0');
    size_t written = 0;
    pipes_proto_status st = writer(&m, &buf[0], buf.size(), &written);
    EXPECT_EQ(st, PIPES_PROTO_OK) << pipes_proto_status_code(st);
    buf.resize(written);
    return buf;
}

std::string Write(const Notification &n)
{
    return WriteWith(pipes_proto_write_notification, n);
}

void ExpectSameNotification(const Notification &a, const Notification &b)
{
    EXPECT_EQ(std::string(a.id, a.id_len), std::string(b.id, b.id_len));
    EXPECT_EQ(std::string(a.title, a.title_len), std::string(b.title, b.title_len));
    EXPECT_EQ(std::string(a.body, a.body_len), std::string(b.body, b.body_len));
    EXPECT_EQ(std::string(a.source, a.source_len), std::string(b.source, b.source_len));
    EXPECT_EQ(a.level, b.level);
    EXPECT_EQ(a.has_time, b.has_time);
    if (a.has_time && b.has_time) {
        EXPECT_EQ(a.time_ms, b.time_ms);
    }
    EXPECT_EQ(a.has_ttl, b.has_ttl);
    if (a.has_ttl && b.has_ttl) {
        EXPECT_EQ(a.ttl, b.ttl);
    }
    EXPECT_EQ(a.target, b.target);
    if (a.target == PIPES_PROTO_TARGET_SESSION) {
        EXPECT_EQ(a.target_session, b.target_session);
    }
    if (a.target == PIPES_PROTO_TARGET_USER) {
        EXPECT_EQ(std::string(a.target_user, a.target_user_len),
                  std::string(b.target_user, b.target_user_len));
    }
    EXPECT_EQ(a.wait, b.wait);
    ASSERT_EQ(a.action_count, b.action_count);
    for (unsigned i = 0; i < a.action_count; i++) {
        EXPECT_EQ(std::string(a.actions[i].id), std::string(b.actions[i].id));
        EXPECT_EQ(std::string(a.actions[i].label, a.actions[i].label_len),
                  std::string(b.actions[i].label, b.actions[i].label_len));
    }
    EXPECT_EQ(std::string(a.open, a.open_len), std::string(b.open, b.open_len));
    EXPECT_EQ(std::string(a.tag, a.tag_len), std::string(b.tag, b.tag_len));
    EXPECT_EQ(a.clear, b.clear);
    EXPECT_EQ(a.has_progress, b.has_progress);
    EXPECT_EQ(a.progress_value, b.progress_value);
    EXPECT_EQ(std::string(a.progress_status, a.progress_status_len),
              std::string(b.progress_status, b.progress_status_len));
    EXPECT_EQ(a.sticky, b.sticky);
    EXPECT_EQ(a.priority, b.priority);
    EXPECT_EQ(a.sender.kind, b.sender.kind);
    EXPECT_EQ(std::string(a.sender.account, a.sender.account_len),
              std::string(b.sender.account, b.sender.account_len));
    EXPECT_EQ(std::string(a.sender.sid), std::string(b.sender.sid));
    EXPECT_EQ(std::string(a.sender.origin, a.sender.origin_len),
              std::string(b.sender.origin, b.sender.origin_len));
}

std::string Repeat(const std::string &s, size_t times)
{
    std::string out;
    for (size_t i = 0; i < times; i++)
        out += s;
    return out;
}

// ---------------------------------------------------------------------------
// Accepting valid notifications
// ---------------------------------------------------------------------------

TEST(ProtocolParse, MinimalNotificationHasDefaults)
{
    ParseResult r = Parse("{\"v\":1,\"id\":\"abc\",\"title\":\"Hello\"}");
    ASSERT_EQ(r.status, PIPES_PROTO_OK);
    EXPECT_STREQ(r.n->id, "abc");
    EXPECT_EQ(r.n->id_len, 3u);
    EXPECT_STREQ(r.n->title, "Hello");
    EXPECT_STREQ(r.n->body, "");
    EXPECT_STREQ(r.n->source, "");
    EXPECT_EQ(r.n->level, PIPES_PROTO_LEVEL_INFO);
    EXPECT_FALSE(r.n->has_time);
    EXPECT_FALSE(r.n->has_ttl);
    EXPECT_EQ(r.n->target, PIPES_PROTO_TARGET_ALL);
    EXPECT_FALSE(r.n->wait);
}

TEST(ProtocolParse, DocumentExampleWithEveryField)
{
    // The first example of docs/PROTOCOL.md section 2.
    ParseResult r = Parse(
        "{\"v\":1,\"id\":\"backup-20261124-0001\",\"title\":\"Backup finished\",\"body\":\"42 files, "
        "3.1 GB\",\n \"level\":\"info\",\"source\":\"nightly-backup\",\"time\":\"2026-11-24T22:40:00Z\","
        "\"ttl\":3600}");
    ASSERT_EQ(r.status, PIPES_PROTO_OK) << Describe(r);
    EXPECT_STREQ(r.n->id, "backup-20261124-0001");
    EXPECT_STREQ(r.n->body, "42 files, 3.1 GB");
    EXPECT_STREQ(r.n->source, "nightly-backup");
    EXPECT_TRUE(r.n->has_time);
    int64_t expected = 0;
    ASSERT_EQ(pipes_proto_time_parse("2026-11-24T22:40:00Z", 20, &expected), PIPES_PROTO_OK);
    EXPECT_EQ(r.n->time_ms, expected);
    EXPECT_EQ(r.n->ttl, 3600u);
}

TEST(ProtocolParse, ServiceFieldsTargetAndWait)
{
    ParseResult s = Parse(Msg("\"type\":\"notify\",\"target\":{\"session\":7},\"wait\":true,"
                              "\"level\":\"warning\""));
    ASSERT_EQ(s.status, PIPES_PROTO_OK) << Describe(s);
    EXPECT_EQ(s.n->target, PIPES_PROTO_TARGET_SESSION);
    EXPECT_EQ(s.n->target_session, 7u);
    EXPECT_TRUE(s.n->wait);
    EXPECT_EQ(s.n->level, PIPES_PROTO_LEVEL_WARNING);

    ParseResult u = Parse(Msg("\"target\":{\"user\":\"CORP\\\\alice\"},\"wait\":false,"
                              "\"level\":\"error\""));
    ASSERT_EQ(u.status, PIPES_PROTO_OK) << Describe(u);
    EXPECT_EQ(u.n->target, PIPES_PROTO_TARGET_USER);
    EXPECT_STREQ(u.n->target_user, "CORP\\alice");
    EXPECT_FALSE(u.n->wait);
    EXPECT_EQ(u.n->level, PIPES_PROTO_LEVEL_ERROR);
}

TEST(ProtocolParse, UnknownFieldsAreIgnoredAtEveryLevel)
{
    ParseResult r = Parse(Msg("\"color\":\"red\",\"x\":{\"deep\":[1,2.5e-3,{\"a\":null}],\"t\":true},"
                              "\"Title\":\"case matters\",\"target\":{\"session\":3,\"extra\":[false]}"));
    ASSERT_EQ(r.status, PIPES_PROTO_OK) << Describe(r);
    EXPECT_STREQ(r.n->title, "T"); // "Title" is a different, unknown field
    EXPECT_EQ(r.n->target_session, 3u);
}

TEST(ProtocolParse, NullMeansAbsentForOptionalFields)
{
    ParseResult r = Parse(Msg("\"type\":null,\"body\":null,\"level\":null,\"source\":null,"
                              "\"time\":null,\"ttl\":null,\"target\":null,\"wait\":null"));
    ASSERT_EQ(r.status, PIPES_PROTO_OK) << Describe(r);
    EXPECT_EQ(r.n->level, PIPES_PROTO_LEVEL_INFO);
    EXPECT_FALSE(r.n->has_time);
    EXPECT_FALSE(r.n->has_ttl);
    EXPECT_EQ(r.n->target, PIPES_PROTO_TARGET_ALL);
    // Required fields may not be null.
    ExpectReject("{\"v\":null,\"id\":\"a\",\"title\":\"T\"}", PIPES_PROTO_ERR_WRONG_TYPE, 5, "v");
    ExpectReject("{\"v\":1,\"id\":null,\"title\":\"T\"}", PIPES_PROTO_ERR_WRONG_TYPE, 12, "id");
    ExpectReject("{\"v\":1,\"id\":\"a\",\"title\":null}", PIPES_PROTO_ERR_WRONG_TYPE, 24, "title");
}

TEST(ProtocolParse, WhitespaceEverywhereIsAllowed)
{
    ExpectOk(" \t\r\n{ \"v\" : 1 ,\n\"id\"\t:\"a\" , \"title\" :\"T\" ,\"n\": [ 1 , { } , [ ] ] } \r\n");
}

// ---------------------------------------------------------------------------
// Size and nesting limits: at the limit and one over
// ---------------------------------------------------------------------------

// A valid message of exactly `size` bytes, padded by an unknown string field.
std::string MessageOfSize(size_t size)
{
    std::string head = "{\"v\":1,\"id\":\"big\",\"title\":\"T\",\"pad\":\"";
    std::string tail = "\"}";
    return head + std::string(size - head.size() - tail.size(), 'x') + tail;
}

TEST(ProtocolLimits, WholeMessageAtLimitAndOneOver)
{
    std::string at = MessageOfSize(PIPES_PROTO_MAX_MESSAGE);
    ASSERT_EQ(at.size(), 65536u);
    ExpectOk(at);
    std::string over = MessageOfSize(PIPES_PROTO_MAX_MESSAGE + 1);
    ExpectReject(over, PIPES_PROTO_ERR_MESSAGE_TOO_LARGE, 65536);
    EXPECT_EQ(pipes_proto_reason_for_status(PIPES_PROTO_ERR_MESSAGE_TOO_LARGE),
              PIPES_PROTO_REASON_TOO_LARGE);
}

std::string Nested(unsigned containers)
{
    // containers counts the top-level object: {"v":1,...,"n":[{"a":[ ... ]}]}
    std::string open, close;
    for (unsigned i = 1; i < containers; i++) {
        if (i % 2 == 1) {
            open += "[";
            close = "]" + close;
        } else {
            open += "{\"a\":";
            close = "}" + close;
        }
    }
    return Msg("\"n\":" + open + "0" + close);
}

TEST(ProtocolLimits, NestingDepthAtLimitAndOneOver)
{
    ExpectOk(Nested(PIPES_PROTO_MAX_DEPTH));
    std::string over = Nested(PIPES_PROTO_MAX_DEPTH + 1);
    ParseResult r = Parse(over);
    ASSERT_EQ(r.status, PIPES_PROTO_ERR_TOO_DEEP);
    EXPECT_EQ(r.error.limit, PIPES_PROTO_MAX_DEPTH);
    // Reported at the 17th container: the innermost opener.
    EXPECT_EQ(r.error.offset, over.find_last_of("[{", over.find('0')));
}

TEST(ProtocolLimits, DeepNestingFarBeyondTheLimitIsRejectedNotRecursed)
{
    std::string deep = "{\"v\":1,\"id\":\"d\",\"title\":\"T\",\"n\":" + std::string(60000, '[');
    ExpectReject(deep, PIPES_PROTO_ERR_TOO_DEEP);
}

std::string Members(size_t count)
{
    std::string s = "{\"v\":1,\"id\":\"m\",\"title\":\"T\"";
    for (size_t i = 3; i < count; i++)
        s += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
    return s + "}";
}

TEST(ProtocolLimits, MembersPerObjectAtLimitAndOneOver)
{
    ExpectOk(Members(PIPES_PROTO_MAX_MEMBERS));
    std::string over = Members(PIPES_PROTO_MAX_MEMBERS + 1);
    ParseResult r = Parse(over);
    ASSERT_EQ(r.status, PIPES_PROTO_ERR_TOO_MANY_MEMBERS);
    EXPECT_EQ(r.error.offset, over.find("\"k64\""));
    EXPECT_EQ(r.error.limit, PIPES_PROTO_MAX_MEMBERS);

    // The limit is per object: a nested object has its own 64.
    std::string inner;
    for (size_t i = 0; i < PIPES_PROTO_MAX_MEMBERS; i++)
        inner += (i ? "," : "") + std::string("\"i") + std::to_string(i) + "\":0";
    ExpectOk(Msg("\"x\":{" + inner + "}"));
    ExpectReject(Msg("\"x\":{" + inner + ",\"one_more\":0}"), PIPES_PROTO_ERR_TOO_MANY_MEMBERS);
    // Arrays have no member limit (only the message size bounds them).
    ExpectOk(Msg("\"arr\":[" + Repeat("0,", 1000) + "0]"));
}

struct FieldLimit {
    const char *name;
    size_t max;
};

TEST(ProtocolLimits, StringFieldsAtLimitAndOneOver)
{
    const FieldLimit limits[] = {{"title", PIPES_PROTO_MAX_TITLE},
                                 {"body", PIPES_PROTO_MAX_BODY},
                                 {"source", PIPES_PROTO_MAX_SOURCE}};
    for (const FieldLimit &f : limits) {
        SCOPED_TRACE(f.name);
        std::string base = "{\"v\":1,\"id\":\"L\",";
        std::string tail = std::string(f.name) == "title" ? "}" : ",\"title\":\"T\"}";
        std::string at = base + "\"" + f.name + "\":\"" + std::string(f.max, 'a') + "\"" + tail;
        ParseResult ok = Parse(at);
        ASSERT_EQ(ok.status, PIPES_PROTO_OK) << Describe(ok);
        std::string over = base + "\"" + f.name + "\":\"" + std::string(f.max + 1, 'a') + "\"" + tail;
        ParseResult r = Parse(over);
        ASSERT_EQ(r.status, PIPES_PROTO_ERR_FIELD_TOO_LONG);
        EXPECT_STREQ(r.error.field, f.name);
        EXPECT_EQ(r.error.limit, f.max);
        EXPECT_EQ(r.error.offset, base.size() + std::strlen(f.name) + 3); // at the value's quote
    }
    ExpectOk(Msg("\"target\":{\"user\":\"" + std::string(PIPES_PROTO_MAX_USER, 'u') + "\"}"));
    ExpectReject(Msg("\"target\":{\"user\":\"" + std::string(PIPES_PROTO_MAX_USER + 1, 'u') + "\"}"),
                 PIPES_PROTO_ERR_FIELD_TOO_LONG, -1, "target.user");
}

TEST(ProtocolLimits, LengthsCountUtf8BytesAfterUnescaping)
{
    // 128 x U+00E9 = 256 bytes: at the title limit; one more ASCII byte is over.
    std::string e_acute = "\xC3\xA9";
    ExpectOk("{\"v\":1,\"id\":\"u\",\"title\":\"" + Repeat(e_acute, 128) + "\"}");
    ExpectReject("{\"v\":1,\"id\":\"u\",\"title\":\"" + Repeat(e_acute, 128) + "a\"}",
                 PIPES_PROTO_ERR_FIELD_TOO_LONG, 24, "title");
    // The same with escapes: 256 x \u0041 is 1,536 bytes on the wire but 256 decoded.
    ExpectOk("{\"v\":1,\"id\":\"u\",\"title\":\"" + Repeat("\\u0041", 256) + "\"}");
    ExpectReject("{\"v\":1,\"id\":\"u\",\"title\":\"" + Repeat("\\u0041", 257) + "\"}",
                 PIPES_PROTO_ERR_FIELD_TOO_LONG);
    // 64 emoji as surrogate-pair escapes = 256 bytes.
    ExpectOk("{\"v\":1,\"id\":\"u\",\"title\":\"" + Repeat("\\ud83d\\ude00", 64) + "\"}");
    ExpectReject("{\"v\":1,\"id\":\"u\",\"title\":\"" + Repeat("\\ud83d\\ude00", 64) + "!\"}",
                 PIPES_PROTO_ERR_FIELD_TOO_LONG);
}

TEST(ProtocolLimits, MultiByteCharactersAcrossTheLimits)
{
    // A 2-, 3- or 4-byte character that ends exactly at the title limit fits; one that
    // straddles it does not (limits are bytes, and nothing is ever cut inside a character).
    for (const std::string &ch : {std::string("\xC3\xA9"), std::string("\xE2\x82\xAC"),
                                 std::string("\xF0\x9F\x98\x80")}) {
        SCOPED_TRACE(ch.size());
        std::string fits = std::string(PIPES_PROTO_MAX_TITLE - ch.size(), 'a') + ch;
        ParseResult ok = Parse("{\"v\":1,\"id\":\"mb\",\"title\":\"" + fits + "\"}");
        ASSERT_EQ(ok.status, PIPES_PROTO_OK) << Describe(ok);
        EXPECT_EQ(std::string(ok.n->title, ok.n->title_len), fits);
        std::string straddles = std::string(PIPES_PROTO_MAX_TITLE - ch.size() + 1, 'a') + ch;
        ExpectReject("{\"v\":1,\"id\":\"mb\",\"title\":\"" + straddles + "\"}",
                     PIPES_PROTO_ERR_FIELD_TOO_LONG, 25, "title");
    }
    // A character straddling the 64 KiB message limit: the size is checked first.
    std::string head = "{\"v\":1,\"id\":\"big\",\"title\":\"T\",\"pad\":\"";
    std::string msg = head + std::string(PIPES_PROTO_MAX_MESSAGE - head.size() - 1, 'x') + "\xE2\x82\xAC\"}";
    ASSERT_GT(msg.size(), PIPES_PROTO_MAX_MESSAGE);
    ExpectReject(msg, PIPES_PROTO_ERR_MESSAGE_TOO_LARGE, PIPES_PROTO_MAX_MESSAGE);
    // ... and one ending exactly at byte 65,536 is accepted.
    std::string exact = head + std::string(PIPES_PROTO_MAX_MESSAGE - head.size() - 5, 'x') + "\xE2\x82\xAC\"}";
    ASSERT_EQ(exact.size(), PIPES_PROTO_MAX_MESSAGE);
    ExpectOk(exact);
}

TEST(ProtocolLimits, ReplyTextLimits)
{
    pipes_proto_reply r;
    std::string detail(PIPES_PROTO_MAX_DETAIL, 'd'), code(PIPES_PROTO_MAX_ERROR_CODE, 'e');
    std::string at = "{\"v\":1,\"type\":\"rejected\",\"reason\":\"malformed\",\"error\":\"" + code +
                     "\",\"detail\":\"" + detail + "\"}";
    ASSERT_EQ(pipes_proto_parse_reply(at.data(), at.size(), &r, nullptr), PIPES_PROTO_OK);
    EXPECT_EQ(r.detail_len, PIPES_PROTO_MAX_DETAIL);
    EXPECT_EQ(std::string(r.error), code);
    std::string over_detail = "{\"v\":1,\"type\":\"rejected\",\"reason\":\"malformed\",\"detail\":\"" + detail + "d\"}";
    pipes_proto_error e;
    ASSERT_EQ(pipes_proto_parse_reply(over_detail.data(), over_detail.size(), &r, &e), PIPES_PROTO_ERR_FIELD_TOO_LONG);
    EXPECT_STREQ(e.field, "detail");
    std::string over_code = "{\"v\":1,\"type\":\"rejected\",\"reason\":\"malformed\",\"error\":\"" + code + "e\"}";
    ASSERT_EQ(pipes_proto_parse_reply(over_code.data(), over_code.size(), &r, &e), PIPES_PROTO_ERR_FIELD_TOO_LONG);
    EXPECT_STREQ(e.field, "error");
    // A reason longer than any code is too long, not just unknown.
    std::string long_reason = "{\"v\":1,\"type\":\"rejected\",\"reason\":\"" + code + "r\"}";
    EXPECT_EQ(pipes_proto_parse_reply(long_reason.data(), long_reason.size(), &r, nullptr),
              PIPES_PROTO_ERR_FIELD_TOO_LONG);
}

TEST(ProtocolLimits, IdLengthAndCharacters)
{
    std::string id64(PIPES_PROTO_MAX_ID, 'a');
    ExpectOk("{\"v\":1,\"id\":\"" + id64 + "\",\"title\":\"T\"}");
    ExpectReject("{\"v\":1,\"id\":\"" + id64 + "a\",\"title\":\"T\"}", PIPES_PROTO_ERR_BAD_ID, 12, "id");
    ExpectOk("{\"v\":1,\"id\":\"AZaz09-_.:\",\"title\":\"T\"}");
    for (const char *bad : {"", " ", "a b", "a/b", "a\\\\b", "\xC3\xA9", "a+b", "{guid}", "a\\tb"}) {
        ExpectReject(std::string("{\"v\":1,\"id\":\"") + bad + "\",\"title\":\"T\"}",
                     PIPES_PROTO_ERR_BAD_ID, 12, "id");
    }
    EXPECT_TRUE(pipes_proto_id_valid("a", 1));
    EXPECT_TRUE(pipes_proto_id_valid(id64.c_str(), 64));
    EXPECT_FALSE(pipes_proto_id_valid((id64 + "a").c_str(), 65));
    EXPECT_FALSE(pipes_proto_id_valid("", 0));
    EXPECT_FALSE(pipes_proto_id_valid(nullptr, 3));
    EXPECT_FALSE(pipes_proto_id_valid("a\0b", 3));
}

TEST(ProtocolLimits, TtlRange)
{
    ParseResult lo = Parse(Msg("\"ttl\":1"));
    ASSERT_EQ(lo.status, PIPES_PROTO_OK);
    EXPECT_EQ(lo.n->ttl, 1u);
    ParseResult hi = Parse(Msg("\"ttl\":31536000"));
    ASSERT_EQ(hi.status, PIPES_PROTO_OK);
    EXPECT_EQ(hi.n->ttl, PIPES_PROTO_MAX_TTL);
    ExpectReject(Msg("\"ttl\":0"), PIPES_PROTO_ERR_BAD_TTL, -1, "ttl");
    ExpectReject(Msg("\"ttl\":31536001"), PIPES_PROTO_ERR_BAD_TTL, -1, "ttl");
    ExpectReject(Msg("\"ttl\":-5"), PIPES_PROTO_ERR_BAD_TTL, -1, "ttl");
    ExpectReject(Msg("\"ttl\":18446744073709551616"), PIPES_PROTO_ERR_BAD_TTL, -1, "ttl");
    ExpectReject(Msg("\"ttl\":60.0"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "ttl");
    ExpectReject(Msg("\"ttl\":6e1"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "ttl");
}

TEST(ProtocolLimits, TargetSessionRange)
{
    ParseResult zero = Parse(Msg("\"target\":{\"session\":0}"));
    ASSERT_EQ(zero.status, PIPES_PROTO_OK);
    EXPECT_EQ(zero.n->target_session, 0u);
    ParseResult max = Parse(Msg("\"target\":{\"session\":4294967295}"));
    ASSERT_EQ(max.status, PIPES_PROTO_OK);
    EXPECT_EQ(max.n->target_session, 4294967295u);
    ExpectReject(Msg("\"target\":{\"session\":4294967296}"), PIPES_PROTO_ERR_BAD_TARGET, -1,
                 "target.session");
    ExpectReject(Msg("\"target\":{\"session\":-1}"), PIPES_PROTO_ERR_BAD_TARGET, -1, "target.session");
}

// ---------------------------------------------------------------------------
// Every rejection reason
// ---------------------------------------------------------------------------

TEST(ProtocolReject, UnexpectedEnd)
{
    const char *cases[] = {"",          "   ",           "{",           "{\"v\"",
                           "{\"v\":",   "{\"v\":1",      "{\"v\":1,",   "{\"t\":\"abc",
                           "{\"a\":-",  "{\"a\":1.",     "{\"a\":1e",   "{\"a\":1e+",
                           "{\"a\":tr", "{\"a\":\"\\",   "{\"a\":\"\\u12", "{\"a\":[1,",
                           "{\"a\":\"\\ud83d", "{\"a\":\"\\ud83d\\", "{\"a\":\"\\ud83d\\ude0"};
    for (const char *c : cases)
        ExpectReject(c, PIPES_PROTO_ERR_UNEXPECTED_END, static_cast<long>(std::strlen(c)));
}

TEST(ProtocolReject, Syntax)
{
    struct Case {
        const char *msg;
        long offset;
    } cases[] = {
        {"{v:1}", 1},
        {"{\"v\" 1}", 5},
        {"{\"v\":1,}", 7},
        {"{\"v\":01}", 6},
        {"{\"a\":[1,]}", 8},
        {"{\"a\":truex}", 9},
        {"{\"a\":tRue}", 6},
        {"{\"a\":1 \"b\":2}", 7},
        {"{\"a\":+1}", 5},
        {"{\"a\":.5}", 5},
        {"{\"a\":1.e5}", 7},
        {"{\"a\":-x}", 6},
        {"{\"a\":NaN}", 5},
        {"{\"a\":'x'}", 5},
        {"\xEF\xBB\xBF{\"v\":1}", 0}, // a byte order mark is not JSON
        {"{\"a\":[1}", 7},
        {"{\"a\":{\"b\":1]}", 11},
        {"{,}", 1},
        {"{\"a\"::1}", 5},
    };
    for (const Case &c : cases)
        ExpectReject(c.msg, PIPES_PROTO_ERR_SYNTAX, c.offset);
    std::string nul_outside("{\"a\":1,\0}", 9);
    ExpectReject(nul_outside, PIPES_PROTO_ERR_SYNTAX, 7);
}

TEST(ProtocolReject, BadEscape)
{
    struct Case {
        const char *msg;
        long offset;
    } cases[] = {
        {"{\"a\":\"\\x\"}", 6},
        {"{\"a\":\"\\U0041\"}", 6},
        {"{\"a\":\"\\u12G4\"}", 6},
        {"{\"a\":\"\\ud83d\"}", 6},            // lone high surrogate, then the quote
        {"{\"a\":\"\\ud83dx\\ude00\"}", 6},     // high not followed at once by the low
        {"{\"a\":\"\\ude00\"}", 6},            // lone low surrogate
        {"{\"a\":\"\\ud83d\\ud83d\"}", 6},      // high followed by high
        {"{\"a\":\"\\ud83d\\n\"}", 6},          // high followed by another escape
        {"{\"a\":\"\\ud83d\\uZZZZ\"}", 12},     // bad hex in the second half
        {"{\"a\":\"\\'\"}", 6},
        {"{\"\\q\":1}", 2},                      // in a key too
    };
    for (const Case &c : cases)
        ExpectReject(c.msg, PIPES_PROTO_ERR_BAD_ESCAPE, c.offset);
}

TEST(ProtocolReject, ControlCharacterInString)
{
    for (int ch = 0; ch < 0x20; ch++) {
        std::string msg = "{\"v\":1,\"id\":\"c\",\"title\":\"T\",\"x\":\"ab" + std::string(1, static_cast<char>(ch)) + "\"}";
        ExpectReject(msg, PIPES_PROTO_ERR_CONTROL_CHAR, At(msg, "ab") + 2);
    }
    // DEL (0x7F) needs no escape in JSON.
    ExpectOk(Msg("\"x\":\"a\x7F\""));
    // A raw newline in the title, too.
    ExpectReject("{\"v\":1,\"id\":\"c\",\"title\":\"line1\nline2\"}", PIPES_PROTO_ERR_CONTROL_CHAR, 30);
}

TEST(ProtocolReject, NulCharacter)
{
    ExpectReject("{\"v\":1,\"id\":\"z\",\"title\":\"a\\u0000b\"}", PIPES_PROTO_ERR_NUL_CHAR, 26);
    ExpectReject(Msg("\"unknown\":\"\\u0000\""), PIPES_PROTO_ERR_NUL_CHAR);
    ExpectReject(Msg("\"k\\u0000\":1"), PIPES_PROTO_ERR_NUL_CHAR);
}

TEST(ProtocolReject, NotAnObject)
{
    for (const char *c : {"[]", "[1,2]", "\"x\"", "1", "-0.5e3", "null", "true", "false", "  []  "})
        ExpectReject(c, PIPES_PROTO_ERR_NOT_OBJECT, c[0] == ' ' ? 2 : 0);
    // A broken non-object is reported as the JSON problem it has.
    ExpectReject("[1,", PIPES_PROTO_ERR_UNEXPECTED_END, 3);
}

TEST(ProtocolReject, TrailingData)
{
    std::string ok = Msg();
    ExpectReject(ok + "x", PIPES_PROTO_ERR_TRAILING_DATA, static_cast<long>(ok.size()));
    ExpectReject(ok + " {}", PIPES_PROTO_ERR_TRAILING_DATA, static_cast<long>(ok.size() + 1));
    ExpectReject(ok + std::string(1, '\0'), PIPES_PROTO_ERR_TRAILING_DATA, static_cast<long>(ok.size()));
    ExpectReject(ok + "\n" + ok, PIPES_PROTO_ERR_TRAILING_DATA, static_cast<long>(ok.size() + 1));
    ExpectOk(ok + " \r\n\t");
    ExpectReject("{\"a\":1}}", PIPES_PROTO_ERR_TRAILING_DATA, 7);
    // The example of docs/PROTOCOL.md section 7.
    ExpectReject("{\"v\":1,\"id\":\"b1\",\"title\":\"x\"} extra", PIPES_PROTO_ERR_TRAILING_DATA, 30);
}

TEST(ProtocolReject, DuplicateKeys)
{
    std::string m = "{\"v\":1,\"id\":\"d\",\"title\":\"a\",\"title\":\"b\"}";
    ExpectReject(m, PIPES_PROTO_ERR_DUPLICATE_KEY, 28);
    // Compared after unescaping.
    ExpectReject("{\"v\":1,\"id\":\"d\",\"title\":\"a\",\"ti\\u0074le\":\"b\"}", PIPES_PROTO_ERR_DUPLICATE_KEY, 28);
    ExpectReject("{\"v\":1,\"id\":\"d\",\"\\u00e9\":1,\"\xC3\xA9\":2,\"title\":\"t\"}",
                 PIPES_PROTO_ERR_DUPLICATE_KEY, 27);
    ExpectReject("{\"v\":1,\"id\":\"d\",\"\\ud83d\\ude00\":1,\"\xF0\x9F\x98\x80\":2,\"title\":\"t\"}",
                 PIPES_PROTO_ERR_DUPLICATE_KEY);
    // Unknown fields, nested objects and target count too.
    ExpectReject(Msg("\"x\":1,\"x\":2"), PIPES_PROTO_ERR_DUPLICATE_KEY);
    ExpectReject(Msg("\"x\":{\"a\":1,\"b\":{\"c\":1},\"a\":2}"), PIPES_PROTO_ERR_DUPLICATE_KEY);
    ExpectReject(Msg("\"target\":{\"session\":1,\"session\":2}"), PIPES_PROTO_ERR_DUPLICATE_KEY);
    ExpectReject("{\"v\":1,\"v\":1,\"id\":\"d\",\"title\":\"t\"}", PIPES_PROTO_ERR_DUPLICATE_KEY, 7);
    // The same key in different objects, or keys that only share a prefix, are fine.
    ExpectOk(Msg("\"x\":{\"a\":1},\"y\":{\"a\":1},\"z\":[{\"a\":1},{\"a\":2}]"));
    ExpectOk(Msg("\"ab\":1,\"a\":2,\"abc\":3,\"\\u0061bd\":4"));
}

TEST(ProtocolReject, WrongTypes)
{
    struct Case {
        const char *extra_or_msg;
        const char *field;
        bool whole;
    } cases[] = {
        {"{\"v\":\"1\",\"id\":\"a\",\"title\":\"T\"}", "v", true},
        {"{\"v\":1.0,\"id\":\"a\",\"title\":\"T\"}", "v", true},
        {"{\"v\":1e0,\"id\":\"a\",\"title\":\"T\"}", "v", true},
        {"{\"v\":true,\"id\":\"a\",\"title\":\"T\"}", "v", true},
        {"{\"v\":1,\"id\":7,\"title\":\"T\"}", "id", true},
        {"{\"v\":1,\"id\":\"a\",\"title\":[\"T\"]}", "title", true},
        {"{\"v\":1,\"id\":\"a\",\"title\":{}}", "title", true},
        {"\"body\":1", "body", false},
        {"\"level\":2", "level", false},
        {"\"source\":true", "source", false},
        {"\"time\":1732488000", "time", false},
        {"\"ttl\":\"60\"", "ttl", false},
        {"\"target\":[]", "target", false},
        {"\"target\":7", "target", false},
        {"\"target\":{\"session\":\"1\"}", "target.session", false},
        {"\"target\":{\"session\":1.5}", "target.session", false},
        {"\"target\":{\"user\":1}", "target.user", false},
        {"\"wait\":1", "wait", false},
        {"\"type\":1", "type", false},
    };
    for (const Case &c : cases) {
        std::string msg = c.whole ? c.extra_or_msg : Msg(c.extra_or_msg);
        ExpectReject(msg, PIPES_PROTO_ERR_WRONG_TYPE, -1, c.field);
    }
}

TEST(ProtocolReject, MissingRequiredFields)
{
    ExpectReject("{\"id\":\"a\",\"title\":\"T\"}", PIPES_PROTO_ERR_MISSING_FIELD, 21, "v");
    ExpectReject("{\"v\":1,\"title\":\"T\"}", PIPES_PROTO_ERR_MISSING_FIELD, 18, "id");
    ExpectReject("{\"v\":1,\"id\":\"a\"}", PIPES_PROTO_ERR_MISSING_FIELD, 15, "title");
    ExpectReject("{}", PIPES_PROTO_ERR_MISSING_FIELD, 1, "v"); // v is reported first
    ExpectReject("{\"v\":1}", PIPES_PROTO_ERR_MISSING_FIELD, 6, "id");
}

TEST(ProtocolReject, UnsupportedVersion)
{
    for (const char *v : {"0", "2", "-1", "99999999999999999999999"}) {
        std::string msg = std::string("{\"v\":") + v + ",\"id\":\"a\",\"title\":\"T\"}";
        ExpectReject(msg, PIPES_PROTO_ERR_UNSUPPORTED_VERSION, 5, "v");
    }
    EXPECT_EQ(pipes_proto_reason_for_status(PIPES_PROTO_ERR_UNSUPPORTED_VERSION),
              PIPES_PROTO_REASON_UNSUPPORTED_VERSION);
}

TEST(ProtocolReject, BadMessageType)
{
    for (const char *t : {"ack", "accepted", "Notify", "", "notify ", "notification"}) {
        std::string msg = Msg(std::string("\"type\":\"") + t + "\"");
        ExpectReject(msg, PIPES_PROTO_ERR_BAD_MESSAGE_TYPE, At(msg, "\"type\"") + 7, "type");
    }
}

TEST(ProtocolReject, EmptyTitle)
{
    ExpectReject("{\"v\":1,\"id\":\"a\",\"title\":\"\"}", PIPES_PROTO_ERR_EMPTY_TITLE, 24, "title");
    ExpectOk("{\"v\":1,\"id\":\"a\",\"title\":\" \"}"); // whitespace is text
}

TEST(ProtocolReject, BadLevel)
{
    for (const char *l : {"loud", "INFO", "Warning", "", "info ", "debug"})
        ExpectReject(Msg(std::string("\"level\":\"") + l + "\""), PIPES_PROTO_ERR_BAD_LEVEL, -1, "level");
    // The pipelined example of docs/PROTOCOL.md section 7.
    ExpectReject("{\"v\":1,\"id\":\"a2\",\"title\":\"two\",\"level\":\"loud\"}", PIPES_PROTO_ERR_BAD_LEVEL, 39,
                 "level");
}

TEST(ProtocolReject, BadTime)
{
    for (const char *t :
         {"", "2026-11-24", "2026-11-24T22:40:00", "2026-11-24T22:40:00+00:00", "2026-11-24T22:40:00-01:00",
          "2026-11-24 22:40:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-04-31T00:00:00Z",
          "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T23:60:00Z",
          "2016-12-31T23:59:60Z", "2026-11-24T22:40:00.Z", "2026-11-24T22:40:00.1234567890Z",
          "26-11-24T22:40:00Z", "+2026-11-24T22:40:00Z", "2026-11-24T22:40:00ZZ", "2026-1-24T22:40:00Z",
          "2026-11-24T22:40:0aZ", "2026-11-24T22:40:00.12a3Z", "2026-11-24T22:40:00Z ",
          "2026-11-24T22:40:00.000000000000000000000000000000000000001Z"})
        ExpectReject(Msg(std::string("\"time\":\"") + t + "\""), PIPES_PROTO_ERR_BAD_TIME, -1, "time");
}

TEST(ProtocolReject, BadTarget)
{
    for (const char *t : {"{}", "{\"session\":1,\"user\":\"a\"}", "{\"user\":\"\"}", "{\"sesion\":1}",
                          "{\"session\":null}", "{\"user\":null,\"session\":null}"}) {
        ExpectReject(Msg(std::string("\"target\":") + t), PIPES_PROTO_ERR_BAD_TARGET);
    }
}

// ---------------------------------------------------------------------------
// Order of checks, and what a rejection tells the sender
// ---------------------------------------------------------------------------

TEST(ProtocolOrder, FirstProblemWinsInTheDocumentedOrder)
{
    // Size before anything else.
    std::string big = MessageOfSize(PIPES_PROTO_MAX_MESSAGE + 10);
    big[40] = '\xFF';
    ExpectReject(big, PIPES_PROTO_ERR_MESSAGE_TOO_LARGE);
    // UTF-8 before JSON: the syntax error comes first in the text but is not reported.
    ExpectReject("{v:1,\"t\":\"\xFF\"}", PIPES_PROTO_ERR_INVALID_UTF8, 10);
    // JSON before fields: a bad level and a later syntax error.
    ExpectReject(Msg("\"level\":\"loud\"") + "x", PIPES_PROTO_ERR_TRAILING_DATA);
    // Fields in document order.
    ExpectReject(Msg("\"level\":\"loud\",\"ttl\":0"), PIPES_PROTO_ERR_BAD_LEVEL);
    ExpectReject(Msg("\"ttl\":0,\"level\":\"loud\""), PIPES_PROTO_ERR_BAD_TTL);
    // Missing fields last.
    ExpectReject("{\"level\":\"loud\"}", PIPES_PROTO_ERR_BAD_LEVEL);
}

TEST(ProtocolOrder, IdIsKeptForTheRejectionWhenTheJsonIsValid)
{
    // The bad field comes before the id: the id is still recovered.
    ParseResult r = Parse("{\"v\":1,\"level\":\"loud\",\"title\":\"T\",\"id\":\"keep-me\"}");
    ASSERT_EQ(r.status, PIPES_PROTO_ERR_BAD_LEVEL);
    EXPECT_STREQ(r.n->id, "keep-me");
    EXPECT_STREQ(r.n->title, ""); // nothing else is left behind on failure
    // Missing title: the id is there too.
    ParseResult m = Parse("{\"v\":1,\"id\":\"x9\"}");
    ASSERT_EQ(m.status, PIPES_PROTO_ERR_MISSING_FIELD);
    EXPECT_STREQ(m.n->id, "x9");
    // Not valid JSON: no id can be trusted.
    ParseResult s = Parse("{\"v\":1,\"id\":\"x9\",\"title\":\"T\"} extra");
    ASSERT_EQ(s.status, PIPES_PROTO_ERR_TRAILING_DATA);
    EXPECT_STREQ(s.n->id, "");
    // An invalid id is never echoed.
    ParseResult b = Parse("{\"v\":1,\"id\":\"bad id\",\"title\":\"T\"}");
    ASSERT_EQ(b.status, PIPES_PROTO_ERR_BAD_ID);
    EXPECT_STREQ(b.n->id, "");
}

TEST(ProtocolOrder, ErrorTextNamesFieldLimitAndOffset)
{
    ParseResult r = Parse("{\"v\":1,\"id\":\"a\",\"title\":\"" + std::string(300, 'x') + "\"}");
    ASSERT_EQ(r.status, PIPES_PROTO_ERR_FIELD_TOO_LONG);
    EXPECT_EQ(Describe(r), "field \"title\": field too long (max 256 bytes) at byte 24");
    ParseResult d = Parse(Nested(20));
    EXPECT_NE(Describe(d).find("nesting too deep (max 16) at byte "), std::string::npos) << Describe(d);
    ParseResult u = Parse("{\"a\":\"\xC0\x80\"}");
    EXPECT_EQ(Describe(u), "invalid UTF-8 at byte 6");
    char tiny[8];
    size_t n = pipes_proto_error_text(&r.error, tiny, sizeof tiny);
    EXPECT_EQ(n, 7u);
    EXPECT_STREQ(tiny, "field \"");
}

TEST(ProtocolOrder, StatusCodesAreDistinctAndNamed)
{
    std::vector<std::string> seen;
    for (int s = 0; s < PIPES_PROTO_STATUS_COUNT; s++) {
        EXPECT_EQ(pipes_proto_status_is_wire(static_cast<pipes_proto_status>(s)) != 0,
                  s != PIPES_PROTO_OK && s != PIPES_PROTO_ERR_INVALID_ARGUMENT &&
                      s != PIPES_PROTO_ERR_BUFFER_TOO_SMALL)
            << s;
        std::string code = pipes_proto_status_code(static_cast<pipes_proto_status>(s));
        std::string text = pipes_proto_status_string(static_cast<pipes_proto_status>(s));
        EXPECT_NE(code, "unknown");
        EXPECT_FALSE(text.empty());
        EXPECT_LE(code.size(), PIPES_PROTO_MAX_ERROR_CODE);
        for (const std::string &other : seen)
            EXPECT_NE(code, other);
        seen.push_back(code);
    }
    EXPECT_STREQ(pipes_proto_status_code(static_cast<pipes_proto_status>(PIPES_PROTO_STATUS_COUNT)),
                 "unknown");
    EXPECT_STREQ(pipes_proto_status_code(PIPES_PROTO_ERR_DUPLICATE_KEY), "duplicate_key");
}

// ---------------------------------------------------------------------------
// UTF-8
// ---------------------------------------------------------------------------

TEST(ProtocolUtf8, ValidSequencesOfEveryLength)
{
    // 2, 3 and 4 bytes, and the edges of each range.
    std::string title = "\xC2\x80 \xDF\xBF \xC3\xA9 \xE0\xA0\x80 \xE2\x82\xAC \xED\x9F\xBF \xEE\x80\x80 "
                        "\xEF\xBF\xBF \xF0\x90\x80\x80 \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
    ParseResult r = Parse("{\"v\":1,\"id\":\"u\",\"title\":\"" + title + "\"}");
    ASSERT_EQ(r.status, PIPES_PROTO_OK) << Describe(r);
    EXPECT_EQ(std::string(r.n->title, r.n->title_len), title);
    EXPECT_TRUE(pipes_proto_utf8_valid(title.data(), title.size(), nullptr));
}

TEST(ProtocolUtf8, InvalidSequencesAreRejectedAtTheirFirstByte)
{
    struct Case {
        const char *bytes;
        size_t len;
    } cases[] = {
        {"\x80", 1},                 // stray continuation byte
        {"\xBF", 1},
        {"\xC0\x80", 2},             // overlong NUL
        {"\xC1\xBF", 2},             // overlong 2-byte
        {"\xE0\x80\x80", 3},         // overlong 3-byte
        {"\xE0\x9F\xBF", 3},
        {"\xF0\x80\x80\x80", 4},     // overlong 4-byte
        {"\xF0\x8F\xBF\xBF", 4},
        {"\xED\xA0\x80", 3},         // surrogate U+D800
        {"\xED\xBF\xBF", 3},         // surrogate U+DFFF
        {"\xED\xA0\xBD\xED\xB8\x80", 6}, // CESU-8 style surrogate pair
        {"\xF4\x90\x80\x80", 4},     // above U+10FFFF
        {"\xF5\x80\x80\x80", 4},
        {"\xFE", 1},
        {"\xFF", 1},
        {"\xC3", 1},                 // cut short, then the closing quote
        {"\xE2\x82", 2},
        {"\xF0\x9F\x98", 3},
        {"\xC3\x28", 2},             // continuation expected, ASCII found
        {"\xE2\x28\xA1", 3},
        {"\xF0\x9F\x28\x80", 4},
    };
    for (const Case &c : cases) {
        std::string head = "{\"v\":1,\"id\":\"u\",\"title\":\"ok";
        std::string msg = head + std::string(c.bytes, c.len) + "\"}";
        ExpectReject(msg, PIPES_PROTO_ERR_INVALID_UTF8, static_cast<long>(head.size()));
        size_t bad = 99;
        EXPECT_FALSE(pipes_proto_utf8_valid(msg.data(), msg.size(), &bad));
        EXPECT_EQ(bad, head.size());
    }
}

TEST(ProtocolUtf8, SequencesCutByTheEndOfTheMessage)
{
    std::string ok = Msg();
    for (const char *tail : {"\xC3", "\xE2\x82", "\xF0\x9F\x98", "\xF0"}) {
        std::string msg = ok + tail;
        ExpectReject(msg, PIPES_PROTO_ERR_INVALID_UTF8, static_cast<long>(ok.size()));
    }
    // Cut at the very end of the data, inside a string that never closes.
    ExpectReject("{\"a\":\"\xE2\x82", PIPES_PROTO_ERR_INVALID_UTF8, 6);
    EXPECT_TRUE(pipes_proto_utf8_valid("", 0, nullptr));
    EXPECT_TRUE(pipes_proto_utf8_valid(nullptr, 0, nullptr));
}

TEST(ProtocolUtf8, EscapesDecodeToUtf8)
{
    ParseResult r = Parse(
        "{\"v\":1,\"id\":\"e\",\"title\":\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\uD83D\\uDE00\\\"\\\\\\/"
        "\\b\\f\\n\\r\\t\\u001f\\u007f\\uffff\\udbff\\udfff\"}");
    ASSERT_EQ(r.status, PIPES_PROTO_OK) << Describe(r);
    std::string expected = "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF0\x9F\x98\x80\"\\/\b\f\n\r\t\x1F\x7F"
                           "\xEF\xBF\xBF\xF4\x8F\xBF\xBF";
    EXPECT_EQ(std::string(r.n->title, r.n->title_len), expected);
}

// ---------------------------------------------------------------------------
// Writing and round trips
// ---------------------------------------------------------------------------

std::unique_ptr<Notification> FullNotification()
{
    auto n = NewNotification();
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "id", "rt-1", 4), PIPES_PROTO_OK);
    const std::string title = "Quote \" backslash \\ tab \t nl \n ctl \x01\x1F del \x7F \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "title", title.data(), title.size()), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "body", "line 1\r\nline 2 / </script>", 26), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "source", "tests", 5), PIPES_PROTO_OK);
    n->level = PIPES_PROTO_LEVEL_ERROR;
    n->has_time = 1;
    n->time_ms = 1732488000123;
    n->has_ttl = 1;
    n->ttl = 42;
    n->target = PIPES_PROTO_TARGET_SESSION;
    n->target_session = 4294967295u;
    n->wait = PIPES_PROTO_WAIT_DISPLAYED;
    return n;
}

TEST(ProtocolWrite, RoundTripKeepsEveryField)
{
    auto n = FullNotification();
    std::string wire = Write(*n);
    ParseResult back = Parse(wire);
    ASSERT_EQ(back.status, PIPES_PROTO_OK) << Describe(back) << "\n" << wire;
    ExpectSameNotification(*n, *back.n);
    // And the second generation writes the same bytes.
    EXPECT_EQ(Write(*back.n), wire);

    // A user target, default level, no optional fields.
    auto u = NewNotification();
    ASSERT_EQ(pipes_proto_notification_set(u.get(), "id", "u:1", 3), PIPES_PROTO_OK);
    ASSERT_EQ(pipes_proto_notification_set(u.get(), "title", "t", 1), PIPES_PROTO_OK);
    ASSERT_EQ(pipes_proto_notification_set(u.get(), "user", "DOM\\\xC3\xA9lise", 10), PIPES_PROTO_OK);
    std::string uw = Write(*u);
    EXPECT_EQ(uw, "{\"v\":1,\"id\":\"u:1\",\"title\":\"t\",\"target\":{\"user\":\"DOM\\\\\xC3\xA9lise\"}}");
    ParseResult ub = Parse(uw);
    ASSERT_EQ(ub.status, PIPES_PROTO_OK);
    ExpectSameNotification(*u, *ub.n);
}

TEST(ProtocolWrite, ExactOutputForTheDocumentedExample)
{
    ParseResult r = Parse("{\"v\":1,\"id\":\"job-7\",\"title\":\"Disk almost full\",\"level\":\"warning\","
                          "\"source\":\"monitor\",\"target\":{\"session\":1},\"wait\":true}");
    ASSERT_EQ(r.status, PIPES_PROTO_OK);
    EXPECT_EQ(Write(*r.n), "{\"v\":1,\"id\":\"job-7\",\"title\":\"Disk almost full\",\"level\":\"warning\","
                           "\"source\":\"monitor\",\"target\":{\"session\":1},\"wait\":true}");
}

TEST(ProtocolWrite, EveryByteValueInTextRoundTrips)
{
    // All of U+0001..U+007F plus multi-byte text, in the body.
    auto n = NewNotification();
    std::string body;
    for (int c = 1; c < 0x80; c++)
        body += static_cast<char>(c);
    body += "\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF";
    ASSERT_EQ(pipes_proto_notification_set(n.get(), "id", "bytes", 5), PIPES_PROTO_OK);
    ASSERT_EQ(pipes_proto_notification_set(n.get(), "title", "t", 1), PIPES_PROTO_OK);
    ASSERT_EQ(pipes_proto_notification_set(n.get(), "body", body.data(), body.size()), PIPES_PROTO_OK);
    ParseResult back = Parse(Write(*n));
    ASSERT_EQ(back.status, PIPES_PROTO_OK) << Describe(back);
    EXPECT_EQ(std::string(back.n->body, back.n->body_len), body);
}

TEST(ProtocolWrite, WorstCaseEscapingFitsTheMessageLimit)
{
    // Every text field at its limit with characters that take 6 bytes escaped.
    auto n = NewNotification();
    std::string id(PIPES_PROTO_MAX_ID, 'i');
    ASSERT_EQ(pipes_proto_notification_set(n.get(), "id", id.data(), id.size()), PIPES_PROTO_OK);
    std::string t(PIPES_PROTO_MAX_TITLE, '\x01'), b(PIPES_PROTO_MAX_BODY, '\x02'),
        s(PIPES_PROTO_MAX_SOURCE, '\x03'), u(PIPES_PROTO_MAX_USER, '\x04');
    ASSERT_EQ(pipes_proto_notification_set(n.get(), "title", t.data(), t.size()), PIPES_PROTO_OK);
    ASSERT_EQ(pipes_proto_notification_set(n.get(), "body", b.data(), b.size()), PIPES_PROTO_OK);
    ASSERT_EQ(pipes_proto_notification_set(n.get(), "source", s.data(), s.size()), PIPES_PROTO_OK);
    ASSERT_EQ(pipes_proto_notification_set(n.get(), "user", u.data(), u.size()), PIPES_PROTO_OK);
    n->level = PIPES_PROTO_LEVEL_WARNING;
    n->has_time = 1;
    n->time_ms = 253402300799999; // 9999-12-31T23:59:59.999Z
    n->has_ttl = 1;
    n->ttl = PIPES_PROTO_MAX_TTL;
    n->wait = PIPES_PROTO_WAIT_RESPONSE;
    // ... and every interactive field at its limit too.
    for (int i = 0; i < 3; i++) {
        std::string aid = std::string(PIPES_PROTO_MAX_ID - 1, 'a') + std::to_string(i);
        std::string label(PIPES_PROTO_MAX_LABEL, static_cast<char>(0x05 + i));
        ASSERT_EQ(pipes_proto_notification_add_action(n.get(), aid.data(), aid.size(), label.data(),
                                                      label.size()),
                  PIPES_PROTO_OK);
    }
    std::string url = "https://h/" + std::string(PIPES_PROTO_MAX_URL - 10, '\'');
    ASSERT_EQ(pipes_proto_notification_set(n.get(), "open", url.data(), url.size()), PIPES_PROTO_OK);
    std::string tag(PIPES_PROTO_MAX_TAG, 't');
    ASSERT_EQ(pipes_proto_notification_set(n.get(), "tag", tag.data(), tag.size()), PIPES_PROTO_OK);
    std::string st(PIPES_PROTO_MAX_STATUS, '\x06');
    ASSERT_EQ(pipes_proto_notification_set_progress(n.get(), 100, st.data(), st.size()), PIPES_PROTO_OK);
    n->sticky = 1;
    n->priority = PIPES_PROTO_PRIORITY_URGENT;
    std::string acct(PIPES_PROTO_MAX_ACCOUNT, '\x07'), origin(PIPES_PROTO_MAX_ORIGIN, '\x08');
    std::string sid = "S-1-281474976710655";
    for (int i = 0; i < 15; i++)
        sid += "-4294967295";
    ASSERT_EQ(sid.size(), PIPES_PROTO_MAX_SID);
    ASSERT_EQ(pipes_proto_sender_set(&n->sender, PIPES_PROTO_SENDER_BROKER, acct.c_str(), sid.c_str(),
                                     origin.c_str()),
              PIPES_PROTO_OK);
    std::string wire = Write(*n);
    EXPECT_LT(wire.size(), PIPES_PROTO_MAX_MESSAGE);
    ParseResult back = Parse(wire);
    ASSERT_EQ(back.status, PIPES_PROTO_OK) << Describe(back);
    ExpectSameNotification(*n, *back.n);
}

TEST(ProtocolWrite, BufferTooSmallAtEverySize)
{
    auto n = FullNotification();
    std::string wire = Write(*n);
    std::vector<char> buf(wire.size() + 2, '#');
    for (size_t cap = 0; cap < wire.size(); cap++) {
        size_t written = 123;
        ASSERT_EQ(pipes_proto_write_notification(n.get(), buf.data(), cap, &written),
                  PIPES_PROTO_ERR_BUFFER_TOO_SMALL)
            << cap;
        EXPECT_EQ(written, 0u);
        EXPECT_EQ(buf[wire.size() + 1], '#'); // never written past cap
    }
    // Exactly the size: fits, without the NUL.
    size_t written = 0;
    buf.assign(wire.size() + 2, '#');
    ASSERT_EQ(pipes_proto_write_notification(n.get(), buf.data(), wire.size(), &written), PIPES_PROTO_OK);
    EXPECT_EQ(written, wire.size());
    EXPECT_EQ(buf[wire.size()], '#');
    // One more: NUL-terminated.
    ASSERT_EQ(pipes_proto_write_notification(n.get(), buf.data(), wire.size() + 1, &written), PIPES_PROTO_OK);
    EXPECT_EQ(buf[wire.size()], '\0');
}

TEST(ProtocolWrite, WriterRefusesInvalidNotifications)
{
    char buf[256];
    auto base = [] {
        auto n = NewNotification();
        pipes_proto_notification_set(n.get(), "id", "w", 1);
        pipes_proto_notification_set(n.get(), "title", "t", 1);
        return n;
    };
    auto n = base();
    ASSERT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_OK);

    n = base();
    n->id_len = 0;
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_ID);
    n = base();
    std::strcpy(n->id, "a b");
    n->id_len = 3;
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_ID);
    n = base();
    n->title_len = 0;
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_EMPTY_TITLE);
    n = base();
    n->title_len = PIPES_PROTO_MAX_TITLE + 1;
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_FIELD_TOO_LONG);
    n = base();
    std::memcpy(n->body, "a\0b", 3);
    n->body_len = 3;
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_NUL_CHAR);
    n = base();
    std::memcpy(n->source, "\xC0\x80", 2);
    n->source_len = 2;
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_INVALID_UTF8);
    pipes_proto_error e{};
    EXPECT_EQ(pipes_proto_notification_validate(n.get(), &e), PIPES_PROTO_ERR_INVALID_UTF8);
    EXPECT_STREQ(e.field, "source");
    n = base();
    n->level = static_cast<pipes_proto_level>(3);
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_LEVEL);
    n = base();
    n->has_time = 1;
    n->time_ms = 253402300800000; // year 10000
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_TIME);
    n = base();
    n->has_ttl = 1;
    n->ttl = 0;
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_TTL);
    n = base();
    n->target = PIPES_PROTO_TARGET_USER;
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_TARGET);
    n = base();
    n->target = static_cast<pipes_proto_target_kind>(9);
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_TARGET);
    EXPECT_EQ(pipes_proto_write_notification(nullptr, buf, sizeof buf, nullptr), PIPES_PROTO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_proto_write_notification(n.get(), nullptr, 10, nullptr), PIPES_PROTO_ERR_INVALID_ARGUMENT);
}

TEST(ProtocolWrite, SetChecksItsInput)
{
    auto n = NewNotification();
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "id", "a b", 3), PIPES_PROTO_ERR_BAD_ID);
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "title", "", 0), PIPES_PROTO_ERR_EMPTY_TITLE);
    std::string long_title(PIPES_PROTO_MAX_TITLE + 1, 't');
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "title", long_title.data(), long_title.size()),
              PIPES_PROTO_ERR_FIELD_TOO_LONG);
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "title", "\xED\xA0\x80", 3), PIPES_PROTO_ERR_INVALID_UTF8);
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "body", "a\0b", 3), PIPES_PROTO_ERR_NUL_CHAR);
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "user", "", 0), PIPES_PROTO_ERR_BAD_TARGET);
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "color", "red", 3), PIPES_PROTO_ERR_INVALID_ARGUMENT);
    // Failed calls changed nothing.
    EXPECT_EQ(n->title_len, 0u);
    EXPECT_EQ(n->target, PIPES_PROTO_TARGET_ALL);
    std::string full_title(PIPES_PROTO_MAX_TITLE, 't');
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "title", full_title.data(), full_title.size()),
              PIPES_PROTO_OK);
    EXPECT_EQ(std::strlen(n->title), PIPES_PROTO_MAX_TITLE);
}

// ---------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------

std::string WriteReply(const pipes_proto_reply &r)
{
    return WriteWith(pipes_proto_write_reply, r);
}

pipes_proto_status ParseReply(const std::string &s, pipes_proto_reply *r, pipes_proto_error *e = nullptr)
{
    return pipes_proto_parse_reply(s.data(), s.size(), r, e);
}

TEST(ProtocolReply, SimpleRepliesHaveTheDocumentedForm)
{
    pipes_proto_reply r;
    ASSERT_EQ(pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_ACCEPTED, "job-7"), PIPES_PROTO_OK);
    EXPECT_EQ(WriteReply(r), "{\"v\":1,\"type\":\"accepted\",\"id\":\"job-7\"}");
    ASSERT_EQ(pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_ACK, "job-7"), PIPES_PROTO_OK);
    EXPECT_EQ(WriteReply(r), "{\"v\":1,\"type\":\"ack\",\"id\":\"job-7\"}");
    ASSERT_EQ(pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_DISPLAYED, "job-7"), PIPES_PROTO_OK);
    r.has_session = 1;
    r.session = 1;
    EXPECT_EQ(WriteReply(r), "{\"v\":1,\"type\":\"displayed\",\"id\":\"job-7\",\"session\":1}");
    // Only a rejection may lack the id.
    EXPECT_EQ(pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_ACK, nullptr), PIPES_PROTO_ERR_BAD_ID);
    EXPECT_EQ(pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_ACK, "bad id"), PIPES_PROTO_ERR_BAD_ID);
    EXPECT_EQ(pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_REJECTED, nullptr), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_reply_init(&r, static_cast<pipes_proto_reply_type>(0), "a"),
              PIPES_PROTO_ERR_INVALID_ARGUMENT);
}

TEST(ProtocolReply, RejectionFromAParseErrorMatchesTheDocument)
{
    // docs/PROTOCOL.md section 7, the pipelined example.
    ParseResult p = Parse("{\"v\":1,\"id\":\"a2\",\"title\":\"two\",\"level\":\"loud\"}");
    ASSERT_EQ(p.status, PIPES_PROTO_ERR_BAD_LEVEL);
    pipes_proto_reply r;
    pipes_proto_reply_for_error(&r, &p.error, p.n->id);
    EXPECT_EQ(WriteReply(r), "{\"v\":1,\"type\":\"rejected\",\"id\":\"a2\",\"reason\":\"malformed\","
                             "\"error\":\"bad_level\",\"offset\":39,\"detail\":\"field \\\"level\\\": level "
                             "must be info, warning or error at byte 39\"}");
    // And the not-JSON example: no id.
    ParseResult t = Parse("{\"v\":1,\"id\":\"b1\",\"title\":\"x\"} extra");
    pipes_proto_reply_for_error(&r, &t.error, t.n->id);
    EXPECT_EQ(WriteReply(r), "{\"v\":1,\"type\":\"rejected\",\"reason\":\"malformed\",\"error\":"
                             "\"trailing_data\",\"offset\":30,\"detail\":\"trailing data after the "
                             "top-level object at byte 30\"}");
    // Size and version map to their own reasons.
    ParseResult big = Parse(MessageOfSize(PIPES_PROTO_MAX_MESSAGE + 1));
    pipes_proto_reply_for_error(&r, &big.error, big.n->id);
    EXPECT_EQ(r.reason, PIPES_PROTO_REASON_TOO_LARGE);
    EXPECT_STREQ(r.error, "message_too_large");
    ParseResult ver = Parse("{\"v\":2,\"id\":\"v2\",\"title\":\"T\"}");
    pipes_proto_reply_for_error(&r, &ver.error, ver.n->id);
    EXPECT_EQ(r.reason, PIPES_PROTO_REASON_UNSUPPORTED_VERSION);
    EXPECT_STREQ(r.id, "v2");
}

TEST(ProtocolReply, ReceiverSideRejections)
{
    pipes_proto_reply r;
    ASSERT_EQ(pipes_proto_reply_rejected(&r, "q1", PIPES_PROTO_REASON_QUEUE_FULL, "spool holds 10000"),
              PIPES_PROTO_OK);
    EXPECT_EQ(WriteReply(r), "{\"v\":1,\"type\":\"rejected\",\"id\":\"q1\",\"reason\":\"queue_full\","
                             "\"detail\":\"spool holds 10000\"}");
    EXPECT_TRUE(pipes_proto_reason_is_temporary(PIPES_PROTO_REASON_QUEUE_FULL));
    EXPECT_TRUE(pipes_proto_reason_is_temporary(PIPES_PROTO_REASON_RATE_LIMITED));
    EXPECT_TRUE(pipes_proto_reason_is_temporary(PIPES_PROTO_REASON_SHUTTING_DOWN));
    EXPECT_TRUE(pipes_proto_reason_is_temporary(PIPES_PROTO_REASON_INTERNAL_ERROR));
    EXPECT_FALSE(pipes_proto_reason_is_temporary(PIPES_PROTO_REASON_MALFORMED));
    EXPECT_FALSE(pipes_proto_reason_is_temporary(PIPES_PROTO_REASON_TOO_LARGE));
    EXPECT_FALSE(pipes_proto_reason_is_temporary(PIPES_PROTO_REASON_NOT_ALLOWED));
    EXPECT_FALSE(pipes_proto_reason_is_temporary(PIPES_PROTO_REASON_UNKNOWN));
    EXPECT_EQ(pipes_proto_reply_rejected(&r, "q1", PIPES_PROTO_REASON_UNKNOWN, nullptr),
              PIPES_PROTO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_proto_reply_rejected(&r, "q1", PIPES_PROTO_REASON_NONE, nullptr),
              PIPES_PROTO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_proto_reply_rejected(&r, "q1", PIPES_PROTO_REASON_QUEUE_FULL, "\xFF"),
              PIPES_PROTO_ERR_INVALID_UTF8);

    // A long detail is cut at a character boundary, never inside a sequence.
    std::string detail = std::string(PIPES_PROTO_MAX_DETAIL - 1, 'd') + "\xE2\x82\xAC";
    ASSERT_EQ(pipes_proto_reply_rejected(&r, nullptr, PIPES_PROTO_REASON_INTERNAL_ERROR, detail.c_str()),
              PIPES_PROTO_OK);
    EXPECT_EQ(r.detail_len, PIPES_PROTO_MAX_DETAIL - 1);
    EXPECT_TRUE(pipes_proto_utf8_valid(r.detail, r.detail_len, nullptr));
    pipes_proto_reply back;
    ASSERT_EQ(ParseReply(WriteReply(r), &back), PIPES_PROTO_OK);
    EXPECT_EQ(std::string(back.detail), std::string(r.detail));
}

TEST(ProtocolReply, RoundTripOfEveryType)
{
    const pipes_proto_reason reasons[] = {
        PIPES_PROTO_REASON_MALFORMED,     PIPES_PROTO_REASON_TOO_LARGE,    PIPES_PROTO_REASON_UNSUPPORTED_VERSION,
        PIPES_PROTO_REASON_NOT_ALLOWED,   PIPES_PROTO_REASON_QUEUE_FULL,   PIPES_PROTO_REASON_RATE_LIMITED,
        PIPES_PROTO_REASON_SHUTTING_DOWN, PIPES_PROTO_REASON_INTERNAL_ERROR};
    for (pipes_proto_reason reason : reasons) {
        pipes_proto_reply r, back;
        ASSERT_EQ(pipes_proto_reply_rejected(&r, "id-1", reason, "why \"so\"\n\xC3\xA9"), PIPES_PROTO_OK);
        std::strcpy(r.error, "some_code");
        r.has_offset = 1;
        r.offset = 18446744073709551615ull;
        std::string wire = WriteReply(r);
        ASSERT_EQ(ParseReply(wire, &back), PIPES_PROTO_OK) << wire;
        EXPECT_EQ(back.type, PIPES_PROTO_REPLY_REJECTED);
        EXPECT_EQ(back.reason, reason);
        EXPECT_STREQ(back.id, "id-1");
        EXPECT_STREQ(back.error, "some_code");
        EXPECT_TRUE(back.has_offset);
        EXPECT_EQ(back.offset, 18446744073709551615ull);
        EXPECT_STREQ(back.detail, "why \"so\"\n\xC3\xA9");
        EXPECT_EQ(WriteReply(back), wire);
    }
    for (auto type : {PIPES_PROTO_REPLY_ACCEPTED, PIPES_PROTO_REPLY_ACK, PIPES_PROTO_REPLY_DISPLAYED}) {
        pipes_proto_reply r, back;
        ASSERT_EQ(pipes_proto_reply_init(&r, type, "x.y:z"), PIPES_PROTO_OK);
        if (type == PIPES_PROTO_REPLY_DISPLAYED) {
            r.has_session = 1;
            r.session = 4294967295u;
        }
        std::string wire = WriteReply(r);
        ASSERT_EQ(ParseReply(wire, &back), PIPES_PROTO_OK) << wire;
        EXPECT_EQ(back.type, type);
        EXPECT_STREQ(back.id, "x.y:z");
        EXPECT_EQ(back.has_session, type == PIPES_PROTO_REPLY_DISPLAYED ? 1 : 0);
        EXPECT_EQ(WriteReply(back), wire);
    }
}

TEST(ProtocolReply, ParseRules)
{
    pipes_proto_reply r;
    pipes_proto_error e;
    // Unknown reason: kept as UNKNOWN (a permanent rejection for the reader).
    ASSERT_EQ(ParseReply("{\"v\":1,\"type\":\"rejected\",\"reason\":\"new_reason\",\"x\":[1]}", &r),
              PIPES_PROTO_OK);
    EXPECT_EQ(r.reason, PIPES_PROTO_REASON_UNKNOWN);
    EXPECT_STREQ(r.id, "");
    // Fields that do not belong to the type are ignored.
    ASSERT_EQ(ParseReply("{\"v\":1,\"type\":\"ack\",\"id\":\"a\",\"reason\":\"queue_full\",\"session\":3}", &r),
              PIPES_PROTO_OK);
    EXPECT_EQ(r.reason, PIPES_PROTO_REASON_NONE);
    EXPECT_FALSE(r.has_session);

    EXPECT_EQ(ParseReply("{\"v\":1,\"id\":\"a\"}", &r, &e), PIPES_PROTO_ERR_MISSING_FIELD);
    EXPECT_STREQ(e.field, "type");
    EXPECT_EQ(ParseReply("{\"v\":1,\"type\":\"ack\"}", &r, &e), PIPES_PROTO_ERR_MISSING_FIELD);
    EXPECT_STREQ(e.field, "id");
    EXPECT_EQ(ParseReply("{\"v\":1,\"type\":\"rejected\",\"id\":\"a\"}", &r, &e), PIPES_PROTO_ERR_MISSING_FIELD);
    EXPECT_STREQ(e.field, "reason");
    EXPECT_EQ(ParseReply("{\"type\":\"ack\",\"id\":\"a\"}", &r, &e), PIPES_PROTO_ERR_MISSING_FIELD);
    EXPECT_STREQ(e.field, "v");
    EXPECT_EQ(ParseReply("{\"v\":1,\"type\":\"notify\",\"id\":\"a\"}", &r), PIPES_PROTO_ERR_BAD_MESSAGE_TYPE);
    EXPECT_EQ(ParseReply("{\"v\":1,\"type\":7,\"id\":\"a\"}", &r), PIPES_PROTO_ERR_WRONG_TYPE);
    EXPECT_EQ(ParseReply("{\"v\":2,\"type\":\"ack\",\"id\":\"a\"}", &r), PIPES_PROTO_ERR_UNSUPPORTED_VERSION);
    EXPECT_EQ(ParseReply("{\"v\":1,\"type\":\"ack\",\"id\":\"a b\"}", &r), PIPES_PROTO_ERR_BAD_ID);
    EXPECT_EQ(ParseReply("{\"v\":1,\"type\":\"displayed\",\"id\":\"a\",\"session\":4294967296}", &r, &e),
              PIPES_PROTO_ERR_OUT_OF_RANGE);
    EXPECT_STREQ(e.field, "session");
    EXPECT_EQ(ParseReply("{\"v\":1,\"type\":\"rejected\",\"reason\":\"x\",\"offset\":-1}", &r),
              PIPES_PROTO_ERR_OUT_OF_RANGE);
    EXPECT_EQ(ParseReply("{\"v\":1,\"type\":\"rejected\",\"reason\":\"x\",\"offset\":1.5}", &r),
              PIPES_PROTO_ERR_WRONG_TYPE);
    std::string long_detail = "{\"v\":1,\"type\":\"rejected\",\"reason\":\"x\",\"detail\":\"" +
                              std::string(PIPES_PROTO_MAX_DETAIL + 1, 'd') + "\"}";
    EXPECT_EQ(ParseReply(long_detail, &r), PIPES_PROTO_ERR_FIELD_TOO_LONG);
    std::string long_error = "{\"v\":1,\"type\":\"rejected\",\"reason\":\"x\",\"error\":\"" +
                             std::string(PIPES_PROTO_MAX_ERROR_CODE + 1, 'e') + "\"}";
    EXPECT_EQ(ParseReply(long_error, &r), PIPES_PROTO_ERR_FIELD_TOO_LONG);
    // The same strict JSON rules as notifications.
    EXPECT_EQ(ParseReply("{\"v\":1,\"type\":\"ack\",\"id\":\"a\",\"id\":\"b\"}", &r), PIPES_PROTO_ERR_DUPLICATE_KEY);
    EXPECT_EQ(ParseReply("{\"v\":1,\"type\":\"ack\",\"id\":\"a\"}x", &r), PIPES_PROTO_ERR_TRAILING_DATA);
    EXPECT_EQ(ParseReply("{\"v\":1,\"type\":\"ack\",\"id\":\"\xC3\"}", &r), PIPES_PROTO_ERR_INVALID_UTF8);
}

TEST(ProtocolReply, WriterRefusesInvalidReplies)
{
    pipes_proto_reply r;
    char buf[128];
    ASSERT_EQ(pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_REJECTED, "a"), PIPES_PROTO_OK);
    // A rejection needs a reason.
    EXPECT_EQ(pipes_proto_write_reply(&r, buf, sizeof buf, nullptr), PIPES_PROTO_ERR_INVALID_ARGUMENT);
    r.reason = PIPES_PROTO_REASON_MALFORMED;
    EXPECT_EQ(pipes_proto_write_reply(&r, buf, sizeof buf, nullptr), PIPES_PROTO_OK);
    r.detail_len = 2;
    std::memcpy(r.detail, "\xC3(", 3);
    EXPECT_EQ(pipes_proto_write_reply(&r, buf, sizeof buf, nullptr), PIPES_PROTO_ERR_INVALID_UTF8);
    ASSERT_EQ(pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_ACK, "a"), PIPES_PROTO_OK);
    r.id_len = 0;
    EXPECT_EQ(pipes_proto_write_reply(&r, buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_ID);
    ASSERT_EQ(pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_ACK, "a"), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_write_reply(&r, buf, 10, nullptr), PIPES_PROTO_ERR_BUFFER_TOO_SMALL);
}

// ---------------------------------------------------------------------------
// Time, names
// ---------------------------------------------------------------------------

int64_t ParseTime(const std::string &s)
{
    int64_t ms = -1;
    EXPECT_EQ(pipes_proto_time_parse(s.data(), s.size(), &ms), PIPES_PROTO_OK) << s;
    return ms;
}

std::string FormatTime(int64_t ms)
{
    char buf[PIPES_PROTO_TIME_BUFSIZE];
    size_t n = pipes_proto_time_format(ms, buf);
    return std::string(buf, n);
}

TEST(ProtocolTime, ParseKnownInstants)
{
    EXPECT_EQ(ParseTime("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(ParseTime("1970-01-01t00:00:00.001z"), 1);
    EXPECT_EQ(ParseTime("2000-03-01T00:00:00Z"), 951868800000);
    EXPECT_EQ(ParseTime("2000-02-29T23:59:59.999Z"), 951868799999);
    EXPECT_EQ(ParseTime("2024-02-29T12:00:00Z"), 1709208000000);
    EXPECT_EQ(ParseTime("1969-12-31T23:59:59.5Z"), -500);
    EXPECT_EQ(ParseTime("0000-01-01T00:00:00Z"), -62167219200000);
    EXPECT_EQ(ParseTime("9999-12-31T23:59:59.999Z"), 253402300799999);
    // Fractions of 1..9 digits; beyond milliseconds they are truncated.
    EXPECT_EQ(ParseTime("1970-01-01T00:00:01.1Z"), 1100);
    EXPECT_EQ(ParseTime("1970-01-01T00:00:01.12Z"), 1120);
    EXPECT_EQ(ParseTime("1970-01-01T00:00:01.123456789Z"), 1123);
    int64_t ms;
    EXPECT_EQ(pipes_proto_time_parse("1970-01-01T00:00:01.1234567890Z", 31, &ms), PIPES_PROTO_ERR_BAD_TIME);
    EXPECT_EQ(pipes_proto_time_parse(nullptr, 0, &ms), PIPES_PROTO_ERR_BAD_TIME);
}

TEST(ProtocolTime, FormatAndRoundTrip)
{
    EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(FormatTime(1), "1970-01-01T00:00:00.001Z");
    EXPECT_EQ(FormatTime(-1), "1969-12-31T23:59:59.999Z");
    EXPECT_EQ(FormatTime(951868799999), "2000-02-29T23:59:59.999Z");
    EXPECT_EQ(FormatTime(-62167219200000), "0000-01-01T00:00:00Z");
    EXPECT_EQ(FormatTime(253402300799999), "9999-12-31T23:59:59.999Z");
    EXPECT_EQ(FormatTime(253402300800000), ""); // year 10000
    EXPECT_EQ(FormatTime(-62167219200001), ""); // before year 0
    // Every day boundary over several leap cycles, both directions.
    for (int64_t day = -800; day < 800; day += 1) {
        int64_t ms = day * 86400000LL * 37 + 12345; // steps of 37 days, ~160 years
        std::string s = FormatTime(ms);
        ASSERT_FALSE(s.empty());
        EXPECT_EQ(ParseTime(s), ms) << s;
    }
}

TEST(ProtocolTime, FromFiletime)
{
    EXPECT_EQ(pipes_proto_time_from_filetime(116444736000000000ull), 0);
    EXPECT_EQ(pipes_proto_time_from_filetime(116444736000000000ull + 10000), 1);
    EXPECT_EQ(pipes_proto_time_from_filetime(0), -11644473600000LL);
}

TEST(ProtocolNames, TrayPipeNamePerSession)
{
    char a[PIPES_PROTO_PIPE_NAME_BUFSIZE];
    EXPECT_EQ(pipes_proto_tray_pipe_name_a(1, a, sizeof a), 23u);
    EXPECT_STREQ(a, "\\\\.\\pipe\\Pipes.Notify.1");
    EXPECT_EQ(pipes_proto_tray_pipe_name_a(4294967295u, a, sizeof a), 32u);
    EXPECT_STREQ(a, "\\\\.\\pipe\\Pipes.Notify.4294967295");
    EXPECT_EQ(pipes_proto_tray_pipe_name_a(0, a, sizeof a), 23u);
    EXPECT_STREQ(a, "\\\\.\\pipe\\Pipes.Notify.0");
    // Too small: nothing but an empty string.
    EXPECT_EQ(pipes_proto_tray_pipe_name_a(12, a, 24), 0u);
    EXPECT_STREQ(a, "");
    EXPECT_EQ(pipes_proto_tray_pipe_name_a(12, a, 25), 24u);

    wchar_t w[PIPES_PROTO_PIPE_NAME_BUFSIZE];
    EXPECT_EQ(pipes_proto_tray_pipe_name_w(3, w, PIPES_PROTO_PIPE_NAME_BUFSIZE), 23u);
    EXPECT_EQ(std::wstring(w), std::wstring(L"\\\\.\\pipe\\Pipes.Notify.3"));
    EXPECT_EQ(pipes_proto_tray_pipe_name_w(3, w, 23), 0u);
    EXPECT_EQ(std::wstring(PIPES_PROTO_SERVICE_PIPE_W), std::wstring(L"\\\\.\\pipe\\Pipes.Service"));
    EXPECT_STREQ(PIPES_PROTO_SERVICE_PIPE_A, "\\\\.\\pipe\\Pipes.Service");
}

TEST(ProtocolApi, NullArgumentsAreRejected)
{
    auto n = NewNotification();
    pipes_proto_error e;
    EXPECT_EQ(pipes_proto_parse_notification(nullptr, 5, n.get(), &e), PIPES_PROTO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_proto_parse_notification("{}", 2, nullptr, &e), PIPES_PROTO_ERR_INVALID_ARGUMENT);
    // NULL data with size 0 is an empty message, not a crash.
    EXPECT_EQ(pipes_proto_parse_notification(nullptr, 0, n.get(), &e), PIPES_PROTO_ERR_UNEXPECTED_END);
    // The error pointer is optional.
    EXPECT_EQ(pipes_proto_parse_notification("{}", 2, n.get(), nullptr), PIPES_PROTO_ERR_MISSING_FIELD);
    pipes_proto_reply r;
    EXPECT_EQ(pipes_proto_parse_reply(nullptr, 1, &r, nullptr), PIPES_PROTO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_proto_notification_validate(nullptr, nullptr), PIPES_PROTO_ERR_INVALID_ARGUMENT);
}


// ---------------------------------------------------------------------------
// Interactive notifications: actions, open, tag/clear, progress, sticky,
// priority, wait forms, sender (docs/PROTOCOL.md section 2)
// ---------------------------------------------------------------------------

std::string Action(const std::string &id, const std::string &label)
{
    return "{\"id\":\"" + id + "\",\"label\":\"" + label + "\"}";
}

TEST(ProtocolInteractive, DocumentExampleWithEveryInteractiveField)
{
    // The interactive example of docs/PROTOCOL.md section 2.
    std::string msg =
        "{\"v\":1,\"id\":\"upd-42\",\"title\":\"Install updates now?\",\"body\":\"3 updates, restart "
        "needed.\",\"level\":\"warning\",\"source\":\"patch-agent\",\"wait\":\"response\","
        "\"actions\":[{\"id\":\"now\",\"label\":\"Restart now\"},{\"id\":\"later\",\"label\":\"Later\"}],"
        "\"open\":\"https://intranet.example.com/updates?kb=42\",\"tag\":\"updates\","
        "\"progress\":{\"value\":40,\"status\":\"Downloading 2 of 3\"},\"sticky\":true,"
        "\"priority\":\"high\"}";
    ParseResult r = Parse(msg);
    ASSERT_EQ(r.status, PIPES_PROTO_OK) << Describe(r);
    EXPECT_EQ(r.n->wait, PIPES_PROTO_WAIT_RESPONSE);
    ASSERT_EQ(r.n->action_count, 2u);
    EXPECT_STREQ(r.n->actions[0].id, "now");
    EXPECT_STREQ(r.n->actions[0].label, "Restart now");
    EXPECT_STREQ(r.n->actions[1].id, "later");
    EXPECT_STREQ(r.n->open, "https://intranet.example.com/updates?kb=42");
    EXPECT_STREQ(r.n->tag, "updates");
    EXPECT_FALSE(r.n->clear);
    EXPECT_TRUE(r.n->has_progress);
    EXPECT_EQ(r.n->progress_value, 40);
    EXPECT_STREQ(r.n->progress_status, "Downloading 2 of 3");
    EXPECT_TRUE(r.n->sticky);
    EXPECT_EQ(r.n->priority, PIPES_PROTO_PRIORITY_HIGH);
    EXPECT_EQ(r.n->sender.kind, PIPES_PROTO_SENDER_NONE);
    // The writer gives back the same bytes (fields in the documented order).
    EXPECT_EQ(Write(*r.n), msg);
}

TEST(ProtocolInteractive, OldMessagesParseAsBefore)
{
    // No interactive field: everything new is at its default.
    ParseResult r = Parse(Msg("\"wait\":true"));
    ASSERT_EQ(r.status, PIPES_PROTO_OK);
    EXPECT_EQ(r.n->wait, PIPES_PROTO_WAIT_DISPLAYED);
    EXPECT_EQ(r.n->action_count, 0u);
    EXPECT_FALSE(r.n->has_progress);
    EXPECT_EQ(r.n->priority, PIPES_PROTO_PRIORITY_NORMAL);
    EXPECT_FALSE(r.n->sticky);
    // A waiting submission is still written as "wait":true, which older services read.
    EXPECT_EQ(Write(*r.n), Msg("\"wait\":true"));
    // null means absent for every new field, too.
    ParseResult z = Parse(Msg("\"actions\":null,\"open\":null,\"tag\":null,\"clear\":null,\"progress\":null,"
                              "\"sticky\":null,\"priority\":null,\"sender\":null"));
    ASSERT_EQ(z.status, PIPES_PROTO_OK) << Describe(z);
    EXPECT_EQ(Write(*z.n), Msg());
}

TEST(ProtocolInteractive, ActionsUpToThreeAndAFourthIsRejected)
{
    ParseResult three = Parse(Msg("\"actions\":[" + Action("a", "A") + "," + Action("b", "B") + "," +
                                  Action("c", "C") + "]"));
    ASSERT_EQ(three.status, PIPES_PROTO_OK) << Describe(three);
    EXPECT_EQ(three.n->action_count, 3u);
    std::string four = Msg("\"actions\":[" + Action("a", "A") + "," + Action("b", "B") + "," +
                           Action("c", "C") + "," + Action("d", "D") + "]");
    ParseResult r = Parse(four);
    ASSERT_EQ(r.status, PIPES_PROTO_ERR_TOO_MANY_ACTIONS);
    EXPECT_EQ(r.error.offset, four.find("{\"id\":\"d\""));
    EXPECT_EQ(r.error.limit, PIPES_PROTO_MAX_ACTIONS);
    EXPECT_STREQ(r.error.field, "actions");
    EXPECT_EQ(Describe(r), "field \"actions\": too many actions (max 3) at byte " +
                               std::to_string(four.find("{\"id\":\"d\"")));
    EXPECT_STREQ(r.n->id, "n-1"); // still echoed
    ExpectOk(Msg("\"actions\":[]")); // none
    // Each action: an object with a valid, unique id and a label of 1..64 bytes.
    std::string l64(PIPES_PROTO_MAX_LABEL, 'l');
    ExpectOk(Msg("\"actions\":[" + Action("x", l64) + "]"));
    ExpectReject(Msg("\"actions\":[" + Action("x", l64 + "l") + "]"), PIPES_PROTO_ERR_FIELD_TOO_LONG, -1,
                 "actions.label");
    ExpectReject(Msg("\"actions\":[" + Action("x", "") + "]"), PIPES_PROTO_ERR_BAD_ACTION, -1, "actions.label");
    ExpectReject(Msg("\"actions\":[" + Action("a b", "L") + "]"), PIPES_PROTO_ERR_BAD_ACTION, -1, "actions.id");
    ExpectReject(Msg("\"actions\":[" + Action("", "L") + "]"), PIPES_PROTO_ERR_BAD_ACTION, -1, "actions.id");
    ExpectReject(Msg("\"actions\":[" + Action(std::string(65, 'i'), "L") + "]"), PIPES_PROTO_ERR_BAD_ACTION, -1,
                 "actions.id");
    ExpectReject(Msg("\"actions\":[{\"label\":\"L\"}]"), PIPES_PROTO_ERR_BAD_ACTION, -1, "actions.id");
    ExpectReject(Msg("\"actions\":[{\"id\":\"x\"}]"), PIPES_PROTO_ERR_BAD_ACTION, -1, "actions.label");
    std::string dup = Msg("\"actions\":[" + Action("x", "A") + "," + Action("x", "B") + "]");
    ExpectReject(dup, PIPES_PROTO_ERR_BAD_ACTION, static_cast<long>(dup.rfind("{\"id\"")), "actions.id");
    ExpectReject(Msg("\"actions\":{}"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "actions");
    ExpectReject(Msg("\"actions\":[\"x\"]"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "actions");
    ExpectReject(Msg("\"actions\":[null]"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "actions");
    ExpectReject(Msg("\"actions\":[{\"id\":1,\"label\":\"L\"}]"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "actions.id");
    // Unknown members of an action are ignored.
    ParseResult u = Parse(Msg("\"actions\":[{\"id\":\"x\",\"label\":\"L\",\"icon\":[1]}]"));
    ASSERT_EQ(u.status, PIPES_PROTO_OK);
    EXPECT_STREQ(u.n->actions[0].label, "L");
}

TEST(ProtocolInteractive, OpenTakesOnlyHttpAndHttpsUrls)
{
    for (const char *good : {"https://example.com", "http://example.com/", "HTTPS://Example.COM/a?b=c#d",
                             "https://[::1]:8443/x", "https://h:8080", "https://h/%41~!$&'()*+,;=:@[]",
                             "http://localhost?q", "https://h#frag"}) {
        ParseResult r = Parse(Msg(std::string("\"open\":\"") + good + "\""));
        EXPECT_EQ(r.status, PIPES_PROTO_OK) << good << ": " << Describe(r);
        EXPECT_STREQ(r.n->open, good);
    }
    for (const char *bad :
         {"file:///C:/Windows/System32/calc.exe", "javascript:alert(1)", "ftp://h/", "ms-settings:privacy",
          "https:/h", "https://", "https:///path", "https://:443/", "https://user@evil.example/",
          "https://good.example@evil.example/", "https://h/a b", "https://h/\\\\share", "https://h/\xC3\xA9",
          "https://h/<script>", "https://h/\\\"", "https://h/{x}", "http://h|x", "\\\\\\\\server\\\\share",
          "example.com", "", " https://h"}) {
        ExpectReject(Msg(std::string("\"open\":\"") + bad + "\""), PIPES_PROTO_ERR_BAD_URL, -1, "open");
    }
    // Length: 2,048 bytes fit, one more is too long.
    std::string base = "https://h/";
    std::string at = base + std::string(PIPES_PROTO_MAX_URL - base.size(), 'p');
    ExpectOk(Msg("\"open\":\"" + at + "\""));
    ExpectReject(Msg("\"open\":\"" + at + "p\""), PIPES_PROTO_ERR_FIELD_TOO_LONG, -1, "open");
    ExpectReject(Msg("\"open\":7"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "open");
    // The host a receiver shows first.
    size_t off = 0, len = 0;
    const std::string url = "https://intranet.example.com:8443/updates?kb=42";
    ASSERT_EQ(pipes_proto_url_check(url.data(), url.size(), &off, &len), PIPES_PROTO_OK);
    EXPECT_EQ(url.substr(off, len), "intranet.example.com:8443");
    EXPECT_EQ(pipes_proto_url_check("javascript:x", 12, &off, &len), PIPES_PROTO_ERR_BAD_URL);
    EXPECT_EQ(pipes_proto_url_check(nullptr, 0, nullptr, nullptr), PIPES_PROTO_ERR_BAD_URL);
}

TEST(ProtocolInteractive, TagAndClear)
{
    ParseResult t = Parse(Msg("\"tag\":\"web01.status\""));
    ASSERT_EQ(t.status, PIPES_PROTO_OK);
    EXPECT_STREQ(t.n->tag, "web01.status");
    std::string tag64(PIPES_PROTO_MAX_TAG, 't');
    ExpectOk(Msg("\"tag\":\"" + tag64 + "\""));
    ExpectReject(Msg("\"tag\":\"" + tag64 + "t\""), PIPES_PROTO_ERR_BAD_TAG, -1, "tag");
    for (const char *bad : {"", "a b", "a/b", "\xC3\xA9"})
        ExpectReject(Msg(std::string("\"tag\":\"") + bad + "\""), PIPES_PROTO_ERR_BAD_TAG, -1, "tag");
    ExpectReject(Msg("\"tag\":1"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "tag");

    // A clear needs v, id, tag and "clear":true; no title.
    ParseResult c = Parse("{\"v\":1,\"id\":\"c-1\",\"tag\":\"web01\",\"clear\":true}");
    ASSERT_EQ(c.status, PIPES_PROTO_OK) << Describe(c);
    EXPECT_TRUE(c.n->clear);
    EXPECT_EQ(c.n->title_len, 0u);
    EXPECT_EQ(Write(*c.n), "{\"v\":1,\"id\":\"c-1\",\"tag\":\"web01\",\"clear\":true}");
    std::string no_tag = "{\"v\":1,\"id\":\"c-2\",\"clear\":true}";
    ExpectReject(no_tag, PIPES_PROTO_ERR_MISSING_FIELD, static_cast<long>(no_tag.size() - 1), "tag");
    // "clear":false is the same as absent: a title is needed again.
    ExpectReject("{\"v\":1,\"id\":\"c-3\",\"tag\":\"t\",\"clear\":false}", PIPES_PROTO_ERR_MISSING_FIELD, -1,
                 "title");
    // A title given with a clear still follows its rules.
    ExpectReject("{\"v\":1,\"id\":\"c-4\",\"tag\":\"t\",\"clear\":true,\"title\":\"\"}", PIPES_PROTO_ERR_EMPTY_TITLE,
                 -1, "title");
    ExpectReject(Msg("\"clear\":\"yes\""), PIPES_PROTO_ERR_WRONG_TYPE, -1, "clear");
}

TEST(ProtocolInteractive, ProgressValueAndStatus)
{
    for (int v : {0, 1, 50, 99, 100}) {
        ParseResult r = Parse(Msg("\"progress\":{\"value\":" + std::to_string(v) + "}"));
        ASSERT_EQ(r.status, PIPES_PROTO_OK);
        EXPECT_EQ(r.n->progress_value, v);
    }
    for (const char *ind : {"{\"value\":null}", "{}", "{\"status\":\"Waiting\"}"}) {
        ParseResult r = Parse(Msg(std::string("\"progress\":") + ind));
        ASSERT_EQ(r.status, PIPES_PROTO_OK) << ind;
        EXPECT_TRUE(r.n->has_progress);
        EXPECT_EQ(r.n->progress_value, -1) << ind; // indeterminate
    }
    ExpectReject(Msg("\"progress\":{\"value\":101}"), PIPES_PROTO_ERR_BAD_PROGRESS, -1, "progress.value");
    ExpectReject(Msg("\"progress\":{\"value\":-1}"), PIPES_PROTO_ERR_BAD_PROGRESS, -1, "progress.value");
    ExpectReject(Msg("\"progress\":{\"value\":50.5}"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "progress.value");
    ExpectReject(Msg("\"progress\":{\"value\":\"50\"}"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "progress.value");
    ExpectReject(Msg("\"progress\":50"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "progress");
    std::string st(PIPES_PROTO_MAX_STATUS, 's');
    ExpectOk(Msg("\"progress\":{\"status\":\"" + st + "\"}"));
    ExpectReject(Msg("\"progress\":{\"status\":\"" + st + "s\"}"), PIPES_PROTO_ERR_FIELD_TOO_LONG, -1,
                 "progress.status");
    ParseResult w = Parse(Msg("\"progress\":{\"value\":null,\"status\":\"Copying\"}"));
    ASSERT_EQ(w.status, PIPES_PROTO_OK);
    EXPECT_EQ(Write(*w.n), Msg("\"progress\":{\"value\":null,\"status\":\"Copying\"}"));
}

TEST(ProtocolInteractive, StickyPriorityAndWaitForms)
{
    ParseResult s = Parse(Msg("\"sticky\":true"));
    ASSERT_EQ(s.status, PIPES_PROTO_OK);
    EXPECT_TRUE(s.n->sticky);
    ExpectReject(Msg("\"sticky\":1"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "sticky");
    const struct {
        const char *name;
        pipes_proto_priority p;
    } prios[] = {{"low", PIPES_PROTO_PRIORITY_LOW},
                 {"normal", PIPES_PROTO_PRIORITY_NORMAL},
                 {"high", PIPES_PROTO_PRIORITY_HIGH},
                 {"urgent", PIPES_PROTO_PRIORITY_URGENT}};
    for (const auto &p : prios) {
        ParseResult r = Parse(Msg(std::string("\"priority\":\"") + p.name + "\""));
        ASSERT_EQ(r.status, PIPES_PROTO_OK);
        EXPECT_EQ(r.n->priority, p.p);
        EXPECT_STREQ(pipes_proto_priority_name(p.p), p.name);
    }
    for (const char *bad : {"URGENT", "critical", ""})
        ExpectReject(Msg(std::string("\"priority\":\"") + bad + "\""), PIPES_PROTO_ERR_BAD_PRIORITY, -1,
                     "priority");
    ExpectReject(Msg("\"priority\":3"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "priority");

    EXPECT_EQ(Parse(Msg("\"wait\":true")).n->wait, PIPES_PROTO_WAIT_DISPLAYED);
    EXPECT_EQ(Parse(Msg("\"wait\":false")).n->wait, PIPES_PROTO_WAIT_NONE);
    EXPECT_EQ(Parse(Msg("\"wait\":\"displayed\"")).n->wait, PIPES_PROTO_WAIT_DISPLAYED);
    ParseResult r = Parse(Msg("\"wait\":\"response\",\"actions\":[" + Action("y", "Yes") + "]"));
    ASSERT_EQ(r.status, PIPES_PROTO_OK);
    EXPECT_EQ(r.n->wait, PIPES_PROTO_WAIT_RESPONSE);
    // "response" without actions: nothing could answer it (reported at the closing brace).
    std::string lone = Msg("\"wait\":\"response\"");
    ExpectReject(lone, PIPES_PROTO_ERR_BAD_WAIT, static_cast<long>(lone.size() - 1), "wait");
    for (const char *bad : {"\"yes\"", "\"Response\"", "\"\""})
        ExpectReject(Msg(std::string("\"wait\":") + bad), PIPES_PROTO_ERR_BAD_WAIT, -1, "wait");
    ExpectReject(Msg("\"wait\":1"), PIPES_PROTO_ERR_WRONG_TYPE, -1, "wait");
}

TEST(ProtocolInteractive, SenderIsParsedAndRefusedFromSubmitters)
{
    const std::string user = "\"sender\":{\"kind\":\"user\",\"account\":\"CORP\\\\alice\",\"sid\":"
                             "\"S-1-5-21-1004336348-1177238915-682003330-512\"}";
    ParseResult r = Parse(Msg(user));
    ASSERT_EQ(r.status, PIPES_PROTO_OK) << Describe(r);
    EXPECT_EQ(r.n->sender.kind, PIPES_PROTO_SENDER_USER);
    EXPECT_STREQ(r.n->sender.account, "CORP\\alice");
    EXPECT_STREQ(r.n->sender.sid, "S-1-5-21-1004336348-1177238915-682003330-512");
    EXPECT_EQ(Write(*r.n), Msg(user));
    // The service refuses a submission that carries one: reason not_allowed.
    pipes_proto_error e;
    EXPECT_EQ(pipes_proto_check_submission(r.n.get(), &e), PIPES_PROTO_ERR_SENDER_NOT_ALLOWED);
    EXPECT_STREQ(e.field, "sender");
    pipes_proto_reply reply;
    pipes_proto_reply_for_error(&reply, &e, r.n->id);
    EXPECT_EQ(reply.reason, PIPES_PROTO_REASON_NOT_ALLOWED);
    EXPECT_STREQ(reply.error, "sender_not_allowed");
    EXPECT_STREQ(reply.id, "n-1");
    EXPECT_EQ(pipes_proto_check_submission(Parse(Msg()).n.get(), nullptr), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_check_submission(Parse(Msg("\"sender\":null")).n.get(), nullptr), PIPES_PROTO_OK);

    ExpectOk(Msg("\"sender\":{\"kind\":\"system\",\"account\":\"NT AUTHORITY\\\\SYSTEM\",\"sid\":\"S-1-5-18\"}"));
    ExpectOk(Msg("\"sender\":{\"kind\":\"service\",\"account\":\"NT SERVICE\\\\Backup\",\"sid\":\"S-1-5-80-1-2-3-4-5\"}"));
    ExpectOk(Msg("\"sender\":{\"kind\":\"broker\",\"account\":\"NT SERVICE\\\\PipesMqtt\",\"sid\":\"S-1-5-80-9\","
                 "\"origin\":\"mqtts://broker.example:8883/alerts/web01\"}"));
    ExpectOk(Msg("\"sender\":{\"kind\":\"user\",\"account\":\"\",\"sid\":\"S-1-5-21-1\"}")); // unresolved name
    ExpectReject(Msg("\"sender\":{\"kind\":\"broker\",\"sid\":\"S-1-5-18\"}"), PIPES_PROTO_ERR_BAD_SENDER, -1,
                 "sender.origin");
    ExpectReject(Msg("\"sender\":{\"kind\":\"user\",\"sid\":\"S-1-5-18\",\"origin\":\"x\"}"),
                 PIPES_PROTO_ERR_BAD_SENDER, -1, "sender.origin");
    ExpectReject(Msg("\"sender\":{\"kind\":\"user\"}"), PIPES_PROTO_ERR_BAD_SENDER, -1, "sender.sid");
    ExpectReject(Msg("\"sender\":{\"sid\":\"S-1-5-18\"}"), PIPES_PROTO_ERR_BAD_SENDER, -1, "sender.kind");
    ExpectReject(Msg("\"sender\":{\"kind\":\"admin\",\"sid\":\"S-1-5-18\"}"), PIPES_PROTO_ERR_BAD_SENDER, -1,
                 "sender.kind");
    ExpectReject(Msg("\"sender\":{\"kind\":\"user\",\"sid\":\"S-1-5-x\"}"), PIPES_PROTO_ERR_BAD_SENDER, -1,
                 "sender.sid");
    ExpectReject(Msg("\"sender\":\"alice\""), PIPES_PROTO_ERR_WRONG_TYPE, -1, "sender");
    ExpectReject(Msg("\"sender\":{\"kind\":\"user\",\"sid\":\"S-1-5-18\",\"account\":\"" +
                     std::string(PIPES_PROTO_MAX_ACCOUNT + 1, 'a') + "\"}"),
                 PIPES_PROTO_ERR_FIELD_TOO_LONG, -1, "sender.account");
}

TEST(ProtocolInteractive, SidSyntax)
{
    for (const char *good : {"S-1-5-18", "S-1-0", "S-1-5-21-1004336348-1177238915-682003330-512",
                             "S-1-281474976710655-4294967295", "S-1-5-80-0"})
        EXPECT_TRUE(pipes_proto_sid_valid(good, std::strlen(good))) << good;
    for (const char *bad : {"", "S-1-", "S-1-5-", "S-2-5-18", "s-1-5-18", "S-1-5--18", "S-1-5-4294967296",
                            "S-1-1234567890123456-1", "S-1-5-18 ", "S-1-5-x", "S-1-5-12345678901"})
        EXPECT_FALSE(pipes_proto_sid_valid(bad, std::strlen(bad))) << bad;
    std::string sixteen = "S-1-5";
    for (int i = 0; i < 15; i++)
        sixteen += "-1";
    EXPECT_TRUE(pipes_proto_sid_valid(sixteen.data(), sixteen.size())); // 15 sub-authorities
    sixteen += "-1";
    EXPECT_FALSE(pipes_proto_sid_valid(sixteen.data(), sixteen.size()));
    EXPECT_FALSE(pipes_proto_sid_valid(nullptr, 8));
}

TEST(ProtocolInteractive, SettersCheckTheirInput)
{
    auto n = NewNotification();
    EXPECT_EQ(pipes_proto_notification_add_action(n.get(), "a", 1, "A", 1), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_notification_add_action(n.get(), "a", 1, "B", 1), PIPES_PROTO_ERR_BAD_ACTION);
    EXPECT_EQ(pipes_proto_notification_add_action(n.get(), "b c", 3, "B", 1), PIPES_PROTO_ERR_BAD_ACTION);
    EXPECT_EQ(pipes_proto_notification_add_action(n.get(), "b", 1, "", 0), PIPES_PROTO_ERR_BAD_ACTION);
    EXPECT_EQ(pipes_proto_notification_add_action(n.get(), "b", 1, "\xFF", 1), PIPES_PROTO_ERR_INVALID_UTF8);
    std::string l65(PIPES_PROTO_MAX_LABEL + 1, 'l');
    EXPECT_EQ(pipes_proto_notification_add_action(n.get(), "b", 1, l65.data(), l65.size()),
              PIPES_PROTO_ERR_FIELD_TOO_LONG);
    EXPECT_EQ(pipes_proto_notification_add_action(n.get(), "b", 1, "B", 1), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_notification_add_action(n.get(), "c", 1, "C", 1), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_notification_add_action(n.get(), "d", 1, "D", 1), PIPES_PROTO_ERR_TOO_MANY_ACTIONS);
    EXPECT_EQ(n->action_count, 3u);

    EXPECT_EQ(pipes_proto_notification_set(n.get(), "open", "file:///c:/x", 12), PIPES_PROTO_ERR_BAD_URL);
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "open", "javascript:alert(1)", 19), PIPES_PROTO_ERR_BAD_URL);
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "open", "https://h/x", 11), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "tag", "a b", 3), PIPES_PROTO_ERR_BAD_TAG);
    EXPECT_EQ(pipes_proto_notification_set(n.get(), "tag", "t", 1), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_notification_set_progress(n.get(), 101, nullptr, 0), PIPES_PROTO_ERR_BAD_PROGRESS);
    EXPECT_EQ(pipes_proto_notification_set_progress(n.get(), -2, nullptr, 0), PIPES_PROTO_ERR_BAD_PROGRESS);
    EXPECT_FALSE(n->has_progress);
    EXPECT_EQ(pipes_proto_notification_set_progress(n.get(), -1, "s", 1), PIPES_PROTO_OK);
    EXPECT_EQ(n->progress_value, -1);

    pipes_proto_sender s;
    std::memset(&s, 0, sizeof s);
    EXPECT_EQ(pipes_proto_sender_set(&s, PIPES_PROTO_SENDER_NONE, "a", "S-1-5-18", nullptr),
              PIPES_PROTO_ERR_BAD_SENDER);
    EXPECT_EQ(pipes_proto_sender_set(&s, PIPES_PROTO_SENDER_USER, "a", "S-1-5", nullptr), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_sender_set(&s, PIPES_PROTO_SENDER_USER, "a", "bad", nullptr), PIPES_PROTO_ERR_BAD_SENDER);
    EXPECT_EQ(pipes_proto_sender_set(&s, PIPES_PROTO_SENDER_BROKER, "a", "S-1-5-18", nullptr),
              PIPES_PROTO_ERR_BAD_SENDER);
    EXPECT_EQ(s.kind, PIPES_PROTO_SENDER_USER); // failed calls changed nothing
    EXPECT_STREQ(s.sid, "S-1-5");
}

TEST(ProtocolInteractive, WriterRefusesInvalidInteractiveFields)
{
    char buf[512];
    auto base = [] {
        auto n = NewNotification();
        pipes_proto_notification_set(n.get(), "id", "w", 1);
        pipes_proto_notification_set(n.get(), "title", "t", 1);
        return n;
    };
    auto n = base();
    n->action_count = 4;
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_TOO_MANY_ACTIONS);
    n = base();
    std::strcpy(n->open, "file:///x");
    n->open_len = 9;
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_URL);
    n = base();
    n->clear = 1; // without a tag
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_MISSING_FIELD);
    n = base();
    n->has_progress = 1;
    n->progress_value = 101;
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_PROGRESS);
    n = base();
    n->priority = static_cast<pipes_proto_priority>(9);
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_PRIORITY);
    n = base();
    n->wait = PIPES_PROTO_WAIT_RESPONSE; // without actions
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_WAIT);
    n = base();
    n->sender.kind = PIPES_PROTO_SENDER_USER; // without a SID
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_SENDER);
    n = base();
    n->title_len = 0;
    n->clear = 1;
    std::strcpy(n->tag, "t");
    n->tag_len = 1;
    EXPECT_EQ(pipes_proto_write_notification(n.get(), buf, sizeof buf, nullptr), PIPES_PROTO_OK); // a clear
}

TEST(ProtocolInteractive, RoundTripOfEveryInteractiveField)
{
    auto n = FullNotification();
    ASSERT_EQ(pipes_proto_notification_add_action(n.get(), "ok", 2, "OK \xE2\x9C\x93", 6), PIPES_PROTO_OK);
    ASSERT_EQ(pipes_proto_notification_add_action(n.get(), "no", 2, "No \"way\"", 8), PIPES_PROTO_OK);
    ASSERT_EQ(pipes_proto_notification_set(n.get(), "open", "https://h.example/p?q=1#f", 25), PIPES_PROTO_OK);
    ASSERT_EQ(pipes_proto_notification_set(n.get(), "tag", "t.1", 3), PIPES_PROTO_OK);
    ASSERT_EQ(pipes_proto_notification_set_progress(n.get(), 0, "0 of 9", 6), PIPES_PROTO_OK);
    n->sticky = 1;
    n->priority = PIPES_PROTO_PRIORITY_LOW;
    n->wait = PIPES_PROTO_WAIT_RESPONSE;
    ASSERT_EQ(pipes_proto_sender_set(&n->sender, PIPES_PROTO_SENDER_SERVICE, "NT SERVICE\\x", "S-1-5-80-1", nullptr),
              PIPES_PROTO_OK);
    std::string wire = Write(*n);
    ParseResult back = Parse(wire);
    ASSERT_EQ(back.status, PIPES_PROTO_OK) << Describe(back) << "\n" << wire;
    ExpectSameNotification(*n, *back.n);
    EXPECT_EQ(Write(*back.n), wire);
}

// ---------------------------------------------------------------------------
// response, withdraw, query, state (docs/PROTOCOL.md section 5a)
// ---------------------------------------------------------------------------

std::string WriteAnswer(const pipes_proto_answer &a)
{
    return WriteWith(pipes_proto_write_answer, a);
}

pipes_proto_status ParseAnswer(const std::string &s, pipes_proto_answer *a, pipes_proto_error *e = nullptr)
{
    return pipes_proto_parse_answer(s.data(), s.size(), a, e);
}

TEST(ProtocolAnswer, DocumentedFormsOfEveryType)
{
    pipes_proto_answer a;
    ASSERT_EQ(pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_RESPONSE, "upd-42"), PIPES_PROTO_OK);
    a.result = PIPES_PROTO_RESULT_ACTION;
    std::strcpy(a.action, "now");
    a.action_len = 3;
    a.has_session = 1;
    a.session = 1;
    std::strcpy(a.user, "CORP\\alice");
    a.user_len = 10;
    a.has_time = 1;
    a.time_ms = 1795999500000;
    const std::string response = "{\"v\":1,\"type\":\"response\",\"id\":\"upd-42\",\"result\":\"action\",\"action\":"
                                 "\"now\",\"session\":1,\"user\":\"CORP\\\\alice\",\"time\":\"2026-11-30T00:45:00Z\"}";
    EXPECT_EQ(WriteAnswer(a), response);
    pipes_proto_answer back;
    ASSERT_EQ(ParseAnswer(response, &back), PIPES_PROTO_OK);
    EXPECT_EQ(back.type, PIPES_PROTO_TYPE_RESPONSE);
    EXPECT_STREQ(back.action, "now");
    EXPECT_EQ(WriteAnswer(back), response);

    // The withdrawal other sessions get, naming the winning answer.
    a.type = PIPES_PROTO_TYPE_WITHDRAW;
    EXPECT_EQ(WriteAnswer(a), "{\"v\":1,\"type\":\"withdraw\",\"id\":\"upd-42\",\"result\":\"action\",\"action\":"
                              "\"now\",\"session\":1,\"user\":\"CORP\\\\alice\",\"time\":\"2026-11-30T00:45:00Z\"}");
    ASSERT_EQ(pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_WITHDRAW, "upd-42"), PIPES_PROTO_OK);
    EXPECT_EQ(WriteAnswer(a), "{\"v\":1,\"type\":\"withdraw\",\"id\":\"upd-42\"}");

    ASSERT_EQ(pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_QUERY, "upd-42"), PIPES_PROTO_OK);
    EXPECT_EQ(WriteAnswer(a), "{\"v\":1,\"type\":\"query\",\"id\":\"upd-42\"}");

    ASSERT_EQ(pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_STATE, "upd-42"), PIPES_PROTO_OK);
    a.state = PIPES_PROTO_STATE_PENDING;
    EXPECT_EQ(WriteAnswer(a), "{\"v\":1,\"type\":\"state\",\"id\":\"upd-42\",\"state\":\"pending\"}");
    a.state = PIPES_PROTO_STATE_DISPLAYED;
    a.has_session = 1;
    a.session = 2;
    EXPECT_EQ(WriteAnswer(a), "{\"v\":1,\"type\":\"state\",\"id\":\"upd-42\",\"state\":\"displayed\",\"session\":2}");
    a.state = PIPES_PROTO_STATE_ANSWERED;
    a.result = PIPES_PROTO_RESULT_DISMISSED;
    EXPECT_EQ(WriteAnswer(a), "{\"v\":1,\"type\":\"state\",\"id\":\"upd-42\",\"state\":\"answered\",\"result\":"
                              "\"dismissed\",\"session\":2}");
    // A notification replaced by a newer one of its tag before any tray had it (PROTOCOL.md 2.1).
    ASSERT_EQ(pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_STATE, "bk-1"), PIPES_PROTO_OK);
    a.state = PIPES_PROTO_STATE_REPLACED;
    const std::string replaced = "{\"v\":1,\"type\":\"state\",\"id\":\"bk-1\",\"state\":\"replaced\"}";
    EXPECT_EQ(WriteAnswer(a), replaced);
    pipes_proto_answer back_state;
    ASSERT_EQ(ParseAnswer(replaced, &back_state), PIPES_PROTO_OK);
    EXPECT_EQ(back_state.state, PIPES_PROTO_STATE_REPLACED);
}

TEST(ProtocolAnswer, RequiredFieldsPerType)
{
    pipes_proto_answer a;
    pipes_proto_error e;
    auto missing = [&](const std::string &msg, const char *field) {
        SCOPED_TRACE(msg);
        ASSERT_EQ(ParseAnswer(msg, &a, &e), PIPES_PROTO_ERR_MISSING_FIELD);
        EXPECT_STREQ(e.field, field);
        EXPECT_EQ(e.offset, msg.size() - 1); // at the closing brace
    };
    missing("{\"v\":1,\"type\":\"response\",\"id\":\"a\",\"session\":1}", "result");
    missing("{\"v\":1,\"type\":\"response\",\"id\":\"a\",\"result\":\"timeout\"}", "session");
    missing("{\"v\":1,\"type\":\"response\",\"id\":\"a\",\"result\":\"action\",\"session\":1}", "action");
    missing("{\"v\":1,\"type\":\"state\",\"id\":\"a\"}", "state");
    missing("{\"v\":1,\"type\":\"state\",\"id\":\"a\",\"state\":\"displayed\"}", "session");
    missing("{\"v\":1,\"type\":\"state\",\"id\":\"a\",\"state\":\"answered\",\"session\":1}", "result");
    missing("{\"v\":1,\"type\":\"query\"}", "id");
    missing("{\"v\":1,\"id\":\"a\"}", "type");
    missing("{\"type\":\"query\",\"id\":\"a\"}", "v");
    // An action id only with result "action".
    ASSERT_EQ(ParseAnswer("{\"v\":1,\"type\":\"response\",\"id\":\"a\",\"result\":\"dismissed\",\"action\":\"x\","
                          "\"session\":1}",
                          &a, &e),
              PIPES_PROTO_ERR_BAD_RESULT);
    EXPECT_STREQ(e.field, "action");
    EXPECT_STREQ(a.id, "a"); // kept for the rejection
    EXPECT_EQ(ParseAnswer("{\"v\":1,\"type\":\"response\",\"id\":\"a\",\"result\":\"clicked\",\"session\":1}", &a),
              PIPES_PROTO_ERR_BAD_RESULT);
    EXPECT_EQ(ParseAnswer("{\"v\":1,\"type\":\"state\",\"id\":\"a\",\"state\":\"gone\"}", &a), PIPES_PROTO_ERR_BAD_STATE);
    EXPECT_EQ(ParseAnswer("{\"v\":1,\"type\":\"response\",\"id\":\"a\",\"result\":\"action\",\"action\":\"a b\","
                          "\"session\":1}",
                          &a),
              PIPES_PROTO_ERR_BAD_ACTION);
    EXPECT_EQ(ParseAnswer("{\"v\":1,\"type\":\"response\",\"id\":\"a\",\"result\":\"timeout\",\"session\":-1}", &a),
              PIPES_PROTO_ERR_OUT_OF_RANGE);
    EXPECT_EQ(ParseAnswer("{\"v\":1,\"type\":\"notify\",\"id\":\"a\"}", &a), PIPES_PROTO_ERR_BAD_MESSAGE_TYPE);
    EXPECT_EQ(ParseAnswer("{\"v\":1,\"type\":\"ack\",\"id\":\"a\"}", &a), PIPES_PROTO_ERR_BAD_MESSAGE_TYPE);
    EXPECT_EQ(ParseAnswer("{\"v\":2,\"type\":\"query\",\"id\":\"a\"}", &a), PIPES_PROTO_ERR_UNSUPPORTED_VERSION);
    std::string long_user = "{\"v\":1,\"type\":\"response\",\"id\":\"a\",\"result\":\"timeout\",\"session\":1,\"user\":\"" +
                            std::string(PIPES_PROTO_MAX_ACCOUNT + 1, 'u') + "\"}";
    EXPECT_EQ(ParseAnswer(long_user, &a), PIPES_PROTO_ERR_FIELD_TOO_LONG);
    // Fields that do not belong to the type are ignored, like unknown ones.
    ASSERT_EQ(ParseAnswer("{\"v\":1,\"type\":\"query\",\"id\":\"a\",\"result\":\"timeout\",\"session\":3,\"x\":1}",
                          &a),
              PIPES_PROTO_OK);
    EXPECT_EQ(a.result, PIPES_PROTO_RESULT_NONE);
    EXPECT_FALSE(a.has_session);
    ASSERT_EQ(ParseAnswer("{\"v\":1,\"type\":\"state\",\"id\":\"a\",\"state\":\"pending\",\"session\":3}", &a),
              PIPES_PROTO_OK);
    EXPECT_FALSE(a.has_session);
}

TEST(ProtocolAnswer, WriterRefusesInvalidAnswers)
{
    pipes_proto_answer a;
    char buf[256];
    EXPECT_EQ(pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_NOTIFY, "a"), PIPES_PROTO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_QUERY, "a b"), PIPES_PROTO_ERR_BAD_ID);
    ASSERT_EQ(pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_RESPONSE, "a"), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_write_answer(&a, buf, sizeof buf, nullptr), PIPES_PROTO_ERR_MISSING_FIELD); // result
    a.result = PIPES_PROTO_RESULT_TIMEOUT;
    a.has_session = 1;
    EXPECT_EQ(pipes_proto_write_answer(&a, buf, sizeof buf, nullptr), PIPES_PROTO_OK);
    a.state = PIPES_PROTO_STATE_PENDING; // not a response's field
    EXPECT_EQ(pipes_proto_write_answer(&a, buf, sizeof buf, nullptr), PIPES_PROTO_ERR_INVALID_ARGUMENT);
    ASSERT_EQ(pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_QUERY, "a"), PIPES_PROTO_OK);
    a.has_session = 1;
    EXPECT_EQ(pipes_proto_write_answer(&a, buf, sizeof buf, nullptr), PIPES_PROTO_ERR_INVALID_ARGUMENT);
    ASSERT_EQ(pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_WITHDRAW, "a"), PIPES_PROTO_OK);
    a.has_time = 1;
    a.time_ms = 253402300800000; // year 10000
    EXPECT_EQ(pipes_proto_write_answer(&a, buf, sizeof buf, nullptr), PIPES_PROTO_ERR_BAD_TIME);
    ASSERT_EQ(pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_QUERY, "a"), PIPES_PROTO_OK);
    EXPECT_EQ(pipes_proto_write_answer(&a, buf, 10, nullptr), PIPES_PROTO_ERR_BUFFER_TOO_SMALL);
}

TEST(ProtocolAnswer, TypeOfAnyMessage)
{
    const struct {
        const char *msg;
        pipes_proto_type type;
    } cases[] = {
        {"{\"v\":1,\"id\":\"a\",\"title\":\"T\"}", PIPES_PROTO_TYPE_NOTIFY},
        {"{\"type\":null}", PIPES_PROTO_TYPE_NOTIFY},
        {"{\"type\":\"notify\"}", PIPES_PROTO_TYPE_NOTIFY},
        {"{\"type\":\"accepted\"}", PIPES_PROTO_TYPE_ACCEPTED},
        {"{\"type\":\"rejected\"}", PIPES_PROTO_TYPE_REJECTED},
        {"{\"type\":\"ack\"}", PIPES_PROTO_TYPE_ACK},
        {"{\"type\":\"displayed\"}", PIPES_PROTO_TYPE_DISPLAYED},
        {"{\"x\":{\"type\":\"ack\"},\"type\":\"response\"}", PIPES_PROTO_TYPE_RESPONSE},
        {"{\"type\":\"withdraw\"}", PIPES_PROTO_TYPE_WITHDRAW},
        {"{\"type\":\"query\"}", PIPES_PROTO_TYPE_QUERY},
        {"{\"type\":\"state\"}", PIPES_PROTO_TYPE_STATE},
    };
    for (const auto &c : cases) {
        pipes_proto_type t = PIPES_PROTO_TYPE_ACCEPTED;
        ASSERT_EQ(pipes_proto_parse_type(c.msg, std::strlen(c.msg), &t, nullptr), PIPES_PROTO_OK) << c.msg;
        EXPECT_EQ(t, c.type) << c.msg;
    }
    pipes_proto_type t;
    pipes_proto_error e;
    EXPECT_EQ(pipes_proto_parse_type("{\"type\":\"ping\"}", 15, &t, &e), PIPES_PROTO_ERR_BAD_MESSAGE_TYPE);
    EXPECT_EQ(e.offset, 8u);
    EXPECT_EQ(pipes_proto_parse_type("{\"type\":1}", 10, &t, nullptr), PIPES_PROTO_ERR_WRONG_TYPE);
    EXPECT_EQ(pipes_proto_parse_type("[1]", 3, &t, nullptr), PIPES_PROTO_ERR_NOT_OBJECT);
    EXPECT_EQ(pipes_proto_parse_type("{\"type\":\"ack\"}", 14, nullptr, nullptr), PIPES_PROTO_ERR_INVALID_ARGUMENT);
    // The notification parser still takes only notify.
    ExpectReject(Msg("\"type\":\"response\""), PIPES_PROTO_ERR_BAD_MESSAGE_TYPE, -1, "type");
}

} // namespace
