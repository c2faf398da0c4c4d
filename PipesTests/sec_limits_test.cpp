// sec_limits_test.cpp - limits a hostile or stuck peer runs into: max_connections (the extra
// client is refused, a LIMIT event reports it, room comes back when one leaves) and bounded
// write queues against a reader that stops reading (QUEUE_FULL, send_wait timeout, the
// queue never above its bound).
#include "sec_util.h"

#include <cstring>

using namespace sec;

namespace {

constexpr size_t kMsgSize = 4096;
constexpr unsigned kQueueMessages = 8;

std::vector<uint8_t> Numbered(uint32_t seq, size_t size = kMsgSize)
{
    std::vector<uint8_t> m(size, static_cast<uint8_t>(seq));
    std::memcpy(m.data(), &seq, sizeof seq);
    return m;
}

uint32_t SeqOf(const uint8_t *data) { uint32_t s; std::memcpy(&s, data, sizeof s); return s; }

// Reads one message from an overlapped handle, waiting up to timeout_ms; false on error
// or timeout (the read is cancelled).
bool ReadOne(HANDLE h, std::vector<uint8_t> *buf, DWORD *got, DWORD timeout_ms)
{
    OVERLAPPED ov{};
    ov.hEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    bool ok = ReadFile(h, buf->data(), static_cast<DWORD>(buf->size()), got, &ov) != FALSE;
    if (!ok && GetLastError() == ERROR_IO_PENDING) {
        if (WaitForSingleObject(ov.hEvent, timeout_ms) != WAIT_OBJECT_0)
            CancelIoEx(h, &ov);
        ok = GetOverlappedResult(h, &ov, got, TRUE) != FALSE;
    }
    CloseHandle(ov.hEvent);
    return ok;
}

// Reads up to n messages (5 s each at most); returns their sequence numbers.
std::vector<uint32_t> RawRead(HANDLE h, size_t n)
{
    std::vector<uint32_t> seqs;
    std::vector<uint8_t> buf(64 * 1024);
    for (size_t i = 0; i < n; i++) {
        DWORD got = 0;
        if (!ReadOne(h, &buf, &got, 5000) || got < 4)
            break;
        seqs.push_back(SeqOf(buf.data()));
    }
    return seqs;
}

HANDLE RawClient(const std::wstring &name)
{
    HANDLE h = OpenPipeRaw(name, FILE_FLAG_OVERLAPPED);
    if (h != INVALID_HANDLE_VALUE) {
        DWORD mode = PIPE_READMODE_MESSAGE;
        SetNamedPipeHandleState(h, &mode, nullptr, nullptr);
    }
    return h;
}

}  // namespace

