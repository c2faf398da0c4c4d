// lib_lifecycle_test.cpp - stopping and closing: pipes_server_stop with 32 busy clients returns
// promptly and no callback runs after it; stop and close from inside their own callbacks; 200
// start/stop cycles return every live counter to its baseline and leak no handles.
#include "test_support.h"

#include <memory>

namespace {

using namespace pt;

// "Promptly": stop cancels I/O and waits for the cancelled completions, which takes milliseconds;
// the bound leaves room for a loaded machine running Wine.
constexpr double kPromptSeconds = 5.0;

// A window in which a callback that should not happen would show up. Not synchronisation: the
// assertions that follow hold whatever its length; it only gives a buggy library time to fail.
void ObservationWindow()
{
    std::this_thread::sleep_for(milliseconds(200));
}

HANDLE_PTR FreshHandleValue()
{
    HANDLE h = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    EXPECT_NE(h, nullptr);
    HANDLE_PTR v = reinterpret_cast<HANDLE_PTR>(h);
    CloseHandle(h);
    return v;
}

struct Peer {
    EventLog log;
    ClientGuard client;
};

TEST(LibLifecycle, StopWithThirtyTwoBusyClientsIsPromptAndFinal)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog;
        slog.KeepEvents(false);
        std::atomic<uint64_t> server_msgs{0};
        // The server echoes everything: its write queues fill while the clients stream.
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_MESSAGE) {
                ++server_msgs;
                pipes_server_send(ev->server, ev->connection_id, ev->data, ev->size, nullptr);
            }
        };
        ServerGuard server;
        pipes_server_config scfg = ServerConfig(name, &slog);
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);

        const int kN = 32;
        std::vector<std::unique_ptr<Peer>> peers;
        for (int i = 0; i < kN; ++i) {
            peers.emplace_back(new Peer);
            peers.back()->log.KeepEvents(true);
            pipes_client_config ccfg = ClientConfig(name, &peers.back()->log);
            ASSERT_EQ(pipes_client_connect(&ccfg, peers.back()->client.Out()), PIPES_OK);
        }
        // Stats count a connect before its CONNECTED event, whose callback wakes this wait.
        ASSERT_TRUE(slog.WaitFlag([&] { return ServerStats(server.get()).connects >= kN; }));

        // Writes in flight both ways: each client queues 300 messages (with contexts, so their
        // fate is reported), and the server queues 512 KiB messages that exceed the pipe buffer,
        // so their WriteFile stays pending until the client reads.
        for (int i = 0; i < kN; ++i) {
            for (uint32_t seq = 0; seq < 300; ++seq) {
                std::vector<uint8_t> m = TestMessage(64 + seq % 100, uint32_t(i), seq);
                ASSERT_EQ(pipes_client_send(peers[i]->client.get(), m.data(), m.size(), &peers[i]),
                          PIPES_OK);
            }
        }
        std::vector<uint8_t> big = Pattern(512 * 1024);
        for (int k = 0; k < 3; ++k) {
            unsigned delivered = 0;
            ASSERT_EQ(pipes_server_broadcast(server.get(), big.data(), big.size(), &delivered),
                      PIPES_OK);
        }
        ASSERT_TRUE(slog.WaitFlag([&] { return server_msgs.load() >= 500; }))
            << "traffic never started";

        auto t0 = Clock::now();
        ASSERT_EQ(server.Stop(), PIPES_OK);
        double stop_s = SecondsSince(t0);
        EXPECT_EQ(slog.InCallback(), 0) << "a server callback was still running when stop returned";
        slog.MarkClosed();
        std::printf("[ info ] pipes_server_stop with %d busy clients took %.3f s (%llu messages "
                    "had arrived)\n",
                    kN, stop_s, static_cast<unsigned long long>(server_msgs.load()));
        EXPECT_LT(stop_s, kPromptSeconds);

        // Every client sees its pipe closed by the server, and its unsent messages fail.
        for (int i = 0; i < kN; ++i) {
            Event disc;
            ASSERT_TRUE(peers[i]->log.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc)) << "client " << i;
            EXPECT_EQ(disc.status, PIPES_ERR_PEER_CLOSED);
        }
        ObservationWindow();
        EXPECT_EQ(slog.LateCallbacks(), 0) << "server callbacks ran after pipes_server_stop returned";

        // A client's queued sends end with exactly one SEND_COMPLETE each (some OK, the rest failed).
        for (int i = 0; i < kN; ++i) {
            auto all_reported = [&](const std::vector<Event> &evs) {
                return EventLog::CountIn(evs, PIPES_EVENT_SEND_COMPLETE) >= 300;
            };
            EXPECT_TRUE(peers[i]->log.Wait(all_reported, kWait)) << "client " << i;
            EXPECT_EQ(peers[i]->log.Count(PIPES_EVENT_SEND_COMPLETE), 300u);
            EXPECT_EQ(pipes_client_send(peers[i]->client.get(), "x", 1, nullptr),
                      PIPES_ERR_NOT_CONNECTED);
        }
        for (auto &p : peers) {
            EXPECT_EQ(p->client.Close(), PIPES_OK);
            p->log.MarkClosed();
        }
        ObservationWindow();
        for (auto &p : peers)
            EXPECT_EQ(p->log.LateCallbacks(), 0) << "client callbacks ran after close returned";
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibLifecycle, ClientCloseWithQueuedWritesIsFinal)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog, clog;
        ServerGuard server;
        pipes_server_config scfg = ServerConfig(name, &slog);
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        ClientGuard client;
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
        std::vector<uint8_t> m = Pattern(200 * 1024);
        for (int i = 0; i < 40; ++i)
            ASSERT_EQ(pipes_client_send(client.get(), m.data(), m.size(), &clog), PIPES_OK);
        auto t0 = Clock::now();
        EXPECT_EQ(client.Close(), PIPES_OK);
        EXPECT_EQ(clog.InCallback(), 0);
        clog.MarkClosed();
        EXPECT_LT(SecondsSince(t0), kPromptSeconds);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_DISCONNECTED, 1));
        ObservationWindow();
        EXPECT_EQ(clog.LateCallbacks(), 0);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibLifecycle, ServerStopFromItsOwnCallback)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog;
        std::atomic<int> stop_status{-1};
        std::atomic<bool> stopped{false};
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_MESSAGE && ev->size == 4 &&
                std::memcmp(ev->data, "stop", 4) == 0 && !stopped.load()) {
                stop_status = pipes_server_stop(ev->server);
                stopped = true;
                slog.MarkClosed(); // from here on, no callback of this server may start
            }
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        pipes_server *server = nullptr;
        ASSERT_EQ(pipes_server_start(&scfg, &server), PIPES_OK);

        // The stopping client plus four others streaming at the same time.
        std::vector<std::unique_ptr<Peer>> peers;
        for (int i = 0; i < 5; ++i) {
            peers.emplace_back(new Peer);
            pipes_client_config ccfg = ClientConfig(name, &peers.back()->log);
            ASSERT_EQ(pipes_client_connect(&ccfg, peers.back()->client.Out()), PIPES_OK);
        }
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 5));
        for (int i = 1; i < 5; ++i)
            for (uint32_t seq = 0; seq < 200; ++seq) {
                std::vector<uint8_t> m = TestMessage(100, uint32_t(i), seq);
                ASSERT_EQ(pipes_client_send(peers[i]->client.get(), m.data(), m.size(), nullptr),
                          PIPES_OK);
            }
        ASSERT_EQ(pipes_client_send(peers[0]->client.get(), "stop", 4, nullptr), PIPES_OK);
        ASSERT_TRUE(slog.WaitFlag([&] { return stopped.load(); })) << "stop never returned";
        EXPECT_EQ(stop_status.load(), PIPES_OK);

        for (int i = 0; i < 5; ++i) {
            Event disc;
            ASSERT_TRUE(peers[i]->log.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc)) << "client " << i;
            EXPECT_EQ(disc.status, PIPES_ERR_PEER_CLOSED);
        }
        ObservationWindow();
        EXPECT_EQ(slog.LateCallbacks(), 0) << "callbacks ran after stop returned in a callback";
        for (auto &p : peers)
            EXPECT_EQ(p->client.Close(), PIPES_OK);
    }
    // The server's memory is released in the background once its I/O has drained.
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibLifecycle, ClientCloseFromItsOwnCallback)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog, clog;
        std::atomic<int> close_status{-1};
        std::atomic<bool> closed{false};
        clog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_MESSAGE && !closed.load()) {
                close_status = pipes_client_close(ev->client);
                closed = true;
                clog.MarkClosed();
            }
        };
        ServerGuard server;
        pipes_server_config scfg = ServerConfig(name, &slog);
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        pipes_client_config ccfg = ClientConfig(name, &clog);
        pipes_client *client = nullptr;
        ASSERT_EQ(pipes_client_connect(&ccfg, &client), PIPES_OK);
        Event conn;
        ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_CONNECTED, &conn));
        std::vector<uint8_t> m = Pattern(1000);
        ASSERT_EQ(pipes_server_send(server.get(), conn.connection_id, m.data(), m.size(), nullptr),
                  PIPES_OK);
        // The client may take the first message and close while these are still being sent.
        for (int i = 1; i < 20; ++i) {
            pipes_status st =
                pipes_server_send(server.get(), conn.connection_id, m.data(), m.size(), nullptr);
            ASSERT_TRUE(st == PIPES_OK || st == PIPES_ERR_NOT_CONNECTED)
                << pipes_status_string(st);
        }
        ASSERT_TRUE(clog.WaitFlag([&] { return closed.load(); }));
        EXPECT_EQ(close_status.load(), PIPES_OK);
        Event disc;
        ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc));
        EXPECT_EQ(disc.status, PIPES_ERR_PEER_CLOSED);
        ObservationWindow();
        EXPECT_EQ(clog.LateCallbacks(), 0);
        EXPECT_EQ(clog.Count(PIPES_EVENT_MESSAGE), 1u) << "messages delivered after close";
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// One full cycle on `name`: start, connect, one round trip, close, stop.
void OneCycle(const std::wstring &name, int cycle)
{
    EventLog slog, clog;
    slog.hook = [](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_MESSAGE)
            pipes_server_send(ev->server, ev->connection_id, ev->data, ev->size, nullptr);
    };
    ServerGuard server;
    pipes_server_config scfg = ServerConfig(name, &slog);
    ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK) << "cycle " << cycle;
    ClientGuard client;
    pipes_client_config ccfg = ClientConfig(name, &clog);
    ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK) << "cycle " << cycle;
    std::vector<uint8_t> m = TestMessage(100, 1, uint32_t(cycle));
    ASSERT_EQ(pipes_client_send(client.get(), m.data(), m.size(), nullptr), PIPES_OK);
    ASSERT_TRUE(clog.WaitCount(PIPES_EVENT_MESSAGE, 1)) << "cycle " << cycle;
    ASSERT_EQ(clog.Snapshot().back().data, m);
    ASSERT_EQ(client.Close(), PIPES_OK);
    ASSERT_EQ(server.Stop(), PIPES_OK);
}

