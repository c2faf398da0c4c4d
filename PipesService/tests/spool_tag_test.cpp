// spool_tag_test.cpp - tags in the spool (PROTOCOL.md 2.1, issue 13): a newer notification of the
// same submitter and tag replaces the older one, so a session that was away gets only the latest
// state of each tag, after a reopen too; what a replaced one still answers (its id, its query
// state), and that replaced states stop counting against the submitter's pending quota.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "spoolint.h"
#include "test_util.h"

namespace {

const char *const kA = "S-1-5-21-1111-2222-3333-1001";
const char *const kB = "S-1-5-21-1111-2222-3333-1002";

class SpoolTagTest : public SpoolFixture {
protected:
    void SetUp() override { Start(L"spooltag"); }

    // A notification id from sid with tag ("" for none); clear makes it a clear of that tag.
    spool_result add(const char *sid, const char *id, const char *tag, bool clear = false,
                     const spool_quota *quota = nullptr, uint32_t session = 0,
                     const char *user = nullptr)
    {
        pipes_proto_notification n;
        pipes_proto_notification_init(&n);
        EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "id", id, strlen(id)));
        if (!clear) {
            EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "title", id, strlen(id)));
        }
        if (*tag) {
            EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "tag", tag, strlen(tag)));
        }
        n.clear = clear;
        if (session) {
            n.target = PIPES_PROTO_TARGET_SESSION;
            n.target_session = session;
        } else if (user) {
            n.target = PIPES_PROTO_TARGET_USER;
            strcpy(n.target_user, user);
            n.target_user_len = strlen(user);
        }
        EXPECT_EQ(PIPES_PROTO_OK,
                  pipes_proto_sender_set(&n.sender, PIPES_PROTO_SENDER_USER, "", sid, nullptr));
        spool_added added;
        return spool_add(s_, &n, quota, now_, &added);
    }

    // The ids session would be sent now, oldest first.
    std::vector<std::string> ids_for(uint32_t session, const char *user = "TEST\\alice")
    {
        return spool_ids(s_, viewer_of(session, user));
    }

    pipes_proto_state state_of(const char *sid, const char *id)
    {
        pipes_proto_answer a;
        spool_state(s_, sid, id, &a);
        return a.state;
    }

    uint64_t seq_of(const char *id)
    {
        for (const SpoolEntry &e : spool_entries(s_, viewer_of(1, "TEST\\alice")))
            if (e.id == id)
                return e.seq;
        return 0;
    }

    size_t pending()
    {
        spool_stats st;
        spool_get_stats(s_, &st);
        return (size_t)st.pending_deliveries;
    }
};

using Ids = std::vector<std::string>;

TEST_F(SpoolTagTest, ASessionThatWasAwayGetsOnlyTheLatestStateOfEachTag)
{
    ASSERT_EQ(SPOOL_OK, add(kA, "bk-1", "backup"));
    ASSERT_EQ(SPOOL_OK, add(kA, "web-1", "web01"));
    ASSERT_EQ(SPOOL_OK, add(kA, "bk-2", "backup"));
    ASSERT_EQ(SPOOL_OK, add(kB, "other-bk", "backup")) << "another submitter's tag is its own";
    ASSERT_EQ(SPOOL_OK, add(kA, "plain", ""));
    ASSERT_EQ(SPOOL_OK, add(kA, "web-2", "web01", true));
    ASSERT_EQ(SPOOL_OK, add(kA, "bk-3", "backup"));

    const Ids latest = {"other-bk", "plain", "web-2", "bk-3"};
    EXPECT_EQ(latest, ids_for(1));
    EXPECT_EQ(4u, pending()) << "replaced states are not pending";

    open(); // a restart: the spool files hold every record; the replacements are recomputed
    EXPECT_EQ(7u, info_.loaded);
    EXPECT_EQ(latest, ids_for(1));
    EXPECT_EQ(latest, ids_for(2));
    EXPECT_EQ(4u, pending());
}

TEST_F(SpoolTagTest, ASessionThatShowedAnOlderStateGetsTheNewerOneAndTheOlderStaysDisplayed)
{
    ASSERT_EQ(SPOOL_OK, add(kA, "t-1", "deploy"));
    uint64_t first = seq_of("t-1");
    ASSERT_NE(0u, first);
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, first, 1, 1));
    ASSERT_EQ(SPOOL_OK, add(kA, "t-2", "deploy"));

    EXPECT_EQ(Ids{"t-2"}, ids_for(1)) << "session 1 updates its window in place";
    EXPECT_EQ(Ids{"t-2"}, ids_for(2)) << "session 2 never saw t-1 and does not get it now";
    EXPECT_EQ(PIPES_PROTO_STATE_DISPLAYED, state_of(kA, "t-1"));
    EXPECT_EQ(PIPES_PROTO_STATE_PENDING, state_of(kA, "t-2"));
}

