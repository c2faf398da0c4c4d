// sender_test.cpp - senders attributed and isolated (issue 12 part 3; docs/SECURITY.md "Threats:
// senders, isolation and abuse"): the service stamps each record with who submitted it, from the
// pipe's token, never from the message; ids are per submitter; a standard user reaches only his
// own sessions; quotas and ttl caps; a client whose identity cannot be read is refused.
//
// Under Wine every process runs as one user (an administrator), so "another user", "a standard
// user" or "an unreadable token" is what the service's identity test hook
// (submit_set_identity_hook) substitutes for the identity it read from the token. The real token
// path is what AttributionComesFromThePipe checks.
#include <gtest/gtest.h>

#include <mutex>
#include <string>

#include "engine_fixtures.h"

namespace {

const char *const kUserA = "S-1-5-21-1111-2222-3333-1001";
const char *const kUserB = "S-1-5-21-1111-2222-3333-1002";

class SenderTest : public EngineTest {
protected:
    // The identity the hook gives the next connection's first message.
    struct Who {
        std::string sid;     // "" = the token's own
        std::string account;
        pipes_proto_sender_kind kind = PIPES_PROTO_SENDER_USER;
        int privileged = -1; // -1 = the token's own
        bool readable = true;
    };
    void as(const Who &w)
    {
        std::lock_guard<std::mutex> lk(m_);
        who_ = w;
    }
    static int hook(void *ctx, svc_identity *id)
    {
        SenderTest *t = static_cast<SenderTest *>(ctx);
        std::lock_guard<std::mutex> lk(t->m_);
        if (!t->who_.readable)
            return 0;
        if (!t->who_.sid.empty()) {
            EXPECT_EQ(PIPES_PROTO_OK,
                      pipes_proto_sender_set(&id->sender, t->who_.kind, t->who_.account.c_str(),
                                             t->who_.sid.c_str(), nullptr));
        }
        if (t->who_.privileged >= 0)
            id->privileged = t->who_.privileged;
        return 1;
    }
    void start_hooked() { start(hook, this); }
    static std::string msg(const std::string &id, const std::string &title,
                           const std::string &extra = "")
    {
        return "{\"v\":1,\"id\":\"" + id + "\",\"title\":\"" + title + "\"" + extra + "}";
    }
    // The earliest expiry in the spool, relative to now, in seconds.
    int64_t seconds_to_first_expiry()
    {
        int64_t now = svc_now_ms(), next = 0;
        spool_expire(s_, now, nullptr, &next);
        return (next - now + 500) / 1000;
    }

    std::mutex m_;
    Who who_;
};

// The record carries the sender the pipe's token names (this process's user under Wine), in the
// message the tray gets; the submitter said nothing about it.
TEST_F(SenderTest, AttributionComesFromThePipe)
{
    FakeTray tray(session_, FakeTray::AckAll);
    ASSERT_EQ(PIPES_OK, tray.status());
    start();
    ASSERT_TRUE(delivery_session_add(d_, session_));
    Submitter sub(cfg_.submit_pipe);
    ASSERT_EQ(PIPES_OK, sub.status());
    EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED,
              sub.call(msg("who-1", "t", ",\"source\":\"IT Security\"")).type);
    ASSERT_TRUE(wait_until([&] { return tray.count() == 1; }, seconds(10)));
    pipes_proto_notification got = tray.received()[0];
    EXPECT_EQ(PIPES_PROTO_SENDER_USER, got.sender.kind); // an administrator is still a user
    EXPECT_EQ(own_sid(), got.sender.sid);
    EXPECT_STRNE("", got.sender.account) << "LookupAccountSid names the user";
    EXPECT_STREQ("IT Security", got.source) << "source stays, and the sender is beside it";
}