// 200 start/stop cycles leak nothing. Under Wine GetProcessHandleCount reports 0, so handles are
// checked by the value of a freshly created handle (slots are reused lowest first; a leak pushes
// it up by 4 per handle) and memory by the library's own counters.
TEST(LibLifecycle, TwoHundredStartStopCyclesLeakNothing)
{
    // The same name every cycle: stop must release it for the next start.
    const std::wstring name = UniquePipeName();
    for (int i = 0; i < 10; ++i) { // warm-up: lazily created runtime state settles
        OneCycle(name, i);
        if (HasFatalFailure())
            return;
    }
    LiveCounters base = Baseline();
    HANDLE_PTR handle_before = FreshHandleValue();
    auto t0 = Clock::now();
    for (int i = 0; i < 200; ++i) {
        OneCycle(name, i);
        if (HasFatalFailure())
            return;
    }
    double s = SecondsSince(t0);
    HANDLE_PTR handle_after = FreshHandleValue();
    std::printf("[ info ] 200 cycles in %.2f s; fresh handle value 0x%llx before, 0x%llx after\n",
                s, static_cast<unsigned long long>(handle_before),
                static_cast<unsigned long long>(handle_after));
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
    // Bound: 16 handle slots (values step by 4) of slack for the runtime's own lazily created
    // handles. One leaked handle per cycle would move the value by 800.
    EXPECT_LE(handle_after, handle_before + 16 * 4) << "handles leak across start/stop cycles";
}

} // namespace

