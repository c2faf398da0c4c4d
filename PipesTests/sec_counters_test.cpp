// sec_counters_test.cpp - the per-endpoint counters match what the test did: messages and
// bytes in/out, connects, disconnects by reason; and what a peer wrote before it closed is
// all delivered and counted (not dropped because a reply to it failed).
#include "sec_util.h"

#include <cstring>

using namespace sec;

namespace {

struct EchoServer {
    EventLog log;
    pipes_server *server = nullptr;
    EchoServer(const std::wstring &name, pipes_engine *engine, size_t max_message = 0)
    {
        MakeEcho(&log);
        pipes_server_config cfg = ServerConfig(name, engine, &log);
        cfg.max_message_size = max_message;
        EXPECT_EQ(pipes_server_start(&cfg, &server), PIPES_OK);
    }
    ~EchoServer()
    {
        if (server) {
            EXPECT_EQ(pipes_server_stop(server), PIPES_OK);
        }
    }
};

// Sends each message with send_wait and waits for its echo.
void RoundTrips(pipes_client *c, EventLog *log, const std::vector<std::vector<uint8_t>> &msgs)
{
    size_t before = log->Count(PIPES_EVENT_MESSAGE);
    for (const std::vector<uint8_t> &m : msgs) {
        ASSERT_EQ(pipes_client_send_wait(c, m.empty() ? nullptr : m.data(), m.size(), 5000),
                  PIPES_OK);
    }
    ASSERT_TRUE(log->WaitCount(PIPES_EVENT_MESSAGE, before + msgs.size(), 5000));
}

}  // namespace

TEST(SecCounters, MessagesBytesConnectsAndDisconnectReasonsMatchTheTraffic)
{
    Engine eng;
    std::wstring name = UniquePipeName("counters");
    EchoServer srv(name, eng.engine, 4096);
    ASSERT_NE(srv.server, nullptr);

    EventLog la, lb, lc;
    pipes_client_config ca = ClientConfig(name, eng.engine, &la);
    pipes_client_config cb = ClientConfig(name, eng.engine, &lb);
    pipes_client *a = nullptr, *b = nullptr;
    ASSERT_EQ(pipes_client_connect(&ca, &a), PIPES_OK);
    ASSERT_EQ(pipes_client_connect(&cb, &b), PIPES_OK);

    std::vector<std::vector<uint8_t>> ma, mb;
    uint64_t bytes_a = 0, bytes_b = 0;
    for (int i = 0; i < 50; i++) {
        ma.emplace_back(static_cast<size_t>(i) * 10, static_cast<uint8_t>(i));  // 0..490 bytes
        bytes_a += ma.back().size();
    }
    for (int i = 0; i < 20; i++) {
        mb.emplace_back(1000, static_cast<uint8_t>(i));
        bytes_b += 1000;
    }
    RoundTrips(a, &la, ma);
    RoundTrips(b, &lb, mb);

    pipes_stats s = ServerStats(srv.server);
    EXPECT_EQ(s.messages_in, 70u);
    EXPECT_EQ(s.bytes_in, bytes_a + bytes_b);
    EXPECT_TRUE(WaitUntil([&] { return ServerStats(srv.server).messages_out == 70u; }, 5000));
    s = ServerStats(srv.server);
    EXPECT_EQ(s.messages_out, 70u);
    EXPECT_EQ(s.bytes_out, bytes_a + bytes_b);
    EXPECT_EQ(s.connects, 2u);
    EXPECT_EQ(s.current_connections, 2u);
    EXPECT_EQ(s.refused, 0u);

    pipes_stats sa = ClientStats(a);
    EXPECT_EQ(sa.messages_out, 50u);
    EXPECT_EQ(sa.bytes_out, bytes_a);
    EXPECT_EQ(sa.messages_in, 50u);
    EXPECT_EQ(sa.bytes_in, bytes_a);
    EXPECT_EQ(sa.connects, 1u);
    EXPECT_EQ(sa.current_connections, 1u);
    pipes_stats sb = ClientStats(b);
    EXPECT_EQ(sb.messages_out, 20u);
    EXPECT_EQ(sb.bytes_in, bytes_b);

    // Three ways to end: the server disconnects b (LOCAL_CLOSED on the server, PEER_CLOSED
    // on b), a closes (PEER_CLOSED on the server), c sends too much (MESSAGE_TOO_LARGE).
    // b's connection is the one its 1,000-byte messages came on (a's are 0-490 bytes): the
    // server may see a and b connect in either order, so the order of CONNECTED says nothing.
    uint64_t id_b = 0;
    for (const Recorded &r : srv.log.Snapshot())
        if (r.type == PIPES_EVENT_MESSAGE && r.data.size() == 1000)
            id_b = r.connection_id;
    ASSERT_NE(id_b, 0u);
    ASSERT_EQ(pipes_server_disconnect(srv.server, id_b), PIPES_OK);
    ASSERT_TRUE(lb.WaitCount(PIPES_EVENT_DISCONNECTED, 1, 5000));
    EXPECT_EQ(lb.Count(PIPES_EVENT_DISCONNECTED, PIPES_ERR_PEER_CLOSED), 1u);
    sb = ClientStats(b);
    EXPECT_EQ(sb.disconnects_by_reason[PIPES_ERR_PEER_CLOSED], 1u);
    EXPECT_EQ(sb.current_connections, 0u);

    ASSERT_EQ(pipes_client_close(a), PIPES_OK);

    pipes_client_config cc = ClientConfig(name, eng.engine, &lc);
    pipes_client *c = nullptr;
    ASSERT_EQ(pipes_client_connect(&cc, &c), PIPES_OK);
    std::vector<uint8_t> big(5000, 'B');  // fine for the client (1 MiB), too large for the server
    EXPECT_EQ(pipes_client_send_wait(c, big.data(), big.size(), 5000), PIPES_OK);
    ASSERT_TRUE(lc.WaitCount(PIPES_EVENT_DISCONNECTED, 1, 5000));
    EXPECT_EQ(lc.Count(PIPES_EVENT_DISCONNECTED, PIPES_ERR_PEER_CLOSED), 1u);

    ASSERT_TRUE(srv.log.WaitCount(PIPES_EVENT_DISCONNECTED, 3, 5000));
    s = ServerStats(srv.server);
    EXPECT_EQ(s.disconnects_by_reason[PIPES_ERR_LOCAL_CLOSED], 1u);
    EXPECT_EQ(s.disconnects_by_reason[PIPES_ERR_PEER_CLOSED], 1u);
    EXPECT_EQ(s.disconnects_by_reason[PIPES_ERR_MESSAGE_TOO_LARGE], 1u);
    uint64_t total = 0;
    for (uint64_t v : s.disconnects_by_reason)
        total += v;
    EXPECT_EQ(total, 3u);
    EXPECT_EQ(s.connects, 3u);
    EXPECT_EQ(s.current_connections, 0u);
    EXPECT_EQ(s.messages_in, 70u);  // the oversized message is not a message
    EXPECT_EQ(s.bytes_in, bytes_a + bytes_b);

    pipes_client_close(b);
    pipes_client_close(c);
}

