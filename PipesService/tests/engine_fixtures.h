// engine_fixtures.h - what the tests of the service's submit and delivery objects share: an
// in-process fake tray (a pipes_server on \\.\pipe\Pipes.Notify.<session>), a submitter (a
// PipesLib client of the submit pipe collecting replies), a raw client (a bare pipe handle: one
// that sends what it likes and reads only when told), and EngineTest, a fixture with a spool, a
// configuration whose tray session check is redirected to this process's session, and the submit
// and delivery objects started on demand.
#ifndef PIPES_SVC_ENGINE_FIXTURES_H
#define PIPES_SVC_ENGINE_FIXTURES_H

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "svc.h" // windows.h first

#include <sddl.h>

#include "test_util.h"

using std::chrono::seconds;

// Polls cond (every 10 ms, not as ordering: the condition is what is waited for) until it holds
// or the timeout passes.
inline bool wait_until(const std::function<bool()> &cond, seconds timeout)
{
    auto end = std::chrono::steady_clock::now() + timeout;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > end)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

// This process's user SID ("S-1-5-21-..."), "" if unreadable.
inline std::string own_sid()
{
    HANDLE token = nullptr;
    union {
        TOKEN_USER user;
        BYTE raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } u;
    DWORD need = 0;
    LPWSTR text = nullptr;
    std::string out;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token) &&
        GetTokenInformation(token, TokenUser, &u, sizeof u, &need) &&
        ConvertSidToStringSidW(u.user.User.Sid, &text)) {
        char buf[PIPES_PROTO_MAX_SID + 1];
        if (svc_to_utf8(text, buf, sizeof buf) > 0)
            out = buf;
    }
    if (text)
        LocalFree(text);
    if (token)
        CloseHandle(token);
    return out;
}

// A tray for one session: acknowledges what it gets; or refuses the first one with a temporary
// reason (queue_full), which makes the service pause the session and arm its retry timer; or
// refuses everything for good with a given detail text. sddl (optional) is its pipe's security
// descriptor, e.g. to name another owner.
class FakeTray {
public:
    enum Mode { AckAll, RefuseFirst, RejectAll };

    FakeTray(uint32_t session, Mode mode, std::string detail = "", const wchar_t *sddl = nullptr)
        : mode_(mode), detail_(std::move(detail))
    {
        wchar_t name[PIPES_PROTO_PIPE_NAME_BUFSIZE];
        pipes_proto_tray_pipe_name_w(session, name, PIPES_PROTO_PIPE_NAME_BUFSIZE);
        pipes_server_config sc;
        memset(&sc, 0, sizeof sc);
        sc.struct_size = sizeof sc;
        sc.pipe_name = name;
        sc.sddl = sddl;
        sc.max_message_size = PIPES_PROTO_MAX_MESSAGE;
        sc.on_event = on_event;
        sc.user_data = this;
        status_ = pipes_server_start(&sc, &server_);
    }
    FakeTray(uint32_t session, bool refuse_first)
        : FakeTray(session, refuse_first ? RefuseFirst : AckAll)
    {
    }
    ~FakeTray()
    {
        if (server_)
            pipes_server_stop(server_);
    }
    pipes_status status() const { return status_; }
    std::vector<std::string> ids()
    {
        std::lock_guard<std::mutex> lk(m_);
        return ids_;
    }
    // Every notification received, as parsed.
    std::vector<pipes_proto_notification> received()
    {
        std::lock_guard<std::mutex> lk(m_);
        return got_;
    }
    size_t count()
    {
        std::lock_guard<std::mutex> lk(m_);
        return ids_.size();
    }

private:
    static void PIPES_CALL on_event(const pipes_event *ev, void *user_data)
    {
        FakeTray *t = static_cast<FakeTray *>(user_data);
        if (ev->type != PIPES_EVENT_MESSAGE)
            return;
        pipes_proto_notification n;
        pipes_proto_reply r;
        if (pipes_proto_parse_notification(ev->data, ev->size, &n, nullptr) != PIPES_PROTO_OK)
            return;
        bool refuse;
        {
            std::lock_guard<std::mutex> lk(t->m_);
            refuse = t->mode_ == RefuseFirst && t->ids_.empty();
            t->ids_.push_back(n.id);
            t->got_.push_back(n);
        }
        if (refuse)
            pipes_proto_reply_rejected(&r, n.id, PIPES_PROTO_REASON_QUEUE_FULL, "busy");
        else if (t->mode_ == RejectAll)
            pipes_proto_reply_rejected(&r, n.id, PIPES_PROTO_REASON_NOT_ALLOWED,
                                       t->detail_.c_str());
        else
            pipes_proto_reply_init(&r, PIPES_PROTO_REPLY_ACK, n.id);
        char buf[1024];
        size_t len = 0;
        if (pipes_proto_write_reply(&r, buf, sizeof buf, &len) == PIPES_PROTO_OK)
            pipes_server_send(ev->server, ev->connection_id, buf, len, nullptr);
    }

