// lib_args_test.cpp - every public function of pipes.h with bad arguments: NULLs, wrong
// struct_size, malformed pipe names, both/neither delivery path, out-of-range values. Each must
// return PIPES_ERR_INVALID_ARGUMENT (or the status the header documents), leave out-parameters
// untouched, and never crash. Also pipes_status_string, pipes_version, pipes_last_system_error.
#include "test_support.h"

#include <climits>
#include <cstdio>

namespace {

using namespace pt;

void PIPES_CALL NoopEvent(const pipes_event *, void *) {}

// ---- status strings, version, last error ----------------------------------------------------

TEST(LibArgs, StatusStringForEveryValueAndUnknownOnes)
{
    static_assert(PIPES_STATUS_COUNT == PIPES_ERR_WRONG_THREAD + 1, "status count");
    std::vector<std::string> seen;
    for (int s = 0; s < PIPES_STATUS_COUNT; ++s) {
        const char *text = pipes_status_string(static_cast<pipes_status>(s));
        ASSERT_NE(text, nullptr) << "status " << s;
        EXPECT_GT(std::strlen(text), 1u) << "status " << s;
        EXPECT_STRNE(text, "unknown status") << "status " << s << " has no description";
        for (const std::string &other : seen)
            EXPECT_NE(other, text) << "status " << s << " shares its text";
        seen.push_back(text);
    }
    EXPECT_STREQ(pipes_status_string(PIPES_ERR_MESSAGE_TOO_LARGE), "message too large");
    for (int s : {PIPES_STATUS_COUNT, PIPES_STATUS_COUNT + 1, -1, 1000, INT_MAX, INT_MIN}) {
        const char *text = pipes_status_string(static_cast<pipes_status>(s));
        ASSERT_NE(text, nullptr);
        EXPECT_STREQ(text, "unknown status") << "value " << s;
    }
}

TEST(LibArgs, VersionMatchesPipesVersionH)
{
    EXPECT_EQ(pipes_version(nullptr), uint32_t(PIPES_VERSION_NUMBER));
    const char *text = nullptr;
    uint32_t v = pipes_version(&text);
    ASSERT_NE(text, nullptr);
    EXPECT_STREQ(text, PIPES_VERSION_STRING);
    EXPECT_EQ(v, (uint32_t(PIPES_VERSION_MAJOR) << 16) | (uint32_t(PIPES_VERSION_MINOR) << 8) |
                     uint32_t(PIPES_VERSION_PATCH));
    unsigned major = 0, minor = 0, patch = 0;
    ASSERT_EQ(std::sscanf(text, "%u.%u.%u", &major, &minor, &patch), 3);
    EXPECT_EQ(major, (v >> 16) & 0xFFu);
    EXPECT_EQ(minor, (v >> 8) & 0xFFu);
    EXPECT_EQ(patch, v & 0xFFu);

    // The DLL's Win32 version resource carries the same version.
    HMODULE dll = GetModuleHandleW(L"pipes.dll");
    ASSERT_NE(dll, nullptr);
    wchar_t path[MAX_PATH];
    ASSERT_GT(GetModuleFileNameW(dll, path, MAX_PATH), 0u);
    DWORD ignored = 0, size = GetFileVersionInfoSizeW(path, &ignored);
    ASSERT_GT(size, 0u) << "pipes.dll has no version resource";
    std::vector<uint8_t> info(size);
    ASSERT_TRUE(GetFileVersionInfoW(path, 0, size, info.data()));
    VS_FIXEDFILEINFO *ffi = nullptr;
    UINT len = 0;
    ASSERT_TRUE(VerQueryValueW(info.data(), L"\\", reinterpret_cast<void **>(&ffi), &len));
    EXPECT_EQ(HIWORD(ffi->dwFileVersionMS), major);
    EXPECT_EQ(LOWORD(ffi->dwFileVersionMS), minor);
    EXPECT_EQ(HIWORD(ffi->dwFileVersionLS), patch);
}

TEST(LibArgs, LastSystemErrorIsPerThread)
{
    const std::wstring name = UniquePipeName("-nobody");
    pipes_client_config c = ClientConfig(name, nullptr);
    c.on_event = NoopEvent;
    pipes_client *client = reinterpret_cast<pipes_client *>(0x1);
    EXPECT_EQ(pipes_client_connect(&c, &client), PIPES_ERR_NOT_FOUND);
    EXPECT_EQ(client, reinterpret_cast<pipes_client *>(0x1)) << "*out touched on failure";
    EXPECT_EQ(pipes_last_system_error(), static_cast<unsigned long>(ERROR_FILE_NOT_FOUND));
    unsigned long other = 12345;
    std::thread([&] { other = pipes_last_system_error(); }).join();
    EXPECT_EQ(other, 0ul) << "another thread sees this thread's error";
}

// ---- engine, events, global stats -------------------------------------------------------------

TEST(LibArgs, EngineFunctions)
{
    pipes_engine *const sentinel = reinterpret_cast<pipes_engine *>(0x1);
    pipes_engine *e = sentinel;
    pipes_engine_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.struct_size = sizeof cfg;
    EXPECT_EQ(pipes_engine_create(nullptr, &e), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_engine_create(&cfg, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    for (size_t bad : {size_t(0), sizeof cfg - 1, sizeof cfg + 1, sizeof cfg * 2}) {
        cfg.struct_size = bad;
        EXPECT_EQ(pipes_engine_create(&cfg, &e), PIPES_ERR_INVALID_ARGUMENT) << "size " << bad;
    }
    cfg.struct_size = sizeof cfg;
    cfg.worker_threads = 65;
    EXPECT_EQ(pipes_engine_create(&cfg, &e), PIPES_ERR_INVALID_ARGUMENT);
    cfg.worker_threads = UINT_MAX;
    EXPECT_EQ(pipes_engine_create(&cfg, &e), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(e, sentinel) << "*out touched on failure";
    EXPECT_EQ(pipes_engine_destroy(nullptr), PIPES_ERR_INVALID_ARGUMENT);

    cfg.worker_threads = 64; // the documented maximum is accepted
    ASSERT_EQ(pipes_engine_create(&cfg, &e), PIPES_OK);
    EXPECT_EQ(pipes_engine_destroy(e), PIPES_OK);
}

TEST(LibArgs, EventFreeAndGlobalStats)
{
    pipes_event_free(nullptr); // ignored, no crash

    EXPECT_EQ(pipes_get_global_stats(nullptr), PIPES_ERR_INVALID_ARGUMENT);
    pipes_global_stats g;
    for (size_t bad : {size_t(0), sizeof g - 1, sizeof g + 8}) {
        std::memset(&g, 0xAB, sizeof g);
        g.struct_size = bad;
        EXPECT_EQ(pipes_get_global_stats(&g), PIPES_ERR_INVALID_ARGUMENT) << "size " << bad;
    }
    std::memset(&g, 0, sizeof g);
    g.struct_size = sizeof g;
    ASSERT_EQ(pipes_get_global_stats(&g), PIPES_OK);
    EXPECT_GE(g.live_engines, 0);
    EXPECT_GE(g.bytes_allocated, 0);
}

// ---- pipe names ---------------------------------------------------------------------------

std::vector<std::wstring> MalformedNames()
{
    std::wstring too_long = L"\\\\.\\pipe\\" + std::wstring(PIPES_MAX_PIPE_NAME - 9 + 1, L'n');
    return {
        L"",                              // empty
        L"pipes-test",                    // no prefix
        L"\\\\.\\pipe\\",                 // empty name after the prefix
        L"\\\\.\\pipe\\a\\b",             // backslash in the name
        L"\\\\.\\pipe\\\\",               // only a backslash
        L"\\\\.\\pipes\\x",               // wrong prefix
        L"\\\\server\\pipe\\x",           // remote: not ours to serve
        L"//./pipe/x",                    // forward slashes
        L"\\\\.\\pipe",                   // prefix without separator
        std::wstring(L"\\\\.\\pipe\\a\x01" L"b"), // control character
        too_long,                         // 257 characters in all
    };
}

TEST(LibArgs, LongestPipeNameIsAccepted)
{
    // Windows allows 256 characters for the whole name; exactly that works end to end.
    std::wstring stem = UniquePipeName("-");
    std::wstring name = stem + std::wstring(PIPES_MAX_PIPE_NAME - stem.size(), L'x');
    ASSERT_EQ(name.size(), size_t(PIPES_MAX_PIPE_NAME));
    EventLog slog, clog;
    pipes_server_config s = ServerConfig(name, &slog);
    ServerGuard server;
    ASSERT_EQ(pipes_server_start(&s, server.Out()), PIPES_OK);
    pipes_client_config c = ClientConfig(name, &clog);
    ClientGuard client;
    ASSERT_EQ(pipes_client_connect(&c, client.Out()), PIPES_OK);
    ASSERT_EQ(pipes_client_send_wait(client.get(), "hi", 2, 10000), PIPES_OK);
    EXPECT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, 1));
}

// ---- server -------------------------------------------------------------------------------

TEST(LibArgs, ServerStartRejectsBadConfigs)
{
    LiveCounters base = Baseline();
    const std::wstring name = UniquePipeName();
    pipes_server *const sentinel = reinterpret_cast<pipes_server *>(0x1);
    pipes_server *out = sentinel;
    auto good = [&] {
        pipes_server_config c = ServerConfig(name, nullptr);
        c.on_event = NoopEvent;
        return c;
    };
    auto expect_invalid = [&](const pipes_server_config &c, const std::string &what) {
        EXPECT_EQ(pipes_server_start(&c, &out), PIPES_ERR_INVALID_ARGUMENT) << what;
        EXPECT_EQ(out, sentinel) << what << ": *out touched";
    };

    pipes_server_config c = good();
    EXPECT_EQ(pipes_server_start(nullptr, &out), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_server_start(&c, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    for (size_t bad : {size_t(0), sizeof c - 1, sizeof c + 1, sizeof(pipes_engine_config)}) {
        c = good();
        c.struct_size = bad;
        expect_invalid(c, "struct_size " + std::to_string(bad));
    }
    c = good();
    c.pipe_name = nullptr;
    expect_invalid(c, "NULL pipe name");
    std::vector<std::wstring> names = MalformedNames();
    for (size_t i = 0; i < names.size(); ++i) {
        c = good();
        c.pipe_name = names[i].c_str();
        expect_invalid(c, "malformed name #" + std::to_string(i));
    }
    c = good();
    c.on_event = nullptr;
    expect_invalid(c, "no delivery path");
    c = good();
    c.notify_window = reinterpret_cast<void *>(uintptr_t(0x1234)); // any non-NULL value
    c.notify_message = WM_APP;
    expect_invalid(c, "both delivery paths");
    c = good();
    c.listen_instances = 65;
    expect_invalid(c, "listen_instances 65");
    c = good();
    c.max_message_size = size_t(PIPES_MAX_MESSAGE_SIZE_LIMIT) + 1;
    expect_invalid(c, "max_message_size over the limit");
    c = good();
    c.max_message_size = SIZE_MAX;
    expect_invalid(c, "max_message_size SIZE_MAX");
    for (uint32_t flag : {0x4u, 0x80000000u, 0xFFFFFFFFu}) {
        c = good();
        c.flags = flag;
        expect_invalid(c, "unknown flags " + std::to_string(flag));
    }
    c = good();
    c.sddl = L"this is not SDDL";
    expect_invalid(c, "invalid SDDL");
    PT_EXPECT_LIVE_COUNTERS_BACK(base);

    // The documented extremes are accepted.
    c = good();
    c.listen_instances = 64;
    c.max_message_size = PIPES_MAX_MESSAGE_SIZE_LIMIT;
    ServerGuard s;
    ASSERT_EQ(pipes_server_start(&c, s.Out()), PIPES_OK);
    EXPECT_EQ(s.Stop(), PIPES_OK);
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibArgs, SecondServerOnTheSameNameIsNameInUse)
{
    const std::wstring name = UniquePipeName();
    EventLog slog;
    pipes_server_config c = ServerConfig(name, &slog);
    ServerGuard first;
    ASSERT_EQ(pipes_server_start(&c, first.Out()), PIPES_OK);
    pipes_server *second = reinterpret_cast<pipes_server *>(0x1);
    EXPECT_EQ(pipes_server_start(&c, &second), PIPES_ERR_NAME_IN_USE);
    EXPECT_EQ(second, reinterpret_cast<pipes_server *>(0x1));
    // The first one is unaffected.
    EventLog clog;
    pipes_client_config cc = ClientConfig(name, &clog);
    ClientGuard client;
    ASSERT_EQ(pipes_client_connect(&cc, client.Out()), PIPES_OK);
    ASSERT_EQ(pipes_client_send_wait(client.get(), "x", 1, 10000), PIPES_OK);
    EXPECT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, 1));
}

// A running server with one connected client, for the per-call checks.
class LibArgsLive : public ::testing::Test {
protected:
    void SetUp() override
    {
        name_ = UniquePipeName();
        pipes_server_config s = ServerConfig(name_, &slog_);
        s.max_message_size = 1000;
        ASSERT_EQ(pipes_server_start(&s, server_.Out()), PIPES_OK);
        pipes_client_config c = ClientConfig(name_, &clog_);
        c.max_message_size = 2000;
        ASSERT_EQ(pipes_client_connect(&c, client_.Out()), PIPES_OK);
        Event conn;
        ASSERT_TRUE(slog_.WaitFirst(PIPES_EVENT_CONNECTED, &conn));
        id_ = conn.connection_id;
        ASSERT_NE(id_, 0u) << "connection ids are never 0";
    }
    std::wstring name_;
    EventLog slog_, clog_;
    ServerGuard server_;
    ClientGuard client_;
    uint64_t id_ = 0;
    static constexpr uint64_t kNoSuchId = 0x7FFFFFFFFFFFull;
};

TEST_F(LibArgsLive, ServerSend)
{
    pipes_server *s = server_.get();
    std::vector<uint8_t> max(1000), over(1001);
    EXPECT_EQ(pipes_server_send(nullptr, id_, "x", 1, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_server_send(s, 0, "x", 1, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_server_send(s, id_, nullptr, 5, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_server_send(s, kNoSuchId, "x", 1, nullptr), PIPES_ERR_NOT_CONNECTED);
    EXPECT_EQ(pipes_server_send(s, id_, over.data(), over.size(), nullptr),
              PIPES_ERR_MESSAGE_TOO_LARGE);
    EXPECT_EQ(pipes_server_send(s, id_, nullptr, 0, nullptr), PIPES_OK) << "NULL with size 0";
    EXPECT_EQ(pipes_server_send(s, id_, max.data(), max.size(), nullptr), PIPES_OK);
    ASSERT_TRUE(clog_.WaitCount(PIPES_EVENT_MESSAGE, 2));
    EXPECT_EQ(clog_.Count(PIPES_EVENT_MESSAGE), 2u) << "a refused send was delivered";
}

TEST_F(LibArgsLive, ServerBroadcast)
{
    pipes_server *s = server_.get();
    std::vector<uint8_t> over(1001);
    unsigned delivered = 77;
    EXPECT_EQ(pipes_server_broadcast(nullptr, "x", 1, &delivered), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(delivered, 0u) << "delivered_to is set to 0 on failure";
    delivered = 77;
    EXPECT_EQ(pipes_server_broadcast(s, nullptr, 5, &delivered), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(delivered, 0u);
    delivered = 77;
    EXPECT_EQ(pipes_server_broadcast(s, over.data(), over.size(), &delivered),
              PIPES_ERR_MESSAGE_TOO_LARGE);
    EXPECT_EQ(delivered, 0u);
    EXPECT_EQ(pipes_server_broadcast(s, "ok", 2, nullptr), PIPES_OK) << "delivered_to is optional";
    EXPECT_EQ(pipes_server_broadcast(s, "ok", 2, &delivered), PIPES_OK);
    EXPECT_EQ(delivered, 1u);
    ASSERT_TRUE(clog_.WaitCount(PIPES_EVENT_MESSAGE, 2));
}

TEST_F(LibArgsLive, ServerDisconnectPeerAndStats)
{
    pipes_server *s = server_.get();
    EXPECT_EQ(pipes_server_disconnect(nullptr, id_), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_server_disconnect(s, 0), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_server_disconnect(s, kNoSuchId), PIPES_ERR_NOT_CONNECTED);

    pipes_peer_identity peer;
    std::memset(&peer, 0xCD, sizeof peer);
    EXPECT_EQ(pipes_server_get_peer(nullptr, id_, &peer), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_server_get_peer(s, 0, &peer), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_server_get_peer(s, id_, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_server_get_peer(s, kNoSuchId, &peer), PIPES_ERR_NOT_CONNECTED);
    ASSERT_EQ(pipes_server_get_peer(s, id_, &peer), PIPES_OK);
    EXPECT_EQ(peer.process_id, GetCurrentProcessId());
    DWORD session = 0;
    ASSERT_TRUE(ProcessIdToSessionId(GetCurrentProcessId(), &session));
    EXPECT_EQ(peer.session_id, session);
    EXPECT_EQ(std::wstring(peer.user_sid), L"") << "the user is known once a message was read";
    ASSERT_EQ(pipes_client_send_wait(client_.get(), "x", 1, 10000), PIPES_OK);
    ASSERT_TRUE(slog_.WaitCount(PIPES_EVENT_MESSAGE, 1));
    ASSERT_EQ(pipes_server_get_peer(s, id_, &peer), PIPES_OK);
    EXPECT_EQ(std::wstring(peer.user_sid).rfind(L"S-1-", 0), 0u) << "user_sid is a SID string";

    pipes_stats st;
    std::memset(&st, 0, sizeof st);
    EXPECT_EQ(pipes_server_get_stats(nullptr, &st), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_server_get_stats(s, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    for (size_t bad : {size_t(0), sizeof st - 1, sizeof st + 8}) {
        st.struct_size = bad;
        EXPECT_EQ(pipes_server_get_stats(s, &st), PIPES_ERR_INVALID_ARGUMENT) << bad;
    }
    EXPECT_EQ(pipes_server_stop(nullptr), PIPES_ERR_INVALID_ARGUMENT);

    // A real disconnect: the event reason is LOCAL_CLOSED, then the id is gone.
    ASSERT_EQ(pipes_server_disconnect(s, id_), PIPES_OK);
    Event disc;
    ASSERT_TRUE(slog_.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc));
    EXPECT_EQ(disc.status, PIPES_ERR_LOCAL_CLOSED);
    EXPECT_EQ(pipes_server_disconnect(s, id_), PIPES_ERR_NOT_CONNECTED);
    EXPECT_EQ(pipes_server_send(s, id_, "x", 1, nullptr), PIPES_ERR_NOT_CONNECTED);
    EXPECT_EQ(pipes_server_get_peer(s, id_, &peer), PIPES_ERR_NOT_CONNECTED);
    EXPECT_EQ(ServerStats(s).disconnects_by_reason[PIPES_ERR_LOCAL_CLOSED], 1u);
}

TEST_F(LibArgsLive, ClientCalls)
{
    pipes_client *c = client_.get();
    std::vector<uint8_t> over(2001);
    EXPECT_EQ(pipes_client_send(nullptr, "x", 1, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_client_send(c, nullptr, 5, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_client_send(c, over.data(), over.size(), nullptr), PIPES_ERR_MESSAGE_TOO_LARGE);
    EXPECT_EQ(pipes_client_send_wait(nullptr, "x", 1, 100), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_client_send_wait(c, nullptr, 5, 100), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_client_send_wait(c, over.data(), over.size(), 100),
              PIPES_ERR_MESSAGE_TOO_LARGE);
    pipes_stats st;
    std::memset(&st, 0, sizeof st);
    EXPECT_EQ(pipes_client_get_stats(nullptr, &st), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_client_get_stats(c, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    for (size_t bad : {size_t(0), sizeof st - 1, sizeof st + 8}) {
        st.struct_size = bad;
        EXPECT_EQ(pipes_client_get_stats(c, &st), PIPES_ERR_INVALID_ARGUMENT) << bad;
    }
    EXPECT_EQ(pipes_client_close(nullptr), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(ServerStats(server_.get()).messages_in, 0u) << "a refused send was delivered";

    // A 0-byte send with NULL data is valid.
    EXPECT_EQ(pipes_client_send_wait(c, nullptr, 0, 10000), PIPES_OK);
    ASSERT_TRUE(slog_.WaitCount(PIPES_EVENT_MESSAGE, 1));

    // send_wait must not block a worker thread: refused from a callback.
    std::atomic<int> from_worker{-1};
    slog_.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_MESSAGE)
            from_worker = pipes_client_send_wait(c, "y", 1, 1000);
    };
    ASSERT_EQ(pipes_client_send(c, "z", 1, nullptr), PIPES_OK);
    ASSERT_TRUE(slog_.WaitFlag([&] { return from_worker.load() != -1; }));
    EXPECT_EQ(from_worker.load(), PIPES_ERR_WRONG_THREAD);

    // Without PIPES_CLIENT_RECONNECT a broken connection stays broken.
    ASSERT_EQ(pipes_server_disconnect(server_.get(), id_), PIPES_OK);
    ASSERT_TRUE(clog_.WaitCount(PIPES_EVENT_DISCONNECTED, 1));
    EXPECT_EQ(pipes_client_send(c, "x", 1, nullptr), PIPES_ERR_NOT_CONNECTED);
    EXPECT_EQ(pipes_client_send_wait(c, "x", 1, 1000), PIPES_ERR_NOT_CONNECTED);
}

// ---- client connect -----------------------------------------------------------------------

TEST(LibArgs, ClientConnectRejectsBadConfigs)
{
    LiveCounters base = Baseline();
    const std::wstring name = UniquePipeName();
    EventLog slog;
    pipes_server_config sc = ServerConfig(name, &slog); // a server, so only the args can fail
    ServerGuard server;
    ASSERT_EQ(pipes_server_start(&sc, server.Out()), PIPES_OK);

    pipes_client *const sentinel = reinterpret_cast<pipes_client *>(0x1);
    pipes_client *out = sentinel;
    auto good = [&] {
        pipes_client_config c = ClientConfig(name, nullptr);
        c.on_event = NoopEvent;
        return c;
    };
    auto expect_invalid = [&](const pipes_client_config &c, const std::string &what) {
        EXPECT_EQ(pipes_client_connect(&c, &out), PIPES_ERR_INVALID_ARGUMENT) << what;
        EXPECT_EQ(out, sentinel) << what << ": *out touched";
    };
    pipes_client_config c = good();
    EXPECT_EQ(pipes_client_connect(nullptr, &out), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_client_connect(&c, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    for (size_t bad : {size_t(0), sizeof c - 1, sizeof c + 1, sizeof(pipes_engine_config)}) {
        c = good();
        c.struct_size = bad;
        expect_invalid(c, "struct_size " + std::to_string(bad));
    }
    c = good();
    c.pipe_name = nullptr;
    expect_invalid(c, "NULL pipe name");
    std::vector<std::wstring> names = MalformedNames();
    for (size_t i = 0; i < names.size(); ++i) {
        c = good();
        c.pipe_name = names[i].c_str();
        expect_invalid(c, "malformed name #" + std::to_string(i));
    }
    c = good();
    c.on_event = nullptr;
    expect_invalid(c, "no delivery path");
    c = good();
    c.notify_window = reinterpret_cast<void *>(uintptr_t(0x1234)); // any non-NULL value
    c.notify_message = WM_APP;
    expect_invalid(c, "both delivery paths");
    c = good();
    c.max_message_size = size_t(PIPES_MAX_MESSAGE_SIZE_LIMIT) + 1;
    expect_invalid(c, "max_message_size over the limit");
    for (uint32_t flag : {0x4u, 0x80000000u}) {
        c = good();
        c.flags = flag;
        expect_invalid(c, "unknown flags " + std::to_string(flag));
    }
    c = good();
    c.required_server_sid = L"";
    expect_invalid(c, "empty required SID");
    std::wstring long_sid = L"S-1-5-21" + std::wstring(PIPES_MAX_SID_STRING, L'1');
    c = good();
    c.required_server_sid = long_sid.c_str();
    expect_invalid(c, "required SID longer than PIPES_MAX_SID_STRING");
    c = good();
    c.reconnect_min_ms = 5000;
    c.reconnect_max_ms = 100;
    expect_invalid(c, "reconnect_min_ms > reconnect_max_ms");
    EXPECT_EQ(server.Stop(), PIPES_OK);
    EXPECT_EQ(slog.Count(PIPES_EVENT_CONNECTED), 0u) << "a rejected config connected anyway";
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibArgs, ClientConnectWithoutServerIsNotFoundAtOnce)
{
    LiveCounters base = Baseline();
    const std::wstring name = UniquePipeName("-absent");
    pipes_client_config c = ClientConfig(name, nullptr);
    c.on_event = NoopEvent;
    c.connect_timeout_ms = 10000;
    pipes_client *out = reinterpret_cast<pipes_client *>(0x1);
    auto t0 = Clock::now();
    EXPECT_EQ(pipes_client_connect(&c, &out), PIPES_ERR_NOT_FOUND);
    EXPECT_LT(SecondsSince(t0), 5.0) << "NOT_FOUND must not wait for the connect timeout";
    EXPECT_EQ(out, reinterpret_cast<pipes_client *>(0x1));
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

} // namespace