TEST(SecMaxConnections, ExtraClientIsRefusedLimitEventAndRoomComesBack)
{
    Engine eng;
    std::wstring name = UniquePipeName("maxconn");
    EventLog slog;
    MakeEcho(&slog);
    pipes_server_config scfg = ServerConfig(name, eng.engine, &slog);
    scfg.max_connections = 3;
    ServerGuard guard;
    ASSERT_EQ(pipes_server_start(&scfg, &guard.server), PIPES_OK);
    pipes_server *server = guard.server;

    EventLog logs[5];
    pipes_client *clients[5] = {};
    for (int i = 0; i < 3; i++) {
        pipes_client_config cfg = ClientConfig(name, eng.engine, &logs[i]);
        ASSERT_EQ(pipes_client_connect(&cfg, &clients[i]), PIPES_OK) << i;
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, static_cast<size_t>(i) + 1, 5000)) << i;
    }
    EXPECT_EQ(ServerStats(server).current_connections, 3u);

    // The fourth: its open succeeds (an instance was listening), then the server drops it.
    pipes_client_config cfg4 = ClientConfig(name, eng.engine, &logs[3]);
    EXPECT_EQ(ConnectDroppedByServer(cfg4, &logs[3], &clients[3]), "");
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_LIMIT, 1, 5000));
    EXPECT_EQ(slog.Count(PIPES_EVENT_LIMIT, PIPES_ERR_TOO_MANY_CONNECTIONS), 1u);
    const char ping[] = "ping";
    if (clients[3]) {
        EXPECT_EQ(pipes_client_send(clients[3], ping, sizeof ping, nullptr),
                  PIPES_ERR_NOT_CONNECTED);
    }
    pipes_stats st = ServerStats(server);
    EXPECT_EQ(st.refused, 1u);
    EXPECT_EQ(st.errors_by_status[PIPES_ERR_TOO_MANY_CONNECTIONS], 1u);
    EXPECT_EQ(st.connects, 3u);
    EXPECT_EQ(st.current_connections, 3u);
    EXPECT_EQ(slog.Count(PIPES_EVENT_CONNECTED), 3u);

    // The three admitted ones still work.
    for (int i = 0; i < 3; i++) {
        std::vector<uint8_t> msg = {'c', static_cast<uint8_t>('0' + i)};
        ASSERT_EQ(pipes_client_send_wait(clients[i], msg.data(), msg.size(), 5000), PIPES_OK);
        EXPECT_TRUE(logs[i].WaitMessage(msg, 5000)) << i;
    }

    // One leaves; once the server has seen it go, a new client gets in and is served.
    ASSERT_EQ(pipes_client_close(clients[0]), PIPES_OK);
    clients[0] = nullptr;
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_DISCONNECTED, 1, 5000));
    pipes_client_config cfg5 = ClientConfig(name, eng.engine, &logs[4]);
    ASSERT_EQ(pipes_client_connect(&cfg5, &clients[4]), PIPES_OK);
    std::vector<uint8_t> msg = {'n', 'e', 'w'};
    ASSERT_EQ(pipes_client_send_wait(clients[4], msg.data(), msg.size(), 5000), PIPES_OK);
    EXPECT_TRUE(logs[4].WaitMessage(msg, 5000));
    EXPECT_EQ(logs[4].Count(PIPES_EVENT_DISCONNECTED), 0u);
    st = ServerStats(server);
    EXPECT_EQ(st.refused, 1u);
    EXPECT_EQ(st.connects, 4u);
    EXPECT_EQ(st.current_connections, 3u);

    for (pipes_client *c : clients)
        if (c)
            pipes_client_close(c);
    guard.server = nullptr;
    EXPECT_EQ(pipes_server_stop(server), PIPES_OK);
}

