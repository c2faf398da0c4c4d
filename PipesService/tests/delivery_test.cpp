// delivery_test.cpp - the service's delivery and submit objects against an in-process fake tray
// (a pipes_server on \\.\pipe\Pipes.Notify.<session>, session check redirected to this process's
// session): when a session is closed while its retry timer or a tray reply is in flight, a
// CONNECTED event handled before the creating call stored its handle, and `displayed` for a
// resend (same id, "wait") of a record a tray already acknowledged. The interleavings are forced
// with delivery's test hook (delivery_set_test_hook): a thread held at one named point until
// another point is reached.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine_fixtures.h"

namespace {

// Records every point delivery reaches; can hold the first thread reaching one point until any
// of some other points has been reached (or the timeout: a test failure, never a hang).
class Points {
public:
    static void hook(void *ctx, const char *where) { static_cast<Points *>(ctx)->reached(where); }

    void hold(const std::string &at, std::vector<std::string> until)
    {
        std::lock_guard<std::mutex> lk(m_);
        hold_at_ = at;
        until_ = std::move(until);
    }
    bool wait_for(const std::string &what, seconds timeout)
    {
        std::unique_lock<std::mutex> lk(m_);
        return cv_.wait_for(lk, timeout, [&] { return index_locked(what) >= 0; });
    }
    long index_of(const std::string &what)
    {
        std::lock_guard<std::mutex> lk(m_);
        return index_locked(what);
    }
    bool hold_timed_out()
    {
        std::lock_guard<std::mutex> lk(m_);
        return timed_out_;
    }
    std::string trace()
    {
        std::lock_guard<std::mutex> lk(m_);
        std::string out;
        for (auto &s : seen_)
            if (s != "delivery.event")
                out += s + " ";
        return out;
    }

private:
    void reached(const char *where)
    {
        std::unique_lock<std::mutex> lk(m_);
        seen_.push_back(where);
        cv_.notify_all();
        if (hold_at_ != where)
            return;
        hold_at_.clear(); // once
        bool released = cv_.wait_for(lk, seconds(20), [&] {
            for (auto &u : until_)
                if (index_locked(u) >= 0)
                    return true;
            return false;
        });
        if (!released)
            timed_out_ = true;
    }
    long index_locked(const std::string &what)
    {
        auto it = std::find(seen_.begin(), seen_.end(), what);
        return it == seen_.end() ? -1 : (long)(it - seen_.begin());
    }

