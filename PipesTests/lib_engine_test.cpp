// lib_engine_test.cpp - explicit engines: one worker thread carrying a server and a client (and a
// stop from inside a callback, which must not wait for the only worker), pipes_engine_destroy
// refusing while objects are attached and from its own worker threads, and a blocked callback
// not holding up completions its worker dequeued in the same batch.
#include "test_support.h"

#include <memory>

namespace {

using namespace pt;

TEST(LibEngine, OneWorkerThreadCarriesServerAndClientAndStopFromCallback)
{
    LiveCounters base = Baseline();
    pipes_engine *engine = CreateEngine(1);
    ASSERT_NE(engine, nullptr);
    {
        const std::wstring name = UniquePipeName();
        EventLog slog, clog;
        std::atomic<bool> stopped{false};
        std::atomic<int> stop_status{-1};
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type != PIPES_EVENT_MESSAGE)
                return;
            if (ev->size == 4 && std::memcmp(ev->data, "stop", 4) == 0) {
                // On the engine's only worker: stop must not wait for the cancelled I/O that
                // this very thread has to dequeue.
                stop_status = pipes_server_stop(ev->server);
                stopped = true;
                slog.MarkClosed();
            } else {
                pipes_server_send(ev->server, ev->connection_id, ev->data, ev->size, nullptr);
            }
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.engine = engine;
        pipes_server *server = nullptr;
        ASSERT_EQ(pipes_server_start(&scfg, &server), PIPES_OK);
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ccfg.engine = engine;
        ClientGuard client;
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);

        // Every event of both ends runs on the one worker thread.
        for (uint32_t seq = 0; seq < 100; ++seq) {
            std::vector<uint8_t> m = TestMessage(32 + seq * 10, 9, seq);
            ASSERT_EQ(pipes_client_send_wait(client.get(), m.data(), m.size(), 10000), PIPES_OK);
        }
        ASSERT_TRUE(clog.WaitCount(PIPES_EVENT_MESSAGE, 100));
        uint32_t next = 0;
        DWORD worker = 0;
        for (const Event &e : clog.Snapshot()) {
            if (e.type != PIPES_EVENT_MESSAGE)
                continue;
            uint32_t tag = 0, seq = 0;
            ASSERT_TRUE(pt_msg_check(e.data.data(), e.data.size(), 1, &tag, &seq));
            EXPECT_EQ(seq, next++);
            if (!worker)
                worker = e.thread_id;
            EXPECT_EQ(e.thread_id, worker);
        }
        for (const Event &e : slog.Snapshot())
            EXPECT_EQ(e.thread_id, worker) << "a server event ran on a second thread";
        EXPECT_NE(worker, GetCurrentThreadId());