TEST(SecBackpressure, ServerQueueToAReaderThatStopsStaysBounded)
{
    Engine eng;
    std::wstring name = UniquePipeName("bpserver");
    EventLog slog;
    pipes_server_config scfg = ServerConfig(name, eng.engine, &slog);
    scfg.buffer_size = 4096;
    scfg.max_queued_messages = kQueueMessages;
    scfg.max_queued_bytes = 1u << 20;
    ServerGuard guard;
    ASSERT_EQ(pipes_server_start(&scfg, &guard.server), PIPES_OK);
    pipes_server *server = guard.server;

    // A raw client that connects and does not read.
    HANDLE h = RawClient(name);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 1, 5000));
    uint64_t id = slog.Snapshot()[0].connection_id;

    // Send until the queue is full. Accepted = queued + the one in flight + what the pipe
    // buffer took; with a 4 KiB buffer and 4 KiB messages that is a handful.
    uint32_t accepted = 0;
    pipes_status st = PIPES_OK;
    uint64_t max_queued_bytes_seen = 0, max_queued_seen = 0;
    for (int i = 0; i < 1000; i++) {
        std::vector<uint8_t> m = Numbered(accepted);
        st = pipes_server_send(server, id, m.data(), m.size(),
                               reinterpret_cast<void *>(static_cast<uintptr_t>(accepted + 1)));
        pipes_stats s = ServerStats(server);
        max_queued_seen = (std::max<uint64_t>)(max_queued_seen, s.queued_messages);
        max_queued_bytes_seen = (std::max<uint64_t>)(max_queued_bytes_seen, s.queued_bytes);
        if (st != PIPES_OK)
            break;
        accepted++;
        Sleep(1);  // let the writes that can complete, complete
    }
    EXPECT_EQ(st, PIPES_ERR_QUEUE_FULL);
    // Bound stated: the queue's 8, one write in flight, and at most the pipe's 4 KiB buffer
    // plus one message the writer side may hold (Wine and Windows differ in the latter).
    EXPECT_LE(accepted, kQueueMessages + 1 + 2) << "the writer kept accepting";
    EXPECT_LE(max_queued_seen, kQueueMessages);
    EXPECT_LE(max_queued_bytes_seen, kQueueMessages * kMsgSize);
    // QUEUE_FULL went back to the caller: no LIMIT event besides (pipes.h).
    pipes_stats s = ServerStats(server);
    EXPECT_GE(s.errors_by_status[PIPES_ERR_QUEUE_FULL], 1u);
    EXPECT_LE(s.queued_messages, kQueueMessages);
    // Nothing failed: a full queue refuses new sends, it does not drop queued ones.
    EXPECT_EQ(slog.Count(PIPES_EVENT_SEND_COMPLETE) - slog.Count(PIPES_EVENT_SEND_COMPLETE, PIPES_OK),
              0u);

    // The reader resumes: everything accepted arrives, in order, and is reported written.
    std::vector<uint32_t> got = RawRead(h, accepted);
    ASSERT_EQ(got.size(), accepted);
    for (uint32_t i = 0; i < accepted; i++)
        EXPECT_EQ(got[i], i);
    EXPECT_TRUE(slog.WaitCount(PIPES_EVENT_SEND_COMPLETE, PIPES_OK, accepted, 5000));
    EXPECT_TRUE(WaitUntil([&] { return ServerStats(server).queued_messages == 0; }, 5000));
    // And the connection takes new sends again.
    std::vector<uint8_t> m = Numbered(accepted);
    EXPECT_EQ(pipes_server_send(server, id, m.data(), m.size(), nullptr), PIPES_OK);
    got = RawRead(h, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], accepted);
    EXPECT_EQ(slog.Count(PIPES_EVENT_LIMIT), 0u) << "a refused send raised a LIMIT event too";
    CloseHandle(h);
    guard.server = nullptr;
    EXPECT_EQ(pipes_server_stop(server), PIPES_OK);
}

TEST(SecBackpressure, ServerQueueIsBoundedByBytesToo)
{
    Engine eng;
    std::wstring name = UniquePipeName("bpbytes");
    EventLog slog;
    pipes_server_config scfg = ServerConfig(name, eng.engine, &slog);
    scfg.buffer_size = 4096;
    scfg.max_queued_bytes = 16 * 1024;
    ServerGuard guard;
    ASSERT_EQ(pipes_server_start(&scfg, &guard.server), PIPES_OK);
    pipes_server *server = guard.server;
    HANDLE h = RawClient(name);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 1, 5000));
    uint64_t id = slog.Snapshot()[0].connection_id;
    uint32_t accepted = 0;
    pipes_status st = PIPES_OK;
    for (int i = 0; i < 1000 && st == PIPES_OK; i++) {
        std::vector<uint8_t> m = Numbered(accepted, 3000);
        st = pipes_server_send(server, id, m.data(), m.size(), nullptr);
        EXPECT_LE(ServerStats(server).queued_bytes, 16u * 1024u);
        if (st == PIPES_OK)
            accepted++;
        Sleep(1);
    }
    EXPECT_EQ(st, PIPES_ERR_QUEUE_FULL);
    EXPECT_LE(accepted, 16u * 1024u / 3000u + 1 + 3);
    CloseHandle(h);
    guard.server = nullptr;
    EXPECT_EQ(pipes_server_stop(server), PIPES_OK);
}