// Before: the parser took "sender" from the message and the service stored and relayed it, so any
// user could sign as SYSTEM. Now it is refused not_allowed, nothing is spooled.
TEST_F(SenderTest, ASenderInTheMessageIsRefused)
{
    start();
    Submitter sub(cfg_.submit_pipe);
    ASSERT_EQ(PIPES_OK, sub.status());
    pipes_proto_reply r = sub.call(msg("forge-1", "t",
                                       ",\"sender\":{\"kind\":\"system\",\"account\":"
                                       "\"NT AUTHORITY\\\\SYSTEM\",\"sid\":\"S-1-5-18\"}"));
    EXPECT_EQ(PIPES_PROTO_REPLY_REJECTED, r.type);
    EXPECT_EQ(PIPES_PROTO_REASON_NOT_ALLOWED, r.reason);
    EXPECT_STREQ("sender_not_allowed", r.error);
    EXPECT_STREQ("forge-1", r.id);
    EXPECT_EQ(0u, spool_now().count);
}

// Issue 12: "user B can submit id backup-20261124-0001 first, and A's real job is then answered
// accepted (and even displayed) while every desktop shows B's text". Now B's id and A's id are two
// records; A's `displayed` waits for A's own record, whose text the tray gets.
TEST_F(SenderTest, OneSubmittersIdNeverAnswersForAnothers)
{
    FakeTray tray(session_, FakeTray::AckAll);
    ASSERT_EQ(PIPES_OK, tray.status());
    start_hooked();
    ASSERT_TRUE(delivery_session_add(d_, session_));
    const std::string id = "backup-20261124-0001";
    {
        as({kUserB, "TEST\\b", PIPES_PROTO_SENDER_USER, 1, true});
        Submitter b(cfg_.submit_pipe);
        ASSERT_EQ(PIPES_PROTO_REPLY_ACCEPTED, b.call(msg(id, "from B", ",\"wait\":true")).type);
        EXPECT_EQ(PIPES_PROTO_REPLY_DISPLAYED, b.next(seconds(10)).type);
    }
    as({kUserA, "TEST\\a", PIPES_PROTO_SENDER_USER, 1, true});
    Submitter a(cfg_.submit_pipe);
    ASSERT_EQ(PIPES_PROTO_REPLY_ACCEPTED, a.call(msg(id, "from A", ",\"wait\":true")).type);
    pipes_proto_reply r = a.next(seconds(10));
    EXPECT_EQ(PIPES_PROTO_REPLY_DISPLAYED, r.type);
    EXPECT_EQ(2u, submit_now().accepted);
    EXPECT_EQ(0u, submit_now().duplicates) << "A's id was taken for B's";
    std::vector<pipes_proto_notification> got = tray.received();
    ASSERT_EQ(2u, got.size()) << "A's `displayed` came without A's record reaching the tray";
    EXPECT_STREQ("from B", got[0].title);
    EXPECT_STREQ(kUserB, got[0].sender.sid);
    EXPECT_STREQ("from A", got[1].title);
    EXPECT_STREQ(kUserA, got[1].sender.sid);
}

// Two records of one id (two submitters) waiting for the same tray: both go, one at a time (the
// tray's `ack` names only the id), and both are acknowledged.
TEST_F(SenderTest, TwoSubmittersRecordsOfOneIdBothReachTheTray)
{
    start_hooked();
    for (const char *sid : {kUserA, kUserB}) {
        as({sid, "", PIPES_PROTO_SENDER_USER, 1, true});
        Submitter sub(cfg_.submit_pipe);
        EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED, sub.call(msg("same", sid)).type);
    }
    EXPECT_EQ(2u, pending());
    FakeTray tray(session_, FakeTray::AckAll);
    ASSERT_EQ(PIPES_OK, tray.status());
    ASSERT_TRUE(delivery_session_add(d_, session_));
    EXPECT_TRUE(wait_until([&] { return pending() == 0; }, seconds(10)));
    std::vector<pipes_proto_notification> got = tray.received();
    ASSERT_EQ(2u, got.size());
    EXPECT_STREQ(kUserA, got[0].title);
    EXPECT_STREQ(kUserB, got[1].title);
}

