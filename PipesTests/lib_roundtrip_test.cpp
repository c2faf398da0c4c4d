// lib_roundtrip_test.cpp - message framing through PipesLib: one send is one message, byte for
// byte, from 0 bytes to max_message_size, in both directions; a message over the maximum closes
// only its own connection with PIPES_ERR_MESSAGE_TOO_LARGE.
#include "test_support.h"

namespace {

using namespace pt;

// Starts `server` on `name` echoing every message back to its sender.
void StartEchoServer(const std::wstring &name, EventLog &log, ServerGuard &server,
                     size_t max_message_size = 0)
{
    log.hook = [](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_MESSAGE) {
            EXPECT_EQ(pipes_server_send(ev->server, ev->connection_id, ev->data, ev->size, nullptr),
                      PIPES_OK);
        }
    };
    pipes_server_config cfg = ServerConfig(name, &log);
    cfg.max_message_size = max_message_size;
    ASSERT_EQ(pipes_server_start(&cfg, server.Out()), PIPES_OK);
}

std::vector<Event> Messages(const std::vector<Event> &evs, uint64_t conn = 0)
{
    std::vector<Event> out;
    for (const Event &e : evs)
        if (e.type == PIPES_EVENT_MESSAGE && (conn == 0 || e.connection_id == conn))
            out.push_back(e);
    return out;
}

TEST(LibRoundTrip, EchoKeepsEveryMessageWholeFromZeroBytesToMax)
{
    LiveCounters base = Baseline();
    {
        std::wstring name = UniquePipeName();
        EventLog slog, clog;
        ServerGuard server;
        StartEchoServer(name, slog, server);
        ASSERT_FALSE(HasFatalFailure());
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ClientGuard client;
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);

        const size_t sizes[] = {0, 1, 2, 4095, 4096, 4097, 65536, 65537,
                                PIPES_DEFAULT_MAX_MESSAGE_SIZE - 1, PIPES_DEFAULT_MAX_MESSAGE_SIZE};
        std::vector<std::vector<uint8_t>> sent;
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
            sent.push_back(Pattern(sizes[i], static_cast<uint8_t>(i * 37)));
            const void *data = sent.back().empty() ? nullptr : sent.back().data();
            ASSERT_EQ(pipes_client_send(client.get(), data, sent.back().size(), nullptr), PIPES_OK);
        }
        ASSERT_TRUE(clog.WaitCount(PIPES_EVENT_MESSAGE, sent.size()))
            << "echoes received: " << clog.Count(PIPES_EVENT_MESSAGE);

        std::vector<Event> at_server = Messages(slog.Snapshot());
        std::vector<Event> at_client = Messages(clog.Snapshot());
        ASSERT_EQ(at_server.size(), sent.size());
        ASSERT_EQ(at_client.size(), sent.size());
        for (size_t i = 0; i < sent.size(); ++i) {
            SCOPED_TRACE("message " + std::to_string(i) + " of " + std::to_string(sent[i].size()) +
                         " bytes");
            EXPECT_EQ(at_server[i].data, sent[i]); // client -> server
            EXPECT_EQ(at_client[i].data, sent[i]); // server -> client
            EXPECT_EQ(at_server[i].data_null, sent[i].empty()) << "data is NULL exactly when size is 0";
            EXPECT_EQ(at_client[i].data_null, sent[i].empty());
            EXPECT_EQ(at_client[i].client, client.get());
            EXPECT_EQ(at_client[i].connection_id, 1u) << "first connection generation is 1";
            EXPECT_EQ(at_server[i].server, server.get());
            EXPECT_EQ(at_server[i].user_data, &slog);
        }

        pipes_stats ss = ServerStats(server.get());
        pipes_stats cs = ClientStats(client.get());
        size_t total = 0;
        for (auto &m : sent)
            total += m.size();
        EXPECT_EQ(ss.messages_in, sent.size());
        EXPECT_EQ(ss.bytes_in, total);
        EXPECT_EQ(cs.messages_in, sent.size());
        EXPECT_EQ(cs.bytes_in, total);
        EXPECT_EQ(cs.messages_out, sent.size());
        EXPECT_EQ(cs.bytes_out, total);
        EXPECT_EQ(ss.messages_out, sent.size());
        EXPECT_EQ(ss.current_connections, 1u);
        EXPECT_EQ(cs.current_connections, 1u);

        EXPECT_EQ(client.Close(), PIPES_OK);
        Event disc;
        ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc));
        EXPECT_EQ(disc.status, PIPES_ERR_PEER_CLOSED);
        EXPECT_EQ(server.Stop(), PIPES_OK);

        // Per connection: CONNECTED first, then the messages, DISCONNECTED last.
        std::vector<Event> all = slog.Snapshot();
        ASSERT_EQ(all.size(), sent.size() + 2);
        EXPECT_EQ(all.front().type, PIPES_EVENT_CONNECTED);
        EXPECT_EQ(all.back().type, PIPES_EVENT_DISCONNECTED);
        for (const Event &e : all)
            EXPECT_EQ(e.connection_id, disc.connection_id);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibRoundTrip, SendCompleteReturnsTheContextInBothDirections)
{
    std::wstring name = UniquePipeName();
    EventLog slog, clog;
    ServerGuard server;
    pipes_server_config scfg = ServerConfig(name, &slog);
    ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
    pipes_client_config ccfg = ClientConfig(name, &clog);
    ClientGuard client;
    ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
    Event conn;
    ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_CONNECTED, &conn));

    int ctx_a = 0, ctx_b = 0;
    std::vector<uint8_t> msg = Pattern(100);
    ASSERT_EQ(pipes_client_send(client.get(), msg.data(), msg.size(), &ctx_a), PIPES_OK);
    ASSERT_EQ(pipes_server_send(server.get(), conn.connection_id, msg.data(), msg.size(), &ctx_b),
              PIPES_OK);
    Event ca, cb;
    ASSERT_TRUE(clog.WaitFirst(PIPES_EVENT_SEND_COMPLETE, &ca));
    ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_SEND_COMPLETE, &cb));
    EXPECT_EQ(ca.send_context, &ctx_a);
    EXPECT_EQ(ca.status, PIPES_OK);
    EXPECT_EQ(cb.send_context, &ctx_b);
    EXPECT_EQ(cb.status, PIPES_OK);

    // Blocking send: returns once written; the server then receives it.
    std::vector<uint8_t> msg2 = Pattern(300, 9);
    EXPECT_EQ(pipes_client_send_wait(client.get(), msg2.data(), msg2.size(), 10000), PIPES_OK);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, 2));
    EXPECT_EQ(Messages(slog.Snapshot())[1].data, msg2);
    ASSERT_TRUE(clog.WaitCount(PIPES_EVENT_MESSAGE, 1));

    // Sends without a context produce no SEND_COMPLETE.
    EXPECT_EQ(clog.Count(PIPES_EVENT_SEND_COMPLETE), 1u);
    EXPECT_EQ(slog.Count(PIPES_EVENT_SEND_COMPLETE), 1u);
}

