// chaos_engine_test.cpp - interleavings that a normal run almost never hits, forced with the
// chaos pipes.dll's test hook (chaos_support.h): a thread is held at one named point while the
// others act. Each test failed against the code before its fix (see docs/ARCHITECTURE.md, and
// the commit that fixed it).
#include "chaos_support.h"

#include <thread>

namespace {

using namespace pt;

// Lost wake-up in shared batches: a worker that found nothing to steal and is on its way to
// sleep in the dequeue must still be woken for a rest another worker shares at that moment.
// Worker 2 is held right after it announced itself idle; worker 1 then dequeues "hold" and
// "free" in one batch and blocks in "hold", sharing "free". Once worker 2 goes on, "free" must be
// delivered while "hold" is still blocked. (Before the fix, a worker looked for shared rests
// before it counted itself idle: the sharer saw no idle worker, posted no wake, and "free" waited
// for "hold".)
TEST(ChaosEngine, AWorkerGoingToSleepStillSeesARestSharedMeanwhile)
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
        std::atomic<DWORD> second_thread{0};
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type != PIPES_EVENT_MESSAGE)
                return;
            std::string text(reinterpret_cast<const char *>(ev->data), ev->size);
            if (text == "first") {
                first.Wait();
            } else if (text == "second") {
                second_thread = GetCurrentThreadId();
                second.Wait();
            } else if (text == "hold") {
                hold.Wait();
            } else if (text == "free") {
                freed = true;
            }
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.engine = engine;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);

        EventLog clog; // clients on the default engine: only server completions use this port
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ClientGuard c1, c2, c3, c4;
        for (ClientGuard *c : {&c1, &c2, &c3, &c4})
            ASSERT_EQ(pipes_client_connect(&ccfg, c->Out()), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 4));

        ASSERT_EQ(pipes_client_send(c1.get(), "first", 5, nullptr), PIPES_OK);
        ASSERT_TRUE(first.WaitUntilBlocked());
        ASSERT_EQ(pipes_client_send(c2.get(), "second", 6, nullptr), PIPES_OK);
        ASSERT_TRUE(second.WaitUntilBlocked());
        ASSERT_EQ(pipes_client_send_wait(c3.get(), "hold", 4, 10000), PIPES_OK);
        ASSERT_EQ(pipes_client_send_wait(c4.get(), "free", 4, 10000), PIPES_OK);

        PointHold idle("engine.idle", 1, milliseconds(20000));
        idle.OnlyThread(second_thread.load());
        ChaosHook hook([&](const char *where) { idle.OnPoint(where); });
        second.Open();
        ASSERT_TRUE(idle.WaitArrived()) << "worker 2 never went idle";
        first.Open(); // worker 1 takes "hold" + "free" and blocks in "hold", sharing "free"
        ASSERT_TRUE(hold.WaitUntilBlocked());
        idle.Release();
        EXPECT_TRUE(PollUntil([&] { return freed.load(); }, milliseconds(10000)))
            << "the shared rest waited for the blocked callback: wake-up lost";
        hold.Open();
        EXPECT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, 4));
    }
    EXPECT_EQ(pipes_engine_destroy(engine), PIPES_OK);
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// pipes_client_close while pipes_client_send_wait waits for room in the queue: the waiter, woken
// by the close, is held before it touches the client again. close must not free the client under
// it: close returns only after send_wait did (with STOPPING). (Before the fix the waiter held no
// reference: close freed the client during the hold and the waiter then took a lock inside freed
// memory, which the chaos build poisons.)
TEST(ChaosEngine, CloseWaitsForASendWaitThatItWoke)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog, clog;
        Gate gate;
        OpenOnExit open_on_exit{gate};
        std::atomic<int> server_msgs{0};
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_MESSAGE && ++server_msgs == 1)
                gate.Wait(); // the server stops reading
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ccfg.max_queued_messages = 1;
        pipes_client *client = nullptr;
        ASSERT_EQ(pipes_client_connect(&ccfg, &client), PIPES_OK);
        ASSERT_EQ(pipes_client_send(client, "first", 5, nullptr), PIPES_OK);
        ASSERT_TRUE(gate.WaitUntilBlocked());

        // Fill the pipe and the one-message queue.
        std::vector<uint8_t> big = Pattern(256 * 1024);
        int accepted = 0;
        while (accepted < 10 && pipes_client_send(client, big.data(), big.size(), nullptr) == PIPES_OK)
            ++accepted;
        ASSERT_LT(accepted, 10) << "the queue never filled";

        PointHold room("client.send_wait.room");
        std::atomic<bool> full{false}, closed{false}, closed_during_hold{false};
        ChaosHook hook([&](const char *where) {
            if (std::strcmp(where, "client.send_wait.full") == 0)
                full = true; // under the client lock, about to sleep until there is room
            room.OnPoint(where);
            if (std::strcmp(where, "client.send_wait.room") == 0 && closed.load())
                closed_during_hold = true;
        });
        std::atomic<int> wait_status{-1};
        std::thread waiter([&] {
            wait_status = pipes_client_send_wait(client, big.data(), big.size(), PIPES_INFINITE);
        });
        // Once the waiter sleeps for room, nothing but the close wakes it.
        EXPECT_TRUE(PollUntil([&] { return full.load(); }));
        std::thread closer([&] {
            EXPECT_EQ(pipes_client_close(client), PIPES_OK);
            closed = true;
        });
        EXPECT_TRUE(room.WaitArrived()) << "the close did not wake the waiter";
        closer.join(); // the hold ends by itself: close must wait for the held waiter
        waiter.join();
        EXPECT_EQ(wait_status.load(), PIPES_ERR_STOPPING);
        EXPECT_FALSE(closed_during_hold.load())
            << "pipes_client_close returned while pipes_client_send_wait still used the client";
        EXPECT_EQ(room.Timeouts(), 1);
        gate.Open(); // before the server stops: it waits for its blocked callback
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// pipes_client_send_wait of a message larger than max_queued_bytes: it fits only an empty queue
// (wqueue.h: one message always fits an empty queue). The waiter found the queue full, and the
// queue drains to empty before it looks again under the lock: it must see the room then, not
// sleep until a pop that will never come. The waiter is held right after its push failed while
// the server reads again and the queue empties. (Before the fix it slept on a test of its own,
// "bytes + size > max_queued_bytes", which an empty queue still fails: TIMEOUT, or with
// PIPES_INFINITE a hang, although the message would have been accepted.)
TEST(ChaosEngine, SendWaitOfAMessageLargerThanTheQueueBoundSeesTheQueueEmptiedMeanwhile)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog, clog;
        Gate gate;
        OpenOnExit open_on_exit{gate};
        std::atomic<int> server_msgs{0};
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_MESSAGE && ++server_msgs == 1)
                gate.Wait(); // the server stops reading
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ccfg.max_queued_bytes = 1000; // every big message below is larger than the bound
        ClientGuard client;
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
        ASSERT_EQ(pipes_client_send(client.get(), "first", 5, nullptr), PIPES_OK);
        ASSERT_TRUE(gate.WaitUntilBlocked());

        // One big write stuck in the full pipe, one big message queued behind it: full.
        std::vector<uint8_t> big = Pattern(256 * 1024);
        int accepted = 0;
        while (accepted < 10 &&
               pipes_client_send(client.get(), big.data(), big.size(), nullptr) == PIPES_OK)
            ++accepted;
        ASSERT_LT(accepted, 10) << "the queue never filled";

        PointHold pushed("client.push.unlocked", 1, milliseconds(20000));
        ChaosHook hook([&](const char *where) { pushed.OnPoint(where); });
        std::atomic<int> wait_status{-1};
        std::thread waiter([&] {
            pushed.OnlyThread(GetCurrentThreadId());
            wait_status = pipes_client_send_wait(client.get(), big.data(), big.size(), 5000);
        });
        ASSERT_TRUE(pushed.WaitArrived()) << "send_wait never tried to queue";
        gate.Open(); // the server reads: the stuck write completes and the queued one starts
        EXPECT_TRUE(PollUntil([&] {
            pipes_stats st;
            std::memset(&st, 0, sizeof st);
            st.struct_size = sizeof st;
            return pipes_client_get_stats(client.get(), &st) == PIPES_OK && st.queued_messages == 0;
        })) << "the queue did not drain";
        pushed.Release();
        waiter.join();
        EXPECT_EQ(wait_status.load(), PIPES_OK)
            << "send_wait waited for room in a queue that was already empty";
        if (wait_status.load() == PIPES_OK) { // written: the server reads it
            EXPECT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, 1 + accepted + 1));
        }
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// A reply the server wrote (SEND_COMPLETE: handed to the pipe) and then disconnect: the client
// must still be able to read the reply after the server freed that connection, as it can from a
// pipe whose server end was closed. (Before the fix the ended connection's instance was reused
// for the next client at once: DisconnectNamedPipe threw the unread reply away, and the client's
// read failed with ERROR_PIPE_NOT_CONNECTED.) "conn.freed" tells when the server's connection
// object is gone; the client is a raw handle that reads only then.
TEST(ChaosEngine, AReplyWrittenBeforeADisconnectStaysReadableAfterTheConnectionIsFreed)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog;
        std::atomic<int> freed{0};
        std::atomic<uint64_t> id{0};
        ChaosHook hook([&](const char *where) {
            if (std::strcmp(where, "conn.freed") == 0)
                ++freed;
        });
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_CONNECTED) {
                id = ev->connection_id;
                EXPECT_EQ(pipes_server_send(ev->server, ev->connection_id, "bye", 3, &freed),
                          PIPES_OK);
            } else if (ev->type == PIPES_EVENT_SEND_COMPLETE && ev->status == PIPES_OK) {
                EXPECT_EQ(pipes_server_disconnect(ev->server, id.load()), PIPES_OK);
            }
        };
        pipes_server_config scfg = ServerConfig(name, &slog);
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);

        HANDLE h = CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                               OPEN_EXISTING, 0, nullptr);
        ASSERT_NE(h, INVALID_HANDLE_VALUE) << GetLastError();
        DWORD mode = PIPE_READMODE_MESSAGE;
        EXPECT_TRUE(SetNamedPipeHandleState(h, &mode, nullptr, nullptr));
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_DISCONNECTED, 1));
        EXPECT_TRUE(PollUntil([&] { return freed.load() >= 1; }))
            << "the server never freed the connection";

        char buf[16] = {};
        DWORD got = 0;
        BOOL ok = ReadFile(h, buf, sizeof buf, &got, nullptr);
        DWORD error = ok ? 0 : GetLastError();
        EXPECT_TRUE(ok) << "the written reply was thrown away: ReadFile error " << error;
        EXPECT_EQ(std::string(buf, got), "bye");
        CloseHandle(h);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// The handle a caller stores from pipes_client_connect / pipes_server_start must be usable in the