// The default policy (StandardUserReach 0): a standard user's untargeted notification is his own
// sessions' only; it waits for a session whose user is he, and no other tray gets it.
TEST_F(SenderTest, AStandardUsersBroadcastGoesToHisOwnSessionsOnly)
{
    start_hooked();
    as({kUserA, "TEST\\a", PIPES_PROTO_SENDER_USER, 0, true});
    Submitter sub(cfg_.submit_pipe);
    ASSERT_EQ(PIPES_PROTO_REPLY_ACCEPTED, sub.call(msg("mine", "t")).type);
    spool_item item;
    spool_viewer other = viewer_of(session_, "TEST\\b", kUserB);
    spool_viewer mine = viewer_of(session_, "TEST\\a", kUserA);
    EXPECT_FALSE(spool_next(s_, 0, &other, &item)) << "another user's session would get it";
    ASSERT_TRUE(spool_next(s_, 0, &mine, &item));
    free(item.msg);
    EXPECT_STREQ("mine", item.id);
}

TEST_F(SenderTest, AStandardUserCannotTargetAnotherSessionOrUser)
{
    start_hooked();
    as({kUserA, "TEST\\a", PIPES_PROTO_SENDER_USER, 0, true});
    Submitter sub(cfg_.submit_pipe);
    // This process's session belongs to this process's user, not A.
    pipes_proto_reply r = sub.call(
        msg("s-1", "t", ",\"target\":{\"session\":" + std::to_string(own_session_) + "}"));
    EXPECT_EQ(PIPES_PROTO_REPLY_REJECTED, r.type);
    EXPECT_EQ(PIPES_PROTO_REASON_NOT_ALLOWED, r.reason);
    r = sub.call(msg("u-1", "t", std::string(",\"target\":{\"user\":\"") + kUserB + "\"}"));
    EXPECT_EQ(PIPES_PROTO_REASON_NOT_ALLOWED, r.reason) << "another user, named by his SID";
    r = sub.call(msg("u-2", "t", std::string(",\"target\":{\"user\":\"") + kUserA + "\"}"));
    EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED, r.type) << "himself, by his SID";
    r = sub.call(msg("u-3", "t", ",\"target\":{\"user\":\"no-such-account-4711\"}"));
    EXPECT_EQ(PIPES_PROTO_REASON_NOT_ALLOWED, r.reason) << "an account that does not exist";
    EXPECT_EQ(3u, submit_now().not_allowed_by_policy);
    EXPECT_EQ(1u, spool_now().count);
}

// A standard user may target his own session (the one this process runs in, as himself).
TEST_F(SenderTest, AStandardUserMayTargetHisOwnSession)
{
    start_hooked();
    as({"", "", PIPES_PROTO_SENDER_USER, 0, true}); // this process's user, not an administrator
    Submitter sub(cfg_.submit_pipe);
    EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED,
              sub.call(msg("own", "t",
                           ",\"target\":{\"session\":" + std::to_string(own_session_) + "}"))
                  .type);
}

TEST_F(SenderTest, AdministratorsSystemAndServicesReachAnyone)
{
    FakeTray tray(session_, FakeTray::AckAll);
    ASSERT_EQ(PIPES_OK, tray.status());
    start_hooked();
    ASSERT_TRUE(delivery_session_add(d_, session_));
    const Who whos[] = {{kUserA, "TEST\\admin", PIPES_PROTO_SENDER_USER, 1, true},
                        {"S-1-5-18", "NT AUTHORITY\\SYSTEM", PIPES_PROTO_SENDER_SYSTEM, 1, true},
                        {"S-1-5-80-1-2-3-4-5", "NT SERVICE\\x", PIPES_PROTO_SENDER_SERVICE, 1,
                         true}};
    int i = 0;
    for (const Who &w : whos) {
        as(w);
        Submitter sub(cfg_.submit_pipe);
        std::string id = "any-" + std::to_string(i++);
        EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED,
                  sub.call(msg(id, "t",
                               ",\"target\":{\"session\":" + std::to_string(session_) + "}"))
                      .type)
            << w.account;
    }
    EXPECT_TRUE(wait_until([&] { return tray.count() == 3; }, seconds(10)));
    std::vector<pipes_proto_notification> got = tray.received();
    ASSERT_EQ(3u, got.size());
    EXPECT_EQ(PIPES_PROTO_SENDER_SYSTEM, got[1].sender.kind);
    EXPECT_EQ(PIPES_PROTO_SENDER_SERVICE, got[2].sender.kind);
}

