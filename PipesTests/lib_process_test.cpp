// lib_process_test.cpp - clients in a separate process (pipes_test_peer.exe, spawned with
// CreateProcessW): they exchange messages with the server, and when killed with TerminateProcess
// mid-stream the server reports the disconnect and keeps serving everyone else.
#include "test_support.h"

#include <map>
#include <memory>

namespace {

using namespace pt;

// Tags of in-process clients; peers use their process id as tag.
constexpr uint32_t kLocalTag = 0xF0000000u;

std::wstring PeerPath()
{
    wchar_t path[MAX_PATH];
    DWORD n = GetModuleFileNameW(nullptr, path, MAX_PATH);
    std::wstring p(path, n);
    return p.substr(0, p.find_last_of(L"\\/") + 1) + L"pipes_test_peer.exe";
}

// One pipes_test_peer.exe process. Its stdout/stderr go to a temporary file, printed when the
// test has failed. The destructor kills it if it is still running.
class PeerProcess {
public:
    bool Start(const std::wstring &args)
    {
        wchar_t dir[MAX_PATH], file[MAX_PATH];
        GetTempPathW(MAX_PATH, dir);
        GetTempFileNameW(dir, L"ppr", 0, file);
        log_path_ = file;
        SECURITY_ATTRIBUTES sa = {sizeof sa, nullptr, TRUE};
        HANDLE out = CreateFileW(file, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                                 CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
        STARTUPINFOW si;
        std::memset(&si, 0, sizeof si);
        si.cb = sizeof si;
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdInput = nullptr;
        si.hStdOutput = out;
        si.hStdError = out;
        std::wstring cmd = L"\"" + PeerPath() + L"\" " + args;
        std::vector<wchar_t> buf(cmd.begin(), cmd.end());
        buf.push_back(L'\0');
        BOOL ok = CreateProcessW(nullptr, buf.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr,
                                 &si, &pi_);
        if (out != INVALID_HANDLE_VALUE)
            CloseHandle(out);
        if (!ok) {
            ADD_FAILURE() << "CreateProcessW failed (" << GetLastError() << ") for "
                          << std::string(cmd.begin(), cmd.end());
            std::memset(&pi_, 0, sizeof pi_);
            return false;
        }
        return true;
    }

    DWORD pid() const { return pi_.dwProcessId; }

    void Kill()
    {
        ASSERT_NE(pi_.hProcess, nullptr);
        ASSERT_TRUE(TerminateProcess(pi_.hProcess, 99));
        ASSERT_EQ(WaitForSingleObject(pi_.hProcess, 10000), WAIT_OBJECT_0);
    }

    // The exit code, or -1 if it did not exit in time.
    long WaitExit(DWORD timeout_ms = 20000)
    {
        if (!pi_.hProcess || WaitForSingleObject(pi_.hProcess, timeout_ms) != WAIT_OBJECT_0)
            return -1;
        DWORD code = 0;
        GetExitCodeProcess(pi_.hProcess, &code);
        return long(code);
    }

    std::string Output() const
    {
        std::string s;
        HANDLE h = CreateFileW(log_path_.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                               nullptr, OPEN_EXISTING, 0, nullptr);
        if (h == INVALID_HANDLE_VALUE)
            return s;
        char buf[4096];
        DWORD n = 0;
        while (ReadFile(h, buf, sizeof buf, &n, nullptr) && n)
            s.append(buf, n);
        CloseHandle(h);
        return s;
    }

    ~PeerProcess()
    {
        if (pi_.hProcess) {
            if (WaitForSingleObject(pi_.hProcess, 0) == WAIT_TIMEOUT) {
                TerminateProcess(pi_.hProcess, 98);
                WaitForSingleObject(pi_.hProcess, 10000);
            }
            if (::testing::Test::HasFailure())
                std::printf("---- output of peer %lu ----\n%s----\n", pi_.dwProcessId,
                            Output().c_str());
            CloseHandle(pi_.hProcess);
            CloseHandle(pi_.hThread);
        }
        if (!log_path_.empty())
            DeleteFileW(log_path_.c_str());
    }

private:
    PROCESS_INFORMATION pi_{};
    std::wstring log_path_;
};

// The server's view of each connection: test messages checked for content and order.
struct Tracker {
    std::mutex m;
    struct Conn {
        uint32_t tag = 0;
        uint32_t next = 0;
        uint64_t count = 0;
        uint64_t bad = 0;
    };
    std::map<uint64_t, Conn> conns;