// Client -> server: exactly max arrives; max+1 closes that connection only, with the reason
// PIPES_ERR_MESSAGE_TOO_LARGE; other clients keep working and new ones are accepted.
// Run with a limit above the library's first read size (64 KiB: caught while reassembling) and
// with one below it (100 B: caught when the whole message fits one read).
void OversizeFromClient(const size_t max)
{
    LiveCounters base = Baseline();
    {
        std::wstring name = UniquePipeName();
        EventLog slog, alog, blog;
        ServerGuard server;
        StartEchoServer(name, slog, server, max);
        ASSERT_FALSE(::testing::Test::HasFatalFailure());

        pipes_client_config acfg = ClientConfig(name, &alog); // default 1 MiB: may send max+1
        ClientGuard a, b;
        ASSERT_EQ(pipes_client_connect(&acfg, a.Out()), PIPES_OK);
        Event a_conn;
        ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_CONNECTED, &a_conn));
        pipes_client_config bcfg = ClientConfig(name, &blog);
        ASSERT_EQ(pipes_client_connect(&bcfg, b.Out()), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 2));

        std::vector<uint8_t> exact = Pattern(max, 1), over = Pattern(max + 1, 2);
        ASSERT_EQ(pipes_client_send(a.get(), exact.data(), exact.size(), nullptr), PIPES_OK);
        ASSERT_EQ(pipes_client_send(a.get(), over.data(), over.size(), nullptr), PIPES_OK);

        Event disc;
        ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc, a_conn.connection_id));
        EXPECT_EQ(disc.status, PIPES_ERR_MESSAGE_TOO_LARGE);
        std::vector<Event> a_msgs = Messages(slog.Snapshot(), a_conn.connection_id);
        ASSERT_EQ(a_msgs.size(), 1u) << "only the exactly-max message is delivered";
        EXPECT_EQ(a_msgs[0].data, exact);
        EXPECT_EQ(ServerStats(server.get()).disconnects_by_reason[PIPES_ERR_MESSAGE_TOO_LARGE], 1u);

        // The client sees the server close its pipe.
        Event a_disc;
        ASSERT_TRUE(alog.WaitFirst(PIPES_EVENT_DISCONNECTED, &a_disc));
        EXPECT_EQ(a_disc.status, PIPES_ERR_PEER_CLOSED);

        // Client B is untouched: a full-size round trip still works.
        ASSERT_EQ(pipes_client_send(b.get(), exact.data(), exact.size(), nullptr), PIPES_OK);
        ASSERT_TRUE(blog.WaitCount(PIPES_EVENT_MESSAGE, 1));
        EXPECT_EQ(Messages(blog.Snapshot())[0].data, exact);
        EXPECT_EQ(blog.Count(PIPES_EVENT_DISCONNECTED), 0u);

        // And the server accepts new clients.
        EventLog clog;
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ClientGuard c;
        ASSERT_EQ(pipes_client_connect(&ccfg, c.Out()), PIPES_OK);
        uint8_t one = 0x5A;
        ASSERT_EQ(pipes_client_send(c.get(), &one, 1, nullptr), PIPES_OK);
        ASSERT_TRUE(clog.WaitCount(PIPES_EVENT_MESSAGE, 1));
        EXPECT_EQ(Messages(clog.Snapshot())[0].data, std::vector<uint8_t>{0x5A});
        EXPECT_EQ(server.Stop(), PIPES_OK);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibRoundTrip, OversizedMessageFromClientClosesOnlyThatConnection)
{
    OversizeFromClient(64 * 1024);
}