        ASSERT_EQ(pipes_client_send(client.get(), "stop", 4, nullptr), PIPES_OK);
        ASSERT_TRUE(slog.WaitFlag([&] { return stopped.load(); })) << "stop from callback hung";
        EXPECT_EQ(stop_status.load(), PIPES_OK);
        Event disc;
        ASSERT_TRUE(clog.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc));
        EXPECT_EQ(disc.status, PIPES_ERR_PEER_CLOSED);
        EXPECT_EQ(slog.LateCallbacks(), 0);
        EXPECT_EQ(client.Close(), PIPES_OK);
    }
    // Destroy waits for the server's background teardown, then ends the worker.
    EXPECT_EQ(pipes_engine_destroy(engine), PIPES_OK);
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibEngine, DestroyIsRefusedWhileServersOrClientsAreAttached)
{
    LiveCounters base = Baseline();
    pipes_engine *engine = CreateEngine(2);
    ASSERT_NE(engine, nullptr);
    const std::wstring name = UniquePipeName();
    EventLog slog, clog;
    pipes_server_config scfg = ServerConfig(name, &slog);
    scfg.engine = engine;
    pipes_server *server = nullptr;
    ASSERT_EQ(pipes_server_start(&scfg, &server), PIPES_OK);
    EXPECT_EQ(pipes_engine_destroy(engine), PIPES_ERR_BUSY);

    pipes_client_config ccfg = ClientConfig(name, &clog);
    ccfg.engine = engine;
    pipes_client *client = nullptr;
    ASSERT_EQ(pipes_client_connect(&ccfg, &client), PIPES_OK);
    EXPECT_EQ(pipes_engine_destroy(engine), PIPES_ERR_BUSY);

    // BUSY changed nothing: both ends still work.
    ASSERT_EQ(pipes_client_send_wait(client, "ping", 4, 10000), PIPES_OK);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, 1));

    ASSERT_EQ(pipes_server_stop(server), PIPES_OK);
    EXPECT_EQ(pipes_engine_destroy(engine), PIPES_ERR_BUSY) << "the client is still attached";
    ASSERT_TRUE(clog.WaitCount(PIPES_EVENT_DISCONNECTED, 1));
    ASSERT_EQ(pipes_client_close(client), PIPES_OK);
    EXPECT_EQ(pipes_engine_destroy(engine), PIPES_OK);
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibEngine, DestroyFromItsOwnWorkerIsWrongThread)
{
    pipes_engine *engine = CreateEngine(2);
    ASSERT_NE(engine, nullptr);
    {
        const std::wstring name = UniquePipeName();
        EventLog slog;
        std::atomic<int> destroy_status{-1};
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_CONNECTED)
                destroy_status = pipes_engine_destroy(engine);
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.engine = engine;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        EventLog clog;
        pipes_client_config ccfg = ClientConfig(name, &clog); // default engine
        ClientGuard client;
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 1));
        EXPECT_EQ(destroy_status.load(), PIPES_ERR_WRONG_THREAD);
    }
    EXPECT_EQ(pipes_engine_destroy(engine), PIPES_OK);
}

// A worker dequeues completions in batches. When a callback blocks, the completions it dequeued
// together with its own must still reach the other, free worker: "hold" and "free" are queued
// while both workers are held, so the first worker freed takes them in one batch and blocks in
// "hold"; the second worker, once freed, must deliver "free" while "hold" is still blocked.
TEST(LibEngine, ABlockedCallbackDoesNotHoldUpCompletionsDequeuedWithIt)
{
    LiveCounters base = Baseline();
    pipes_engine *engine = CreateEngine(2);
    ASSERT_NE(engine, nullptr);
    {
        const std::wstring name = UniquePipeName();
        EventLog slog;
        Gate first, second, hold;
        OpenOnExit open_first{first}, open_second{second}, open_hold{hold};
        std::atomic<bool> freed{false};
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type != PIPES_EVENT_MESSAGE)
                return;
            std::string text(reinterpret_cast<const char *>(ev->data), ev->size);
            if (text == "first")
                first.Wait();
            else if (text == "second")
                second.Wait();
            else if (text == "hold")
                hold.Wait();
            else if (text == "free")
                freed = true;
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.engine = engine;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);

        // The clients run on the default engine, so only server completions use this port.
        EventLog clog;
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ClientGuard c1, c2, c3, c4;
        for (ClientGuard *c : {&c1, &c2, &c3, &c4})
            ASSERT_EQ(pipes_client_connect(&ccfg, c->Out()), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 4));

        ASSERT_EQ(pipes_client_send(c1.get(), "first", 5, nullptr), PIPES_OK);
        ASSERT_TRUE(first.WaitUntilBlocked());
        ASSERT_EQ(pipes_client_send(c2.get(), "second", 6, nullptr), PIPES_OK);
        ASSERT_TRUE(second.WaitUntilBlocked());
        // Both workers are held: these two completions wait in the port, "hold" first.
        ASSERT_EQ(pipes_client_send_wait(c3.get(), "hold", 4, 10000), PIPES_OK);
        ASSERT_EQ(pipes_client_send_wait(c4.get(), "free", 4, 10000), PIPES_OK);

        first.Open();
        ASSERT_TRUE(hold.WaitUntilBlocked());
        second.Open();
        EXPECT_TRUE(PollUntil([&] { return freed.load(); }, milliseconds(10000)))
            << "a message waited behind another connection's blocked callback";
        hold.Open();
        EXPECT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, 4));
    }
    EXPECT_EQ(pipes_engine_destroy(engine), PIPES_OK);
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// A client on a given engine, of its own server on the default engine: what the next two tests
// close from a callback of another object on that engine.
struct Victim {
    EventLog server_log, client_log;
    ServerGuard server;
    pipes_client *client = nullptr;
    uint64_t connection_id = 0; // on server
    std::atomic<bool> closed{false};
    std::atomic<int> close_status{-1};