namespace {

// An ended connection's instance goes back to listening (pipes.h): the next client on it must
// find nothing of the old one. A raw client is sent data it never reads, then closes; the next
// client, on a server with a single listening instance, gets only what is sent to it, its own
// connection id, and its messages reach the server as its own.
TEST(LibLifecycle, AReusedInstanceCarriesNothingOfTheOldConnection)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog;
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.listen_instances = 1;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        uint64_t previous = 0;
        for (int round = 0; round < 5; ++round) {
            SCOPED_TRACE("round " + std::to_string(round));
            HANDLE raw = CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                     OPEN_EXISTING, 0, nullptr);
            ASSERT_NE(raw, INVALID_HANDLE_VALUE) << GetLastError();
            ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, size_t(2 * round + 1)));
            uint64_t raw_id = slog.Snapshot().back().connection_id;
            EXPECT_GT(raw_id, previous);
            ASSERT_EQ(pipes_server_send(server.get(), raw_id, "secret", 6, nullptr), PIPES_OK);
            ASSERT_TRUE(PollUntil([&] { return ServerStats(server.get()).messages_out >= uint64_t(2 * round + 1); }));
            CloseHandle(raw); // never read
            ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_DISCONNECTED, size_t(2 * round + 1)));

            EventLog clog;
            pipes_client_config ccfg = ClientConfig(name, &clog);
            ClientGuard client;
            ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
            ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, size_t(2 * round + 2)));
            uint64_t id = slog.Snapshot().back().connection_id;
            EXPECT_GT(id, raw_id) << "a connection id was reused";
            ASSERT_EQ(pipes_server_send(server.get(), id, "yours", 5, nullptr), PIPES_OK);
            Event got;
            ASSERT_TRUE(clog.WaitFirst(PIPES_EVENT_MESSAGE, &got));
            EXPECT_EQ(std::string(got.data.begin(), got.data.end()), "yours")
                << "the new client read the old connection's data";
            ASSERT_EQ(pipes_client_send_wait(client.get(), "mine", 4, 10000), PIPES_OK);
            ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, size_t(round + 1)));
            EXPECT_EQ(slog.Snapshot().back().connection_id, id);
            EXPECT_EQ(clog.Count(PIPES_EVENT_MESSAGE), 1u);
            client.Close();
            ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_DISCONNECTED, size_t(2 * round + 2)));
            previous = id;
        }
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

} // namespace