// StandardUserReach 1: standard users may broadcast and target anyone again.
TEST_F(SenderTest, StandardUserReachOneLetsStandardUsersReachEveryone)
{
    cfg_.standard_user_reach = 1;
    FakeTray tray(session_, FakeTray::AckAll);
    ASSERT_EQ(PIPES_OK, tray.status());
    start_hooked();
    ASSERT_TRUE(delivery_session_add(d_, session_));
    as({kUserA, "TEST\\a", PIPES_PROTO_SENDER_USER, 0, true});
    Submitter sub(cfg_.submit_pipe);
    EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED, sub.call(msg("all", "t")).type);
    EXPECT_TRUE(wait_until([&] { return tray.count() == 1; }, seconds(10)));
}

TEST_F(SenderTest, AStandardUsersTtlIsCapped)
{
    cfg_.user_max_ttl = 60;
    start_hooked();
    as({kUserA, "TEST\\a", PIPES_PROTO_SENDER_USER, 1, true});
    {
        Submitter admin(cfg_.submit_pipe);
        ASSERT_EQ(PIPES_PROTO_REPLY_ACCEPTED,
                  admin.call(msg("long", "t", ",\"ttl\":100000")).type);
    }
    EXPECT_GE(seconds_to_first_expiry(), 99990) << "an administrator's ttl is his";
    as({kUserB, "TEST\\b", PIPES_PROTO_SENDER_USER, 0, true});
    Submitter user(cfg_.submit_pipe);
    ASSERT_EQ(PIPES_PROTO_REPLY_ACCEPTED, user.call(msg("capped", "t", ",\"ttl\":100000")).type);
    EXPECT_LE(seconds_to_first_expiry(), 60);
    EXPECT_GE(seconds_to_first_expiry(), 55);
}

TEST_F(SenderTest, ARecordForASessionThatDoesNotExistExpiresSoon)
{
    start();
    Submitter sub(cfg_.submit_pipe);
    ASSERT_EQ(PIPES_PROTO_REPLY_ACCEPTED,
              sub.call(msg("nowhere", "t", ",\"ttl\":100000,\"target\":{\"session\":999999}"))
                  .type);
    EXPECT_LE(seconds_to_first_expiry(), (int64_t)cfg_.absent_session_ttl);
    EXPECT_GE(seconds_to_first_expiry(), (int64_t)cfg_.absent_session_ttl - 5);
}

// One user's pending records stop at his quota (queue_full, retry later); others still submit.
TEST_F(SenderTest, OneUserCannotFillTheSpoolForEveryone)
{
    cfg_.user_spool_count = 3;
    start_hooked();
    as({kUserA, "TEST\\a", PIPES_PROTO_SENDER_USER, 0, true});
    {
        Submitter a(cfg_.submit_pipe);
        for (int i = 0; i < 3; i++)
            EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED, a.call(msg("a-" + std::to_string(i), "t")).type);
        pipes_proto_reply r = a.call(msg("a-3", "t"));
        EXPECT_EQ(PIPES_PROTO_REPLY_REJECTED, r.type);
        EXPECT_EQ(PIPES_PROTO_REASON_QUEUE_FULL, r.reason);
        EXPECT_NE(nullptr, strstr(r.detail, "MaxSpoolCountPerUser")) << r.detail;
    }
    as({kUserB, "TEST\\b", PIPES_PROTO_SENDER_USER, 0, true});
    {
        Submitter b(cfg_.submit_pipe);
        EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED, b.call(msg("b-0", "t")).type);
    }
    as({kUserA, "TEST\\admin", PIPES_PROTO_SENDER_USER, 1, true});
    Submitter admin(cfg_.submit_pipe);
    EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED, admin.call(msg("admin-0", "t")).type)
        << "an administrator has no quota of his own";
    EXPECT_EQ(1u, spool_now().quota_refusals);
}

