// spool_sender_test.cpp - the spool's records by submitter (issue 12 parts 3 and 4): the key of a
// record is (its sender's SID, its id), also after a restart (the sender is in the stored tray
// message); a target user given as a SID matches the sessions of that user; a submitter's quota
// counts its own pending records only.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "spoolint.h"
#include "test_util.h"

namespace {

const char *const kA = "S-1-5-21-1111-2222-3333-1001";
const char *const kB = "S-1-5-21-1111-2222-3333-1002";

class SpoolSenderTest : public SpoolFixture {
protected:
    void SetUp() override { Start(L"spoolsender"); }
    // Adds a broadcast (or one for the user `user`) from sender sid titled title.
    spool_result add(const char *sid, const char *id, const char *title,
                     const spool_quota *quota = nullptr, const char *user = nullptr)
    {
        pipes_proto_notification n;
        pipes_proto_notification_init(&n);
        EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "id", id, strlen(id)));
        EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "title", title, strlen(title)));
        if (user) {
            EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "user", user, strlen(user)));
        }
        EXPECT_EQ(PIPES_PROTO_OK,
                  pipes_proto_sender_set(&n.sender, PIPES_PROTO_SENDER_USER, "", sid, nullptr));
        spool_added added;
        return spool_add(s_, &n, quota, now_, &added);
    }
    // What a session of this user would get: (sender SID, title) pairs, oldest first.
    std::vector<std::pair<std::string, std::string>> shown(const char *user_sid = "")
    {
        std::vector<std::pair<std::string, std::string>> out;
        for (const SpoolEntry &e : spool_entries(s_, viewer_of(1, "TEST\\someone", user_sid))) {
            pipes_proto_notification n;
            EXPECT_EQ(PIPES_PROTO_OK,
                      pipes_proto_parse_notification(e.msg.data(), e.msg.size(), &n, nullptr));
            EXPECT_EQ(e.sid, n.sender.sid) << "the record's key is its message's sender";
            out.emplace_back(e.sid, n.title);
        }
        return out;
    }
    spool_stats stats()
    {
        spool_stats st;
        spool_get_stats(s_, &st);
        return st;
    }
};

TEST_F(SpoolSenderTest, IdsArePerSenderAlsoAfterARestart)
{
    ASSERT_EQ(SPOOL_OK, add(kB, "job-1", "from B"));
    ASSERT_EQ(SPOOL_OK, add(kA, "job-1", "from A")) << "A's id was B's";
    EXPECT_EQ(SPOOL_DUPLICATE, add(kA, "job-1", "from A again"));
    using P = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ((P{{kB, "from B"}, {kA, "from A"}}), shown());
    EXPECT_EQ(2u, stats().submitters);
    open();
    EXPECT_EQ(2u, info_.loaded);
    EXPECT_EQ((P{{kB, "from B"}, {kA, "from A"}}), shown());
    EXPECT_EQ(SPOOL_DUPLICATE, add(kB, "job-1", "from B again"));
    EXPECT_EQ(SPOOL_OK, add("S-1-5-18", "job-1", "from SYSTEM"));
    EXPECT_EQ(3u, stats().submitters);
}

// A target user "S-1-..." (what the policy makes of a standard user's broadcast) is that user's.
TEST_F(SpoolSenderTest, ATargetUserGivenAsASidMatchesThatUsersSessions)
{
    ASSERT_EQ(SPOOL_OK, add(kA, "own", "for A", nullptr, kA));
    EXPECT_TRUE(shown(kB).empty());
    EXPECT_TRUE(shown("").empty()) << "a session whose user's SID is unknown";
    EXPECT_EQ(1u, shown(kA).size());
    std::string lower = kA;
    lower[0] = 's';
    EXPECT_EQ(1u, shown(lower.c_str()).size()) << "SID strings compare case-insensitively";
}

// The quota counts the owner's pending records and bytes only: others are untouched, and a
// delivered record (evictable) frees its place.
TEST_F(SpoolSenderTest, AQuotaCountsItsOwnersPendingRecordsOnly)
{
    spool_quota q{2, 1 << 20};
    uint64_t first = 0;
    ASSERT_EQ(SPOOL_OK, add(kA, "a-1", "t", &q));
    {
        spool_item item;
        spool_viewer v = viewer_of(1);
        ASSERT_TRUE(spool_next(s_, 0, &v, &item));
        first = item.seq;
        free(item.msg);
    }
    ASSERT_EQ(SPOOL_OK, add(kA, "a-2", "t", &q));
    EXPECT_EQ(SPOOL_QUOTA, add(kA, "a-3", "t", &q));
    EXPECT_EQ(SPOOL_OK, add(kB, "b-1", "t", &q));
    EXPECT_EQ(SPOOL_OK, add(kA, "a-3", "t")) << "no quota given: the global bounds only";
    EXPECT_EQ(SPOOL_DUPLICATE, add(kA, "a-2", "t", &q)) << "a resend is not a new record";
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, first, 1, 1));
    EXPECT_EQ(SPOOL_QUOTA, add(kA, "a-4", "t", &q)) << "a-2 and a-3 are still pending";
    open(); // the counters are rebuilt from the files
    EXPECT_EQ(SPOOL_QUOTA, add(kA, "a-4", "t", &q));
    spool_quota bytes{100, 10};
    EXPECT_EQ(SPOOL_QUOTA, add("S-1-5-21-9", "x", "t", &bytes)) << "one message over the bytes";
    EXPECT_EQ(2u, stats().quota_refusals) << "counted since this open: a-4 and x";
}

// Per-SID counters come and go with their records, and their memory is counted.
TEST_F(SpoolSenderTest, SubmitterCountersGoWithTheirLastRecord)
{
    uint64_t empty = stats().record_memory;
    ASSERT_EQ(SPOOL_OK, add(kA, "a-1", "t"));
    ASSERT_EQ(SPOOL_OK, add(kB, "b-1", "t"));
    EXPECT_EQ(2u, stats().submitters);
    uint32_t undelivered = 0;
    int64_t next = 0;
    EXPECT_EQ(2u, spool_expire(s_, now_ + 3600 * 1000, &undelivered, &next));
    EXPECT_EQ(0u, stats().submitters);
    EXPECT_EQ(empty, stats().record_memory);
}

} // namespace