namespace {

// A reply the server queues and then ends the connection after (the service's "rejected, here is
// why" before letting a client go) must still be readable by the client: an instance this side
// closed is not reused, since DisconnectNamedPipe would discard what the client has not read yet.
// The raw client reads only after the server's DISCONNECTED event, so nothing was read before.
TEST(LibLifecycle, DataSentBeforeALocalDisconnectStaysReadable)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog;
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.listen_instances = 1;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        HANDLE raw = CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                 OPEN_EXISTING, 0, nullptr);
        ASSERT_NE(raw, INVALID_HANDLE_VALUE) << GetLastError();
        DWORD mode = PIPE_READMODE_MESSAGE;
        ASSERT_TRUE(SetNamedPipeHandleState(raw, &mode, nullptr, nullptr));
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 1));
        uint64_t id = slog.Snapshot().back().connection_id;
        ASSERT_EQ(pipes_server_send(server.get(), id, "why", 3, nullptr), PIPES_OK);
        ASSERT_TRUE(PollUntil([&] { return ServerStats(server.get()).messages_out >= 1u; }));
        ASSERT_EQ(pipes_server_disconnect(server.get(), id), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_DISCONNECTED, 1));
        char buf[16] = {};
        DWORD got = 0;
        EXPECT_TRUE(ReadFile(raw, buf, sizeof buf, &got, nullptr)) << GetLastError();
        EXPECT_EQ(std::string(buf, got), "why") << "the reply was discarded by the disconnect";
        CloseHandle(raw);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

} // namespace