// Before: a client whose SID could not be read was keyed by its process id and served. Now it is
// refused not_allowed and let go (simulated: the hook says the token was unreadable; a real
// anonymous client is the Windows test in docs/SECURITY.md).
TEST_F(SenderTest, AClientWhoseIdentityCannotBeReadIsRefused)
{
    start_hooked();
    as({"", "", PIPES_PROTO_SENDER_USER, -1, false});
    Submitter sub(cfg_.submit_pipe);
    pipes_proto_reply r = sub.call(msg("anon-1", "t"));
    EXPECT_EQ(PIPES_PROTO_REPLY_REJECTED, r.type);
    EXPECT_EQ(PIPES_PROTO_REASON_NOT_ALLOWED, r.reason);
    EXPECT_NE(nullptr, strstr(r.detail, "cannot tell who you are")) << r.detail;
    EXPECT_TRUE(sub.closed(seconds(10)));
    EXPECT_EQ(0u, spool_now().count);
    EXPECT_EQ(1u, submit_now().unidentified);
}

// Every program running as LocalSystem has a bucket of its own (SID and executable), and the
// limits of an account come from RateLimits. Two programs cannot both be run here as SYSTEM in one
// test, so the key is checked as built for this process, and the limits through the pipe.
TEST_F(SenderTest, SystemProgramsAreRateLimitedByProgramWithTheirAccountsLimits)
{
    svc_identity id;
    memset(&id, 0, sizeof id);
    ASSERT_EQ(PIPES_PROTO_OK,
              pipes_proto_sender_set(&id.sender, PIPES_PROTO_SENDER_SYSTEM, "", "S-1-5-18",
                                     nullptr));
    HANDLE token = nullptr;
    ASSERT_TRUE(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
    svc_identity_set_key(&id, token, GetCurrentProcessId());
    CloseHandle(token);
    wchar_t exe[MAX_PATH];
    char exe8[MAX_PATH * 3];
    ASSERT_GT(GetModuleFileNameW(nullptr, exe, MAX_PATH), 0u);
    ASSERT_GT(svc_to_utf8(exe, exe8, sizeof exe8), 0);
    EXPECT_STRCASEEQ((std::string("S-1-5-18|") + exe8).c_str(), id.key);
    id.sender.kind = PIPES_PROTO_SENDER_USER;
    svc_identity_set_key(&id, nullptr, 0);
    EXPECT_STREQ("S-1-5-18", id.key) << "a user's bucket is his SID";

    cfg_.rate_per_minute = 1;
    cfg_.rate_burst = 1;
    cfg_.rate_override_n = 1;
    snprintf(cfg_.rate_overrides[0].sid, sizeof cfg_.rate_overrides[0].sid, "S-1-5-18");
    cfg_.rate_overrides[0].per_minute = 1;
    cfg_.rate_overrides[0].burst = 3;
    start_hooked();
    as({"S-1-5-18", "NT AUTHORITY\\SYSTEM", PIPES_PROTO_SENDER_SYSTEM, 1, true});
    Submitter sys(cfg_.submit_pipe);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED, sys.call(msg("sys-" + std::to_string(i), "t")).type);
    EXPECT_EQ(PIPES_PROTO_REASON_RATE_LIMITED, sys.call(msg("sys-3", "t")).reason);
    as({kUserA, "TEST\\a", PIPES_PROTO_SENDER_USER, 1, true});
    Submitter user(cfg_.submit_pipe);
    EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED, user.call(msg("user-0", "t")).type);
    EXPECT_EQ(PIPES_PROTO_REASON_RATE_LIMITED, user.call(msg("user-1", "t")).reason)
        << "the default burst of 1";
}

} // namespace
