// lib_gui_test.cpp - GUI delivery: events posted with PostMessageW to a hidden message-only window
// (HWND_MESSAGE) pumped on the test thread, released with pipes_event_free; live_events returns
// to its baseline; a failed PostMessageW is counted, closes the connection whose CONNECTED or
// MESSAGE it dropped, and leaks nothing; the documented shutdown order frees every queued event.
#include "test_support.h"

namespace {

using namespace pt;

constexpr UINT kServerMsg = WM_APP + 11;
constexpr UINT kClientMsg = WM_APP + 12;

// A message-only window that records posted events. With hold set it keeps the pipes_event
// pointers (to check that they stay valid) instead of freeing them at once.
class Sink {
public:
    Sink()
    {
        static ATOM atom = [] {
            WNDCLASSW wc;
            std::memset(&wc, 0, sizeof wc);
            wc.lpfnWndProc = &Sink::WndProc;
            wc.hInstance = GetModuleHandleW(nullptr);
            wc.lpszClassName = L"PipesLibTestSink";
            return RegisterClassW(&wc);
        }();
        EXPECT_NE(atom, 0);
        hwnd_ = CreateWindowExW(0, L"PipesLibTestSink", L"", 0, 0, 0, 0, 0, HWND_MESSAGE, nullptr,
                                GetModuleHandleW(nullptr), this);
        EXPECT_NE(hwnd_, nullptr) << "CreateWindowExW(HWND_MESSAGE) failed: " << GetLastError();
        thread_ = GetCurrentThreadId();
    }
    ~Sink()
    {
        Destroy();
        // Whatever is still queued for a destroyed window is gone with it; free what we held.
        for (pipes_event *e : held_)
            pipes_event_free(e);
    }
    void Destroy()
    {
        if (hwnd_)
            DestroyWindow(hwnd_);
        hwnd_ = nullptr;
    }
    HWND hwnd() const { return hwnd_; }

    // Pumps this thread's messages until pred() holds or the timeout passes.
    bool PumpUntil(const std::function<bool()> &pred, milliseconds timeout = kWait)
    {
        auto deadline = Clock::now() + timeout;
        for (;;) {
            MSG msg;
            while (PeekMessageW(&msg, nullptr, 0, 0, PM_REMOVE)) {
                TranslateMessage(&msg);
                DispatchMessageW(&msg);
            }
            if (pred())
                return true;
            auto now = Clock::now();
            if (now >= deadline)
                return false;
            DWORD left = DWORD(std::chrono::duration_cast<milliseconds>(deadline - now).count());
            MsgWaitForMultipleObjectsEx(0, nullptr, left, QS_ALLINPUT, MWMO_INPUTAVAILABLE);
        }
    }
    void PumpAll()
    {
        MSG msg;
        while (PeekMessageW(&msg, nullptr, 0, 0, PM_REMOVE))
            DispatchMessageW(&msg);
    }

    std::vector<Event> server_events, client_events;
    std::vector<pipes_event *> held_;
    bool hold = false;
    int wrong_thread = 0;

private:
    static LRESULT CALLBACK WndProc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
    {
        if (msg == WM_NCCREATE) {
            auto *cs = reinterpret_cast<CREATESTRUCTW *>(lp);
            SetWindowLongPtrW(hwnd, GWLP_USERDATA, reinterpret_cast<LONG_PTR>(cs->lpCreateParams));
        }
        Sink *self = reinterpret_cast<Sink *>(GetWindowLongPtrW(hwnd, GWLP_USERDATA));
        if (self && (msg == kServerMsg || msg == kClientMsg)) {
            auto *ev = reinterpret_cast<pipes_event *>(lp);
            if (GetCurrentThreadId() != self->thread_)
                ++self->wrong_thread;
            Event e;
            e.type = ev->type;
            e.connection_id = ev->connection_id;
            e.status = ev->status;
            e.data_null = ev->data == nullptr;
            if (ev->data && ev->size)
                e.data.assign(ev->data, ev->data + ev->size);
            if (ev->peer) {
                e.has_peer = true;
                e.peer = *ev->peer;
            }
            e.server = ev->server;
            e.client = ev->client;
            e.user_data = ev->user_data;
            (msg == kServerMsg ? self->server_events : self->client_events).push_back(e);
            if (self->hold)
                self->held_.push_back(ev);
            else
                pipes_event_free(ev);
            return 0;
        }
        return DefWindowProcW(hwnd, msg, wp, lp);
    }

