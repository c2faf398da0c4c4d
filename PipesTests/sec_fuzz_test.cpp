// sec_fuzz_test.cpp - many raw clients at once write random bytes in random message sizes,
// some over the server's maximum, some closing abruptly, while well-formed library clients
// do echo round trips on the same server. The server must never crash; every connection
// that sent an oversized message ends with PIPES_ERR_MESSAGE_TOO_LARGE, the others with
// PEER_CLOSED; every in-range message is counted; the well-formed clients all succeed.
// The seed is printed; set PIPES_FUZZ_SEED to replay one.
#include "sec_util.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

using namespace sec;

namespace {

constexpr size_t kMax = 4096;  // the server's max_message_size
constexpr int kFuzzers = 6;
constexpr int kConnectionsEach = 25;
constexpr int kGoodClients = 2;
constexpr int kRoundTrips = 100;

struct FuzzServer {
    std::mutex mu;
    std::map<uint64_t, uint32_t> tag_of;   // connection -> fuzz tag (from its hello)
    std::map<uint64_t, pipes_status> end_of;
};

void PIPES_CALL OnServerEvent(const pipes_event *ev, void *user_data)
{
    FuzzServer *f = static_cast<FuzzServer *>(user_data);
    if (ev->type == PIPES_EVENT_MESSAGE) {
        if (ev->size == 12 && std::memcmp(ev->data, "FUZZ", 4) == 0) {
            uint32_t tag;
            std::memcpy(&tag, ev->data + 4, sizeof tag);
            std::lock_guard<std::mutex> lock(f->mu);
            f->tag_of.emplace(ev->connection_id, tag);
        }
        // Echo; a full queue to a fuzzer that never reads is expected, not an error here.
        pipes_server_send(ev->server, ev->connection_id, ev->data, ev->size, nullptr);
    } else if (ev->type == PIPES_EVENT_DISCONNECTED) {
        std::lock_guard<std::mutex> lock(f->mu);
        f->end_of[ev->connection_id] = ev->status;
    }
}

// Overlapped write or read with a timeout; returns the Win32 error (0 = done).
DWORD Io(HANDLE h, bool write, void *buf, DWORD size, DWORD *done, DWORD timeout_ms)
{
    OVERLAPPED ov{};
    ov.hEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    BOOL ok = write ? WriteFile(h, buf, size, done, &ov) : ReadFile(h, buf, size, done, &ov);
    DWORD err = ok ? 0 : GetLastError();
    if (err == ERROR_IO_PENDING) {
        if (WaitForSingleObject(ov.hEvent, timeout_ms) != WAIT_OBJECT_0)
            CancelIoEx(h, &ov);
        err = GetOverlappedResult(h, &ov, done, TRUE) ? 0 : GetLastError();
    }
    CloseHandle(ov.hEvent);
    return err;
}

struct Outcome {
    uint32_t tag = 0;
    bool oversize = false;        // an oversized message was attempted
    bool ended_by_server = false; // then the server ended the connection
    uint64_t in_range_written = 0;
};

// One raw fuzz connection. Returns false if it could not connect at all.
bool FuzzConnection(const std::wstring &name, uint32_t tag, std::mt19937 &rng, Outcome *out)
{
    HANDLE h = INVALID_HANDLE_VALUE;
    for (int attempt = 0; attempt < 100 && h == INVALID_HANDLE_VALUE; attempt++) {
        h = CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                        FILE_FLAG_OVERLAPPED, nullptr);
        if (h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_PIPE_BUSY)
            WaitNamedPipeW(name.c_str(), 100);
    }
    if (h == INVALID_HANDLE_VALUE)
        return false;
    out->tag = tag;
    if (rng() % 2) {
        DWORD mode = PIPE_READMODE_MESSAGE;
        SetNamedPipeHandleState(h, &mode, nullptr, nullptr);
    }
    uint8_t hello[12] = {'F', 'U', 'Z', 'Z'};
    std::memcpy(hello + 4, &tag, sizeof tag);
    DWORD n = 0;
    if (Io(h, true, hello, sizeof hello, &n, 5000) != 0) {
        CloseHandle(h);
        return true;
    }
    out->in_range_written++;