// first callback: the creating thread is held right after the connection was set up, before the
// call returns, and the CONNECTED callback compares the stored handle with its own.
TEST(ChaosEngine, ClientHandleIsPublishedBeforeTheFirstCallback)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog, clog;
        pipes_server_config scfg = ServerConfig(name, &slog);
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);

        pipes_client *volatile stored = nullptr;
        std::atomic<int> seen{0}; // 1 = same handle, 2 = not yet published
        clog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_CONNECTED)
                seen = stored == ev->client ? 1 : 2;
        };
        const DWORD connecting = GetCurrentThreadId();
        ChaosHook hook([&](const char *where) {
            // The connecting thread, with the connection set up: hold it until the CONNECTED
            // callback ran (or 3 s), as a preempted thread would be.
            if (GetCurrentThreadId() == connecting &&
                std::strcmp(where, "client.connect.attached") == 0)
                PollUntil([&] { return seen.load() != 0; }, milliseconds(3000));
        });
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ASSERT_EQ(pipes_client_connect(&ccfg, (pipes_client **)&stored), PIPES_OK);
        ASSERT_TRUE(clog.WaitFlag([&] { return seen.load() != 0; }));
        EXPECT_EQ(seen.load(), 1) << "the CONNECTED callback ran before the handle was stored";
        EXPECT_EQ(pipes_client_close(stored), PIPES_OK);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(ChaosEngine, ServerHandleIsPublishedBeforeTheFirstCallback)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog, clog;
        pipes_server *volatile stored = nullptr;
        std::atomic<int> seen{0};
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_CONNECTED)
                seen = stored == ev->server ? 1 : 2;
        };
        ClientGuard client;
        std::atomic<int> connect_status{-1};
        std::thread connector;
        const DWORD starter = GetCurrentThreadId();
        ChaosHook hook([&](const char *where) {
            // The starting thread, with its first instance listening: a client connects and its
            // CONNECTED callback runs before pipes_server_start returns.
            if (GetCurrentThreadId() != starter || std::strcmp(where, "server.start.listening") != 0)
                return;
            connector = std::thread([&] {
                pipes_client_config ccfg = ClientConfig(name, &clog);
                connect_status = pipes_client_connect(&ccfg, client.Out());
            });
            PollUntil([&] { return seen.load() != 0; }, milliseconds(5000));
        });
        pipes_server_config scfg = ServerConfig(name, &slog);
        ASSERT_EQ(pipes_server_start(&scfg, (pipes_server **)&stored), PIPES_OK);
        connector.join();
        EXPECT_EQ(connect_status.load(), PIPES_OK);
        ASSERT_TRUE(slog.WaitFlag([&] { return seen.load() != 0; }));
        EXPECT_EQ(seen.load(), 1) << "the CONNECTED callback ran before the handle was stored";
        client.Close();
        EXPECT_EQ(pipes_server_stop(stored), PIPES_OK);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

} // namespace

