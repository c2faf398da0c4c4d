// lib_local_events_test.cpp - events owed by a callback's own calls on its own object, such as the
// SEND_COMPLETE of a send written within the call (localreq.c, LOCAL PACKETS). pipes.h promises they
// come after that callback has returned, usually on the same worker; that a blocked callback holds
// up only the events its own calls owe (never another callback's, nor its connection's next
// messages); and a chain of them (each callback sending again) does not keep a worker from the
// completion port. The tests assume skip mode (completion_probe.c finds it under Wine 8 and on
// Windows), in which a write to a pipe with room completes within the call. The last tests count
// what events cost in completion packets: a burst of sends an application thread makes, and a
// chain of sends from SEND_COMPLETE callbacks (localreq.c, CARRIED REQUESTS).
#include "test_support.h"

#include <thread>

namespace {

using namespace pt;

// Two workers: before the local packets, the event was posted to the port and the other worker
// delivered it while the callback that sent was still running (seen: in_callback 1, another thread).
TEST(LibLocalEvents, ASendCompleteOfASendInACallbackFollowsOnThatWorkerAfterIt)
{
    OwnEngine own(2);
    ASSERT_NE(own.engine, nullptr);
    pipes_engine *engine = own.engine;
    const std::wstring name = UniquePipeName();
    EventLog slog, clog;
    int reply_context = 0;
    std::atomic<DWORD> message_thread{0}, complete_thread{0};
    std::atomic<int> in_message{0}, complete_in_message{-1};
    slog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_MESSAGE) {
            message_thread = GetCurrentThreadId();
            in_message = 1;
            EXPECT_EQ(pipes_server_send(ev->server, ev->connection_id, "reply", 5, &reply_context),
                      PIPES_OK);
            // Time enough for the other, idle worker to deliver the event if it were in the port.
            Sleep(300);
            in_message = 0;
        } else if (ev->type == PIPES_EVENT_SEND_COMPLETE) {
            complete_thread = GetCurrentThreadId();
            complete_in_message = in_message.load();
        }
    };
    ServerGuard server;
    ClientGuard client;
    ASSERT_NO_FATAL_FAILURE(ServeOnEngine(engine, name, &slog, &clog, &server, &client));
    ASSERT_EQ(pipes_client_send_wait(client.get(), "hello", 5, 10000), PIPES_OK);

    ASSERT_TRUE(clog.WaitCount(PIPES_EVENT_MESSAGE, 1));
    Event done;
    ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_SEND_COMPLETE, &done));
    EXPECT_EQ(done.status, PIPES_OK);
    EXPECT_EQ(done.send_context, &reply_context);
    EXPECT_EQ(complete_in_message.load(), 0)
        << "SEND_COMPLETE ran while the callback that sent was still running";
    EXPECT_EQ(complete_thread.load(), message_thread.load())
        << "SEND_COMPLETE ran on another worker than the callback that sent";
}