TEST(LibRoundTrip, OversizedMessageFromClientWithASmallLimit)
{
    OversizeFromClient(100);
}

// Server -> client: the client's own max_message_size applies to what it receives.
void OversizeFromServer(const size_t max)
{
    LiveCounters base = Baseline();
    {
        std::wstring name = UniquePipeName();
        EventLog slog, alog, blog;
        ServerGuard server;
        pipes_server_config scfg = ServerConfig(name, &slog); // 1 MiB: may send max+1
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);

        ClientGuard a, b;
        pipes_client_config acfg = ClientConfig(name, &alog);
        acfg.max_message_size = max;
        ASSERT_EQ(pipes_client_connect(&acfg, a.Out()), PIPES_OK);
        Event a_conn;
        ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_CONNECTED, &a_conn));
        pipes_client_config bcfg = ClientConfig(name, &blog);
        bcfg.max_message_size = max;
        ASSERT_EQ(pipes_client_connect(&bcfg, b.Out()), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 2));
        uint64_t b_id = 0;
        for (const Event &e : slog.Snapshot())
            if (e.type == PIPES_EVENT_CONNECTED && e.connection_id != a_conn.connection_id)
                b_id = e.connection_id;
        ASSERT_NE(b_id, 0u);

        std::vector<uint8_t> exact = Pattern(max, 3), over = Pattern(max + 1, 4);
        ASSERT_EQ(pipes_server_send(server.get(), a_conn.connection_id, exact.data(), exact.size(),
                                    nullptr),
                  PIPES_OK);
        ASSERT_EQ(pipes_server_send(server.get(), a_conn.connection_id, over.data(), over.size(),
                                    nullptr),
                  PIPES_OK);

        Event a_disc;
        ASSERT_TRUE(alog.WaitFirst(PIPES_EVENT_DISCONNECTED, &a_disc));
        EXPECT_EQ(a_disc.status, PIPES_ERR_MESSAGE_TOO_LARGE);
        std::vector<Event> a_msgs = Messages(alog.Snapshot());
        ASSERT_EQ(a_msgs.size(), 1u);
        EXPECT_EQ(a_msgs[0].data, exact);
        EXPECT_EQ(ClientStats(a.get()).disconnects_by_reason[PIPES_ERR_MESSAGE_TOO_LARGE], 1u);

        Event s_disc;
        ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_DISCONNECTED, &s_disc, a_conn.connection_id));
        EXPECT_EQ(s_disc.status, PIPES_ERR_PEER_CLOSED);

        // A client without reconnect stays down: sends report it.
        EXPECT_EQ(pipes_client_send(a.get(), exact.data(), 10, nullptr), PIPES_ERR_NOT_CONNECTED);

        ASSERT_EQ(pipes_server_send(server.get(), b_id, exact.data(), exact.size(), nullptr),
                  PIPES_OK);
        ASSERT_TRUE(blog.WaitCount(PIPES_EVENT_MESSAGE, 1));
        EXPECT_EQ(Messages(blog.Snapshot())[0].data, exact);
        EXPECT_EQ(blog.Count(PIPES_EVENT_DISCONNECTED), 0u);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibRoundTrip, OversizedMessageFromServerClosesOnlyThatClient)
{
    OversizeFromServer(64 * 1024);
}