    void OnMessage(const pipes_event *ev)
    {
        uint32_t tag = 0, seq = 0;
        bool valid = pt_msg_check(ev->data, ev->size, 1, &tag, &seq) != 0;
        std::lock_guard<std::mutex> lock(m);
        Conn &c = conns[ev->connection_id];
        if (c.count == 0)
            c.tag = tag;
        if (!valid || tag != c.tag || seq != c.next)
            ++c.bad;
        c.next = seq + 1;
        ++c.count;
    }
    Conn Get(uint64_t id)
    {
        std::lock_guard<std::mutex> lock(m);
        return conns[id];
    }
};

// Server fixture: checks every message; echoes those of in-process clients (tag >= kLocalTag).
class LibProcess : public ::testing::Test {
protected:
    void SetUp() override
    {
        base_ = Baseline();
        name_ = UniquePipeName();
        slog_.hook = [this](const pipes_event *ev) {
            if (ev->type != PIPES_EVENT_MESSAGE)
                return;
            tracker_.OnMessage(ev);
            uint32_t tag = 0;
            if (pt_msg_check(ev->data, ev->size, 0, &tag, nullptr) && tag >= kLocalTag)
                pipes_server_send(ev->server, ev->connection_id, ev->data, ev->size, nullptr);
        };
        pipes_server_config scfg = ServerConfig(name_, &slog_);
        scfg.max_message_size = 64u << 20;
        ASSERT_EQ(pipes_server_start(&scfg, server_.Out()), PIPES_OK);
    }

    void TearDown() override
    {
        server_.Stop();
        PT_EXPECT_LIVE_COUNTERS_BACK(base_);
    }

    // The server connection of process `pid`, from its CONNECTED event's peer identity.
    uint64_t WaitConnectionOf(DWORD pid)
    {
        uint64_t id = 0;
        slog_.Wait([&](const std::vector<Event> &evs) {
            for (const Event &e : evs)
                if (e.type == PIPES_EVENT_CONNECTED && e.has_peer && e.peer.process_id == pid)
                    id = e.connection_id;
            return id != 0;
        });
        return id;
    }

    bool WaitMessagesFrom(uint64_t conn, uint64_t n)
    {
        return slog_.WaitFlag([&] { return tracker_.Get(conn).count >= n; }, milliseconds(30000));
    }

    // A round trip through an in-process client proves the server still serves.
    void ExpectLocalRoundTrip(uint32_t index)
    {
        EventLog clog;
        pipes_client_config ccfg = ClientConfig(name_, &clog);
        ClientGuard c;
        ASSERT_EQ(pipes_client_connect(&ccfg, c.Out()), PIPES_OK);
        std::vector<uint8_t> m = TestMessage(300, kLocalTag + index, 0);
        ASSERT_EQ(pipes_client_send(c.get(), m.data(), m.size(), nullptr), PIPES_OK);
        ASSERT_TRUE(clog.WaitCount(PIPES_EVENT_MESSAGE, 1));
        EXPECT_EQ(clog.Snapshot().back().data, m);
    }

