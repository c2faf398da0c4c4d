// test_support.h - shared helpers for the PipesLib GoogleTest suites (pipes_lib_tests).
//
// - UniquePipeName(): a pipe name no other test or process uses (process id + counter + test name).
// - EventLog: a callback target that records every event and lets the test thread wait, with a
//   timeout, until a condition over the recorded events holds (condition variable, no sleeps).
// - LiveCounters / WaitLiveCountersBack(): the library's own live-object counters
//   (pipes_get_global_stats), the leak check that works under Wine.
// - ServerGuard / ClientGuard: stop/close on scope exit, so a failed ASSERT leaves nothing running.
// - Gate / OpenOnExit: holds a callback until the test lets it go.
#ifndef PIPES_TEST_SUPPORT_H
#define PIPES_TEST_SUPPORT_H

#include <windows.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "peer/test_message.h"
#include "pipes.h"

namespace pt {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Generous upper bounds for waits: a wait that times out is a failure, never a success path.
constexpr milliseconds kWait{20000};

// \\.\pipe\pipes-test-<pid>-<n>-<test name>, at most 200 characters.
inline std::wstring UniquePipeName(const char *tag = "")
{
    static std::atomic<unsigned> counter{0};
    std::string test = "notest";
    if (const ::testing::TestInfo *info = ::testing::UnitTest::GetInstance()->current_test_info())
        test = std::string(info->test_suite_name()) + "." + info->name();
    std::string rest = std::to_string(GetCurrentProcessId()) + "-" + std::to_string(++counter) +
                       "-" + test + tag;
    for (char &c : rest)
        if (c == '/' || c == '\\')
            c = '_';
    std::string s = "\\\\.\\pipe\\pipes-test-" + rest;
    if (s.size() > 200)
        s.resize(200);
    return std::wstring(s.begin(), s.end());
}

// ---- recorded events -----------------------------------------------------------------------

struct Event {
    pipes_event_type type{};
    uint64_t connection_id = 0;
    pipes_status status = PIPES_OK;
    std::vector<uint8_t> data;
    size_t size = 0;       // event->size (also for events without data)
    bool data_null = true; // event->data was NULL
    void *send_context = nullptr;
    bool has_peer = false;
    pipes_peer_identity peer{};
    pipes_server *server = nullptr;
    pipes_client *client = nullptr;
    void *user_data = nullptr;
    DWORD thread_id = 0;
};

// Records events from callbacks. `hook`, when set, runs inside the callback after recording
// (e.g. to echo or to call stop from a callback). Tests wait on conditions with Wait().
class EventLog {
public:
    std::function<void(const pipes_event *)> hook;

    static void PIPES_CALL Callback(const pipes_event *ev, void *user_data)
    {
        static_cast<EventLog *>(user_data)->Record(ev);
    }

    void Record(const pipes_event *ev)
    {
        in_callback_.fetch_add(1);
        if (closed_.load())
            late_callbacks_.fetch_add(1);
        Event e;
        e.type = ev->type;
        e.connection_id = ev->connection_id;
        e.status = ev->status;
        e.data_null = ev->data == nullptr;
        e.size = ev->size;
        if (ev->data && ev->size)
            e.data.assign(ev->data, ev->data + ev->size);
        e.send_context = ev->send_context;
        if (ev->peer) {
            e.has_peer = true;
            e.peer = *ev->peer;
        }
        e.server = ev->server;
        e.client = ev->client;
        e.user_data = ev->user_data;
        e.thread_id = GetCurrentThreadId();
        if (keep_) {
            std::lock_guard<std::mutex> lock(m_);
            events_.push_back(std::move(e));
        }
        if (hook)
            hook(ev);
        {
            // Taken so a waiter cannot miss the wake-up between its check and its wait.
            std::lock_guard<std::mutex> lock(m_);
        }
        cv_.notify_all();
        in_callback_.fetch_sub(1);
    }

    // Waits until pred(events) is true; false on timeout.
    bool Wait(const std::function<bool(const std::vector<Event> &)> &pred,
              milliseconds timeout = kWait)
    {
        std::unique_lock<std::mutex> lock(m_);
        return cv_.wait_for(lock, timeout, [&] { return pred(events_); });
    }

