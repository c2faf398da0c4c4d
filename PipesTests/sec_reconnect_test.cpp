// sec_reconnect_test.cpp - the server process is killed (TerminateProcess) while a
// reconnecting client sends 10,000 numbered messages, then restarted. The client must
// reconnect by itself; every send is reported exactly once (written or failed); nothing
// arrives twice; what was queued reaches the new server in order; and the only messages lost
// are ones reported written to the old connection, no more than its pipe buffer held.
// The servers are pipes_test_server.exe "record": each appends the sequence numbers it
// receives to a file with one WriteFile per message, which survives TerminateProcess.
#include "sec_util.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <iostream>
#include <memory>
#include <set>
#include <thread>

using namespace sec;

namespace {

constexpr uint32_t kCount = 10000;
constexpr size_t kMsgSize = 64;
constexpr uint32_t kEndMarker = 0xFFFFFFFFu;
// pipes_test_server.c RECORD_BUFFER_SIZE: the recorder's pipe buffer.
constexpr size_t kRecorderBuffer = 16384;
constexpr unsigned kQueueBound = 2000;

struct SendLedger {
    std::unique_ptr<std::atomic<int>[]> reports{new std::atomic<int>[kCount]};
    std::unique_ptr<std::atomic<int>[]> status{new std::atomic<int>[kCount]};
    std::atomic<uint32_t> total{0}, written{0}, stray{0};
    std::atomic<int> connected{0}, disconnected{0};
    std::atomic<uint64_t> last_connection_id{0};
    SendLedger()
    {
        for (uint32_t i = 0; i < kCount; i++) {
            reports[i] = 0;
            status[i] = -1;
        }
    }
};

void PIPES_CALL OnClientEvent(const pipes_event *ev, void *user_data)
{
    SendLedger *l = static_cast<SendLedger *>(user_data);
    switch (ev->type) {
    case PIPES_EVENT_SEND_COMPLETE: {
        uintptr_t ctx = reinterpret_cast<uintptr_t>(ev->send_context);
        if (ctx == 0 || ctx > kCount) {
            l->stray++;
            break;
        }
        l->reports[ctx - 1]++;
        l->status[ctx - 1] = ev->status;
        if (ev->status == PIPES_OK)
            l->written++;
        l->total++;
        break;
    }
    case PIPES_EVENT_CONNECTED:
        l->connected++;
        l->last_connection_id = ev->connection_id;
        break;
    case PIPES_EVENT_DISCONNECTED:
        l->disconnected++;
        break;
    default:
        break;
    }
}

std::wstring TempFile(const char *tag)
{
    wchar_t dir[MAX_PATH];
    GetTempPathW(MAX_PATH, dir);
    return std::wstring(dir) + UniqueObjectName(tag) + L".bin";
}

std::vector<uint32_t> ReadSeqs(const std::wstring &path)
{
    std::vector<uint32_t> out;
    HANDLE h = CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                           nullptr, OPEN_EXISTING, 0, nullptr);
    if (h == INVALID_HANDLE_VALUE)
        return out;
    uint32_t buf[1024];
    DWORD got = 0;
    while (ReadFile(h, buf, sizeof buf, &got, nullptr) && got > 0)
        out.insert(out.end(), buf, buf + got / sizeof(uint32_t));
    CloseHandle(h);
    return out;
}

bool StrictlyIncreasing(const std::vector<uint32_t> &v)
{
    for (size_t i = 1; i < v.size(); i++)
        if (v[i] <= v[i - 1])
            return false;
    return true;
}

}  // namespace

