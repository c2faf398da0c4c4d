// session_test.cpp - what the service does with SERVICE_CONTROL_SESSIONCHANGE events
// (delivery_session_event, which the control handler's events reach through core.c): which
// events start tracking a session's tray, logoff stops it and makes a later desktop with the same
// id get the broadcasts again, session 0 is never tracked. Wine never delivers SESSIONCHANGE,
// so the events are fed in directly; the SCM's delivery of them is Windows-only.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "svc.h" // windows.h first

#include <wtsapi32.h>

#include "test_util.h"

namespace {

class SessionEventTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        dir_ = make_temp_dir(L"sessiontest");
        s_ = open_test_spool(dir_);
        ASSERT_NE(nullptr, s_);
        svc_config_defaults(&cfg_);
        d_ = delivery_create(s_, &cfg_, nullptr, nullptr);
        ASSERT_NE(nullptr, d_);
    }
    void TearDown() override
    {
        delivery_destroy(d_);
        spool_close(s_);
        remove_tree(dir_);
    }
    std::vector<uint32_t> tracked()
    {
        delivery_stats st;
        delivery_get_stats(d_, &st);
        std::vector<uint32_t> out;
        for (size_t i = 0; i < st.session_count; i++)
            out.push_back(st.sessions[i].session);
        return out;
    }
    bool pending_for(uint32_t session)
    {
        spool_item item;
        spool_viewer v = viewer_of(session);
        if (!spool_next(s_, 0, &v, &item))
            return false;
        free(item.msg);
        return true;
    }

    std::wstring dir_;
    svc_config cfg_{};
    spool *s_ = nullptr;
    delivery *d_ = nullptr;
};

TEST_F(SessionEventTest, LogonUnlockAndConnectTrackASessionOnce)
{
    EXPECT_NE(nullptr, delivery_session_event(d_, WTS_SESSION_LOGON, 7));
    EXPECT_EQ(std::vector<uint32_t>{7}, tracked());
    // Already tracked: nothing changes.
    EXPECT_EQ(nullptr, delivery_session_event(d_, WTS_SESSION_UNLOCK, 7));
    EXPECT_EQ(nullptr, delivery_session_event(d_, WTS_REMOTE_CONNECT, 7));
    EXPECT_NE(nullptr, delivery_session_event(d_, WTS_CONSOLE_CONNECT, 8));
    EXPECT_NE(nullptr, delivery_session_event(d_, WTS_REMOTE_CONNECT, 9));
    EXPECT_NE(nullptr, delivery_session_event(d_, WTS_SESSION_UNLOCK, 10));
    EXPECT_EQ((std::vector<uint32_t>{7, 8, 9, 10}), tracked());
}

TEST_F(SessionEventTest, SessionZeroAndOtherEventsAreIgnored)
{
    EXPECT_EQ(nullptr, delivery_session_event(d_, WTS_SESSION_LOGON, 0));
    EXPECT_EQ(nullptr, delivery_session_event(d_, WTS_SESSION_LOCK, 5));
    EXPECT_EQ(nullptr, delivery_session_event(d_, WTS_CONSOLE_DISCONNECT, 5));
    EXPECT_TRUE(tracked().empty());
}

TEST_F(SessionEventTest, LogoffStopsTrackingAndALaterDesktopGetsBroadcastsAgain)
{
    pipes_proto_notification n;
    pipes_proto_notification_init(&n);
    ASSERT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "id", "b-1", 3));
    ASSERT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "title", "t", 1));
    spool_added added;
    ASSERT_EQ(SPOOL_OK, spool_add(s_, &n, nullptr, svc_now_ms(), &added));

    ASSERT_NE(nullptr, delivery_session_event(d_, WTS_SESSION_LOGON, 7));
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, added.seq, 7, 1)); // session 7's tray displayed it
    EXPECT_FALSE(pending_for(7));

    EXPECT_NE(nullptr, delivery_session_event(d_, WTS_SESSION_LOGOFF, 7));
    EXPECT_TRUE(tracked().empty());
    EXPECT_TRUE(pending_for(7)); // its acknowledgement was forgotten

    EXPECT_NE(nullptr, delivery_session_event(d_, WTS_SESSION_LOGON, 7));
    EXPECT_EQ(std::vector<uint32_t>{7}, tracked());
}

// The service sees only real sessions and trusts each tray by its own session: the stand-in
// session of the test program PipesService-twosession (tests/standin_session.c, a link seam) is
// not in the engine that PipesService.exe and these tests link (sessionhost.c). Would fail if the
// stand-in were linked into the engine: session console+1 would be enumerated though no such
// session exists, and its tray expected in the console session.
TEST(SessionHostTest, TheServiceEnumeratesOnlyRealSessionsAndTrustsEachByItself)
{
    std::vector<uint32_t> real;
    WTS_SESSION_INFOW *info = nullptr;
    DWORD count = 0;
    if (WTSEnumerateSessionsW(WTS_CURRENT_SERVER_HANDLE, 0, 1, &info, &count)) {
        for (DWORD i = 0; i < count; i++)
            real.push_back(info[i].SessionId);
        WTSFreeMemory(info);
    }
    const uint32_t console = WTSGetActiveConsoleSessionId();
    real.push_back(console);
    uint32_t ids[SVC_MAX_SESSIONS];
    const size_t n = svc_sessions_enumerate(ids, SVC_MAX_SESSIONS);
    EXPECT_GE(n, 1u);
    for (size_t i = 0; i < n; i++)
        EXPECT_NE(real.end(), std::find(real.begin(), real.end(), ids[i]))
            << "session " << ids[i] << " is not a real session";
    for (uint32_t s : {console, console + 1, 7u})
        EXPECT_EQ(s, svc_session_host(s));
    EXPECT_EQ(0u, svc_session_stand_in(console));
}

} // namespace