    // Wakes waiters whose predicate reads state outside the log (hooks' own counters).
    void Notify()
    {
        {
            std::lock_guard<std::mutex> lock(m_);
        }
        cv_.notify_all();
    }

    bool WaitFlag(const std::function<bool()> &pred, milliseconds timeout = kWait)
    {
        std::unique_lock<std::mutex> lock(m_);
        return cv_.wait_for(lock, timeout, pred);
    }

    std::vector<Event> Snapshot()
    {
        std::lock_guard<std::mutex> lock(m_);
        return events_;
    }

    size_t Count(pipes_event_type type, uint64_t conn = 0)
    {
        std::lock_guard<std::mutex> lock(m_);
        return CountIn(events_, type, conn);
    }

    static size_t CountIn(const std::vector<Event> &evs, pipes_event_type type, uint64_t conn = 0)
    {
        size_t n = 0;
        for (const Event &e : evs)
            if (e.type == type && (conn == 0 || e.connection_id == conn))
                ++n;
        return n;
    }

    bool WaitCount(pipes_event_type type, size_t n, uint64_t conn = 0, milliseconds timeout = kWait)
    {
        return Wait([&](const std::vector<Event> &evs) { return CountIn(evs, type, conn) >= n; },
                    timeout);
    }

    // The first event of `type` (optionally on `conn`), waiting for it.
    bool WaitFirst(pipes_event_type type, Event *out, uint64_t conn = 0,
                   milliseconds timeout = kWait)
    {
        std::unique_lock<std::mutex> lock(m_);
        return cv_.wait_for(lock, timeout, [&] {
            for (const Event &e : events_) {
                if (e.type == type && (conn == 0 || e.connection_id == conn)) {
                    *out = e;
                    return true;
                }
            }
            return false;
        });
    }

    // Keep no copies (high-volume tests count in their hook instead).
    void KeepEvents(bool keep) { keep_.store(keep); }

    // After the owner's stop/close returned: any later callback is counted as late.
    void MarkClosed() { closed_.store(true); }
    int LateCallbacks() const { return late_callbacks_.load(); }
    int InCallback() const { return in_callback_.load(); }

private:
    std::mutex m_;
    std::condition_variable cv_;
    std::vector<Event> events_;
    std::atomic<bool> keep_{true};
    std::atomic<bool> closed_{false};
    std::atomic<int> late_callbacks_{0};
    std::atomic<int> in_callback_{0};
};

// ---- configs and guards -------------------------------------------------------------------

inline pipes_server_config ServerConfig(const std::wstring &name, EventLog *log)
{
    pipes_server_config c;
    std::memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.pipe_name = name.c_str();
    c.on_event = log ? &EventLog::Callback : nullptr;
    c.user_data = log;
    return c;
}

inline pipes_client_config ClientConfig(const std::wstring &name, EventLog *log)
{
    pipes_client_config c;
    std::memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.pipe_name = name.c_str();
    c.connect_timeout_ms = 10000;
    c.on_event = log ? &EventLog::Callback : nullptr;
    c.user_data = log;
    return c;
}

class ServerGuard {
public:
    ServerGuard() = default;
    explicit ServerGuard(pipes_server *s) : s_(s) {}
    ~ServerGuard() { Stop(); }
    ServerGuard(const ServerGuard &) = delete;
    ServerGuard &operator=(const ServerGuard &) = delete;
    pipes_server **Out() { return &s_; }
    pipes_server *get() const { return s_; }
    pipes_status Stop()
    {
        pipes_status st = PIPES_OK;
        if (s_)
            st = pipes_server_stop(s_);
        s_ = nullptr;
        return st;
    }
    void Release() { s_ = nullptr; } // stopped elsewhere (e.g. from a callback)

private:
    pipes_server *s_ = nullptr;
};

class ClientGuard {
public:
    ClientGuard() = default;
    explicit ClientGuard(pipes_client *c) : c_(c) {}
    ~ClientGuard() { Close(); }
    ClientGuard(const ClientGuard &) = delete;
    ClientGuard &operator=(const ClientGuard &) = delete;
    ClientGuard(ClientGuard &&o) noexcept : c_(o.c_) { o.c_ = nullptr; }
    pipes_client **Out() { return &c_; }
    pipes_client *get() const { return c_; }
    pipes_status Close()
    {
        pipes_status st = PIPES_OK;
        if (c_)
            st = pipes_client_close(c_);
        c_ = nullptr;
        return st;
    }
    void Release() { c_ = nullptr; }

private:
    pipes_client *c_ = nullptr;
};

// ---- global live counters -----------------------------------------------------------------

struct LiveCounters {
    int64_t engines = 0, servers = 0, clients = 0, connections = 0, instances = 0,
            pending_operations = 0, events = 0, bytes_allocated = 0;