TEST(SecReconnect, ServerKilledMidStreamRestartedEverySendReportedOnceNothingTwice)
{
    Engine eng;
    std::wstring name = UniquePipeName("kill");
    std::wstring file_a = TempFile("rec-a"), file_b = TempFile("rec-b");
    std::wstring done_a_name = UniqueObjectName("done-a"), done_b_name = UniqueObjectName("done-b");
    HANDLE done_a = CreateEventW(nullptr, TRUE, FALSE, done_a_name.c_str());
    HANDLE done_b = CreateEventW(nullptr, TRUE, FALSE, done_b_name.c_str());
    ASSERT_TRUE(done_a && done_b);

    auto peer_a = std::make_unique<Peer>();
    std::string error;
    ASSERT_TRUE(peer_a->StartServer(L"record", name, {file_a, done_a_name}, &error)) << error;

    SendLedger ledger;
    pipes_client_config cfg{};
    cfg.struct_size = sizeof cfg;
    cfg.pipe_name = name.c_str();
    cfg.engine = eng.engine;
    cfg.flags = PIPES_CLIENT_RECONNECT;
    cfg.reconnect_min_ms = 20;
    cfg.reconnect_max_ms = 200;
    cfg.max_queued_messages = kQueueBound;
    cfg.max_queued_bytes = 4u << 20;
    cfg.on_event = OnClientEvent;
    cfg.user_data = &ledger;
    pipes_client *client = nullptr;
    ASSERT_EQ(pipes_client_connect(&cfg, &client), PIPES_OK);

    // The controller kills the first server once 3,000 sends are reported written, and
    // starts the second 300 ms later; the sender below keeps going all the while.
    Peer peer_b;
    std::atomic<bool> killed{false}, restarted{false};
    std::atomic<uint32_t> written_at_kill{0};
    std::string restart_error;
    std::thread controller([&] {
        if (!WaitUntil([&] { return ledger.written >= 3000; }, 60000))
            return;
        written_at_kill = ledger.written.load();
        peer_a->Kill();
        killed = true;
        Sleep(300);
        restarted = peer_b.StartServer(L"record", name, {file_b, done_b_name}, &restart_error);
    });

    ULONGLONG t0 = GetTickCount64();
    uint64_t queue_full = 0, max_queued = 0;
    bool send_failed = false;
    for (uint32_t seq = 0; seq < kCount && !send_failed; seq++) {
        uint8_t msg[kMsgSize];
        std::memset(msg, static_cast<int>(seq & 0xFF), sizeof msg);
        std::memcpy(msg, &seq, sizeof seq);
        for (;;) {
            pipes_status st = pipes_client_send(client, msg, sizeof msg,
                                                reinterpret_cast<void *>(uintptr_t{seq} + 1));
            if (st == PIPES_OK)
                break;
            if (st != PIPES_ERR_QUEUE_FULL || GetTickCount64() - t0 > 90000) {
                ADD_FAILURE() << "send " << seq << ": " << pipes_status_string(st);
                send_failed = true;
                break;
            }
            // Not queued, no event follows: the sender may retry (this is the bounded queue
            // doing its job while the server is away).
            queue_full++;
            max_queued = (std::max<uint64_t>)(max_queued, ClientStats(client).queued_messages);
            Sleep(1);
        }
    }
    controller.join();
    ASSERT_TRUE(killed) << "the first server never got 3,000 messages";
    ASSERT_TRUE(restarted) << restart_error;
    ASSERT_FALSE(send_failed);

    // Every send is reported, exactly once.
    EXPECT_TRUE(WaitUntil([&] { return ledger.total >= kCount; }, 60000))
        << "reported " << ledger.total << " of " << kCount;
    // A final marker through send_wait: once the new server has it, it has everything
    // written before it (one connection, in order).
    uint32_t marker = kEndMarker;
    uint8_t mbuf[kMsgSize] = {};
    std::memcpy(mbuf, &marker, sizeof marker);
    EXPECT_EQ(pipes_client_send_wait(client, mbuf, sizeof mbuf, 10000), PIPES_OK);
    EXPECT_EQ(WaitForSingleObject(done_b, 10000), WAIT_OBJECT_0) << "the marker never arrived";
    Sleep(50);  // late duplicates, if any, would land now
    pipes_stats cst = ClientStats(client);
    ASSERT_EQ(pipes_client_close(client), PIPES_OK);
    EXPECT_EQ(peer_b.Quit(), 0u);
    ULONGLONG elapsed = GetTickCount64() - t0;

    std::vector<uint32_t> a = ReadSeqs(file_a), b = ReadSeqs(file_b);
    DeleteFileW(file_a.c_str());
    DeleteFileW(file_b.c_str());
    CloseHandle(done_a);
    CloseHandle(done_b);
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(b.back(), kEndMarker);
    b.pop_back();

    // Reported exactly once each; no report for anything else.
    EXPECT_EQ(ledger.stray.load(), 0u);
    std::set<uint32_t> written, failed;
    for (uint32_t i = 0; i < kCount; i++) {
        EXPECT_EQ(ledger.reports[i].load(), 1) << "send " << i << " reported "
                                               << ledger.reports[i].load() << " times";
        if (ledger.status[i] == PIPES_OK)
            written.insert(i);
        else
            failed.insert(i);
    }

    // Each server got its part in order, nothing twice, nothing out of range.
    EXPECT_TRUE(StrictlyIncreasing(a)) << "the first server saw a duplicate or reordering";
    EXPECT_TRUE(StrictlyIncreasing(b)) << "the second server saw a duplicate or reordering";
    ASSERT_FALSE(a.empty());
    EXPECT_GE(a.size(), 2000u);  // it had 3,000 reported written before the kill
    EXPECT_LT(a.back(), kCount);
    ASSERT_FALSE(b.empty()) << "nothing queued reached the new server";
    EXPECT_LT(b.back(), kCount);
    EXPECT_GT(b.front(), a.back()) << "a message reached both servers, or came back out of order";

    // Everything received was reported written (never "failed" and delivered anyway).
    for (uint32_t s : a)
        EXPECT_TRUE(written.count(s)) << "seq " << s << " arrived but was reported failed";
    for (uint32_t s : b)
        EXPECT_TRUE(written.count(s)) << "seq " << s << " arrived but was reported failed";

    // Lost = reported written but never recorded. They must sit between the old server's
    // last and the new server's first (written to the old connection, in the pipe when it
    // died), and fit in that pipe's buffer plus two messages (one read but not yet recorded
    // by the killed process, one in the writer's hands).
    std::set<uint32_t> received(a.begin(), a.end());
    received.insert(b.begin(), b.end());
    std::vector<uint32_t> lost;
    for (uint32_t s : written)
        if (!received.count(s))
            lost.push_back(s);
    for (uint32_t s : lost) {
        EXPECT_GT(s, a.back()) << "lost seq " << s << " before the old server's last";
        EXPECT_LT(s, b.front()) << "lost seq " << s << " after the new server's first";
    }
    EXPECT_LE(lost.size() * kMsgSize, kRecorderBuffer + 2 * kMsgSize)
        << lost.size() << " messages lost, more than the pipe buffer held";
    // A failed send is only the write cut by the break (at most one per connection).
    EXPECT_LE(failed.size(), 1u);
    for (uint32_t s : failed)
        EXPECT_FALSE(received.count(s));

    // The client reconnected by itself: two connections, one break.
    EXPECT_EQ(ledger.connected.load(), 2);
    EXPECT_EQ(ledger.last_connection_id.load(), 2u);
    EXPECT_EQ(ledger.disconnected.load(), 1);
    EXPECT_EQ(cst.connects, 2u);
    EXPECT_EQ(cst.disconnects_by_reason[PIPES_ERR_PEER_CLOSED], 1u);
    EXPECT_LE(max_queued, kQueueBound);

    std::cout << "[ info ] written at kill " << written_at_kill << ", old server got " << a.size()
              << ", new server got " << b.size() << ", lost " << lost.size() << ", failed "
              << failed.size() << ", QUEUE_FULL retries " << queue_full << ", " << elapsed
              << " ms\n";
}