    std::mutex m_;
    std::condition_variable cv_;
    std::vector<std::string> seen_;
    std::string hold_at_;
    std::vector<std::string> until_;
    bool timed_out_ = false;
};

class DeliveryTest : public EngineTest {
protected:
    Points points_;
};

// Issue 11 item 8: session_close closed the client before it stopped the retry timer, so an
// on_retry running then sent on the freed client. The retry callback is held at its entry until
// close has gone as far as it goes without it; its work must be over before the client is closed.
TEST_F(DeliveryTest, TheRetryTimerNeverRunsOnAClosedClient)
{
    add_broadcast("r1");
    FakeTray tray(session_, true);
    ASSERT_EQ(PIPES_OK, tray.status());
    d_ = delivery_create(s_, &cfg_, nullptr, nullptr);
    delivery_set_test_hook(d_, Points::hook, &points_);
    points_.hold("delivery.retry", {"delivery.close.timer_wait", "delivery.client_closed"});
    ASSERT_TRUE(delivery_session_add(d_, session_));
    ASSERT_TRUE(points_.wait_for("delivery.timer_armed", seconds(10))) << points_.trace();
    ASSERT_TRUE(points_.wait_for("delivery.retry", seconds(15))) << points_.trace(); // 5 s timer
    std::thread closer([&] { delivery_session_remove(d_, session_); });
    closer.join();
    EXPECT_FALSE(points_.hold_timed_out()) << points_.trace();
    long done = points_.index_of("delivery.retry.done");
    long closed = points_.index_of("delivery.client_closed");
    ASSERT_GE(done, 0) << points_.trace();
    ASSERT_GE(closed, 0) << points_.trace();
    EXPECT_LT(done, closed) << "on_retry ran after the client was closed: " << points_.trace();
}

// The other order: a tray's temporary rejection handled while the session is being closed must
// not arm the retry timer again (it would fire after the session is freed).
TEST_F(DeliveryTest, AReplyHandledWhileClosingArmsNoTimer)
{
    add_broadcast("r1");
    FakeTray tray(session_, true);
    ASSERT_EQ(PIPES_OK, tray.status());
    d_ = delivery_create(s_, &cfg_, nullptr, nullptr);
    delivery_set_test_hook(d_, Points::hook, &points_);
    points_.hold("delivery.reply", {"delivery.close.marked"});
    ASSERT_TRUE(delivery_session_add(d_, session_));
    ASSERT_TRUE(points_.wait_for("delivery.reply", seconds(10))) << points_.trace();
    std::thread closer([&] { delivery_session_remove(d_, session_); });
    closer.join();
    EXPECT_FALSE(points_.hold_timed_out()) << points_.trace();
    EXPECT_GE(points_.index_of("delivery.reply.unlocked"), 0) << points_.trace();
    EXPECT_LT(points_.index_of("delivery.timer_armed"), 0) << points_.trace();
}

// Issue 11 item 4: events may come before the call that created the client has returned and
// stored its handle. Here the CONNECTED event is handled completely before session_open stores
// the client it got; the record must still go out on that connection.
TEST_F(DeliveryTest, AConnectionHandledBeforeConnectReturnedStillDelivers)
{
    add_broadcast("early");
    FakeTray tray(session_, false);
    ASSERT_EQ(PIPES_OK, tray.status());
    d_ = delivery_create(s_, &cfg_, nullptr, nullptr);
    delivery_set_test_hook(d_, Points::hook, &points_);
    points_.hold("delivery.connect_returned", {"delivery.connected"});
    ASSERT_TRUE(delivery_session_add(d_, session_));
    EXPECT_FALSE(points_.hold_timed_out()) << points_.trace();
    EXPECT_TRUE(wait_until([&] { return pending() == 0; }, seconds(10))) << points_.trace();
    EXPECT_EQ(std::vector<std::string>{"early"}, tray.ids());
}

// Issue 11 item 10: `pipes-notify --wait` resending a record a tray had already acknowledged
// never got `displayed` (no tray acknowledges it again). The resend is answered from the record.
TEST_F(DeliveryTest, AResendWithWaitOfADisplayedRecordGetsDisplayed)
{
    FakeTray tray(session_, false);
    ASSERT_EQ(PIPES_OK, tray.status());
    start();
    ASSERT_TRUE(delivery_session_add(d_, session_));
    const std::string msg = "{\"v\":1,\"id\":\"w-1\",\"title\":\"t\",\"wait\":true}";
    for (int round = 0; round < 2; round++) {
        SCOPED_TRACE(round == 0 ? "first submission" : "resend, new connection");
        Submitter sub(cfg_.submit_pipe);
        ASSERT_EQ(PIPES_OK, sub.status());
        ASSERT_EQ(PIPES_OK, sub.send(msg));
        pipes_proto_reply r = sub.next(seconds(10));
        EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED, r.type);
        r = sub.next(seconds(10));
        EXPECT_EQ(PIPES_PROTO_REPLY_DISPLAYED, r.type);
        EXPECT_STREQ("w-1", r.id);
        EXPECT_TRUE(r.has_session);
        EXPECT_EQ(session_, r.session);
    }
    EXPECT_EQ(std::vector<std::string>{"w-1"}, tray.ids()); // delivered once
}

// PROTOCOL.md: a message over 65,536 bytes, of any size, gets a `too_large` rejection in its
// place among the replies, and the connection goes on. (Before, the service let the library read
// up to 256 KiB and then dropped the connection for anything larger, with no reply.)
TEST_F(DeliveryTest, AnOversizedSubmissionIsRejectedTooLargeAndTheConnectionGoesOn)
{
    start();
    Submitter sub(cfg_.submit_pipe, 16u << 20);
    ASSERT_EQ(PIPES_OK, sub.status());
    for (size_t size : {size_t(PIPES_PROTO_MAX_MESSAGE) + 1, size_t(300u << 10), size_t(10u << 20)}) {
        SCOPED_TRACE(std::to_string(size) + " bytes");
        std::string msg = "{\"v\":1,\"id\":\"big\",\"title\":\"";
        msg.append(size - msg.size() - 2, 'x');
        msg += "\"}";
        ASSERT_EQ(size, msg.size());
        ASSERT_EQ(PIPES_OK, sub.send(msg));
        ASSERT_EQ(PIPES_OK, sub.send("{\"v\":1,\"id\":\"after-" + std::to_string(size) +
                                     "\",\"title\":\"t\"}"));
        pipes_proto_reply r = sub.next(seconds(20));
        EXPECT_EQ(PIPES_PROTO_REPLY_REJECTED, r.type);
        EXPECT_EQ(PIPES_PROTO_REASON_TOO_LARGE, r.reason);
        EXPECT_STREQ("message_too_large", r.error);
        EXPECT_STREQ("", r.id) << "no id of an unread message can be echoed";
        r = sub.next(seconds(20));
        EXPECT_EQ(PIPES_PROTO_REPLY_ACCEPTED, r.type) << "the connection did not go on";
        EXPECT_EQ("after-" + std::to_string(size), std::string(r.id));
    }
}

} // namespace