// One worker. Client A sends each next message from the SEND_COMPLETE of the last; the server
// reads nothing meanwhile (its callback waits) and its pipe holds 1 MiB, so every write fits and is
// written within the call, and every event stays on the worker. Client B connects on the same
// engine while the chain runs: its CONNECTED must come within a few runs of the list, not at the
// chain's end. Seen without the limit (PIPES_ENGINE_LOCAL_RUN raised to 100000): B's CONNECTED
// 19,953 chained sends after its connect returned, at the chain's end; 14-50 with it.
TEST(LibLocalEvents, AChainOfSendsFromSendCompleteDoesNotHoldUpAnotherClient)
{
    OwnEngine own(1);
    ASSERT_NE(own.engine, nullptr);
    pipes_engine *engine = own.engine;
    const std::wstring name = UniquePipeName();
    constexpr uint32_t kChain = 20000; // 32-byte messages: 640 KiB, within the 1 MiB pipe
    EventLog slog, alog, blog;
    Gate gate;
    OpenOnExit open_on_exit{gate};
    std::atomic<uint32_t> received{0};
    slog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_MESSAGE && received.fetch_add(1) == 0)
            gate.Wait(); // A's writes pile up in the pipe
    };
    slog.KeepEvents(false);
    ServerGuard server; // on the default engine
    pipes_server_config scfg = ServerConfig(name, &slog);
    scfg.buffer_size = 1u << 20;
    ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);

    ClientGuard a, b;
    std::atomic<uint32_t> completed{0};
    std::atomic<bool> b_connected{false};
    std::atomic<uint32_t> completed_at_b_connected{0};
    int context = 0;
    alog.KeepEvents(false);
    alog.hook = [&](const pipes_event *ev) {
        if (ev->type != PIPES_EVENT_SEND_COMPLETE)
            return;
        EXPECT_EQ(ev->status, PIPES_OK);
        uint32_t done = completed.fetch_add(1) + 1;
        if (done < kChain && !b_connected.load()) {
            std::vector<uint8_t> m = TestMessage(32, 7, done);
            EXPECT_EQ(pipes_client_send(ev->client, m.data(), m.size(), &context), PIPES_OK);
        }
    };
    blog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_CONNECTED) {
            completed_at_b_connected = completed.load();
            b_connected = true; // the chain ends here
        }
    };
    pipes_client_config acfg = ClientConfig(name, &alog);
    acfg.engine = engine;
    ASSERT_EQ(pipes_client_connect(&acfg, a.Out()), PIPES_OK);
    std::vector<uint8_t> first = TestMessage(32, 7, 0);
    ASSERT_EQ(pipes_client_send(a.get(), first.data(), first.size(), &context), PIPES_OK);
    ASSERT_TRUE(gate.WaitUntilBlocked());
    ASSERT_TRUE(PollUntil([&] { return completed.load() >= 10; }));

    pipes_client_config bcfg = ClientConfig(name, &blog);
    bcfg.engine = engine;
    ASSERT_EQ(pipes_client_connect(&bcfg, b.Out()), PIPES_OK); // B's start request is queued
    const uint32_t at_connect = completed.load();
    ASSERT_TRUE(blog.WaitCount(PIPES_EVENT_CONNECTED, 1));
    std::printf("[ info ] B's CONNECTED came %u chained sends after its connect returned (%u then)\n",
                completed_at_b_connected.load() - at_connect, at_connect);
    ASSERT_LT(at_connect, kChain) << "the chain ended before B connected: nothing shown";
    EXPECT_LT(completed_at_b_connected.load() - at_connect, 1000u) << "the chain kept the only worker";
    gate.Open();
    // Every send has its SEND_COMPLETE (one may still come after B's CONNECTED stopped the chain):
    // the server receives as many messages as A's events counted.
    ASSERT_TRUE(PollUntil([&] { return received.load() == completed.load(); }))
        << received.load() << " received, " << completed.load() << " sent";
}

// Two workers. The server's callback for message 0 waits until messages 1 and 2 are in the pipe,
// then replies: the read chain then finds 1 and 2 at once, in the same completion. The callback of
// message 1 waits for the reply's SEND_COMPLETE, which its own calls do not owe: pipes.h lets it,
// so the event must reach the other worker. Seen with pipes_engine_share_local disabled (b2fb36b
// had no hand-over): it waited its 5 s.
TEST(LibLocalEvents, AMessageCallbackWaitingForTheEventOfTheLastOnesSendGetsIt)
{
    OwnEngine own(2);
    ASSERT_NE(own.engine, nullptr);
    pipes_engine *engine = own.engine;
    const std::wstring name = UniquePipeName();
    EventLog slog, clog;
    Gate gate;
    OpenOnExit open_on_exit{gate};
    int reply_context = 0;
    std::atomic<bool> reply_done{false};
    std::atomic<int> m1_saw_reply{-1};
    slog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_MESSAGE) {
            uint32_t tag = 0, seq = 0;
            EXPECT_TRUE(pt_msg_check(ev->data, ev->size, 1, &tag, &seq));
            if (seq == 0) {
                gate.Wait();
                EXPECT_EQ(pipes_server_send(ev->server, ev->connection_id, "reply", 5,
                                            &reply_context),
                          PIPES_OK);
            } else if (seq == 1) {
                m1_saw_reply =
                    PollUntil([&] { return reply_done.load(); }, std::chrono::milliseconds(5000)) ? 1 : 0;
            }
        } else if (ev->type == PIPES_EVENT_SEND_COMPLETE) {
            reply_done = true;
        }
    };
    ServerGuard server;
    ClientGuard client;
    ASSERT_NO_FATAL_FAILURE(ServeOnEngine(engine, name, &slog, &clog, &server, &client));
    for (uint32_t seq = 0; seq < 3; ++seq) {
        std::vector<uint8_t> msg = TestMessage(32, 5, seq);
        ASSERT_EQ(pipes_client_send_wait(client.get(), msg.data(), msg.size(), 10000), PIPES_OK);
        if (seq == 0) {
            ASSERT_TRUE(gate.WaitUntilBlocked());
        }
    }
    gate.Open();
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, 3));
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_SEND_COMPLETE, 1));
    EXPECT_EQ(m1_saw_reply.load(), 1) << "the reply's SEND_COMPLETE waited behind message 1";
}

