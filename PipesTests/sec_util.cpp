// sec_util.cpp - shared helpers of the security and resilience tests.
#include "sec_util.h"

#include <psapi.h>
#include <sddl.h>

#include <atomic>
#include <chrono>
#include <cstring>

namespace sec {

namespace {
std::atomic<unsigned> g_counter{0};
}

std::wstring UniquePipeName(const char *tag)
{
    return L"\\\\.\\pipe\\" + UniqueObjectName(tag);
}

std::wstring UniqueObjectName(const char *tag)
{
    std::wstring t;
    for (const char *p = tag; *p; ++p)
        t += static_cast<wchar_t>(*p);
    return L"pipes-sec-" + std::to_wstring(GetCurrentProcessId()) + L"-" +
           std::to_wstring(GetTickCount64() % 100000) + L"-" + std::to_wstring(++g_counter) +
           L"-" + t;
}

std::wstring CurrentUserSid()
{
    HANDLE token = nullptr;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return L"";
    union {
        TOKEN_USER user;
        BYTE bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } info;
    DWORD len = 0;
    std::wstring result;
    if (GetTokenInformation(token, TokenUser, &info, sizeof info, &len)) {
        LPWSTR text = nullptr;
        if (ConvertSidToStringSidW(info.user.User.Sid, &text)) {
            result = text;
            LocalFree(text);
        }
    }
    CloseHandle(token);
    return result;
}

DWORD CurrentSessionId()
{
    DWORD session = 0;
    ProcessIdToSessionId(GetCurrentProcessId(), &session);
    return session;
}

std::string Narrow(const std::wstring &w)
{
    std::string s;
    for (wchar_t c : w)
        s += c < 128 ? static_cast<char>(c) : '?';
    return s;
}

std::string ConnectDroppedByServer(const pipes_client_config &cfg, EventLog *log,
                                   pipes_client **client)
{
    *client = nullptr;
    pipes_status st = pipes_client_connect(&cfg, client);
    if (st != PIPES_OK) {
        *client = nullptr;
        if (st == PIPES_ERR_PEER_CLOSED)
            return "";
        return std::string("connect failed with ") + pipes_status_string(st) + " (win32 " +
               std::to_string(pipes_last_system_error()) + "), not PEER_CLOSED";
    }
    if (!log->WaitCount(PIPES_EVENT_DISCONNECTED, 1, 5000))
        return "connected and never disconnected";
    if (log->Count(PIPES_EVENT_DISCONNECTED, PIPES_ERR_PEER_CLOSED) != 1)
        return "disconnected with another status than PEER_CLOSED";
    for (const Recorded &r : log->Snapshot())
        if (r.type == PIPES_EVENT_MESSAGE)
            return "received a message from a server that refused it";
    return "";
}

HANDLE OpenPipeRaw(const std::wstring &name, DWORD flags)
{
    ULONGLONG deadline = GetTickCount64() + 5000;
    for (;;) {
        HANDLE h = CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                               OPEN_EXISTING, flags, nullptr);
        if (h != INVALID_HANDLE_VALUE || GetLastError() != ERROR_PIPE_BUSY ||
            GetTickCount64() >= deadline)
            return h;
        WaitNamedPipeW(name.c_str(), 500);
    }
}

bool WaitUntil(const std::function<bool()> &pred, DWORD timeout_ms)
{
    ULONGLONG deadline = GetTickCount64() + timeout_ms;
    for (;;) {
        if (pred())
            return true;
        if (GetTickCount64() >= deadline)
            return false;
        Sleep(2);
    }
}

// ---- EventLog ---------------------------------------------------------------

void PIPES_CALL EventLog::Callback(const pipes_event *ev, void *user_data)
{
    EventLog *log = static_cast<EventLog *>(user_data);
    if (log->hook)
        log->hook(*ev);
    Recorded r;
    r.type = ev->type;
    r.connection_id = ev->connection_id;
    r.status = ev->status;
    if (ev->size)
        r.data.assign(ev->data, ev->data + ev->size);
    r.send_context = ev->send_context;
    r.has_peer = ev->peer != nullptr;
    std::memset(&r.peer, 0, sizeof r.peer);
    if (ev->peer)
        r.peer = *ev->peer;
    std::lock_guard<std::mutex> lock(log->mu_);
    log->events_.push_back(std::move(r));
    log->cv_.notify_all();
}

std::vector<Recorded> EventLog::Snapshot()
{
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
}

