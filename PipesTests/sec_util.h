// sec_util.h - shared helpers of the security and resilience tests (sec_*.cpp):
// unique pipe names, an event recorder, the peer process, identity and leak probes.
#ifndef PIPES_SEC_UTIL_H
#define PIPES_SEC_UTIL_H

#include <windows.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "pipes.h"

namespace sec {

// \\.\pipe\pipes-sec-<pid>-<n>-<tag>: unique per process and call.
std::wstring UniquePipeName(const char *tag);
// A unique name for a named event or file of this test run.
std::wstring UniqueObjectName(const char *tag);

// The SID string of the user this process runs as ("S-1-5-21-...").
std::wstring CurrentUserSid();
DWORD CurrentSessionId();
std::string Narrow(const std::wstring &w);

// Opens a pipe as a raw Win32 client (GENERIC_READ | GENERIC_WRITE, extra flags), retrying
// ERROR_PIPE_BUSY with WaitNamedPipeW for up to 5 s as any client must: the server replaces
// a taken instance asynchronously. INVALID_HANDLE_VALUE on failure (GetLastError set).
HANDLE OpenPipeRaw(const std::wstring &name, DWORD flags = 0);

// Waits until pred() is true, polling every few ms; false on timeout.
bool WaitUntil(const std::function<bool()> &pred, DWORD timeout_ms);

struct Recorded {
    pipes_event_type type;
    uint64_t connection_id;
    pipes_status status;
    std::vector<uint8_t> data;
    void *send_context;
    bool has_peer;
    pipes_peer_identity peer;
};

// Records every event of a server or client (use as on_event with this as user_data).
// hook, if set before start, runs first on the worker thread (e.g. to echo).
class EventLog {
public:
    static void PIPES_CALL Callback(const pipes_event *ev, void *user_data);

    std::function<void(const pipes_event &)> hook;

    std::vector<Recorded> Snapshot();
    size_t Count(pipes_event_type type);
    size_t Count(pipes_event_type type, pipes_status status);
    // Waits for at least n events of the type (any status); false on timeout.
    bool WaitCount(pipes_event_type type, size_t n, DWORD timeout_ms);
    bool WaitCount(pipes_event_type type, pipes_status status, size_t n, DWORD timeout_ms);
    // Waits for a MESSAGE whose bytes equal `bytes`; false on timeout.
    bool WaitMessage(const std::vector<uint8_t> &bytes, DWORD timeout_ms);

private:
    bool WaitPred(const std::function<bool()> &pred, DWORD timeout_ms);
    size_t CountLocked(pipes_event_type type, int status) const;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Recorded> events_;
};

pipes_global_stats GlobalStats();

// An engine per test (2 workers). At the end of the test it is destroyed, which fails with
// PIPES_ERR_BUSY if a server or client was leaked, and the live counters must be back to
// their values from before the engine existed.
struct Engine {
    pipes_engine *engine = nullptr;
    pipes_global_stats baseline;
    Engine();
    ~Engine();
};

// A client the server drops right after its pipe opened (refused by authorize or by
// max_connections) must see a clean end, one of two depending on timing: connect returns OK
// and a DISCONNECTED with PIPES_ERR_PEER_CLOSED follows, or connect itself fails with
// PIPES_ERR_PEER_CLOSED. Returns "" if so, else a description of what happened instead.
// *client is the connected client in the first case, else nullptr.
std::string ConnectDroppedByServer(const pipes_client_config &cfg, EventLog *log,
                                   pipes_client **client);

// Stops a server when the test leaves its scope, also after a failed ASSERT (declare it
// after the Engine, so it runs first).
struct ServerGuard {
    pipes_server *server = nullptr;
    ~ServerGuard()
    {
        if (server)
            pipes_server_stop(server);
    }
};

pipes_server_config ServerConfig(const std::wstring &name, pipes_engine *engine, EventLog *log);
pipes_client_config ClientConfig(const std::wstring &name, pipes_engine *engine, EventLog *log);
// An echo server: every MESSAGE goes back to its sender.
void MakeEcho(EventLog *log);

pipes_global_stats GlobalStats();
pipes_stats ServerStats(pipes_server *s);
pipes_stats ClientStats(pipes_client *c);

// The peer process (PipesTests/peer/pipes_test_server.c), started from the test's folder.
class Peer {
public:
    Peer() = default;
    ~Peer();
    Peer(const Peer &) = delete;
    Peer &operator=(const Peer &) = delete;

    // Starts `verb pipe_name READY QUIT extra...` and waits up to 10 s for READY.
    // Returns false (and fills error) if it exited or timed out first.
    bool StartServer(const std::wstring &verb, const std::wstring &pipe_name,
                     const std::vector<std::wstring> &extra, std::string *error);
    // Starts any command line after the exe name; does not wait.
    bool Launch(const std::wstring &args);
    // Sets QUIT and waits for the exit code (or ~0u on timeout).
    DWORD Quit(DWORD timeout_ms = 10000);
    void Kill();
    DWORD Wait(DWORD timeout_ms);  // exit code, or ~0u on timeout
    DWORD pid() const { return pid_; }

private:
    HANDLE process_ = nullptr;
    HANDLE ready_ = nullptr;
    HANDLE quit_ = nullptr;
    DWORD pid_ = 0;
};

// The value of a freshly created event handle: it stays put over many cycles unless handles
// leak (GetProcessHandleCount is 0 under Wine; see docs/SECURITY.md).
uintptr_t FreshHandleValue();
// Private commit (PagefileUsage) of this process in bytes.
size_t PagefileUsage();

// True when running under Wine (ntdll exports wine_get_version).
bool UnderWine();

}  // namespace sec

#endif  // PIPES_SEC_UTIL_H