// Two workers. The reply's SEND_COMPLETE callback waits for the peer's next message, which the
// connection's read chain must still read and deliver meanwhile. Seen when the list ran at the end
// of the sending callback, inside the read chain (b284806): the next read was never issued, 5 s.
TEST(LibLocalEvents, ASendCompleteCallbackWaitingForTheNextMessageGetsIt)
{
    OwnEngine own(2);
    ASSERT_NE(own.engine, nullptr);
    pipes_engine *engine = own.engine;
    const std::wstring name = UniquePipeName();
    EventLog slog, clog;
    int reply_context = 0;
    std::atomic<bool> second_seen{false};
    std::atomic<int> complete_saw_second{-1};
    slog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_MESSAGE) {
            uint32_t tag = 0, seq = 0;
            EXPECT_TRUE(pt_msg_check(ev->data, ev->size, 1, &tag, &seq));
            if (seq == 0)
                EXPECT_EQ(pipes_server_send(ev->server, ev->connection_id, "reply", 5,
                                            &reply_context),
                          PIPES_OK);
            else
                second_seen = true;
        } else if (ev->type == PIPES_EVENT_SEND_COMPLETE) {
            complete_saw_second =
                PollUntil([&] { return second_seen.load(); }, std::chrono::milliseconds(5000)) ? 1 : 0;
        }
    };
    ServerGuard server;
    ClientGuard client;
    ASSERT_NO_FATAL_FAILURE(ServeOnEngine(engine, name, &slog, &clog, &server, &client));
    for (uint32_t seq = 0; seq < 2; ++seq) {
        std::vector<uint8_t> msg = TestMessage(32, 5, seq);
        ASSERT_EQ(pipes_client_send_wait(client.get(), msg.data(), msg.size(), 10000), PIPES_OK);
    }
    ASSERT_TRUE(slog.WaitFlag([&] { return complete_saw_second.load() != -1; }));
    EXPECT_EQ(complete_saw_second.load(), 1) << "message 1 waited behind the reply's SEND_COMPLETE";
}