// max_connections 1: once the server's callback saw DISCONNECTED for the only connection, its
// place is free, and a client that connects then is accepted. The worker is held right after
// DISCONNECTED was delivered ("conn.disconnected_delivered"), so the rest of the ended
// connection's teardown comes after the new client's connect.
// (Before the fix the place was given back only after DISCONNECTED had been delivered: the new
// client was refused with LIMIT(TOO_MANY_CONNECTIONS), as LibLimits.MaxConnectionsRefuses...
// once was in a chaos run.)
TEST(ChaosEngine, APlaceIsFreeOnceDisconnectedWasDelivered)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog, alog, blog;
        std::atomic<bool> disconnected{false};
        PointHold after_event("conn.disconnected_delivered", 1, milliseconds(20000));
        // Only the server's connection is held: the thread that ran its DISCONNECTED callback.
        std::atomic<DWORD> server_thread{0};
        slog.hook = [&](const pipes_event *ev) {
            if (ev->type == PIPES_EVENT_DISCONNECTED) {
                server_thread = GetCurrentThreadId();
                disconnected = true;
            }
        };
        ChaosHook hook([&](const char *where) {
            if (server_thread.load() == GetCurrentThreadId())
                after_event.OnPoint(where);
        });
        pipes_server_config scfg = ServerConfig(name, &slog);
        scfg.max_connections = 1;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        ClientGuard a, b;
        pipes_client_config acfg = ClientConfig(name, &alog);
        ASSERT_EQ(pipes_client_connect(&acfg, a.Out()), PIPES_OK);
        ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 1));
        ASSERT_EQ(a.Close(), PIPES_OK);
        ASSERT_TRUE(after_event.WaitArrived()) << "the server never ended the connection";
        EXPECT_TRUE(disconnected.load());
        pipes_client_config bcfg = ClientConfig(name, &blog);
        pipes_status st = pipes_client_connect(&bcfg, b.Out());
        EXPECT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 2))
            << "the second client was not accepted (connect: " << pipes_status_string(st)
            << ", LIMIT events: " << slog.Count(PIPES_EVENT_LIMIT) << ")";
        after_event.Release();
        EXPECT_EQ(slog.Count(PIPES_EVENT_LIMIT), 0u);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}
