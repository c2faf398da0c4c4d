// spool_answer_test.cpp - answers kept with their question in the spool (spoolanswer.c, issue 13;
// PROTOCOL.md 5a): the first answer is durable across a reopen, first answer wins, a later one is
// late and changes nothing, the withdraws owed to the other sessions, query states per submitter,
// and what a response that answers nothing gets.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "spoolint.h"
#include "test_util.h"

namespace {

const char *const kA = "S-1-5-21-1111-2222-3333-1001";
const char *const kB = "S-1-5-21-1111-2222-3333-1002";

class SpoolAnswerTest : public SpoolFixture {
protected:
    void SetUp() override { Start(L"spoolanswer"); }
    // A question (two actions, yes and no) from sid, to every session unless session is set.
    uint64_t add(const char *sid, const char *id, bool actions = true, uint32_t session = 0,
                 spool_added *out = nullptr, uint32_t ttl = 0)
    {
        pipes_proto_notification n;
        pipes_proto_notification_init(&n);
        EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "id", id, strlen(id)));
        EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "title", "Go?", 3));
        if (actions) {
            n.action_count = 2;
            strcpy(n.actions[0].id, "yes");
            n.actions[0].id_len = 3;
            strcpy(n.actions[0].label, "Yes");
            n.actions[0].label_len = 3;
            strcpy(n.actions[1].id, "no");
            n.actions[1].id_len = 2;
            strcpy(n.actions[1].label, "No");
            n.actions[1].label_len = 2;
        }
        if (session) {
            n.target = PIPES_PROTO_TARGET_SESSION;
            n.target_session = session;
        }
        if (ttl) {
            n.has_ttl = 1;
            n.ttl = ttl;
        }
        EXPECT_EQ(PIPES_PROTO_OK,
                  pipes_proto_sender_set(&n.sender, PIPES_PROTO_SENDER_USER, "", sid, nullptr));
        spool_added added;
        spool_result res = spool_add(s_, &n, nullptr, now_, &added);
        EXPECT_TRUE(res == SPOOL_OK || res == SPOOL_DUPLICATE) << res;
        if (out)
            *out = added;
        return added.seq;
    }
    // Session's tray answers id: action, or dismissed when action is null.
    spool_result answer(uint32_t session, const char *id, const char *action,
                        spool_answered *out, const char **why = nullptr)
    {
        pipes_proto_answer a;
        EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_answer_init(&a, PIPES_PROTO_TYPE_RESPONSE, id));
        if (action) {
            a.result = PIPES_PROTO_RESULT_ACTION;
            strcpy(a.action, action);
            a.action_len = strlen(action);
        } else {
            a.result = PIPES_PROTO_RESULT_DISMISSED;
        }
        a.has_session = 1;
        a.session = 77; // the tray's claim: the service uses the connection's session
        strcpy(a.user, "TEST\\alice");
        a.user_len = strlen(a.user);
        spool_viewer v = viewer_of(session, "TEST\\alice");
        const char *w = nullptr;
        spool_result res = spool_answer(s_, &v, &a, now_ + 5000, out, &w);
        if (why)
            *why = w;
        return res;
    }
    pipes_proto_answer state(const char *sid, const char *id)
    {
        pipes_proto_answer st;
        spool_state(s_, sid, id, &st);
        EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_answer_validate(&st, nullptr));
        return st;
    }
    // The seqs of the withdraws session is owed.
    std::vector<uint64_t> owed(uint32_t session)
    {
        std::vector<uint64_t> out;
        spool_withdraw w;
        while (spool_next_withdraw(s_, session, out.data(), out.size(), &w)) {
            EXPECT_EQ(PIPES_PROTO_TYPE_WITHDRAW, w.msg.type);
            EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_answer_validate(&w.msg, nullptr));
            out.push_back(w.seq);
        }
        return out;
    }
    std::vector<std::string> pending(uint32_t session)
    {
        return spool_ids(s_, viewer_of(session, "TEST\\alice"));
    }
    size_t answer_files()
    {
        size_t n = 0;
        WIN32_FIND_DATAW fd;
        HANDLE h = FindFirstFileW((dir_ + L"\\*.ans").c_str(), &fd);
        if (h != INVALID_HANDLE_VALUE) {
            do
                n++;
            while (FindNextFileW(h, &fd));
            FindClose(h);
        }
        return n;
    }
};