    HWND hwnd_ = nullptr;
    DWORD thread_ = 0;
};

size_t CountOf(const std::vector<Event> &evs, pipes_event_type t)
{
    return EventLog::CountIn(evs, t);
}

TEST(LibGui, EventsArriveAsPostedMessagesAndAreFreed)
{
    LiveCounters base = Baseline();
    ASSERT_EQ(base.events, 0) << "posted events left over from an earlier test";
    {
        Sink sink;
        ASSERT_NE(sink.hwnd(), nullptr);
        const std::wstring name = UniquePipeName();
        int server_tag = 1, client_tag = 2;

        pipes_server_config scfg = ServerConfig(name, nullptr);
        scfg.notify_window = sink.hwnd();
        scfg.notify_message = kServerMsg;
        scfg.user_data = &server_tag;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        pipes_client_config ccfg = ClientConfig(name, nullptr);
        ccfg.notify_window = sink.hwnd();
        ccfg.notify_message = kClientMsg;
        ccfg.user_data = &client_tag;
        ClientGuard client;
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);

        std::vector<uint8_t> small = Pattern(10), big = Pattern(100 * 1024, 7);
        ASSERT_EQ(pipes_client_send(client.get(), nullptr, 0, nullptr), PIPES_OK);
        ASSERT_EQ(pipes_client_send(client.get(), small.data(), small.size(), nullptr), PIPES_OK);
        ASSERT_EQ(pipes_client_send(client.get(), big.data(), big.size(), nullptr), PIPES_OK);

        // Until the window procedure runs, each event is a live heap object.
        auto live_events = [] { return ReadLiveCounters().events; };
        auto t0 = Clock::now();
        while (live_events() < base.events + 5 && Clock::now() - t0 < kWait)
            std::this_thread::sleep_for(milliseconds(5));
        EXPECT_GE(live_events(), base.events + 5) << "2 CONNECTED + 3 MESSAGE events posted";

        ASSERT_TRUE(sink.PumpUntil([&] { return CountOf(sink.server_events, PIPES_EVENT_MESSAGE) == 3; }));
        ASSERT_EQ(sink.server_events.front().type, PIPES_EVENT_CONNECTED);
        const Event &conn = sink.server_events.front();
        ASSERT_TRUE(conn.has_peer);
        EXPECT_EQ(conn.peer.process_id, GetCurrentProcessId());
        EXPECT_EQ(conn.server, server.get());
        EXPECT_EQ(conn.user_data, &server_tag);
        std::vector<Event> msgs;
        for (const Event &e : sink.server_events)
            if (e.type == PIPES_EVENT_MESSAGE)
                msgs.push_back(e);
        EXPECT_TRUE(msgs[0].data.empty());
        EXPECT_TRUE(msgs[0].data_null);
        EXPECT_EQ(msgs[1].data, small);
        EXPECT_EQ(msgs[2].data, big);
        for (const Event &e : msgs) {
            EXPECT_EQ(e.connection_id, conn.connection_id);
            EXPECT_EQ(e.server, server.get());
        }

        // Server to client, posted to the same window under the client's message id.
        ASSERT_EQ(pipes_server_send(server.get(), conn.connection_id, big.data(), big.size(),
                                    nullptr),
                  PIPES_OK);
        ASSERT_TRUE(sink.PumpUntil([&] { return CountOf(sink.client_events, PIPES_EVENT_MESSAGE) == 1; }));
        EXPECT_EQ(sink.client_events.front().type, PIPES_EVENT_CONNECTED);
        EXPECT_EQ(sink.client_events.front().client, client.get());
        EXPECT_EQ(sink.client_events.back().data, big);
        EXPECT_EQ(sink.client_events.back().user_data, &client_tag);

        // The disconnect is posted too.
        ASSERT_EQ(client.Close(), PIPES_OK);
        ASSERT_TRUE(sink.PumpUntil([&] { return CountOf(sink.server_events, PIPES_EVENT_DISCONNECTED) == 1; }));
        EXPECT_EQ(sink.server_events.back().status, PIPES_ERR_PEER_CLOSED);
        EXPECT_EQ(sink.wrong_thread, 0);
        EXPECT_EQ(ServerStats(server.get()).events_post_failed, 0u);
        EXPECT_EQ(server.Stop(), PIPES_OK);
        sink.PumpAll();
        EXPECT_EQ(ReadLiveCounters().events, base.events) << "every posted event was freed";
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibGui, PostedEventsStayValidAfterStopAndNoneArePostedAfterIt)
{
    LiveCounters base = Baseline();
    {
        Sink sink;
        ASSERT_NE(sink.hwnd(), nullptr);
        sink.hold = true;
        const std::wstring name = UniquePipeName();
        pipes_server_config scfg = ServerConfig(name, nullptr);
        scfg.notify_window = sink.hwnd();
        scfg.notify_message = kServerMsg;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        EventLog clog;
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ClientGuard client;
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
        std::vector<std::vector<uint8_t>> sent;
        for (uint32_t seq = 0; seq < 20; ++seq) {
            sent.push_back(TestMessage(100 + seq * 1000, 4, seq));
            ASSERT_EQ(pipes_client_send_wait(client.get(), sent.back().data(), sent.back().size(),
                                             10000),
                      PIPES_OK);
        }
        // Wait (without pumping) until all 21 events are posted, then stop the server.
        auto t0 = Clock::now();
        while (ReadLiveCounters().events < base.events + 21 && Clock::now() - t0 < kWait)
            std::this_thread::sleep_for(milliseconds(5));
        ASSERT_EQ(ReadLiveCounters().events, base.events + 21);
        // The client keeps sending while the server stops: nothing may be posted after stop.
        std::atomic<bool> stop_sending{false};
        std::thread sender([&] {
            for (uint32_t seq = 20; !stop_sending.load(); ++seq) {
                std::vector<uint8_t> m = TestMessage(64, 4, seq);
                if (pipes_client_send_wait(client.get(), m.data(), m.size(), 5000) != PIPES_OK)
                    break;
            }
        });
        std::this_thread::sleep_for(milliseconds(50)); // let some of those arrive (not sync)
        ASSERT_EQ(server.Stop(), PIPES_OK);
        int64_t after_stop = ReadLiveCounters().events;
        std::this_thread::sleep_for(milliseconds(200)); // observation window
        EXPECT_EQ(ReadLiveCounters().events, after_stop) << "events were posted after stop returned";
        stop_sending = true;
        sender.join();

        // Now pump: every event posted before stop is intact.
        sink.PumpAll();
        EXPECT_EQ(int64_t(sink.held_.size()), after_stop - base.events);
        ASSERT_GE(sink.server_events.size(), 21u);
        for (uint32_t seq = 0; seq < 20; ++seq) {
            const pipes_event *ev = sink.held_[seq + 1];
            ASSERT_EQ(ev->type, PIPES_EVENT_MESSAGE);
            ASSERT_EQ(ev->size, sent[seq].size());
            EXPECT_EQ(std::memcmp(ev->data, sent[seq].data(), ev->size), 0) << "message " << seq;
        }
        for (pipes_event *e : sink.held_)
            pipes_event_free(e);
        sink.held_.clear();
        EXPECT_EQ(ReadLiveCounters().events, base.events);
        client.Close();
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// A CONNECTED event that cannot be posted (the window is gone) would leave a client talking to a
// server whose application never heard of it: the connection is closed instead, with reason
// PIPES_ERR_POST_FAILED, and nothing leaks.
TEST(LibGui, AConnectionWhoseConnectedEventCannotBePostedIsClosed)
{
    LiveCounters base = Baseline();
    {
        HWND gone;
        {
            Sink sink;
            ASSERT_NE(sink.hwnd(), nullptr);
            gone = sink.hwnd();
        } // the window is destroyed here: PostMessageW to it fails
        ASSERT_FALSE(IsWindow(gone));
        const std::wstring name = UniquePipeName();
        pipes_server_config scfg = ServerConfig(name, nullptr);
        scfg.notify_window = gone;
        scfg.notify_message = kServerMsg;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        EventLog clog;
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ClientGuard client;
        pipes_status st = pipes_client_connect(&ccfg, client.Out());
        ASSERT_TRUE(st == PIPES_OK || st == PIPES_ERR_PEER_CLOSED) << pipes_status_string(st);
        if (st == PIPES_OK) {
            Event disc;
            ASSERT_TRUE(clog.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc))
                << "the client stayed connected to a server that could not tell its window";
            EXPECT_EQ(disc.status, PIPES_ERR_PEER_CLOSED);
        }
        ASSERT_TRUE(PollUntil([&] {
            return ServerStats(server.get()).disconnects_by_reason[PIPES_ERR_POST_FAILED] == 1;
        }));
        pipes_stats ss = ServerStats(server.get());
        EXPECT_EQ(ss.events_post_failed, 2u) << "CONNECTED, then DISCONNECTED, both dropped";
        EXPECT_EQ(ss.errors_by_status[PIPES_ERR_POST_FAILED], 2u);
        EXPECT_EQ(ss.current_connections, 0u);
        EXPECT_EQ(ReadLiveCounters().events, base.events) << "a failed post leaked its event";
        EXPECT_EQ(server.Stop(), PIPES_OK);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// The window goes away while a client is connected: the client's next request cannot reach the
// application, so the server closes that connection instead of leaving the client waiting for a
// reply that can never come.
TEST(LibGui, AMessageThatCannotBePostedClosesItsConnection)
{
    LiveCounters base = Baseline();
    {
        Sink sink;
        ASSERT_NE(sink.hwnd(), nullptr);
        const std::wstring name = UniquePipeName();
        pipes_server_config scfg = ServerConfig(name, nullptr);
        scfg.notify_window = sink.hwnd();
        scfg.notify_message = kServerMsg;
        ServerGuard server;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        EventLog clog;
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ClientGuard client;
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
        ASSERT_TRUE(sink.PumpUntil([&] { return CountOf(sink.server_events, PIPES_EVENT_CONNECTED) == 1; }));
        sink.Destroy();
        ASSERT_EQ(pipes_client_send(client.get(), "request", 7, nullptr), PIPES_OK);
        Event disc;
        EXPECT_TRUE(clog.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc))
            << "the request was dropped and the connection left open";
        EXPECT_EQ(disc.status, PIPES_ERR_PEER_CLOSED);
        pipes_stats ss = ServerStats(server.get());
        EXPECT_EQ(ss.messages_in, 1u);
        EXPECT_EQ(ss.disconnects_by_reason[PIPES_ERR_POST_FAILED], 1u);
        EXPECT_EQ(server.Stop(), PIPES_OK);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

TEST(LibGui, FailedPostMessageOnTheClientSideClosesItsConnection)
{
    LiveCounters base = Baseline();
    {
        const std::wstring name = UniquePipeName();
        EventLog slog;
        ServerGuard server;
        pipes_server_config scfg = ServerConfig(name, &slog);
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);
        pipes_client_config ccfg = ClientConfig(name, nullptr);
        // A handle value that never was a window.
        ccfg.notify_window = reinterpret_cast<void *>(static_cast<uintptr_t>(0x7FFF0000u));
        ccfg.notify_message = kClientMsg;
        ClientGuard client;
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
        Event disc;
        ASSERT_TRUE(slog.WaitFirst(PIPES_EVENT_DISCONNECTED, &disc));
        EXPECT_EQ(disc.status, PIPES_ERR_PEER_CLOSED);
        ASSERT_TRUE(PollUntil([&] {
            return ClientStats(client.get()).disconnects_by_reason[PIPES_ERR_POST_FAILED] == 1;
        }));
        EXPECT_EQ(ClientStats(client.get()).events_post_failed, 2u) << "CONNECTED + DISCONNECTED";
        EXPECT_EQ(pipes_client_send(client.get(), "x", 1, nullptr), PIPES_ERR_NOT_CONNECTED);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// pipes.h's shutdown order for GUI delivery: stop, remove what is still queued for the window,
// destroy it. Events that were posted but never pumped are all released.
TEST(LibGui, TheDocumentedShutdownOrderLeaksNoQueuedEvent)
{
    LiveCounters base = Baseline();
    {
        Sink sink;
        ASSERT_NE(sink.hwnd(), nullptr);
        const std::wstring name = UniquePipeName();
        pipes_server_config scfg = ServerConfig(name, nullptr);
        scfg.notify_window = sink.hwnd();
        scfg.notify_message = kServerMsg;
        pipes_server *server = nullptr;
        ASSERT_EQ(pipes_server_start(&scfg, &server), PIPES_OK);
        EventLog clog;
        pipes_client_config ccfg = ClientConfig(name, &clog);
        ClientGuard client;
        ASSERT_EQ(pipes_client_connect(&ccfg, client.Out()), PIPES_OK);
        for (int i = 0; i < 10; ++i)
            ASSERT_EQ(pipes_client_send_wait(client.get(), "queued", 6, 10000), PIPES_OK);
        ASSERT_TRUE(PollUntil([&] { return ReadLiveCounters().events == base.events + 11; }))
            << "CONNECTED + 10 MESSAGE posted, none pumped";

        ASSERT_EQ(pipes_server_stop(server), PIPES_OK); // 1. nothing is posted afterwards
        MSG msg;                                         // 2. remove what is queued
        while (PeekMessageW(&msg, sink.hwnd(), kServerMsg, kServerMsg, PM_REMOVE))
            pipes_event_free(reinterpret_cast<pipes_event *>(msg.lParam));
        sink.Destroy(); // 3.
        EXPECT_EQ(ReadLiveCounters().events, base.events);
        client.Close();
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

} // namespace