    int messages = static_cast<int>(rng() % 20);
    int oversize_at = rng() % 3 == 0 ? static_cast<int>(rng() % (messages + 1)) : -1;
    std::vector<uint8_t> buf;
    for (int i = 0; i <= messages; i++) {
        size_t size;
        bool over = i == oversize_at;
        if (over) {
            uint32_t pick = rng() % 4;
            size = pick == 0 ? kMax + 1 : pick == 1 ? 2 * kMax : pick == 2 ? kMax + 1 + rng() % (8 * kMax) : 100 * 1024;
        } else if (i == messages) {
            break;
        } else {
            uint32_t pick = rng() % 8;
            size = pick == 0 ? 0 : pick == 1 ? kMax : pick < 5 ? rng() % 64 : rng() % (kMax + 1);
        }
        buf.resize(size);
        for (uint8_t &b : buf)
            b = static_cast<uint8_t>(rng());
        if (size >= 12 && buf[0] == 'F')
            buf[0] = 'f';  // never a second hello
        if (over) {
            out->oversize = true;
            // The write may complete (the pipe took it) or fail (the server closed first).
            Io(h, true, buf.data(), static_cast<DWORD>(size), &n, 5000);
            // Drain echoes until the server ends the connection.
            std::vector<uint8_t> rbuf(kMax * 2);
            for (int r = 0; r < 1000; r++) {
                DWORD e = Io(h, false, rbuf.data(), static_cast<DWORD>(rbuf.size()), &n, 5000);
                if (e == ERROR_MORE_DATA || e == 0)
                    continue;
                out->ended_by_server = e != ERROR_OPERATION_ABORTED;
                break;
            }
            break;
        }
        uint8_t none = 0;  // a zero-byte message still needs a valid buffer pointer
        if (Io(h, true, buf.empty() ? &none : buf.data(), static_cast<DWORD>(size), &n, 5000) != 0)
            break;
        out->in_range_written++;
        if (rng() % 16 == 0)
            break;  // abrupt close mid-stream
    }
    CloseHandle(h);
    return true;
}

}  // namespace