    void Start(pipes_engine *engine, const std::wstring &name)
    {
        pipes_server_config scfg = ServerConfig(name, &server_log);
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        pipes_client_config ccfg = ClientConfig(name, &client_log);
        ccfg.engine = engine;
        ASSERT_EQ(pipes_client_connect(&ccfg, &client), PIPES_OK);
        Event conn;
        ASSERT_TRUE(server_log.WaitFirst(PIPES_EVENT_CONNECTED, &conn));
        connection_id = conn.connection_id;
    }
    void CloseFromCallback()
    {
        close_status = pipes_client_close(client);
        client_log.MarkClosed();
        closed = true;
    }
    void ExpectClosed(EventLog &waiter, const char *why)
    {
        ASSERT_TRUE(waiter.WaitFlag([&] { return closed.load(); })) << why;
        EXPECT_EQ(close_status.load(), PIPES_OK);
        Event disc;
        EXPECT_TRUE(server_log.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc));
        EXPECT_EQ(client_log.LateCallbacks(), 0);
    }
};

// The same setting with stop/close: a callback closes a client whose last completion was
// dequeued in the callback's own batch. close must return (from a callback it waits neither for
// that completion nor for the drain), and the victim's memory goes in the background.
TEST(LibEngine, CloseFromACallbackDoesNotWaitForItsOwnBatch)
{
    LiveCounters base = Baseline();
    pipes_engine *engine = CreateEngine(2);
    ASSERT_NE(engine, nullptr);
    {
        const std::wstring name = UniquePipeName("a");
        EventLog slog;
        Gate first, second;
        OpenOnExit open_first{first}, open_second{second};
        Victim victim;
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type != PIPES_EVENT_MESSAGE)
                return;
            std::string text(reinterpret_cast<const char *>(ev->data), ev->size);
            if (text == "first") {
                first.Wait();
            } else if (text == "second") {
                second.Wait();
            } else if (text == "close") {
                victim.CloseFromCallback();
                slog.Notify();
            }
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.engine = engine;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        ASSERT_NO_FATAL_FAILURE(victim.Start(engine, UniquePipeName("b")));

        EventLog clog;
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ClientGuard c1, c2, c3;
        for (ClientGuard *c : {&c1, &c2, &c3})
            ASSERT_EQ(pipes_client_connect(&ccfg, c->Out()), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 3));

        ASSERT_EQ(pipes_client_send(c1.get(), "first", 5, nullptr), PIPES_OK);
        ASSERT_TRUE(first.WaitUntilBlocked());
        ASSERT_EQ(pipes_client_send(c2.get(), "second", 6, nullptr), PIPES_OK);
        ASSERT_TRUE(second.WaitUntilBlocked());
        // Both workers are held: "close" and then the victim's read completion wait in the port.
        ASSERT_EQ(pipes_client_send_wait(c3.get(), "close", 5, 10000), PIPES_OK);
        ASSERT_EQ(pipes_server_send(victim.server.get(), victim.connection_id, "ping", 4, nullptr),
                  PIPES_OK);
        ASSERT_TRUE(PollUntil([&] { return ServerStats(victim.server.get()).messages_out >= 1; }));

        first.Open(); // takes both packets; the "close" callback closes the victim
        second.Open();
        victim.ExpectClosed(slog, "pipes_client_close waited for a completion in its own batch");
    }
    EXPECT_EQ(pipes_engine_destroy(engine), PIPES_OK);
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// With a single worker thread, a callback that closes another client of the same engine must
// not wait for that client's cancelled I/O: only this very thread could dequeue it.
TEST(LibEngine, CloseFromACallbackOnAOneWorkerEngineReturns)
{
    LiveCounters base = Baseline();
    pipes_engine *engine = CreateEngine(1);
    ASSERT_NE(engine, nullptr);
    {
        const std::wstring name = UniquePipeName("a");
        EventLog slog, clog;
        Victim victim;
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_MESSAGE && !victim.closed.load()) {
                victim.CloseFromCallback();
                slog.Notify();
            }
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.engine = engine;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        ASSERT_NO_FATAL_FAILURE(victim.Start(engine, UniquePipeName("b")));

        pipes_client_config ccfg = ClientConfig(name, &clog);
        ClientGuard trigger;
        ASSERT_EQ(pipes_client_connect(&ccfg, trigger.Out()), PIPES_OK);
        ASSERT_EQ(pipes_client_send(trigger.get(), "close", 5, nullptr), PIPES_OK);
        victim.ExpectClosed(slog, "pipes_client_close from a callback waited for its only worker");
    }
    // The victim's memory is released in the background; destroy waits for it.
    EXPECT_EQ(pipes_engine_destroy(engine), PIPES_OK);
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// pipes.h allows a callback to stop another object. Two callbacks, each of another server, that
// stop each other's server at the same moment must both return: each stop waits for the other
// server's running callbacks, and a callback that is itself waiting inside a stop does not count.
// (Before the fix each waited for the other for ever.)
// Server a runs on engine_a, b on engine_b (the same engine or not); a's callback stops b while
// b's stops a, both at the same moment. Returns once both stops returned, or fails the test.
static void ExpectMutualStopReturns(pipes_engine *engine_a, pipes_engine *engine_b)
{
    const std::wstring name_a = UniquePipeName("a"), name_b = UniquePipeName("b");
    EventLog alog, blog;
    pipes_server *a = nullptr, *b = nullptr;
    std::mutex m;
    std::condition_variable cv;
    int inside = 0;
    std::atomic<int> stopped{0}, a_status{-1}, b_status{-1};
    // Each "go" callback waits (up to 5 s) until the other one runs too, then stops the other.
    auto meet = [&] {
        std::unique_lock<std::mutex> lock(m);
        ++inside;
        cv.notify_all();
        cv.wait_for(lock, std::chrono::seconds(5), [&] { return inside >= 2; });
    };
    auto stopper = [&](pipes_server **other, std::atomic<int> *status) {
        return [&, other, status](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_MESSAGE) {
                meet();
                *status = pipes_server_stop(*other);
                ++stopped;
                alog.Notify();
            }
        };
    };
    alog.hook = stopper(&b, &b_status);
    blog.hook = stopper(&a, &a_status);
    pipes_server_config acfg = ServerConfig(name_a, &alog), bcfg = ServerConfig(name_b, &blog);
    acfg.engine = engine_a;
    bcfg.engine = engine_b;
    ASSERT_EQ(pipes_server_start(&acfg, &a), PIPES_OK);
    ASSERT_EQ(pipes_server_start(&bcfg, &b), PIPES_OK);
    EventLog calog, cblog; // clients on the default engine
    pipes_client_config cacfg = ClientConfig(name_a, &calog), cbcfg = ClientConfig(name_b, &cblog);
    ClientGuard ca, cb;
    ASSERT_EQ(pipes_client_connect(&cacfg, ca.Out()), PIPES_OK);
    ASSERT_EQ(pipes_client_connect(&cbcfg, cb.Out()), PIPES_OK);
    ASSERT_EQ(pipes_client_send(ca.get(), "go", 2, nullptr), PIPES_OK);
    ASSERT_EQ(pipes_client_send(cb.get(), "go", 2, nullptr), PIPES_OK);
    ASSERT_TRUE(alog.WaitFlag([&] { return stopped.load() == 2; }))
        << "two callbacks stopping each other's server deadlocked";
    EXPECT_EQ(a_status.load(), PIPES_OK);
    EXPECT_EQ(b_status.load(), PIPES_OK);
    {
        std::lock_guard<std::mutex> lock(m);
        EXPECT_EQ(inside, 2) << "the two callbacks did not run at the same time";
    }
    ASSERT_TRUE(calog.WaitCount(PIPES_EVENT_DISCONNECTED, 1));
    ASSERT_TRUE(cblog.WaitCount(PIPES_EVENT_DISCONNECTED, 1));
}