    Mode mode_;
    std::string detail_;
    pipes_server *server_ = nullptr;
    pipes_status status_ = PIPES_OK;
    std::mutex m_;
    std::vector<std::string> ids_;
    std::vector<pipes_proto_notification> got_;
};

// A submitter's connection to the submit pipe, collecting replies.
class Submitter {
public:
    explicit Submitter(const wchar_t *pipe, size_t max_message_size = 0)
    {
        pipes_client_config cc;
        memset(&cc, 0, sizeof cc);
        cc.struct_size = sizeof cc;
        cc.pipe_name = pipe;
        cc.max_message_size = max_message_size;
        cc.connect_timeout_ms = 5000;
        cc.on_event = on_event;
        cc.user_data = this;
        status_ = pipes_client_connect(&cc, &client_);
    }
    ~Submitter()
    {
        if (client_)
            pipes_client_close(client_);
    }
    pipes_status status() const { return status_; }
    pipes_status send(const std::string &json)
    {
        return pipes_client_send(client_, json.data(), json.size(), nullptr);
    }
    // The next reply, or type -1 after the timeout.
    pipes_proto_reply next(seconds timeout)
    {
        std::unique_lock<std::mutex> lk(m_);
        pipes_proto_reply r;
        memset(&r, 0, sizeof r);
        r.type = (pipes_proto_reply_type)-1;
        if (cv_.wait_for(lk, timeout, [&] { return !replies_.empty(); })) {
            r = replies_.front();
            replies_.pop_front();
        }
        return r;
    }
    // Sends json and returns the next reply.
    pipes_proto_reply call(const std::string &json, seconds timeout = seconds(10))
    {
        if (send(json) != PIPES_OK) {
            pipes_proto_reply r;
            memset(&r, 0, sizeof r);
            r.type = (pipes_proto_reply_type)-1;
            return r;
        }
        return next(timeout);
    }
    // Whether the service closed the connection, waiting up to timeout for it.
    bool closed(seconds timeout)
    {
        std::unique_lock<std::mutex> lk(m_);
        return cv_.wait_for(lk, timeout, [&] { return disconnected_; });
    }

private:
    static void PIPES_CALL on_event(const pipes_event *ev, void *user_data)
    {
        Submitter *s = static_cast<Submitter *>(user_data);
        std::lock_guard<std::mutex> lk(s->m_);
        pipes_proto_reply r;
        if (ev->type == PIPES_EVENT_DISCONNECTED)
            s->disconnected_ = true;
        else if (ev->type == PIPES_EVENT_MESSAGE &&
                 pipes_proto_parse_reply(ev->data, ev->size, &r, nullptr) == PIPES_PROTO_OK)
            s->replies_.push_back(r);
        s->cv_.notify_all();
    }

    pipes_client *client_ = nullptr;
    pipes_status status_ = PIPES_OK;
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<pipes_proto_reply> replies_;
    bool disconnected_ = false;
};

