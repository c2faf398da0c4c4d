// lib_standby_test.cpp - which of an engine's workers run (standby.c, ONE WORKER ON THE PORT): one
// worker waits on the completion port and the others stand by, so a request-and-reply exchange
// stays on one thread; a standby worker takes over when a worker stays on one packet for a tick
// or two (the watcher), also after a quiet spell in which the watcher slept, and for blocked
// callbacks one after another as long as workers are left; and work that queues up brings in a
// second worker.
#include "test_support.h"

#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace pt;

// Two workers, one client asking and waiting for each reply. Seen before the standby workers
// (4a22b0e's pipes.dll, both workers waiting on the port): Wine wakes the worker that has waited
// longest, so the callbacks went from thread to thread (65 and 87 switches in 100 rounds, two runs).
TEST(LibStandby, ARequestAndReplyExchangeStaysOnOneWorker)
{
    OwnEngine own(2);
    ASSERT_NE(own.engine, nullptr);
    const std::wstring name = UniquePipeName();
    constexpr int kRounds = 100;
    EventLog slog, clog;
    slog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_MESSAGE) {
            EXPECT_EQ(pipes_server_send(ev->server, ev->connection_id, "reply", 5, nullptr),
                      PIPES_OK);
        }
    };
    ServerGuard server;
    ClientGuard client;
    ASSERT_NO_FATAL_FAILURE(ServeOnEngine(own.engine, name, &slog, &clog, &server, &client));
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 1));
    for (int i = 0; i < kRounds; ++i) {
        ASSERT_EQ(pipes_client_send(client.get(), "ask", 3, nullptr), PIPES_OK);
        ASSERT_TRUE(clog.WaitCount(PIPES_EVENT_MESSAGE, static_cast<size_t>(i) + 1));
    }
    std::vector<DWORD> threads;
    for (const Event &e : slog.Snapshot())
        if (e.type == PIPES_EVENT_MESSAGE)
            threads.push_back(e.thread_id);
    ASSERT_EQ(threads.size(), static_cast<size_t>(kRounds));
    int switches = 0;
    for (size_t i = 1; i < threads.size(); ++i)
        switches += threads[i] != threads[i - 1];
    std::printf("[ info ] %d switches of worker thread in %d request-and-reply rounds\n", switches,
                kRounds);
    // A switch needs a promotion: a callback that looked stuck (the race-widening build's delays
    // can make one last a tick) or a dequeue that found two packets.
    EXPECT_LE(switches, kRounds / 5) << "the exchange went from worker to worker";
}

// Server on an engine of `workers` threads, and `clients` clients on the default engine. Each
// message names a gate to wait on ("0".."9") or is "free".
struct BlockingServer {
    const std::wstring name = UniquePipeName();
    EventLog slog, clog;
    Gate gates[10];
    std::atomic<bool> freed{false};
    ServerGuard server;
    std::vector<ClientGuard> clients;

    void Start(pipes_engine *engine, size_t count)
    {
        slog.hook = [this](const pipes_event *ev) {
            if (ev->type != PIPES_EVENT_MESSAGE)
                return;
            std::string text(reinterpret_cast<const char *>(ev->data), ev->size);
            if (text == "free")
                freed = true;
            else if (text.size() == 1 && text[0] >= '0' && text[0] <= '9')
                gates[text[0] - '0'].Wait();
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.engine = engine;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        clients = std::vector<ClientGuard>(count);
        pipes_client_config ccfg = ClientConfig(name, &clog);
        for (ClientGuard &c : clients)
            ASSERT_EQ(pipes_client_connect(&ccfg, c.Out()), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, count));
    }
    void Send(size_t client, const char *text)
    {
        ASSERT_EQ(pipes_client_send_wait(clients[client].get(), text, std::strlen(text), 10000),
                  PIPES_OK);
    }
    // `client`'s message holds its worker in gates[gate].
    void Block(size_t client, int gate)
    {
        const char text[2] = {static_cast<char>('0' + gate), 0};
        ASSERT_NO_FATAL_FAILURE(Send(client, text));
        ASSERT_TRUE(gates[gate].WaitUntilBlocked()) << "the callback of gate " << gate << " never ran";
    }
    // `client`'s "free" must be delivered while the gates hold their workers.
    void ExpectServed(size_t client, const char *why)
    {
        freed = false;
        ASSERT_NO_FATAL_FAILURE(Send(client, "free"));
        EXPECT_TRUE(PollUntil([&] { return freed.load(); }, milliseconds(10000))) << why;
    }
    ~BlockingServer()
    {
        for (Gate &g : gates)
            g.Open();
    }
};