size_t EventLog::CountLocked(pipes_event_type type, int status) const
{
    size_t n = 0;
    for (const Recorded &r : events_)
        if (r.type == type && (status < 0 || r.status == status))
            n++;
    return n;
}

size_t EventLog::Count(pipes_event_type type)
{
    std::lock_guard<std::mutex> lock(mu_);
    return CountLocked(type, -1);
}

size_t EventLog::Count(pipes_event_type type, pipes_status status)
{
    std::lock_guard<std::mutex> lock(mu_);
    return CountLocked(type, static_cast<int>(status));
}

bool EventLog::WaitPred(const std::function<bool()> &pred, DWORD timeout_ms)
{
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), pred);
}

bool EventLog::WaitCount(pipes_event_type type, size_t n, DWORD timeout_ms)
{
    return WaitPred([&] { return CountLocked(type, -1) >= n; }, timeout_ms);
}

bool EventLog::WaitCount(pipes_event_type type, pipes_status status, size_t n, DWORD timeout_ms)
{
    return WaitPred([&] { return CountLocked(type, static_cast<int>(status)) >= n; },
                    timeout_ms);
}

bool EventLog::WaitMessage(const std::vector<uint8_t> &bytes, DWORD timeout_ms)
{
    return WaitPred(
        [&] {
            for (const Recorded &r : events_)
                if (r.type == PIPES_EVENT_MESSAGE && r.data == bytes)
                    return true;
            return false;
        },
        timeout_ms);
}

// ---- engine and configs ---------------------------------------------------------

Engine::Engine()
{
    baseline = GlobalStats();
    pipes_engine_config cfg{};
    cfg.struct_size = sizeof cfg;
    cfg.worker_threads = 2;
    EXPECT_EQ(pipes_engine_create(&cfg, &engine), PIPES_OK);
}

Engine::~Engine()
{
    // PIPES_ERR_BUSY here means a server or client of the test is still attached.
    if (engine) {
        EXPECT_EQ(pipes_engine_destroy(engine), PIPES_OK);
    }
    // Everything the test created is released: the counters are back where they were.
    pipes_global_stats now = GlobalStats();
    EXPECT_TRUE(now.live_engines == baseline.live_engines &&
                now.live_servers == baseline.live_servers &&
                now.live_clients == baseline.live_clients &&
                now.live_connections == baseline.live_connections &&
                now.live_instances == baseline.live_instances &&
                now.pending_operations == baseline.pending_operations &&
                now.bytes_allocated == baseline.bytes_allocated)
        << "live objects not released: engines " << now.live_engines << "/"
        << baseline.live_engines << ", servers " << now.live_servers << "/"
        << baseline.live_servers << ", clients " << now.live_clients << "/"
        << baseline.live_clients << ", connections " << now.live_connections << "/"
        << baseline.live_connections << ", instances " << now.live_instances << "/"
        << baseline.live_instances << ", pending " << now.pending_operations << "/"
        << baseline.pending_operations << ", bytes " << now.bytes_allocated << "/"
        << baseline.bytes_allocated;
}

pipes_server_config ServerConfig(const std::wstring &name, pipes_engine *engine, EventLog *log)
{
    pipes_server_config cfg{};
    cfg.struct_size = sizeof cfg;
    cfg.pipe_name = name.c_str();
    cfg.engine = engine;
    cfg.on_event = EventLog::Callback;
    cfg.user_data = log;
    return cfg;
}

pipes_client_config ClientConfig(const std::wstring &name, pipes_engine *engine, EventLog *log)
{
    pipes_client_config cfg{};
    cfg.struct_size = sizeof cfg;
    cfg.pipe_name = name.c_str();
    cfg.engine = engine;
    cfg.on_event = EventLog::Callback;
    cfg.user_data = log;
    return cfg;
}

void MakeEcho(EventLog *log)
{
    log->hook = [](const pipes_event &ev) {
        if (ev.type == PIPES_EVENT_MESSAGE)
            pipes_server_send(ev.server, ev.connection_id, ev.data, ev.size, nullptr);
    };
}

pipes_global_stats GlobalStats()
{
    pipes_global_stats g{};
    g.struct_size = sizeof g;
    EXPECT_EQ(pipes_get_global_stats(&g), PIPES_OK);
    return g;
}