// A bare client handle (message mode, identification level): writes what it is given, reads only
// when asked, never on its own.
class RawClient {
public:
    explicit RawClient(const wchar_t *pipe)
    {
        for (int i = 0; i < 50; i++) {
            h_ = CreateFileW(pipe, GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                             SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, nullptr);
            if (h_ != INVALID_HANDLE_VALUE || GetLastError() != ERROR_PIPE_BUSY)
                break;
            WaitNamedPipeW(pipe, 100);
        }
        if (h_ != INVALID_HANDLE_VALUE) {
            DWORD mode = PIPE_READMODE_MESSAGE;
            SetNamedPipeHandleState(h_, &mode, nullptr, nullptr);
        }
    }
    ~RawClient()
    {
        if (h_ != INVALID_HANDLE_VALUE)
            CloseHandle(h_);
    }
    bool ok() const { return h_ != INVALID_HANDLE_VALUE; }
    bool write(const std::string &msg)
    {
        DWORD w = 0;
        return WriteFile(h_, msg.data(), (DWORD)msg.size(), &w, nullptr) && w == msg.size();
    }
    // Whether the server closed its end: true once the pipe is broken and nothing is left to
    // read (what is left is read and kept in replies()).
    bool broken()
    {
        for (;;) {
            DWORD avail = 0;
            if (!PeekNamedPipe(h_, nullptr, 0, nullptr, &avail, nullptr))
                return true;
            if (avail == 0)
                return false;
            std::string buf(avail, '\0');
            DWORD got = 0;
            if (!ReadFile(h_, &buf[0], avail, &got, nullptr) && GetLastError() != ERROR_MORE_DATA)
                return true;
            buf.resize(got);
            replies_.push_back(buf);
        }
    }
    const std::vector<std::string> &replies() const { return replies_; }

private:
    HANDLE h_ = INVALID_HANDLE_VALUE;
    std::vector<std::string> replies_;
};

// A spool, a configuration and the submit and delivery objects of the engine, on pipes of their
// own: the submit pipe's name is unique to the test, and so is the session whose tray is served
// (its pipe name); the tray's session and user checks are redirected to this process's session
// and user (the fake trays are ours; a test that plays a squatter expects another user).
class EngineTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        static int counter = 0;
        ++counter;
        dir_ = make_temp_dir(L"enginetest");
        session_ = 40000 + GetCurrentProcessId() % 10000 * 10 + (uint32_t)counter;
        svc_config_defaults(&cfg_);
        DWORD own = 0;
        ProcessIdToSessionId(GetCurrentProcessId(), &own);
        own_session_ = own;
        cfg_.has_session_override = 1;
        cfg_.session_override = own;
        snprintf(cfg_.tray_user_override, sizeof cfg_.tray_user_override, "%s",
                 own_sid().c_str());
        swprintf(cfg_.submit_pipe, PIPES_MAX_PIPE_NAME, L"\\\\.\\pipe\\Pipes.Test.Submit.%lu.%d",
                 (unsigned long)GetCurrentProcessId(), counter);
        s_ = open_test_spool(dir_);
        ASSERT_NE(nullptr, s_);
    }
    void TearDown() override
    {
        if (sb_) {
            submit_set_stopping(sb_);
            submit_stop(sb_);
        }
        delivery_destroy(d_);
        submit_free(sb_);
        spool_close(s_);
        remove_tree(dir_);
    }
    // Creates submit and delivery (hook: the identity hook, if any) and starts the submit pipe.
    void start(submit_identity_hook hook = nullptr, void *hook_ctx = nullptr)
    {
        sb_ = submit_create(&cfg_, s_);
        ASSERT_NE(nullptr, sb_);
        if (hook)
            submit_set_identity_hook(sb_, hook, hook_ctx);
        d_ = delivery_create(s_, &cfg_, submit_displayed, sb_);
        ASSERT_NE(nullptr, d_);
        ASSERT_EQ(PIPES_OK, submit_start(sb_, &cfg_, d_));
    }
    void add_broadcast(const char *id)
    {
        pipes_proto_notification n;
        pipes_proto_notification_init(&n);
        ASSERT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "id", id, strlen(id)));
        ASSERT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "title", "t", 1));
        spool_added added;
        ASSERT_EQ(SPOOL_OK, spool_add(s_, &n, nullptr, svc_now_ms(), &added));
    }
    spool_stats spool_now()
    {
        spool_stats st;
        spool_get_stats(s_, &st);
        return st;
    }
    uint64_t pending() { return spool_now().pending_deliveries; }
    submit_stats submit_now()
    {
        submit_stats st;
        submit_get_stats(sb_, &st);
        return st;
    }
    delivery_stats delivery_now()
    {
        delivery_stats st;
        delivery_get_stats(d_, &st);
        return st;
    }

    std::wstring dir_;
    uint32_t session_ = 0, own_session_ = 0;
    svc_config cfg_{};
    spool *s_ = nullptr;
    delivery *d_ = nullptr;
    submit *sb_ = nullptr;
};

#endif