TEST(LibEngine, TwoCallbacksThatStopEachOthersServerBothReturn)
{
    LiveCounters base = Baseline();
    pipes_engine *engine = CreateEngine(2);
    ASSERT_NE(engine, nullptr);
    ExpectMutualStopReturns(engine, engine);
    EXPECT_EQ(pipes_engine_destroy(engine), PIPES_OK);
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// The same on two engines: server a on one, server b on another. A callback of one engine is not
// a worker of the other, so a stop that did not notice it runs inside a callback would wait for
// the other server's references to drain, and those are held by the callback that waits, in its
// own stop, for ours: both wait for ever. pipes.h promises that two callbacks stopping each
// other's objects both return, whatever engines they are on.
TEST(LibEngine, TwoCallbacksOnDifferentEnginesThatStopEachOthersServerBothReturn)
{
    LiveCounters base = Baseline();
    pipes_engine *engine_a = CreateEngine(2), *engine_b = CreateEngine(2);
    ASSERT_NE(engine_a, nullptr);
    ASSERT_NE(engine_b, nullptr);
    ExpectMutualStopReturns(engine_a, engine_b);
    EXPECT_EQ(pipes_engine_destroy(engine_a), PIPES_OK);
    EXPECT_EQ(pipes_engine_destroy(engine_b), PIPES_OK);
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// Messages already waiting in the pipe are read by reads that complete at once (on Windows and
// Wine the library then skips the completion packet): thousands of them in a row must come out
// whole and in order, without the chain recursing once per message. Likewise the queued writes
// behind them go out back to back once the pipe has room.
TEST(LibEngine, ABacklogInThePipeIsDeliveredWholeAndInOrder)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        constexpr uint32_t kCount = 4000;
        EventLog slog, clog;
        Gate gate;
        OpenOnExit open_on_exit{gate};
        std::atomic<uint32_t> received{0}, bad{0};
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type != PIPES_EVENT_MESSAGE)
                return;
            uint32_t tag = 0, seq = 0;
            uint32_t n = received.fetch_add(1);
            if (!pt_msg_check(ev->data, ev->size, 1, &tag, &seq) || tag != 7 || seq != n)
                bad.fetch_add(1);
            if (n == 0)
                gate.Wait(); // the rest piles up in the pipe and the client's queue
        };
        slog.KeepEvents(false);
        pipes_server_config scfg = ServerConfig(name, &slog);
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ccfg.max_queued_messages = kCount;
        ClientGuard client;
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
        for (uint32_t seq = 0; seq < kCount; ++seq) {
            std::vector<uint8_t> m = TestMessage(24 + seq % 40, 7, seq);
            ASSERT_EQ(pipes_client_send(client.get(), m.data(), m.size(), nullptr), PIPES_OK)
                << "message " << seq;
            if (seq == 0) {
                ASSERT_TRUE(gate.WaitUntilBlocked());
            }
        }
        pipes_global_stats g0 = GlobalStats();
        gate.Open();
        EXPECT_TRUE(PollUntil([&] { return received.load() == kCount; }))
            << "received " << received.load() << " of " << kCount;
        EXPECT_EQ(bad.load(), 0u) << "messages torn or out of order";
        EXPECT_TRUE(PollUntil([&] { return ClientStats(client.get()).messages_out == kCount; }));
        EXPECT_EQ(ServerStats(server.get()).messages_in, kCount);
        pipes_global_stats g1 = GlobalStats();
        std::printf("[ info ] %u messages after the gate: %llu reads, %llu packets dequeued\n",
                    kCount - 1, (unsigned long long)(g1.calls_read_file - g0.calls_read_file),
                    (unsigned long long)(g1.completions_dequeued - g0.completions_dequeued));
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// A connection whose peer keeps the pipe full must not keep its worker to itself: reads that
// complete at once are handled in a loop, and a new client's connection waited behind the whole
// backlog (with 64 busy clients, connects timed out). On a one-worker engine, 4,000 messages wait
// in the pipe and the client's queue while a second client connects; its CONNECTED must come
// after a few dozen of them, not after all. (Before the fix it came after all 4,000.)
TEST(LibEngine, AFloodingConnectionDoesNotHoldUpANewClient)
{
    LiveCounters base = Baseline();
    pipes_engine *engine = CreateEngine(1);
    ASSERT_NE(engine, nullptr);
    {
        const std::wstring name = UniquePipeName();
        constexpr uint32_t kCount = 4000;
        EventLog slog;
        Gate gate;
        OpenOnExit open_on_exit{gate};
        std::atomic<uint32_t> received{0}, before_second{kCount + 1};
        std::atomic<int> connects{0};
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_CONNECTED && ++connects == 2)
                before_second = received.load();
            if (ev->type == PIPES_EVENT_MESSAGE && received.fetch_add(1) == 0)
                gate.Wait(); // the only worker waits; the rest piles up
        };
        slog.KeepEvents(false);
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.engine = engine;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        EventLog flog, nlog; // clients on the default engine
        pipes_client_config fcfg = ClientConfig(name, &flog);
        fcfg.max_queued_messages = kCount;
        ClientGuard flooder, newcomer;
        ASSERT_EQ(pipes_client_connect(&fcfg, flooder.Out()), PIPES_OK);
        for (uint32_t seq = 0; seq < kCount; ++seq) {
            std::vector<uint8_t> m = TestMessage(32, 3, seq);
            ASSERT_EQ(pipes_client_send(flooder.get(), m.data(), m.size(), nullptr), PIPES_OK);
            if (seq == 0) {
                ASSERT_TRUE(gate.WaitUntilBlocked());
            }
        }
        pipes_client_config ncfg = ClientConfig(name, &nlog);
        ASSERT_EQ(pipes_client_connect(&ncfg, newcomer.Out()), PIPES_OK);
        gate.Open();
        ASSERT_TRUE(PollUntil([&] { return received.load() == kCount && connects.load() == 2; }));
        std::printf("[ info ] the new client's CONNECTED came after %u of %u flooding messages\n",
                    before_second.load(), kCount);
        EXPECT_LT(before_second.load(), 500u) << "the flooding connection kept the worker";
    }
    EXPECT_EQ(pipes_engine_destroy(engine), PIPES_OK);
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// Engines come and go without leaking their threads, port or memory.
TEST(LibEngine, FiftyEngineCyclesLeakNothing)
{
    LiveCounters base = Baseline();
    HANDLE h0 = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    HANDLE_PTR before = reinterpret_cast<HANDLE_PTR>(h0);
    CloseHandle(h0);
    const std::wstring name = UniquePipeName();
    for (int i = 0; i < 50; ++i) {
        pipes_engine *engine = CreateEngine(i % 4 + 1);
        ASSERT_NE(engine, nullptr);
        {
            EventLog slog, clog;
            pipes_server_config scfg = ServerConfig(name, &slog);
            scfg.engine = engine;
            ServerGuard server;
            ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
            pipes_client_config ccfg = ClientConfig(name, &clog);
            ccfg.engine = engine;
            ClientGuard client;
            ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
            ASSERT_EQ(pipes_client_send_wait(client.get(), "x", 1, 10000), PIPES_OK);
            ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, 1));
        }
        ASSERT_EQ(pipes_engine_destroy(engine), PIPES_OK);
    }
    HANDLE h1 = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    HANDLE_PTR after = reinterpret_cast<HANDLE_PTR>(h1);
    CloseHandle(h1);
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
    // Each engine holds a port and 1-4 thread handles: a leak of those moves the value by >= 400.
    EXPECT_LE(after, before + 16 * 4);
}

} // namespace