    bool operator==(const LiveCounters &o) const
    {
        return engines == o.engines && servers == o.servers && clients == o.clients &&
               connections == o.connections && instances == o.instances &&
               pending_operations == o.pending_operations && events == o.events &&
               bytes_allocated == o.bytes_allocated;
    }
    std::string ToString() const
    {
        return "engines=" + std::to_string(engines) + " servers=" + std::to_string(servers) +
               " clients=" + std::to_string(clients) + " connections=" +
               std::to_string(connections) + " instances=" + std::to_string(instances) +
               " pending_operations=" + std::to_string(pending_operations) +
               " live_events=" + std::to_string(events) +
               " bytes_allocated=" + std::to_string(bytes_allocated);
    }
};

inline pipes_global_stats GlobalStats()
{
    pipes_global_stats g;
    std::memset(&g, 0, sizeof g);
    g.struct_size = sizeof g;
    EXPECT_EQ(pipes_get_global_stats(&g), PIPES_OK);
    return g;
}

inline LiveCounters ReadLiveCounters()
{
    pipes_global_stats g = GlobalStats();
    LiveCounters c;
    c.engines = g.live_engines;
    c.servers = g.live_servers;
    c.clients = g.live_clients;
    c.connections = g.live_connections;
    c.instances = g.live_instances;
    c.pending_operations = g.pending_operations;
    c.events = g.live_events;
    c.bytes_allocated = g.bytes_allocated;
    return c;
}

// The process-wide default engine is created on first use and lives until exit: create it
// before a test takes its baseline, so it is part of every baseline.
inline void EnsureDefaultEngine()
{
    static std::once_flag once;
    std::call_once(once, [] {
        std::wstring name = UniquePipeName("-warmup");
        pipes_server_config c;
        std::memset(&c, 0, sizeof c);
        c.struct_size = sizeof c;
        c.pipe_name = name.c_str();
        c.on_event = [](const pipes_event *, void *) {};
        pipes_server *s = nullptr;
        ASSERT_EQ(pipes_server_start(&c, &s), PIPES_OK);
        ASSERT_EQ(pipes_server_stop(s), PIPES_OK);
    });
}

inline LiveCounters Baseline()
{
    EnsureDefaultEngine();
    return ReadLiveCounters();
}

// Polls the counters until they equal `baseline` (there is no notification for them: this is a
// wait-until with a deadline, not a sleep standing in for synchronisation). Returns the last value.
inline LiveCounters WaitLiveCounters(const LiveCounters &baseline, milliseconds timeout = kWait)
{
    auto deadline = Clock::now() + timeout;
    LiveCounters now = ReadLiveCounters();
    while (!(now == baseline) && Clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(5));
        now = ReadLiveCounters();
    }
    return now;
}

// Polls pred every few milliseconds until it holds or the timeout passes, for state that has no
// notification (statistics counters). Returns the last result.
inline bool PollUntil(const std::function<bool()> &pred, milliseconds timeout = kWait)
{
    auto deadline = Clock::now() + timeout;
    while (!pred()) {
        if (Clock::now() >= deadline)
            return pred();
        std::this_thread::sleep_for(milliseconds(2));
    }
    return true;
}