    LiveCounters base_;
    std::wstring name_;
    EventLog slog_;
    Tracker tracker_;
    ServerGuard server_;
};

TEST_F(LibProcess, PeerProcessEchoesAndExitsWhenDisconnected)
{
    PeerProcess peer;
    ASSERT_TRUE(peer.Start(L"echo " + name_));
    uint64_t conn = WaitConnectionOf(peer.pid());
    ASSERT_NE(conn, 0u) << "the peer process never connected";

    // Its identity is that of the other process.
    pipes_peer_identity id;
    ASSERT_EQ(pipes_server_get_peer(server_.get(), conn, &id), PIPES_OK);
    EXPECT_EQ(id.process_id, peer.pid());
    EXPECT_NE(id.process_id, GetCurrentProcessId());

    // 60 messages of 16 B .. 300 KiB to the peer; each comes back whole and in order.
    std::vector<std::vector<uint8_t>> sent;
    for (uint32_t seq = 0; seq < 60; ++seq) {
        sent.push_back(TestMessage(PT_MSG_HEADER_SIZE + (seq * seq * 97) % (300 * 1024), 7, seq));
        ASSERT_EQ(pipes_server_send(server_.get(), conn, sent.back().data(), sent.back().size(),
                                    nullptr),
                  PIPES_OK);
    }
    ASSERT_TRUE(WaitMessagesFrom(conn, sent.size()))
        << "echoes received: " << tracker_.Get(conn).count;
    Tracker::Conn c = tracker_.Get(conn);
    EXPECT_EQ(c.count, sent.size());
    EXPECT_EQ(c.bad, 0u);

    ASSERT_EQ(pipes_server_disconnect(server_.get(), conn), PIPES_OK);
    Event disc;
    ASSERT_TRUE(slog_.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc, conn));
    EXPECT_EQ(disc.status, PIPES_ERR_LOCAL_CLOSED);
    EXPECT_EQ(peer.WaitExit(), 0) << "the peer did not see the disconnect";
}

TEST_F(LibProcess, PeerProcessSendsOrderedMessages)
{
    PeerProcess peer;
    ASSERT_TRUE(peer.Start(L"send " + name_ + L" 500 700"));
    uint64_t conn = WaitConnectionOf(peer.pid());
    ASSERT_NE(conn, 0u);
    ASSERT_TRUE(WaitMessagesFrom(conn, 500)) << "received " << tracker_.Get(conn).count;
    Tracker::Conn c = tracker_.Get(conn);
    EXPECT_EQ(c.count, 500u);
    EXPECT_EQ(c.bad, 0u);
    EXPECT_EQ(c.tag, peer.pid()) << "the peer tags its messages with its process id";
    ASSERT_EQ(pipes_server_disconnect(server_.get(), conn), PIPES_OK);
    EXPECT_EQ(peer.WaitExit(), 0);
}

TEST_F(LibProcess, PeerProcessReceivesServerMessages)
{
    PeerProcess peer;
    ASSERT_TRUE(peer.Start(L"recv " + name_ + L" 200"));
    uint64_t conn = WaitConnectionOf(peer.pid());
    ASSERT_NE(conn, 0u);
    for (uint32_t seq = 0; seq < 200; ++seq) {
        std::vector<uint8_t> m = TestMessage(PT_MSG_HEADER_SIZE + seq * 50, 3, seq);
        ASSERT_EQ(pipes_server_send(server_.get(), conn, m.data(), m.size(), nullptr), PIPES_OK);
    }
    EXPECT_EQ(peer.WaitExit(), 0) << "the peer found a message missing, corrupt or out of order";
    Event disc;
    ASSERT_TRUE(slog_.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc, conn));
    EXPECT_EQ(disc.status, PIPES_ERR_PEER_CLOSED);
}