// Two workers. A callback sends a and b; a's SEND_COMPLETE callback waits for b's, which its own
// calls do not owe: pipes.h lets it, so the other worker must deliver b meanwhile. Seen with
// b2fb36b's pipes.dll and with pipes_engine_share_local disabled: a waited its 5 s.
TEST(LibLocalEvents, ABlockedEventCallbackDoesNotHoldUpTheNextEventOfTheSameCallback)
{
    OwnEngine own(2);
    ASSERT_NE(own.engine, nullptr);
    pipes_engine *engine = own.engine;
    const std::wstring name = UniquePipeName();
    EventLog slog, clog;
    int context_a = 0, context_b = 0;
    std::atomic<bool> b_done{false};
    std::atomic<int> a_saw_b{-1};
    slog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_MESSAGE) {
            EXPECT_EQ(pipes_server_send(ev->server, ev->connection_id, "a", 1, &context_a), PIPES_OK);
            EXPECT_EQ(pipes_server_send(ev->server, ev->connection_id, "b", 1, &context_b), PIPES_OK);
        } else if (ev->type == PIPES_EVENT_SEND_COMPLETE && ev->send_context == &context_a) {
            a_saw_b = PollUntil([&] { return b_done.load(); }, std::chrono::milliseconds(5000)) ? 1 : 0;
        } else if (ev->type == PIPES_EVENT_SEND_COMPLETE && ev->send_context == &context_b) {
            b_done = true;
        }
    };
    ServerGuard server;
    ClientGuard client;
    ASSERT_NO_FATAL_FAILURE(ServeOnEngine(engine, name, &slog, &clog, &server, &client));
    ASSERT_EQ(pipes_client_send_wait(client.get(), "go", 2, 10000), PIPES_OK);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_SEND_COMPLETE, 2));
    ASSERT_TRUE(slog.WaitFlag([&] { return a_saw_b.load() != -1; }));
    EXPECT_EQ(a_saw_b.load(), 1) << "b's SEND_COMPLETE waited behind a's blocked callback";
}

// Two workers. A callback sends 100 replies, more than the list held in b2fb36b (64): all 100
// SEND_COMPLETE events still come after it returned. Seen then: the other 36 went to the port at
// once and the other worker delivered them while the callback still ran.
TEST(LibLocalEvents, AHundredSendsInOneCallbackAllCompleteAfterIt)
{
    OwnEngine own(2);
    ASSERT_NE(own.engine, nullptr);
    pipes_engine *engine = own.engine;
    const std::wstring name = UniquePipeName();
    constexpr int kSends = 100;
    EventLog slog, clog;
    int context = 0;
    std::atomic<int> in_message{0}, completed_inside{0};
    slog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_MESSAGE) {
            in_message = 1;
            for (int i = 0; i < kSends; ++i)
                EXPECT_EQ(pipes_server_send(ev->server, ev->connection_id, "r", 1, &context),
                          PIPES_OK);
            Sleep(300); // time for another worker to deliver any event it was given
            in_message = 0;
        } else if (ev->type == PIPES_EVENT_SEND_COMPLETE && in_message.load()) {
            completed_inside++;
        }
    };
    ServerGuard server;
    ClientGuard client;
    ASSERT_NO_FATAL_FAILURE(ServeOnEngine(engine, name, &slog, &clog, &server, &client));
    ASSERT_EQ(pipes_client_send_wait(client.get(), "go", 2, 10000), PIPES_OK);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_SEND_COMPLETE, kSends));
    ASSERT_TRUE(clog.WaitCount(PIPES_EVENT_MESSAGE, kSends));
    EXPECT_EQ(completed_inside.load(), 0) << "SEND_COMPLETE events ran while the callback that sent ran";
}

// ---- what events cost in completion packets (docs/PERFORMANCE.md, PERF-7) ----------------------

// The completion packets the process dequeued so far (every engine's).
uint64_t PacketsDequeued()
{
    return GlobalStats().completions_dequeued;
}

// The packets the process dequeues from start() until done() (which must come true in time).
uint64_t PacketsFor(const std::function<void()> &start, const std::function<bool()> &done)
{
    const uint64_t before = PacketsDequeued();
    start();
    EXPECT_TRUE(PollUntil(done)) << "the events did not all come";
    return PacketsDequeued() - before;
}

// Connects *out to `name` on `engine`, its events to `log`.
void ConnectOn(pipes_engine *engine, const std::wstring &name, EventLog *log, pipes_client **out,
               unsigned max_queued_messages = 0)
{
    pipes_client_config cfg = ClientConfig(name, log);
    cfg.engine = engine;
    cfg.max_queued_messages = max_queued_messages;
    ASSERT_EQ(pipes_client_connect(&cfg, out), PIPES_OK);
}

// A server on the default engine whose first MESSAGE callback waits at `gate`: once it waits, its
// read chain issues nothing more, so the packets the process dequeues meanwhile are the client's.
// Its pipe holds 1 MiB, so the client's writes complete within their calls. Counts what it gets,
// checking each message's sequence number.
struct GatedServer {
    EventLog log;
    Gate gate;
    std::atomic<uint32_t> received{0}, out_of_order{0};
    ServerGuard server;