TEST_F(SpoolAnswerTest, TheFirstAnswerIsStoredDurablyAndSurvivesAReopen)
{
    uint64_t seq = add(kA, "upd-42");
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, seq, 1, 1));
    spool_answered won;
    ASSERT_EQ(SPOOL_OK, answer(1, "upd-42", "yes", &won));
    EXPECT_EQ(SPOOL_ANSWER_WON, won.outcome);
    EXPECT_STREQ(kA, won.sid);
    EXPECT_STREQ("upd-42", won.id);
    EXPECT_EQ(1u, won.winner.session); // the connection's, not the claimed 77
    EXPECT_EQ(1u, answer_files());

    open();
    pipes_proto_answer st = state(kA, "upd-42");
    EXPECT_EQ(PIPES_PROTO_STATE_ANSWERED, st.state);
    EXPECT_EQ(PIPES_PROTO_RESULT_ACTION, st.result);
    EXPECT_STREQ("yes", st.action);
    EXPECT_EQ(1u, st.session);
    EXPECT_STREQ("TEST\\alice", st.user);
    EXPECT_EQ(now_ + 5000, st.time_ms);
    // A resend of the question after the restart is answered at once.
    spool_added again;
    add(kA, "upd-42", true, 0, &again);
    EXPECT_TRUE(again.answered);
    EXPECT_STREQ("yes", again.answer.action);
}

TEST_F(SpoolAnswerTest, FirstAnswerWinsALaterOneIsLateAndChangesNothing)
{
    uint64_t seq = add(kA, "q");
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, seq, 1, 1));
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, seq, 2, 1));
    spool_answered a, b, c;
    ASSERT_EQ(SPOOL_OK, answer(2, "q", nullptr, &a)); // dismissed wins too
    ASSERT_EQ(SPOOL_OK, answer(1, "q", "yes", &b));
    EXPECT_EQ(SPOOL_ANSWER_WON, a.outcome);
    EXPECT_EQ(SPOOL_ANSWER_LATE, b.outcome);
    EXPECT_EQ(PIPES_PROTO_RESULT_DISMISSED, b.winner.result);
    EXPECT_EQ(2u, b.winner.session);
    ASSERT_EQ(SPOOL_OK, answer(2, "q", nullptr, &c)); // the winner's tray sends it again
    EXPECT_EQ(SPOOL_ANSWER_REPEAT, c.outcome);
    spool_stats st;
    spool_get_stats(s_, &st);
    EXPECT_EQ(1u, st.answers);
    EXPECT_EQ(1u, st.answers_late);
    open();
    EXPECT_EQ(PIPES_PROTO_RESULT_DISMISSED, state(kA, "q").result);
    EXPECT_EQ(2u, state(kA, "q").session);
}

TEST_F(SpoolAnswerTest, TheOtherSessionsAreOwedAWithdrawAndNewOnesGetNothing)
{
    uint64_t seq = add(kA, "q");
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, seq, 1, 1));
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, seq, 2, 1));
    EXPECT_TRUE(owed(2).empty());
    spool_answered won;
    ASSERT_EQ(SPOOL_OK, answer(1, "q", "no", &won));
    EXPECT_TRUE(owed(1).empty()); // the session that answered
    EXPECT_EQ(std::vector<uint64_t>{seq}, owed(2));
    EXPECT_TRUE(owed(3).empty());                  // never had it ...
    EXPECT_TRUE(pending(3).empty());               // ... and never will: the pending copy is dropped
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, seq, 4, 1)); // in flight when the answer came: owed one too
    EXPECT_EQ(std::vector<uint64_t>{seq}, owed(4));

    spool_withdrawn(s_, seq, 2);
    EXPECT_TRUE(owed(2).empty());
    open(); // what was withdrawn stays withdrawn
    EXPECT_TRUE(owed(2).empty());
    EXPECT_EQ(std::vector<uint64_t>{seq}, owed(4));
    // A withdraw carries the winning answer.
    spool_withdraw w;
    ASSERT_TRUE(spool_next_withdraw(s_, 4, nullptr, 0, &w));
    EXPECT_STREQ("q", w.msg.id);
    EXPECT_STREQ("no", w.msg.action);
    EXPECT_EQ(1u, w.msg.session);
    // In flight (skipped): nothing else is owed.
    EXPECT_FALSE(spool_next_withdraw(s_, 4, &seq, 1, &w));
}