TEST(SecFuzz, RandomBytesAndSizesFromManyClientsServerSurvivesGoodClientsUnaffected)
{
    uint32_t seed = static_cast<uint32_t>(GetTickCount64() ^ GetCurrentProcessId());
    if (const char *s = std::getenv("PIPES_FUZZ_SEED"))
        seed = static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
    std::cout << "[ info ] fuzz seed " << seed << " (PIPES_FUZZ_SEED to replay)\n";
    SCOPED_TRACE("fuzz seed " + std::to_string(seed));

    Engine eng;
    std::wstring name = UniquePipeName("fuzz");
    FuzzServer fs;
    pipes_server_config scfg{};
    scfg.struct_size = sizeof scfg;
    scfg.pipe_name = name.c_str();
    scfg.engine = eng.engine;
    scfg.max_message_size = kMax;
    scfg.on_event = OnServerEvent;
    scfg.user_data = &fs;
    ServerGuard guard;
    ASSERT_EQ(pipes_server_start(&scfg, &guard.server), PIPES_OK);
    pipes_server *server = guard.server;

    std::vector<std::vector<Outcome>> outcomes(kFuzzers);
    std::atomic<int> connect_failures{0};
    std::vector<std::thread> threads;
    for (int f = 0; f < kFuzzers; f++) {
        threads.emplace_back([&, f] {
            std::mt19937 rng(seed + static_cast<uint32_t>(f) * 7919u);
            for (int c = 0; c < kConnectionsEach; c++) {
                Outcome o;
                if (!FuzzConnection(name, static_cast<uint32_t>(f * 1000 + c), rng, &o))
                    connect_failures++;
                else if (o.in_range_written > 0)  // its hello arrived
                    outcomes[f].push_back(o);
            }
        });
    }

    // Well-formed clients alongside: every echo round trip must succeed, intact.
    std::atomic<int> good_ok{0};
    std::vector<std::string> good_errors(kGoodClients);
    for (int g = 0; g < kGoodClients; g++) {
        threads.emplace_back([&, g] {
            EventLog log;
            pipes_client_config cfg = ClientConfig(name, eng.engine, &log);
            pipes_client *client = nullptr;
            pipes_status st = pipes_client_connect(&cfg, &client);
            if (st != PIPES_OK) {
                good_errors[g] = std::string("connect: ") + pipes_status_string(st);
                return;
            }
            std::mt19937 rng(seed ^ (0xABCDu + static_cast<uint32_t>(g)));
            for (int i = 0; i < kRoundTrips; i++) {
                std::vector<uint8_t> msg(1 + rng() % kMax);
                for (uint8_t &b : msg)
                    b = static_cast<uint8_t>(rng());
                msg[0] = static_cast<uint8_t>('W');
                if (msg.size() >= 3) {
                    msg[1] = static_cast<uint8_t>(g);
                    msg[2] = static_cast<uint8_t>(i);
                }
                st = pipes_client_send_wait(client, msg.data(), msg.size(), 10000);
                if (st != PIPES_OK || !log.WaitMessage(msg, 10000)) {
                    good_errors[g] = "round trip " + std::to_string(i) + ": " +
                                     pipes_status_string(st);
                    break;
                }
                good_ok++;
            }
            if (log.Count(PIPES_EVENT_DISCONNECTED) != 0)
                good_errors[g] += " (disconnected)";
            pipes_client_close(client);
        });
    }
    for (std::thread &t : threads)
        t.join();

    for (int g = 0; g < kGoodClients; g++)
        EXPECT_EQ(good_errors[g], "") << "good client " << g;
    EXPECT_EQ(good_ok.load(), kGoodClients * kRoundTrips);
    EXPECT_EQ(connect_failures.load(), 0);

    // Let the server see every end, then check each fuzz connection's fate.
    size_t fuzz_connections = 0, oversized = 0;
    uint64_t in_range = 0;
    for (const auto &v : outcomes)
        for (const Outcome &o : v) {
            fuzz_connections++;
            oversized += o.oversize;
            in_range += o.in_range_written;
        }
    size_t ends = 0;
    EXPECT_TRUE(WaitUntil(
        [&] {
            std::lock_guard<std::mutex> lock(fs.mu);
            ends = fs.end_of.size();
            return ends >= fuzz_connections + kGoodClients;
        },
        20000))
        << "the server reported " << ends << " ends of "
        << fuzz_connections + kGoodClients << " connections";
    {
        std::lock_guard<std::mutex> lock(fs.mu);
        std::map<uint32_t, uint64_t> conn_of;
        for (const auto &kv : fs.tag_of)
            conn_of[kv.second] = kv.first;
        for (const auto &v : outcomes)
            for (const Outcome &o : v) {
                auto it = conn_of.find(o.tag);
                if (it == conn_of.end()) {
                    ADD_FAILURE() << "tag " << o.tag << ": its hello was written but never "
                                  << "delivered (" << o.in_range_written << " messages written, "
                                  << (o.oversize ? "oversized" : "in range") << ")";
                    continue;
                }
                if (!fs.end_of.count(it->second)) {
                    ADD_FAILURE() << "tag " << o.tag << ": no DISCONNECTED for connection "
                                  << it->second;
                    continue;
                }
                pipes_status end = fs.end_of[it->second];
                if (o.oversize) {
                    EXPECT_EQ(end, PIPES_ERR_MESSAGE_TOO_LARGE) << "tag " << o.tag;
                    EXPECT_TRUE(o.ended_by_server) << "tag " << o.tag
                                                   << ": the server left an oversized sender connected";
                } else {
                    EXPECT_EQ(end, PIPES_ERR_PEER_CLOSED) << "tag " << o.tag;
                }
            }
    }
    pipes_stats st = ServerStats(server);
    EXPECT_EQ(st.disconnects_by_reason[PIPES_ERR_MESSAGE_TOO_LARGE], oversized);
    // Every in-range message written was received and counted, plus the good clients' ones.
    EXPECT_EQ(st.messages_in, in_range + static_cast<uint64_t>(kGoodClients * kRoundTrips));
    EXPECT_EQ(st.current_connections, 0u);

    // Still serving after all that.
    EventLog log;
    pipes_client_config cfg = ClientConfig(name, eng.engine, &log);
    pipes_client *client = nullptr;
    ASSERT_EQ(pipes_client_connect(&cfg, &client), PIPES_OK);
    std::vector<uint8_t> msg(kMax, 'z');
    EXPECT_EQ(pipes_client_send_wait(client, msg.data(), msg.size(), 5000), PIPES_OK);
    EXPECT_TRUE(log.WaitMessage(msg, 5000));
    pipes_client_close(client);
    std::cout << "[ info ] " << fuzz_connections << " fuzz connections, " << oversized
              << " oversized, " << in_range << " in-range messages\n";
    guard.server = nullptr;
    EXPECT_EQ(pipes_server_stop(server), PIPES_OK);
}