    void Start(const std::wstring &name)
    {
        log.KeepEvents(false);
        log.hook = [this](const pipes_event *ev) {
            if (ev->type != PIPES_EVENT_MESSAGE)
                return;
            uint32_t tag = 0, seq = 0;
            EXPECT_TRUE(pt_msg_check(ev->data, ev->size, 1, &tag, &seq));
            if (seq != received.fetch_add(1))
                out_of_order++;
            if (seq == 0)
                gate.Wait();
        };
        pipes_server_config scfg = ServerConfig(name, &log);
        scfg.buffer_size = 1u << 20;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
    }

    // Opens the gate: all `total` messages must come, in the order sent.
    void ExpectAllInOrder(uint32_t total)
    {
        gate.Open();
        ASSERT_TRUE(PollUntil([&] { return received.load() == total; }))
            << received.load() << " of " << total << " messages received";
        EXPECT_EQ(out_of_order.load(), 0u) << "messages arrived out of the order sent";
    }
};

// An engine of the test's own with `workers` threads, and a gated server on the default engine,
// started on `name`. Destroyed in reverse: the gate opened, the server stopped, then the engine
// (whose guard checks the live counters).
struct OwnEngineAndGatedServer {
    explicit OwnEngineAndGatedServer(unsigned workers) : own(workers) {}
    OwnEngine own;
    const std::wstring name = UniquePipeName();
    GatedServer gs;
    OpenOnExit open_server{gs.gate};

    void Start()
    {
        ASSERT_NE(own.engine, nullptr);
        ASSERT_NO_FATAL_FAILURE(gs.Start(name));
    }
};

// Reports the packets a test's events cost and checks them against `limit`.
void ExpectFewPackets(uint64_t packets, uint64_t limit, const char *what)
{
    std::printf("[ info ] %s: %llu packets dequeued\n", what, static_cast<unsigned long long>(packets));
    EXPECT_LE(packets, limit) << what << ": the events went through the port one by one";
}

// One worker, held in the client's CONNECTED callback while the main thread sends a burst of 200
// messages with a send_context: each is written in its call, and its SEND_COMPLETE is carried to
// the port with the others waiting (localreq.c, CARRIED REQUESTS): one packet for the burst, and one
// more for each run of 64 the worker then hands on. Seen before (21e382a's pipes.dll with this
// test): each event posted on its own, 200 packets for 200 sends; 4 now.
TEST(LibLocalEvents, ABurstOfSendsFromAnApplicationThreadCostsOnePacketNotOneEach)
{
    OwnEngineAndGatedServer t(1);
    constexpr uint32_t kBurst = 200;
    ASSERT_NO_FATAL_FAILURE(t.Start());

    EventLog clog;
    Gate held;
    OpenOnExit open_held{held};
    std::atomic<uint32_t> completed{0}, failed{0};
    int context = 0;
    clog.KeepEvents(false);
    clog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_CONNECTED) {
            held.Wait();
        } else if (ev->type == PIPES_EVENT_SEND_COMPLETE) {
            if (ev->status != PIPES_OK || ev->send_context != &context)
                failed++;
            completed++;
        }
    };
    ClientGuard client;
    ASSERT_NO_FATAL_FAILURE(ConnectOn(t.own.engine, t.name, &clog, client.Out()));
    ASSERT_TRUE(held.WaitUntilBlocked());
    // Message 0 owes no event: written in this call; the server then waits at its gate.
    std::vector<uint8_t> m0 = TestMessage(32, 9, 0);
    ASSERT_EQ(pipes_client_send(client.get(), m0.data(), m0.size(), nullptr), PIPES_OK);
    ASSERT_TRUE(t.gs.gate.WaitUntilBlocked());

    const uint64_t packets = PacketsFor(
        [&] {
            for (uint32_t seq = 1; seq <= kBurst; ++seq) {
                std::vector<uint8_t> m = TestMessage(32, 9, seq);
                EXPECT_EQ(pipes_client_send(client.get(), m.data(), m.size(), &context), PIPES_OK);
            }
            held.Open();
        },
        [&] { return completed.load() == kBurst; });
    EXPECT_EQ(failed.load(), 0u);
    ExpectFewPackets(packets, kBurst / 64 + 2, "200 sends with a context from the main thread");

    t.gs.ExpectAllInOrder(kBurst + 1);
}