// The watcher sleeps while no packet is handled; the callback that blocks after such a spell must
// wake it (standby.c, NO LOST WATCH), or the other connection's message waits for the blocked one.
TEST(LibStandby, ACallbackThatBlocksAfterAQuietSpellIsTakenOver)
{
    OwnEngine own(2);
    ASSERT_NE(own.engine, nullptr);
    BlockingServer s;
    ASSERT_NO_FATAL_FAILURE(s.Start(own.engine, 2));
    for (int round = 0; round < 3; ++round) {
        Sleep(100); // many ticks without a packet: the watcher sleeps
        ASSERT_NO_FATAL_FAILURE(s.Block(0, round));
        ASSERT_NO_FATAL_FAILURE(
            s.ExpectServed(1, "a message waited behind another connection's blocked callback"));
        s.gates[round].Open();
    }
}

// Four workers, three callbacks blocked one after the other: each time the watcher takes over
// and hands the watch on, so the fourth connection is still served.
TEST(LibStandby, ThreeBlockedCallbacksLeaveTheFourthWorkerToServe)
{
    OwnEngine own(4);
    ASSERT_NE(own.engine, nullptr);
    BlockingServer s;
    ASSERT_NO_FATAL_FAILURE(s.Start(own.engine, 4));
    for (int gate = 0; gate < 3; ++gate)
        ASSERT_NO_FATAL_FAILURE(s.Block(static_cast<size_t>(gate), gate));
    ASSERT_NO_FATAL_FAILURE(s.ExpectServed(3, "three blocked callbacks held up the fourth worker"));
}

// Messages of eight clients queue up while each callback works for 2 ms: a dequeue that finds more
// than one packet promotes the standby worker, so callbacks run on both threads at once. The
// running worker asks for one packet at a time and for a full batch every 8th dequeue
// (engine.c, BATCH SIZE), so it is that batch that finds the queue; the watcher may also step in
// when a connection's read chain keeps its worker a tick or more.
TEST(LibStandby, QueuedWorkBringsInTheStandbyWorker)
{
    OwnEngine own(2);
    ASSERT_NE(own.engine, nullptr);
    constexpr size_t kClients = 8, kEach = 20;
    const std::wstring name = UniquePipeName();
    EventLog slog, clog;
    std::atomic<int> running{0}, most{0};
    slog.hook = [&](const pipes_event *ev) {
        if (ev->type != PIPES_EVENT_MESSAGE)
            return;
        int now = running.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        auto until = Clock::now() + milliseconds(2);
        while (Clock::now() < until) {
        }
        running.fetch_sub(1);
    };
    pipes_server_config scfg = ServerConfig(name, &slog);
    scfg.engine = own.engine;
    ServerGuard server;
    ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
    std::vector<ClientGuard> clients(kClients);
    pipes_client_config ccfg = ClientConfig(name, &clog);
    for (ClientGuard &c : clients)
        ASSERT_EQ(pipes_client_connect(&ccfg, c.Out()), PIPES_OK);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, kClients));
    for (size_t k = 0; k < kEach; ++k)
        for (ClientGuard &c : clients)
            ASSERT_EQ(pipes_client_send(c.get(), "work", 4, nullptr), PIPES_OK);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, kClients * kEach, 0, milliseconds(30000)));
    EXPECT_EQ(most.load(), 2) << "all the queued work ran on one worker";
}

} // namespace