pipes_stats ServerStats(pipes_server *s)
{
    pipes_stats st{};
    st.struct_size = sizeof st;
    EXPECT_EQ(pipes_server_get_stats(s, &st), PIPES_OK);
    return st;
}

pipes_stats ClientStats(pipes_client *c)
{
    pipes_stats st{};
    st.struct_size = sizeof st;
    EXPECT_EQ(pipes_client_get_stats(c, &st), PIPES_OK);
    return st;
}

// ---- the peer process ---------------------------------------------------------

namespace {
std::wstring PeerExe()
{
    wchar_t path[MAX_PATH];
    DWORD n = GetModuleFileNameW(nullptr, path, MAX_PATH);
    std::wstring dir(path, n);
    size_t slash = dir.find_last_of(L"\\/");
    return dir.substr(0, slash + 1) + L"pipes_test_server.exe";
}
}  // namespace

Peer::~Peer()
{
    if (process_) {
        if (Quit(5000) == ~0u)
            Kill();
        CloseHandle(process_);
    }
    if (ready_)
        CloseHandle(ready_);
    if (quit_)
        CloseHandle(quit_);
}

bool Peer::Launch(const std::wstring &args)
{
    std::wstring cmd = L"\"" + PeerExe() + L"\" " + args;
    // The peer exits when this process does, even if a test dies before telling it to.
    SetEnvironmentVariableW(L"PIPES_TEST_PARENT_PID",
                            std::to_wstring(GetCurrentProcessId()).c_str());
    std::vector<wchar_t> buf(cmd.begin(), cmd.end());
    buf.push_back(L'\0');
    STARTUPINFOW si{};
    si.cb = sizeof si;
    PROCESS_INFORMATION pi{};
    if (!CreateProcessW(nullptr, buf.data(), nullptr, nullptr, FALSE, 0, nullptr, nullptr, &si,
                        &pi))
        return false;
    CloseHandle(pi.hThread);
    process_ = pi.hProcess;
    pid_ = pi.dwProcessId;
    return true;
}

bool Peer::StartServer(const std::wstring &verb, const std::wstring &pipe_name,
                       const std::vector<std::wstring> &extra, std::string *error)
{
    std::wstring ready_name = UniqueObjectName("ready");
    std::wstring quit_name = UniqueObjectName("quit");
    ready_ = CreateEventW(nullptr, TRUE, FALSE, ready_name.c_str());
    quit_ = CreateEventW(nullptr, TRUE, FALSE, quit_name.c_str());
    if (!ready_ || !quit_) {
        *error = "CreateEvent failed: " + std::to_string(GetLastError());
        return false;
    }
    std::wstring args = verb + L" " + pipe_name + L" " + ready_name + L" " + quit_name;
    for (const std::wstring &e : extra)
        args += L" \"" + e + L"\"";
    if (!Launch(args)) {
        *error = "CreateProcess failed: " + std::to_string(GetLastError());
        return false;
    }
    HANDLE both[2] = {ready_, process_};
    DWORD w = WaitForMultipleObjects(2, both, FALSE, 10000);
    if (w == WAIT_OBJECT_0)
        return true;
    DWORD code = 0;
    GetExitCodeProcess(process_, &code);
    *error = w == WAIT_OBJECT_0 + 1 ? "peer exited with code " + std::to_string(code)
                                    : std::string("peer not ready within 10 s");
    return false;
}

DWORD Peer::Quit(DWORD timeout_ms)
{
    if (quit_)
        SetEvent(quit_);
    return Wait(timeout_ms);
}

void Peer::Kill()
{
    if (process_) {
        TerminateProcess(process_, 99);
        WaitForSingleObject(process_, 10000);
    }
}

DWORD Peer::Wait(DWORD timeout_ms)
{
    if (!process_ || WaitForSingleObject(process_, timeout_ms) != WAIT_OBJECT_0)
        return ~0u;
    DWORD code = 0;
    GetExitCodeProcess(process_, &code);
    return code;
}

// ---- leak probes ----------------------------------------------------------------

uintptr_t FreshHandleValue()
{
    HANDLE h = CreateEventW(nullptr, FALSE, FALSE, nullptr);
    uintptr_t v = reinterpret_cast<uintptr_t>(h);
    CloseHandle(h);
    return v;
}

size_t PagefileUsage()
{
    PROCESS_MEMORY_COUNTERS pmc{};
    pmc.cb = sizeof pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc))
        return 0;
    return pmc.PagefileUsage;
}

bool UnderWine()
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

}  // namespace sec