// One worker. The main thread sends a window of 100 messages as above; each SEND_COMPLETE callback
// then sends the next message, 2,000 in all: every event of the chain is owed by a callback's own
// call, so it stays on the worker (localreq.c, LOCAL PACKETS), in runs of up to 64 whose rest is
// carried to the port by one packet (CARRIED REQUESTS). Seen, packets for the 2,000 sends: 129 with
// 21e382a's pipes.dll (the window's 100 events posted one each, and one for each run's end); 32
// now.
TEST(LibLocalEvents, AChainOfSendsFromSendCompleteCallbacksCostsFewPackets)
{
    OwnEngineAndGatedServer t(1);
    constexpr uint32_t kWindow = 100, kTotal = 2000; // 32-byte messages: 64 KiB, within 1 MiB
    ASSERT_NO_FATAL_FAILURE(t.Start());

    EventLog clog;
    std::atomic<uint32_t> sent{0}, completed{0}, failed{0};
    int context = 0;
    pipes_client *handle = nullptr;
    std::mutex order; // the main thread's window and the callbacks' sends overlap: numbered in
                      // the order they are queued
    auto send_next = [&](pipes_client *c) {
        std::lock_guard<std::mutex> lock(order);
        uint32_t seq = sent.fetch_add(1) + 1;
        if (seq > kTotal)
            return;
        std::vector<uint8_t> m = TestMessage(32, 9, seq);
        if (pipes_client_send(c, m.data(), m.size(), &context) != PIPES_OK)
            failed++;
    };
    clog.KeepEvents(false);
    clog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_SEND_COMPLETE) {
            if (ev->status != PIPES_OK)
                failed++;
            completed++;
            send_next(ev->client);
        }
    };
    ClientGuard client;
    ASSERT_NO_FATAL_FAILURE(ConnectOn(t.own.engine, t.name, &clog, client.Out()));
    handle = client.get();
    std::vector<uint8_t> m0 = TestMessage(32, 9, 0);
    ASSERT_EQ(pipes_client_send(handle, m0.data(), m0.size(), nullptr), PIPES_OK);
    ASSERT_TRUE(t.gs.gate.WaitUntilBlocked());

    const uint64_t packets = PacketsFor(
        [&] {
            for (uint32_t i = 0; i < kWindow; ++i)
                send_next(handle);
        },
        [&] { return completed.load() == kTotal; });
    EXPECT_EQ(failed.load(), 0u);
    // One packet per run of 64 events at most, and a few for the window's start.
    ExpectFewPackets(packets, kTotal / 64 + 10, "a chain of 2,000 sends from SEND_COMPLETE callbacks");

    t.gs.ExpectAllInOrder(kTotal + 1);
}

// One worker, held in client B's CONNECTED callback, when client A sends a burst with contexts and
// is closed at once: the carrier of A's events is still in the port when close starts. Close waits
// for it; the events find A stopping and are dropped, no callback of A runs after close returned,
// and everything is freed (the engine's guard checks the live counters).
TEST(LibLocalEvents, AClientClosedWithItsEventsCarriedToABusyWorkerEndsCleanly)
{
    OwnEngineAndGatedServer t(1);
    ASSERT_NO_FATAL_FAILURE(t.Start());

    EventLog alog, blog;
    Gate held;
    OpenOnExit open_held{held};
    blog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_CONNECTED)
            held.Wait();
    };
    ClientGuard b;
    pipes_client *a = nullptr;
    ASSERT_NO_FATAL_FAILURE(ConnectOn(t.own.engine, t.name, &alog, &a));
    ASSERT_TRUE(alog.WaitCount(PIPES_EVENT_CONNECTED, 1));
    ASSERT_NO_FATAL_FAILURE(ConnectOn(t.own.engine, t.name, &blog, b.Out()));
    ASSERT_TRUE(held.WaitUntilBlocked());

    int context = 0;
    for (uint32_t seq = 0; seq < 50; ++seq) {
        std::vector<uint8_t> m = TestMessage(32, 9, seq);
        ASSERT_EQ(pipes_client_send(a, m.data(), m.size(), &context), PIPES_OK);
    }
    std::thread opener([&] {
        Sleep(300); // close is waiting for the packet by then
        held.Open();
    });
    EXPECT_EQ(pipes_client_close(a), PIPES_OK);
    alog.MarkClosed();
    opener.join();
    Sleep(200); // time for a late callback to show
    EXPECT_EQ(alog.LateCallbacks(), 0);
}