TEST_F(SpoolAnswerTest, QueryStatesArePerSubmitter)
{
    EXPECT_EQ(PIPES_PROTO_STATE_UNKNOWN, state(kA, "q").state);
    uint64_t seq = add(kA, "q");
    EXPECT_EQ(PIPES_PROTO_STATE_PENDING, state(kA, "q").state);
    EXPECT_EQ(PIPES_PROTO_STATE_UNKNOWN, state(kB, "q").state); // another submitter's id
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, seq, 3, 1));
    pipes_proto_answer st = state(kA, "q");
    EXPECT_EQ(PIPES_PROTO_STATE_DISPLAYED, st.state);
    EXPECT_EQ(3u, st.session);
    spool_answered won;
    ASSERT_EQ(SPOOL_OK, answer(3, "q", "yes", &won));
    EXPECT_EQ(PIPES_PROTO_STATE_ANSWERED, state(kA, "q").state);
    EXPECT_EQ(PIPES_PROTO_STATE_UNKNOWN, state(kB, "q").state);
}

TEST_F(SpoolAnswerTest, TheQuestionOfTheSessionsOwnSubmitterIsAnswered)
{
    // Two submitters' questions with one id: the one this session acknowledged is answered.
    uint64_t a = add(kA, "same");
    uint64_t b = add(kB, "same");
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, b, 1, 1));
    spool_answered won;
    ASSERT_EQ(SPOOL_OK, answer(1, "same", "yes", &won));
    EXPECT_STREQ(kB, won.sid);
    EXPECT_EQ(PIPES_PROTO_STATE_ANSWERED, state(kB, "same").state);
    EXPECT_EQ(PIPES_PROTO_STATE_PENDING, state(kA, "same").state);
    (void)a;
}

TEST_F(SpoolAnswerTest, AResponseThatAnswersNothingHereIsNotFound)
{
    const char *why = nullptr;
    spool_answered out;
    EXPECT_EQ(SPOOL_NOT_FOUND, answer(1, "never", "yes", &out, &why));
    ASSERT_NE(nullptr, why);
    uint64_t plain = add(kA, "plain", false);
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, plain, 1, 1));
    EXPECT_EQ(SPOOL_NOT_FOUND, answer(1, "plain", "yes", &out, &why)); // no actions
    uint64_t other = add(kA, "for-2", true, 2);
    (void)other;
    EXPECT_EQ(SPOOL_NOT_FOUND, answer(1, "for-2", "yes", &out, &why)); // not this session's
    uint64_t q = add(kA, "q");
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, q, 1, 1));
    EXPECT_EQ(SPOOL_NOT_FOUND, answer(1, "q", "maybe", &out, &why)); // not one of its actions
    EXPECT_EQ(0u, answer_files());
}

TEST_F(SpoolAnswerTest, AQuestionToOneSessionStaysAfterItsAckAndGoesWithItsTtl)
{
    uint64_t seq = add(kA, "q", true, 1, nullptr, 60);
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, seq, 1, 1));
    EXPECT_EQ(PIPES_PROTO_STATE_DISPLAYED, state(kA, "q").state);
    spool_answered won;
    ASSERT_EQ(SPOOL_OK, answer(1, "q", "yes", &won));
    EXPECT_EQ(1u, answer_files());
    uint32_t undelivered = 0;
    EXPECT_EQ(1u, spool_expire(s_, now_ + 61000, &undelivered, nullptr));
    EXPECT_EQ(0u, answer_files());
    EXPECT_EQ(PIPES_PROTO_STATE_UNKNOWN, state(kA, "q").state);
}

TEST_F(SpoolAnswerTest, AnAnswerFileWithoutItsRecordIsDeletedAtOpen)
{
    uint64_t seq = add(kA, "q", true, 0, nullptr, 60);
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, seq, 1, 1));
    spool_answered won;
    ASSERT_EQ(SPOOL_OK, answer(1, "q", "yes", &won));
    spool_close(s_);
    s_ = nullptr;
    wchar_t ntf[MAX_PATH];
    spoolfile_path(dir_.c_str(), seq, L"ntf", ntf);
    ASSERT_TRUE(DeleteFileW(ntf));
    open();
    EXPECT_EQ(0u, answer_files());
}

} // namespace
