// tray_trust_test.cpp - what the service trusts of a tray (issue 12 part 5; docs/SECURITY.md
// "Senders, abuse and the tray pipe"): a tray pipe not owned by the session's user is a squatter:
// it gets nothing, the records wait for the real tray and are never counted displayed, and it is
// reported; text from a tray reaches the log without line breaks.
//
// Under Wine every process runs as one user, so "another user" is either the configuration's tray
// user override (svc_config.tray_user_override, tests only: the fake tray's pipe, owned by this
// process's user, is then not owned by who the session's tray must be), or a pipe created with
// another owner.
#include <gtest/gtest.h>

#include <string>

#include "engine_fixtures.h"

namespace {

class TrayTrustTest : public EngineTest {};

std::string read_all(const std::wstring &path)
{
    std::string out;
    HANDLE h = CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                           OPEN_EXISTING, 0, nullptr);
    if (h == INVALID_HANDLE_VALUE)
        return out;
    char buf[4096];
    DWORD got = 0;
    while (ReadFile(h, buf, sizeof buf, &got, nullptr) && got > 0)
        out.append(buf, got);
    CloseHandle(h);
    return out;
}

// The service's text log in a folder of its own, opened as the service opens its logs folder.
struct TestLog {
    std::wstring path;
    safedir dir{};
    explicit TestLog(const std::wstring &folder) : path(folder)
    {
        safedir_report why{};
        EXPECT_TRUE(safedir_open(&dir, path.c_str(), nullptr, 0, &why));
        svc_log_init(&dir, 1u << 20, 0);
    }
    // Closes the log and returns what it holds.
    std::string Close()
    {
        svc_log_close();
        safedir_close(&dir);
        std::string log = read_all(path + L"\\PipesService.log");
        remove_tree(path);
        return log;
    }
};


// Before: a squatter of the tray pipe received the notification and `--wait` reported it
// displayed. Now: nothing is sent to it; once the real tray serves the pipe, it gets the record
// and the waiting submitter its `displayed`.
TEST_F(TrayTrustTest, ASquattedTrayPipeGetsNothingAndTheRecordWaitsForTheRealTray)
{
    TestLog logs(dir_ + L"-logs");
    snprintf(cfg_.tray_user_override, sizeof cfg_.tray_user_override, "%s",
             "S-1-5-21-1111-2222-3333-4444");
    FakeTray squatter(session_, FakeTray::AckAll);
    ASSERT_EQ(PIPES_OK, squatter.status());
    start();
    ASSERT_TRUE(delivery_session_add(d_, session_));
    Submitter sub(cfg_.submit_pipe);
    ASSERT_EQ(PIPES_PROTO_REPLY_ACCEPTED,
              sub.call("{\"v\":1,\"id\":\"sq-1\",\"title\":\"t\",\"wait\":true}").type);
    ASSERT_TRUE(wait_until([&] { return delivery_now().squats >= 1; }, seconds(10)));
    delivery_kick(d_); // nothing may go out on the squatted connection, even when kicked
    delivery_stats ds = delivery_now();
    EXPECT_EQ(1, ds.sessions[0].squatted);
    EXPECT_EQ(0u, squatter.count()) << "the squatter received a notification";
    EXPECT_EQ(1u, pending());
    EXPECT_EQ((pipes_proto_reply_type)-1, sub.next(seconds(0)).type) << "counted displayed";
    delivery_poll(d_); // reports it: Event Log (a stub under Wine) and the text log
    std::string log = logs.Close();
    // Event 1020 (this test program has no message table: the log has the id and inserts).
    EXPECT_NE(std::string::npos, log.find(" 1020 ")) << log;
    EXPECT_NE(std::string::npos, log.find(own_sid())) << "who holds it: " << log;

    // The squatter is gone and the real tray (its user now the expected one) serves the pipe.
    delivery_session_remove(d_, session_);
    snprintf(cfg_.tray_user_override, sizeof cfg_.tray_user_override, "%s", own_sid().c_str());
    ASSERT_TRUE(delivery_session_add(d_, session_));
    pipes_proto_reply r = sub.next(seconds(10));
    EXPECT_EQ(PIPES_PROTO_REPLY_DISPLAYED, r.type);
    EXPECT_EQ(1u, squatter.count()) << "the real tray (the same pipe server here) got it";
    EXPECT_EQ(0u, pending());
}

// The owner of the pipe instance decides, not the user of the process serving it: a pipe this
// process (the session's user here) serves but created with another owner (Administrators, as an
// elevated process's default owner would be) is not the session's tray. Failed before the service
// read the owner (GetSecurityInfo): the server process's user matched and the record went out.
TEST_F(TrayTrustTest, ATrayPipeOwnedBySomeoneElseIsNotTrustedWhoeverServesIt)
{
    FakeTray other(session_, FakeTray::AckAll, "", L"O:BAD:P(A;;GA;;;WD)");
    ASSERT_EQ(PIPES_OK, other.status());
    start();
    ASSERT_TRUE(delivery_session_add(d_, session_));
    add_broadcast("owner-1");
    delivery_kick(d_);
    ASSERT_TRUE(wait_until([&] { return delivery_now().squats >= 1; }, seconds(10)));
    delivery_kick(d_);
    EXPECT_EQ(0u, other.count()) << "a pipe owned by Administrators got the user's notification";
    EXPECT_EQ(1u, pending());
    delivery_session_remove(d_, session_);
}

// A tray's rejection detail with CR/LF and control characters must not forge lines in the text
// log (nor the Event Log, which gets the same text).
TEST_F(TrayTrustTest, ATraysTextReachesTheLogWithoutLineBreaks)
{
    TestLog logs(dir_ + L"-logs");
    FakeTray tray(session_, FakeTray::RejectAll,
                  "bad\r\n2026-01-01T00:00:00Z ERROR 1007 forged\x01 line");
    ASSERT_EQ(PIPES_OK, tray.status());
    add_broadcast("crlf-1");
    start();
    ASSERT_TRUE(delivery_session_add(d_, session_));
    ASSERT_TRUE(wait_until([&] { return delivery_now().tray_rejected >= 1; }, seconds(10)));
    delivery_session_remove(d_, session_);
    std::string log = logs.Close();
    ASSERT_NE(std::string::npos, log.find("bad")) << log;
    EXPECT_EQ(std::string::npos, log.find("\n2026-01-01T00:00:00Z ERROR 1007 forged")) << log;
    EXPECT_EQ(std::string::npos, log.find("\r2026-01-01T00:00:00Z")) << log;
    EXPECT_EQ(std::string::npos, log.find('\x01')) << log;
    EXPECT_NE(std::string::npos, log.find("forged  line")) << log;
}

} // namespace