TEST(SecCounters, MessagesWrittenBeforeThePeerClosesAreAllDelivered)
{
    // A client that sends several requests and closes without reading the replies: the
    // server's first reply fails (the client is gone), but the requests already in the pipe
    // must still be delivered and counted (the submit pipe would lose notifications).
    Engine eng;
    std::wstring name = UniquePipeName("drain");
    EchoServer srv(name, eng.engine);
    ASSERT_NE(srv.server, nullptr);
    HANDLE h = OpenPipeRaw(name);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    for (uint8_t i = 0; i < 10; i++) {
        uint8_t msg[100];
        std::memset(msg, i, sizeof msg);
        DWORD n = 0;
        ASSERT_TRUE(WriteFile(h, msg, sizeof msg, &n, nullptr));
        ASSERT_EQ(n, sizeof msg);
    }
    CloseHandle(h);
    ASSERT_TRUE(srv.log.WaitCount(PIPES_EVENT_DISCONNECTED, 1, 5000));
    EXPECT_EQ(srv.log.Count(PIPES_EVENT_MESSAGE), 10u);
    std::vector<Recorded> ev = srv.log.Snapshot();
    uint8_t next = 0;
    for (const Recorded &r : ev)
        if (r.type == PIPES_EVENT_MESSAGE) {
            ASSERT_EQ(r.data.size(), 100u);
            EXPECT_EQ(r.data[0], next++);
        }
    EXPECT_EQ(ServerStats(srv.server).messages_in, 10u);
    EXPECT_EQ(srv.log.Count(PIPES_EVENT_DISCONNECTED, PIPES_ERR_PEER_CLOSED), 1u);
}
