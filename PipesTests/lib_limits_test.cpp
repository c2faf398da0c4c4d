// lib_limits_test.cpp - the documented limits: max_connections refuses the extra client with a
// LIMIT event; a full write queue refuses sends with PIPES_ERR_QUEUE_FULL (client) or skips the
// connection in a broadcast (server), reports a LIMIT event, and recovers once the peer reads.
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
        Event limit;
        ASSERT_TRUE(clog.WaitFirst(PIPES_EVENT_LIMIT, &limit));
        EXPECT_EQ(limit.status, PIPES_ERR_QUEUE_FULL);
        EXPECT_GE(ClientStats(client.get()).errors_by_status[PIPES_ERR_QUEUE_FULL], 1u);

        // Once the server reads again, everything accepted arrives.
        gate.Open();
        ASSERT_TRUE(slog.WaitFlag([&] { return server_msgs.load() == 1 + accepted; }))
            << "server got " << server_msgs.load();
        EXPECT_EQ(pipes_client_send_wait(client.get(), big.data(), big.size(), 10000), PIPES_OK);
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

} // namespace