TEST(LibRoundTrip, OversizedMessageFromServerWithASmallLimit)
{
    OversizeFromServer(100);
}

// max_message_size raised to 64 MiB: multi-MiB messages both ways, and exactly 64 MiB.
TEST(LibRoundTrip, SixtyFourMiBLimitCarriesMultiMegabyteMessages)
{
    const size_t max = 64u << 20;
    std::wstring name = UniquePipeName();
    EventLog slog, clog;
    slog.KeepEvents(false); // checked in place: no 64 MiB copies
    clog.KeepEvents(false);
    std::atomic<int> server_ok{0}, server_bad{0}, client_ok{0}, client_bad{0};
    std::atomic<size_t> server_last_size{0};
    slog.hook = [&](const pipes_event *ev) {
        if (ev->type != PIPES_EVENT_MESSAGE)
            return;
        server_last_size = ev->size;
        if (pt_msg_check(ev->data, ev->size, 1, nullptr, nullptr)) {
            ++server_ok;
            // Echo the multi-MiB ones back (not the 64 MiB one: one way is enough for it).
            if (ev->size < max) {
                EXPECT_EQ(pipes_server_send(ev->server, ev->connection_id, ev->data, ev->size,
                                            nullptr),
                          PIPES_OK);
            }
        } else {
            ++server_bad;
        }
    };
    clog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_MESSAGE)
            ++(pt_msg_check(ev->data, ev->size, 1, nullptr, nullptr) ? client_ok : client_bad);
    };
    ServerGuard server;
    pipes_server_config scfg = ServerConfig(name, &slog);
    scfg.max_message_size = max;
    ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
    pipes_client_config ccfg = ClientConfig(name, &clog);
    ccfg.max_message_size = max;
    ClientGuard client;
    ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);

    auto t0 = Clock::now();
    std::vector<uint8_t> m1 = TestMessage((6u << 20) + 3, 1, 0);
    std::vector<uint8_t> m2 = TestMessage((3u << 20) + 1, 1, 1);
    ASSERT_EQ(pipes_client_send(client.get(), m1.data(), m1.size(), nullptr), PIPES_OK);
    ASSERT_EQ(pipes_client_send(client.get(), m2.data(), m2.size(), nullptr), PIPES_OK);
    ASSERT_TRUE(clog.WaitFlag([&] { return client_ok + client_bad >= 2; }, milliseconds(60000)));
    EXPECT_EQ(server_ok.load(), 2);
    EXPECT_EQ(client_ok.load(), 2);
    EXPECT_EQ(server_bad.load() + client_bad.load(), 0);
    m1.clear();
    m1.shrink_to_fit();

    std::vector<uint8_t> full = TestMessage(max, 2, 0);
    EXPECT_EQ(pipes_client_send_wait(client.get(), full.data(), full.size(), 60000), PIPES_OK);
    ASSERT_TRUE(slog.WaitFlag([&] { return server_ok + server_bad >= 3; }, milliseconds(60000)));
    EXPECT_EQ(server_ok.load(), 3);
    EXPECT_EQ(server_last_size.load(), max);
    std::printf("[ info ] 6 MiB + 3 MiB echoed and 64 MiB one way in %.2f s\n", SecondsSince(t0));
}

} // namespace