// Two workers, both held (in clients A's and B's CONNECTED callbacks) while the main thread sends a
// and b on A, each with a context: both are written in their calls and their events carried in one
// packet. a's SEND_COMPLETE callback waits for b's, which no call of that callback owes: pipes.h
// lets it, so the other worker must take b over. Found in review of a hand-over of such writes to a
// worker, which delivered both events inline one after the other (b waited its 3 s).
TEST(LibLocalEvents, ABlockedSendCompleteCallbackDoesNotHoldUpTheNextOfTheSameBurst)
{
    OwnEngineAndGatedServer t(2);
    ASSERT_NO_FATAL_FAILURE(t.Start());

    EventLog alog, blog;
    Gate held_a, held_b;
    OpenOnExit oa{held_a}, ob{held_b};
    int ctx_a = 0, ctx_b = 0;
    std::atomic<bool> b_done{false};
    std::atomic<int> a_saw_b{-1};
    alog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_CONNECTED) {
            held_a.Wait();
        } else if (ev->type == PIPES_EVENT_SEND_COMPLETE && ev->send_context == &ctx_a) {
            a_saw_b = PollUntil([&] { return b_done.load(); }, std::chrono::milliseconds(3000)) ? 1 : 0;
        } else if (ev->type == PIPES_EVENT_SEND_COMPLETE && ev->send_context == &ctx_b) {
            b_done = true;
        }
    };
    blog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_CONNECTED)
            held_b.Wait();
    };
    ClientGuard a, b;
    ASSERT_NO_FATAL_FAILURE(ConnectOn(t.own.engine, t.name, &alog, a.Out()));
    ASSERT_TRUE(held_a.WaitUntilBlocked());
    ASSERT_NO_FATAL_FAILURE(ConnectOn(t.own.engine, t.name, &blog, b.Out()));
    ASSERT_TRUE(held_b.WaitUntilBlocked());
    std::vector<uint8_t> ma = TestMessage(32, 9, 0), mb = TestMessage(32, 9, 1);
    ASSERT_EQ(pipes_client_send(a.get(), ma.data(), ma.size(), &ctx_a), PIPES_OK);
    ASSERT_EQ(pipes_client_send(a.get(), mb.data(), mb.size(), &ctx_b), PIPES_OK);
    held_a.Open();
    held_b.Open();
    ASSERT_TRUE(PollUntil([&] { return a_saw_b.load() != -1; }, std::chrono::milliseconds(10000)));
    EXPECT_EQ(a_saw_b.load(), 1) << "b's SEND_COMPLETE waited behind a's blocked callback";
}