// The scenario: peers killed with TerminateProcess in the middle of traffic, one while
// it writes to the server, one while the server writes to it.
TEST_F(LibProcess, KilledPeerIsReportedAndTheServerKeepsServing)
{
    // Two in-process clients keep round-tripping through the whole test.
    std::vector<std::unique_ptr<EventLog>> logs;
    std::vector<ClientGuard> locals;
    for (uint32_t i = 0; i < 2; ++i) {
        logs.emplace_back(new EventLog);
        locals.emplace_back();
        pipes_client_config ccfg = ClientConfig(name_, logs.back().get());
        ASSERT_EQ(pipes_client_connect(&ccfg, locals.back().Out()), PIPES_OK);
    }
    std::atomic<bool> stop_locals{false};
    std::atomic<uint32_t> local_sent[2] = {{0}, {0}};
    std::vector<std::thread> senders;
    for (uint32_t i = 0; i < 2; ++i) {
        senders.emplace_back([&, i] {
            for (uint32_t seq = 0; !stop_locals.load() && seq < 100000; ++seq) {
                std::vector<uint8_t> m = TestMessage(200, kLocalTag + i, seq);
                if (pipes_client_send_wait(locals[i].get(), m.data(), m.size(), 10000) != PIPES_OK)
                    break;
                ++local_sent[i];
            }
        });
    }
    struct Join {
        std::vector<std::thread> &t;
        std::atomic<bool> &stop;
        ~Join()
        {
            stop = true;
            for (auto &x : t)
                if (x.joinable())
                    x.join();
        }
    } join{senders, stop_locals};

    PeerProcess streamer, echoer;
    ASSERT_TRUE(streamer.Start(L"stream " + name_ + L" 300"));
    ASSERT_TRUE(echoer.Start(L"echo " + name_));
    uint64_t s_conn = WaitConnectionOf(streamer.pid());
    uint64_t e_conn = WaitConnectionOf(echoer.pid());
    ASSERT_NE(s_conn, 0u);
    ASSERT_NE(e_conn, 0u);

    // Kill the streamer while it is writing.
    ASSERT_TRUE(WaitMessagesFrom(s_conn, 300)) << "the streamer sent " << tracker_.Get(s_conn).count;
    streamer.Kill();
    Event disc;
    ASSERT_TRUE(slog_.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc, s_conn));
    EXPECT_EQ(disc.status, PIPES_ERR_PEER_CLOSED);
    Tracker::Conn sc = tracker_.Get(s_conn);
    EXPECT_EQ(sc.bad, 0u) << "a message from the killed peer arrived torn or out of order";
    EXPECT_GE(sc.count, 300u);

    // Kill the echoer while the server has large writes queued for it.
    std::vector<uint8_t> big = TestMessage(256 * 1024, 5, 0);
    for (uint32_t seq = 0; seq < 20; ++seq) {
        pt_msg_fill(big.data(), big.size(), 5, seq);
        ASSERT_EQ(pipes_server_send(server_.get(), e_conn, big.data(), big.size(), nullptr),
                  PIPES_OK);
    }
    ASSERT_TRUE(WaitMessagesFrom(e_conn, 2)) << "no echo from the echo peer";
    echoer.Kill();
    ASSERT_TRUE(slog_.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc, e_conn));
    EXPECT_EQ(disc.status, PIPES_ERR_PEER_CLOSED);
    EXPECT_EQ(tracker_.Get(e_conn).bad, 0u);
    EXPECT_EQ(pipes_server_send(server_.get(), e_conn, "x", 1, nullptr), PIPES_ERR_NOT_CONNECTED);

    // Everyone else is still served: the in-process clients keep going...
    uint32_t before0 = local_sent[0].load(), before1 = local_sent[1].load();
    ASSERT_TRUE(slog_.WaitFlag([&] {
        return local_sent[0].load() >= before0 + 20 && local_sent[1].load() >= before1 + 20;
    })) << "in-process clients stalled after the kills";
    // ...new clients get in, and a new peer process works end to end.
    ExpectLocalRoundTrip(5);
    PeerProcess again;
    ASSERT_TRUE(again.Start(L"send " + name_ + L" 50 100"));
    uint64_t a_conn = WaitConnectionOf(again.pid());
    ASSERT_NE(a_conn, 0u);
    ASSERT_TRUE(WaitMessagesFrom(a_conn, 50));
    EXPECT_EQ(tracker_.Get(a_conn).bad, 0u);
    ASSERT_EQ(pipes_server_disconnect(server_.get(), a_conn), PIPES_OK);
    EXPECT_EQ(again.WaitExit(), 0);

    stop_locals = true;
    for (auto &t : senders)
        t.join();
    for (uint32_t i = 0; i < 2; ++i) {
        EXPECT_EQ(logs[i]->Count(PIPES_EVENT_DISCONNECTED), 0u);
        // Every message of the local clients was checked by the server and echoed back.
        uint64_t local_conn = 0;
        for (const Event &e : slog_.Snapshot())
            if (e.type == PIPES_EVENT_MESSAGE && e.data.size() >= 4 &&
                pt_get32(e.data.data()) == kLocalTag + i)
                local_conn = e.connection_id;
        ASSERT_NE(local_conn, 0u);
        ASSERT_TRUE(WaitMessagesFrom(local_conn, local_sent[i].load()));
        EXPECT_EQ(tracker_.Get(local_conn).bad, 0u);
        EXPECT_TRUE(logs[i]->WaitCount(PIPES_EVENT_MESSAGE, local_sent[i].load()));
    }
    for (auto &c : locals)
        EXPECT_EQ(c.Close(), PIPES_OK);
    EXPECT_EQ(ServerStats(server_.get()).disconnects_by_reason[PIPES_ERR_PEER_CLOSED] >= 2, true);
}

} // namespace