TEST(SecBackpressure, ClientQueueToAServerThatStopsReading)
{
    Engine eng;
    std::wstring name = UniquePipeName("bpclient");
    // A raw server that accepts one client and never reads (until the test says so).
    HANDLE srv = CreateNamedPipeW(name.c_str(), PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                  PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, 1, 4096,
                                  4096, 0, nullptr);
    ASSERT_NE(srv, INVALID_HANDLE_VALUE);
    OVERLAPPED ov{};
    ov.hEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    BOOL c = ConnectNamedPipe(srv, &ov);
    ASSERT_TRUE(!c && (GetLastError() == ERROR_IO_PENDING || GetLastError() == ERROR_PIPE_CONNECTED));

    EventLog clog;
    pipes_client_config cfg = ClientConfig(name, eng.engine, &clog);
    cfg.max_queued_messages = kQueueMessages;
    cfg.max_queued_bytes = 1u << 20;
    pipes_client *client = nullptr;
    ASSERT_EQ(pipes_client_connect(&cfg, &client), PIPES_OK);
    DWORD n = 0;
    ASSERT_TRUE(GetOverlappedResult(srv, &ov, &n, TRUE));

    uint32_t accepted = 0;
    pipes_status st = PIPES_OK;
    for (int i = 0; i < 1000; i++) {
        std::vector<uint8_t> m = Numbered(accepted);
        st = pipes_client_send(client, m.data(), m.size(),
                               reinterpret_cast<void *>(static_cast<uintptr_t>(accepted + 1)));
        pipes_stats s = ClientStats(client);
        EXPECT_LE(s.queued_messages, kQueueMessages);
        EXPECT_LE(s.queued_bytes, kQueueMessages * kMsgSize);
        if (st != PIPES_OK)
            break;
        accepted++;
        Sleep(1);
    }
    EXPECT_EQ(st, PIPES_ERR_QUEUE_FULL);
    EXPECT_LE(accepted, kQueueMessages + 1 + 2) << "the client kept accepting";

    // The blocking send waits for room up to its timeout, then gives up; the message is
    // withdrawn, never written later.
    const uint32_t kTimedOut = 0xEEEEu;
    std::vector<uint8_t> late = Numbered(kTimedOut);
    ULONGLONG t0 = GetTickCount64();
    EXPECT_EQ(pipes_client_send_wait(client, late.data(), late.size(), 300), PIPES_ERR_TIMEOUT);
    ULONGLONG waited = GetTickCount64() - t0;
    EXPECT_GE(waited, 250u) << "send_wait gave up before its timeout";
    pipes_stats s = ClientStats(client);
    EXPECT_GE(s.errors_by_status[PIPES_ERR_TIMEOUT], 1u);
    EXPECT_GE(s.errors_by_status[PIPES_ERR_QUEUE_FULL], 1u);
    EXPECT_EQ(s.current_connections, 1u);  // a refused send does not break the connection

    // The server reads again: exactly the accepted messages arrive, in order.
    DWORD mode = PIPE_READMODE_MESSAGE;
    SetNamedPipeHandleState(srv, &mode, nullptr, nullptr);
    std::vector<uint32_t> got = RawRead(srv, accepted);
    ASSERT_EQ(got.size(), accepted);
    for (uint32_t i = 0; i < accepted; i++)
        EXPECT_EQ(got[i], i);
    EXPECT_TRUE(clog.WaitCount(PIPES_EVENT_SEND_COMPLETE, PIPES_OK, accepted, 5000));
    EXPECT_EQ(clog.Count(PIPES_EVENT_SEND_COMPLETE), accepted);
    // Nothing else is pending in the pipe: the timed-out message was not written.
    DWORD avail = 0;
    ASSERT_TRUE(PeekNamedPipe(srv, nullptr, 0, nullptr, &avail, nullptr));
    EXPECT_EQ(avail, 0u) << "the withdrawn message reached the pipe";
    // And a send after the jam goes through.
    std::vector<uint8_t> after = Numbered(accepted);
    EXPECT_EQ(pipes_client_send(client, after.data(), after.size(), nullptr), PIPES_OK);
    EXPECT_TRUE(WaitUntil(
        [&] {
            DWORD a = 0;
            return PeekNamedPipe(srv, nullptr, 0, nullptr, &a, nullptr) && a > 0;
        },
        5000));
    got = RawRead(srv, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], accepted);

    pipes_client_close(client);
    CloseHandle(ov.hEvent);
    CloseHandle(srv);
}