// Two workers. A 256 KiB message without a context fills the server's 4 KiB pipe and its write
// pends while the server waits; a and b, with contexts, queue behind it. When the server reads, the
// big write's completion writes a and b at once. a's SEND_COMPLETE callback waits for b's, as
// above. Seen with 21e382a's pipes.dll: the completion delivered a's and b's events inline, one
// after the other, so b waited on that worker's stack until a's callback gave up (3 s); now they
// are listed on the worker, shared when a's callback is entered, and the other worker takes b.
TEST(LibLocalEvents, ABlockedSendCompleteCallbackDoesNotHoldUpTheWritesFinishedWithIt)
{
    OwnEngine own(2);
    ASSERT_NE(own.engine, nullptr);
    const std::wstring name = UniquePipeName();
    EventLog slog;
    Gate server_gate;
    OpenOnExit open_server{server_gate};
    std::atomic<uint32_t> received{0};
    slog.KeepEvents(false);
    slog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_MESSAGE && received.fetch_add(1) == 0)
            server_gate.Wait();
    };
    ServerGuard server;
    pipes_server_config scfg = ServerConfig(name, &slog);
    scfg.buffer_size = 4096;
    ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);

    EventLog clog;
    int ctx_a = 0, ctx_b = 0;
    std::atomic<bool> b_done{false};
    std::atomic<int> a_saw_b{-1};
    clog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_SEND_COMPLETE && ev->send_context == &ctx_a) {
            a_saw_b = PollUntil([&] { return b_done.load(); }, std::chrono::milliseconds(3000)) ? 1 : 0;
        } else if (ev->type == PIPES_EVENT_SEND_COMPLETE && ev->send_context == &ctx_b) {
            b_done = true;
        }
    };
    ClientGuard client;
    ASSERT_NO_FATAL_FAILURE(ConnectOn(own.engine, name, &clog, client.Out()));
    std::vector<uint8_t> m0 = TestMessage(32, 9, 0), big = TestMessage(256 * 1024, 9, 1);
    ASSERT_EQ(pipes_client_send(client.get(), m0.data(), m0.size(), nullptr), PIPES_OK);
    ASSERT_TRUE(server_gate.WaitUntilBlocked());
    ASSERT_EQ(pipes_client_send(client.get(), big.data(), big.size(), nullptr), PIPES_OK);
    pipes_stats st = ClientStats(client.get());
    ASSERT_EQ(st.queued_messages, 0u) << "the big write did not start";
    std::vector<uint8_t> ma = TestMessage(32, 9, 2), mb = TestMessage(32, 9, 3);
    ASSERT_EQ(pipes_client_send(client.get(), ma.data(), ma.size(), &ctx_a), PIPES_OK);
    ASSERT_EQ(pipes_client_send(client.get(), mb.data(), mb.size(), &ctx_b), PIPES_OK);
    st = ClientStats(client.get());
    ASSERT_EQ(st.queued_messages, 2u) << "a and b did not wait behind the big write";
    server_gate.Open();
    ASSERT_TRUE(PollUntil([&] { return a_saw_b.load() != -1; }, std::chrono::milliseconds(10000)));
    EXPECT_EQ(a_saw_b.load(), 1) << "b's SEND_COMPLETE waited behind a's blocked callback";
}

// One worker, held; the queue holds 8 messages; the main thread sends 20 small ones with contexts
// to a pipe with room for all: each is written in its call, so none is refused. Found in review
// of a hand-over of such writes to a worker: 12 of the 20 were refused with QUEUE_FULL.
TEST(LibLocalEvents, ABurstWithContextsIsWrittenWhileTheWorkerIsBusy)
{
    OwnEngineAndGatedServer t(1);
    ASSERT_NO_FATAL_FAILURE(t.Start());
    EventLog clog;
    Gate held;
    OpenOnExit open_held{held};
    clog.hook = [&](const pipes_event *ev) {
        if (ev->type == PIPES_EVENT_CONNECTED)
            held.Wait();
    };
    ClientGuard client;
    ASSERT_NO_FATAL_FAILURE(ConnectOn(t.own.engine, t.name, &clog, client.Out(), 8));
    ASSERT_TRUE(held.WaitUntilBlocked());
    int context = 0, full = 0;
    for (uint32_t seq = 0; seq < 20; ++seq) {
        std::vector<uint8_t> m = TestMessage(32, 9, seq);
        if (pipes_client_send(client.get(), m.data(), m.size(), &context) == PIPES_ERR_QUEUE_FULL)
            full++;
    }
    held.Open();
    EXPECT_EQ(full, 0) << "sends refused with QUEUE_FULL while the pipe had room";
    ASSERT_TRUE(clog.WaitCount(PIPES_EVENT_SEND_COMPLETE, 20));
    t.gs.ExpectAllInOrder(20);
}

} // namespace