TEST_F(SpoolTagTest, AReplacedIdIsStillKnownSoAResendIsNotShownAgain)
{
    ASSERT_EQ(SPOOL_OK, add(kA, "p-1", "progress"));
    ASSERT_EQ(SPOOL_OK, add(kA, "p-2", "progress"));
    EXPECT_EQ(PIPES_PROTO_STATE_REPLACED, state_of(kA, "p-1"));
    EXPECT_STREQ("replaced", pipes_proto_state_name(PIPES_PROTO_STATE_REPLACED));

    EXPECT_EQ(SPOOL_DUPLICATE, add(kA, "p-1", "progress"))
        << "a submitter resending an old state after a lost reply must not step the tag back";
    EXPECT_EQ(Ids{"p-2"}, ids_for(1));
    EXPECT_EQ(PIPES_PROTO_STATE_UNKNOWN, state_of(kB, "p-1")) << "ids are per submitter";

    open();
    EXPECT_EQ(PIPES_PROTO_STATE_REPLACED, state_of(kA, "p-1"));
    EXPECT_EQ(SPOOL_DUPLICATE, add(kA, "p-1", "progress"));
}

TEST_F(SpoolTagTest, ProgressUpdatesToAnAbsentTrayNeitherFillTheQuotaNorTheSpool)
{
    spool_quota q;
    q.max_pending = 3;
    q.max_pending_bytes = 1 << 20;
    char id[32];
    // 250 updates of one progress bar: more than the quota (3) and the spool (100 records).
    for (int i = 0; i < 250; i++) {
        snprintf(id, sizeof id, "copy-%d", i);
        ASSERT_EQ(SPOOL_OK, add(kA, id, "copy", false, &q)) << "update " << i;
    }
    EXPECT_EQ(Ids{"copy-249"}, ids_for(1));
    EXPECT_EQ(1u, pending());
    spool_stats st;
    spool_get_stats(s_, &st);
    EXPECT_LE(st.count, 100u) << "replaced states are evicted first";
    // Untagged ones from the same submitter still meet the quota.
    EXPECT_EQ(SPOOL_OK, add(kA, "u-1", "", false, &q));
    EXPECT_EQ(SPOOL_OK, add(kA, "u-2", "", false, &q));
    EXPECT_EQ(SPOOL_QUOTA, add(kA, "u-3", "", false, &q));
}

TEST_F(SpoolTagTest, AReplacedStateStaysReplacedAfterTheNewerOneLeftAndARestart)
{
    // Session-targeted, no actions: the newer state leaves the spool at its ack.
    ASSERT_EQ(SPOOL_OK, add(kA, "s-1", "deploy", false, nullptr, 1));
    ASSERT_EQ(SPOOL_OK, add(kA, "s-2", "deploy", false, nullptr, 1));
    uint64_t newer = seq_of("s-2");
    ASSERT_NE(0u, newer);
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, newer, 1, 1));
    EXPECT_EQ(Ids{}, ids_for(1));

    open(); // a restart: the newer record is gone, the older one's file says it was replaced
    EXPECT_EQ(Ids{}, ids_for(1)) << "the stale state s-1 came back as pending";
    EXPECT_EQ(PIPES_PROTO_STATE_REPLACED, state_of(kA, "s-1"));
    EXPECT_EQ(0u, pending());
}

TEST_F(SpoolTagTest, ATagSentToAnotherUserOrSessionReplacesNothingOfThisOne)
{
    // One SID for every record, as the broker's records (and SYSTEM's programs) have.
    ASSERT_EQ(SPOOL_OK, add(kA, "vpn-alice", "vpn-cert", false, nullptr, 0, "alice"));
    ASSERT_EQ(SPOOL_OK, add(kA, "vpn-bob", "vpn-cert", false, nullptr, 0, "bob"));
    ASSERT_EQ(SPOOL_OK, add(kA, "disk-1", "disk", false, nullptr, 1));
    ASSERT_EQ(SPOOL_OK, add(kA, "disk-2", "disk", false, nullptr, 2));
    ASSERT_EQ(SPOOL_OK, add(kA, "vpn-alice-2", "vpn-cert", false, nullptr, 0, "alice"));

    EXPECT_EQ((Ids{"disk-1", "vpn-alice-2"}), ids_for(1, "TEST\\alice"));
    EXPECT_EQ((Ids{"vpn-bob", "disk-2"}), ids_for(2, "TEST\\bob"));
    EXPECT_EQ(PIPES_PROTO_STATE_REPLACED, state_of(kA, "vpn-alice"));
    EXPECT_EQ(PIPES_PROTO_STATE_PENDING, state_of(kA, "vpn-bob"));
    open();
    EXPECT_EQ((Ids{"vpn-bob", "disk-2"}), ids_for(2, "TEST\\bob"));
}

} // namespace
