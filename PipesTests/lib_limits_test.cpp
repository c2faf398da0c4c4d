// lib_limits_test.cpp - the documented limits: max_connections refuses the extra client with a
// LIMIT event, also when clients arrive together; a full write queue refuses sends with
// PIPES_ERR_QUEUE_FULL and no event (client), or skips the connection in a broadcast (server)
// with a LIMIT event, and recovers once the peer reads; an oversized message closes the
// connection, or with PIPES_SERVER_DISCARD_OVERSIZED is thrown away and reported in order.
#include "test_support.h"

#include <future>

namespace {

using namespace pt;

TEST(LibLimits, MaxConnectionsRefusesTheExtraClient)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog;
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.max_connections = 2;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        EventLog alog, blog, clog, dlog;
        ClientGuard a, b, c, d;
        pipes_client_config cfg = ClientConfig(name, &alog);
        ASSERT_EQ(pipes_client_connect(&cfg, a.Out()), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 1));
        cfg.user_data = &blog;
        ASSERT_EQ(pipes_client_connect(&cfg, b.Out()), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 2));

        // The third gets the pipe, then the server refuses it: no CONNECTED, a LIMIT event.
        // The refusal can land while the client is still inside connect (which then returns
        // PEER_CLOSED, as pipes.h documents) or just after (a DISCONNECTED event follows).
        cfg.user_data = &clog;
        pipes_status cst = pipes_client_connect(&cfg, c.Out());
        ASSERT_TRUE(cst == PIPES_OK || cst == PIPES_ERR_PEER_CLOSED) << pipes_status_string(cst);
        Event limit;
        ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_LIMIT, &limit));
        EXPECT_EQ(limit.status, PIPES_ERR_TOO_MANY_CONNECTIONS);
        if (cst == PIPES_OK) {
            Event c_disc;
            ASSERT_TRUE(clog.WaitFirst(PIPES_EVENT_DISCONNECTED, &c_disc));
            EXPECT_EQ(c_disc.status, PIPES_ERR_PEER_CLOSED);
        }
        EXPECT_EQ(slog.Count(PIPES_EVENT_CONNECTED), 2u);
        pipes_stats ss = ServerStats(server.get());
        EXPECT_EQ(ss.refused, 1u);
        EXPECT_EQ(ss.current_connections, 2u);

        // When one leaves, a new client is accepted again.
        ASSERT_EQ(a.Close(), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_DISCONNECTED, 1));
        cfg.user_data = &dlog;
        ASSERT_EQ(pipes_client_connect(&cfg, d.Out()), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 3));
        ASSERT_EQ(pipes_client_send_wait(d.get(), "in", 2, 10000), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, 1));
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibLimits, ClientQueueFullIsRefusedAndReportedThenRecovers)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog, clog;
        Gate gate;
        std::atomic<int> server_msgs{0};
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_MESSAGE && ++server_msgs == 1)
                gate.Wait(); // the server stops reading this connection
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ccfg.max_queued_messages = 3;
        ClientGuard client;
        OpenOnExit open_on_exit{gate}; // a failed ASSERT must not leave a callback blocked
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
        ASSERT_EQ(pipes_client_send(client.get(), "first", 5, nullptr), PIPES_OK);
        ASSERT_TRUE(gate.WaitUntilBlocked());
        // The server has read "first"; wait until the client has also seen that write complete,
        // so the next send goes straight into flight (on a loaded machine the completion can
        // take a while to be dequeued, and the count below would be one short).
        ASSERT_TRUE(PollUntil([&] { return ClientStats(client.get()).messages_out >= 1; },
                              milliseconds(10000)));

        // Messages bigger than the pipe buffer: the first fills the pipe and stays in flight
        // (possibly two), the next three wait in the queue, and then the queue is full.
        std::vector<uint8_t> big = Pattern(256 * 1024);
        pipes_status st = PIPES_OK;
        int accepted = 0;
        while (accepted < 10 && (st = pipes_client_send(client.get(), big.data(), big.size(),
                                                        nullptr)) == PIPES_OK) {
            ++accepted;
            if (accepted <= 2) // let the first writes reach the kernel before queueing more
                PollUntil([&] { return ClientStats(client.get()).queued_messages == 0; },
                          milliseconds(500));
        }
        EXPECT_EQ(st, PIPES_ERR_QUEUE_FULL) << "accepted " << accepted;
        EXPECT_GE(accepted, 4) << "one in flight + three queued";
        EXPECT_LE(accepted, 7) << "the pipe buffered more than a few 256 KiB messages";
        EXPECT_EQ(ClientStats(client.get()).queued_messages, 3u);
        EXPECT_GE(ClientStats(client.get()).errors_by_status[PIPES_ERR_QUEUE_FULL], 1u);
        // QUEUE_FULL was returned to the caller: pipes.h promises no event besides.

        // Once the server reads again, everything accepted arrives.
        gate.Open();
        ASSERT_TRUE(slog.WaitFlag([&] { return server_msgs.load() == 1 + accepted; }))
            << "server got " << server_msgs.load();
        EXPECT_EQ(pipes_client_send_wait(client.get(), big.data(), big.size(), 10000), PIPES_OK);
        ASSERT_TRUE(slog.WaitFlag([&] { return server_msgs.load() == 2 + accepted; }));
        EXPECT_EQ(clog.Count(PIPES_EVENT_LIMIT), 0u) << "a refused send raised an event too";
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibLimits, BroadcastSkipsAConnectionWhoseQueueIsFull)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog, slow_log, fast_log;
        Gate gate;
        std::atomic<int> slow_msgs{0};
        slow_log.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_MESSAGE && ++slow_msgs == 1)
                gate.Wait(); // this client stops reading
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.max_queued_messages = 4;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        ClientGuard slow, fast;
        OpenOnExit open_on_exit{gate};
        pipes_client_config ccfg = ClientConfig(name, &slow_log);
        ASSERT_EQ(pipes_client_connect(&ccfg, slow.Out()), PIPES_OK);
        Event slow_conn;
        ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_CONNECTED, &slow_conn));
        ccfg.user_data = &fast_log;
        ASSERT_EQ(pipes_client_connect(&ccfg, fast.Out()), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 2));
        ASSERT_EQ(pipes_server_send(server.get(), slow_conn.connection_id, "stall", 5, nullptr),
                  PIPES_OK);
        ASSERT_TRUE(gate.WaitUntilBlocked());

        std::vector<uint8_t> big = Pattern(256 * 1024, 1);
        std::vector<unsigned> delivered;
        for (int i = 0; i < 12; ++i) {
            unsigned d = 0;
            ASSERT_EQ(pipes_server_broadcast(server.get(), big.data(), big.size(), &d), PIPES_OK);
            delivered.push_back(d);
            // The fast client takes each one before the next, so its queue never fills.
            ASSERT_TRUE(fast_log.WaitCount(PIPES_EVENT_MESSAGE, size_t(i) + 1));
        }
        unsigned to_slow = 0;
        for (unsigned d : delivered) {
            EXPECT_GE(d, 1u);
            to_slow += d - 1;
        }
        EXPECT_EQ(delivered.back(), 1u) << "the stalled client's queue should be full by now";
        EXPECT_GE(to_slow, 4u);
        Event limit;
        ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_LIMIT, &limit));
        EXPECT_EQ(limit.status, PIPES_ERR_QUEUE_FULL);
        EXPECT_EQ(limit.connection_id, slow_conn.connection_id);
        EXPECT_GE(ServerStats(server.get()).errors_by_status[PIPES_ERR_QUEUE_FULL], 1u);

        // Released, the slow client gets exactly what was accepted for it, in order.
        gate.Open();
        ASSERT_TRUE(slow_log.WaitFlag([&] { return slow_msgs.load() == 1 + int(to_slow); }))
            << "slow client got " << slow_msgs.load() << ", expected " << 1 + to_slow;
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// Clients that connect at the same moment must not all pass the max_connections check: the
// first is held in its authorize callback until a second client reaches authorize too (or 2 s
// pass). With the limit at 1, the second must be refused before it gets that far. (Before the
// fix, the check ran under a shared lock and the count rose only after authorize, so both were
// authorized and connected.)
TEST(LibLimits, MaxConnectionsHoldsWhenClientsConnectTogether)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog;
        std::mutex m;
        std::condition_variable cv;
        int authorizing = 0;
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.max_connections = 1;
        struct Ctx {
            std::mutex *m;
            std::condition_variable *cv;
            int *authorizing;
        } ctx{&m, &cv, &authorizing};
        // The authorize callback gets user_data (the EventLog): reach the context through a
        // static, as the test runs alone.
        static Ctx *g_ctx;
        g_ctx = &ctx;
        scfg.authorize = [](const pipes_peer_identity *, void *) -> int {
            std::unique_lock<std::mutex> lock(*g_ctx->m);
            ++*g_ctx->authorizing;
            g_ctx->cv->notify_all();
            g_ctx->cv->wait_for(lock, std::chrono::seconds(2),
                                [&] { return *g_ctx->authorizing >= 2; });
            return 1;
        };
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);

        EventLog alog, blog;
        ClientGuard a, b;
        std::atomic<int> ast{-1}, bst{-1};
        std::thread ta([&] {
            pipes_client_config cfg = ClientConfig(name, &alog);
            ast = pipes_client_connect(&cfg, a.Out());
        });
        std::thread tb([&] {
            pipes_client_config cfg = ClientConfig(name, &blog);
            bst = pipes_client_connect(&cfg, b.Out());
        });
        ta.join();
        tb.join();
        Event limit;
        EXPECT_TRUE(slog.WaitFirst(PIPES_EVENT_LIMIT, &limit)) << "nobody was refused";
        EXPECT_EQ(limit.status, PIPES_ERR_TOO_MANY_CONNECTIONS);
        EXPECT_TRUE(PollUntil([&] {
            return ServerStats(server.get()).connects + ServerStats(server.get()).refused == 2;
        }));
        pipes_stats ss = ServerStats(server.get());
        EXPECT_EQ(ss.connects, 1u) << "max_connections 1, but both clients were connected";
        EXPECT_EQ(ss.refused, 1u);
        // The server counts a connect just before it delivers CONNECTED: wait for the event, or
        // this reads the log in between (seen once in a chaos run, 0 events).
        EXPECT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 1));
        EXPECT_EQ(slog.Count(PIPES_EVENT_CONNECTED), 1u);
        {
            std::lock_guard<std::mutex> lock(m);
            EXPECT_EQ(authorizing, 1) << "the extra client reached authorize";
        }
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// Without PIPES_SERVER_DISCARD_OVERSIZED a message over max_message_size ends its connection;
// with it, the message is read and thrown away, reported as a LIMIT event in message order, and
// the connection goes on.
TEST(LibLimits, AnOversizedMessageClosesTheConnectionUnlessDiscarded)
{
    LiveCounters base = Baseline();
    for (bool discard : {false, true}) {
        SCOPED_TRACE(discard ? "discard" : "close");
        const std::wstring name = UniquePipeName(discard ? "d" : "c");
        EventLog slog, clog;
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.max_message_size = 1000;
        scfg.flags = discard ? PIPES_SERVER_DISCARD_OVERSIZED : 0;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ccfg.max_message_size = 4u << 20;
        ClientGuard client;
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
        std::vector<uint8_t> fits = Pattern(1000), over = Pattern(1001, 3), huge = Pattern(3u << 20, 5);
        ASSERT_EQ(pipes_client_send(client.get(), "a", 1, nullptr), PIPES_OK);
        ASSERT_EQ(pipes_client_send(client.get(), over.data(), over.size(), nullptr), PIPES_OK);
        if (!discard) {
            Event disc;
            ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc));
            EXPECT_EQ(disc.status, PIPES_ERR_MESSAGE_TOO_LARGE);
            EXPECT_EQ(slog.Count(PIPES_EVENT_MESSAGE), 1u);
            ASSERT_TRUE(clog.WaitCount(PIPES_EVENT_DISCONNECTED, 1));
            continue;
        }
        ASSERT_EQ(pipes_client_send(client.get(), fits.data(), fits.size(), nullptr), PIPES_OK);
        ASSERT_EQ(pipes_client_send(client.get(), huge.data(), huge.size(), nullptr), PIPES_OK);
        ASSERT_EQ(pipes_client_send(client.get(), "z", 1, nullptr), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, 3));
        // In order: a, LIMIT(1001), fits, LIMIT(3 MiB), z; still connected.
        std::vector<std::pair<pipes_event_type, size_t>> seen;
        for (const Event &e : slog.Snapshot()) {
            if (e.type != PIPES_EVENT_MESSAGE && e.type != PIPES_EVENT_LIMIT)
                continue;
            seen.emplace_back(e.type, e.size);
            if (e.type == PIPES_EVENT_LIMIT) {
                EXPECT_EQ(e.status, PIPES_ERR_MESSAGE_TOO_LARGE);
                EXPECT_NE(e.connection_id, 0u);
                EXPECT_TRUE(e.data_null);
            }
        }
        ASSERT_EQ(seen.size(), 5u);
        EXPECT_EQ(seen[0], std::make_pair(PIPES_EVENT_MESSAGE, size_t(1)));
        EXPECT_EQ(seen[1], std::make_pair(PIPES_EVENT_LIMIT, over.size()));
        EXPECT_EQ(seen[2], std::make_pair(PIPES_EVENT_MESSAGE, fits.size()));
        EXPECT_EQ(seen[3], std::make_pair(PIPES_EVENT_LIMIT, huge.size()));
        EXPECT_EQ(seen[4], std::make_pair(PIPES_EVENT_MESSAGE, size_t(1)));
        EXPECT_EQ(slog.Count(PIPES_EVENT_DISCONNECTED), 0u);
        EXPECT_EQ(ServerStats(server.get()).errors_by_status[PIPES_ERR_MESSAGE_TOO_LARGE], 2u);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

} // namespace