#define PT_EXPECT_LIVE_COUNTERS_BACK(baseline)                                                   \
    do {                                                                                       \
        ::pt::LiveCounters pt_now_ = ::pt::WaitLiveCounters(baseline);                         \
        EXPECT_EQ(pt_now_.ToString(), (baseline).ToString()) << "live objects leaked";         \
    } while (0)

// ---- misc ---------------------------------------------------------------------------------

// Blocks the callback that calls Wait() until Open() (or 30 s): a stalled callback stalls that
// connection's read chain and ties up its worker thread.
class Gate {
public:
    void Wait()
    {
        std::unique_lock<std::mutex> lock(m_);
        waiting_ = true;
        cv_.notify_all();
        cv_.wait_for(lock, std::chrono::seconds(30), [&] { return open_; });
    }
    bool WaitUntilBlocked()
    {
        std::unique_lock<std::mutex> lock(m_);
        return cv_.wait_for(lock, kWait, [&] { return waiting_; });
    }
    void Open()
    {
        {
            std::lock_guard<std::mutex> lock(m_);
            open_ = true;
        }
        cv_.notify_all();
    }
    ~Gate() { Open(); }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool waiting_ = false, open_ = false;
};

struct OpenOnExit {
    Gate &gate;
    ~OpenOnExit() { gate.Open(); }
};


inline std::vector<uint8_t> TestMessage(size_t total, uint32_t tag, uint32_t seq)
{
    std::vector<uint8_t> v(total < PT_MSG_HEADER_SIZE ? PT_MSG_HEADER_SIZE : total);
    pt_msg_fill(v.data(), v.size(), tag, seq);
    return v;
}

// Bytes 0..n-1 with a pattern that differs at every offset modulo 251.
inline std::vector<uint8_t> Pattern(size_t n, uint8_t salt = 0)
{
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i)
        v[i] = static_cast<uint8_t>((i % 251) ^ salt);
    return v;
}

inline pipes_stats ServerStats(pipes_server *s)
{
    pipes_stats st;
    std::memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    EXPECT_EQ(pipes_server_get_stats(s, &st), PIPES_OK);
    return st;
}

inline pipes_stats ClientStats(pipes_client *c)
{
    pipes_stats st;
    std::memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    EXPECT_EQ(pipes_client_get_stats(c, &st), PIPES_OK);
    return st;
}

inline double SecondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// An engine of its own with `threads` workers (NULL, and a failed expectation, if it cannot be
// made); the caller destroys it.
inline pipes_engine *CreateEngine(unsigned threads)
{
    pipes_engine_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.struct_size = sizeof cfg;
    cfg.worker_threads = threads;
    pipes_engine *e = nullptr;
    EXPECT_EQ(pipes_engine_create(&cfg, &e), PIPES_OK);
    return e;
}

// An engine of the test's own with `workers` threads: destroyed when the test's scope ends, after
// its servers and clients, and the live counters must then be back where they were.
class OwnEngine {
public:
    explicit OwnEngine(unsigned workers) : engine(CreateEngine(workers)) {}
    ~OwnEngine()
    {
        if (engine) {
            EXPECT_EQ(pipes_engine_destroy(engine), PIPES_OK);
        }
        PT_EXPECT_LIVE_COUNTERS_BACK(base_);
    }
    OwnEngine(const OwnEngine &) = delete;
    OwnEngine &operator=(const OwnEngine &) = delete;

private:
    LiveCounters base_ = Baseline(); // before the engine: initialised first

public:
    pipes_engine *const engine;
};

// Starts a server on `engine` (events to slog) and connects one client on the default engine.
inline void ServeOnEngine(pipes_engine *engine, const std::wstring &name, EventLog *slog,
                          EventLog *clog, ServerGuard *server, ClientGuard *client)
{
    pipes_server_config scfg = ServerConfig(name, slog);
    scfg.engine = engine;
    ASSERT_EQ(pipes_server_start(&scfg, server->Out()), PIPES_OK);
    pipes_client_config ccfg = ClientConfig(name, clog);
    ASSERT_EQ(pipes_client_connect(&ccfg, client->Out()), PIPES_OK);
}

} // namespace pt

#endif // PIPES_TEST_SUPPORT_H
