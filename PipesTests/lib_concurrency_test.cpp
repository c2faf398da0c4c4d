// lib_concurrency_test.cpp - many clients at once: 64 clients x 2,000 messages each, every message
// checksummed, counted and order-checked (server side per connection; client side counts its
// completed sends); a full-duplex variant where the server echoes every message and the clients
// check the echoes; server-to-client sends and broadcast to 32 clients.
//
// Runtime under Wine is bounded by wineserver round trips (see docs and PLATFORM.md): the
// one-way 64 x 2,000 run moves 128,000 messages; the echo variant is kept smaller because every
// echoed message costs twice the calls.
#include "test_support.h"

#include <map>
#include <memory>

namespace {

using namespace pt;

size_t MessageSize(uint32_t tag, uint32_t seq)
{
    return PT_MSG_HEADER_SIZE + (seq * 13u + tag * 7u) % 240u; // 16..255 bytes
}

// Progress of one run; callbacks notify `cv` when a counter reaches its target.
struct Run {
    int clients = 0;
    uint32_t per_client = 0;
    bool echo = false;
    std::mutex m;
    std::condition_variable cv;
    void Notify()
    {
        { std::lock_guard<std::mutex> lock(m); }
        cv.notify_all();
    }
};

// Server side: per connection, the tag it carries and the next sequence number expected. Events
// of one connection run one at a time, but not always on the same worker, so the map is locked.
struct ServerSide {
    Run *run = nullptr;
    std::mutex m;
    std::map<uint64_t, std::pair<uint32_t, uint32_t>> conns; // id -> (tag, next seq)
    std::vector<uint32_t> seen_tags;
    std::atomic<uint64_t> received{0}, bytes{0}, bad{0}, out_of_order{0}, wrong_tag{0},
        echo_failed{0};
    std::string ended; // server events that end or refuse a connection, with their status
};

struct ClientSide {
    Run *run = nullptr;
    uint32_t tag = 0;
    std::atomic<uint32_t> next_echo{0};
    std::atomic<uint32_t> echoed{0}, sent_ok{0}, send_failed{0}, bad{0}, disconnected{0};
    std::atomic<int> disconnect_status{0}; // the status of the DISCONNECTED event, for the report
    ClientGuard client;
};

void PIPES_CALL ClientCallback(const pipes_event *ev, void *user_data)
{
    ClientSide *c = static_cast<ClientSide *>(user_data);
    if (ev->type == PIPES_EVENT_SEND_COMPLETE) {
        if (ev->status == PIPES_OK && ev->send_context == c) {
            if (++c->sent_ok == c->run->per_client)
                c->run->Notify();
        } else {
            ++c->send_failed;
        }
    } else if (ev->type == PIPES_EVENT_MESSAGE) {
        uint32_t tag = 0, seq = 0;
        if (!pt_msg_check(ev->data, ev->size, 1, &tag, &seq) || tag != c->tag ||
            seq != c->next_echo.load() || ev->size != MessageSize(tag, seq)) {
            ++c->bad;
        }
        c->next_echo = seq + 1;
        if (++c->echoed == c->run->per_client)
            c->run->Notify();
    } else if (ev->type == PIPES_EVENT_DISCONNECTED) {
        c->disconnect_status = int(ev->status);
        ++c->disconnected;
        c->run->Notify();
    }
}

void PIPES_CALL ServerCallback(const pipes_event *ev, void *user_data)
{
    ServerSide *s = static_cast<ServerSide *>(user_data);
    if (ev->type == PIPES_EVENT_DISCONNECTED || ev->type == PIPES_EVENT_LIMIT) {
        std::lock_guard<std::mutex> lock(s->m);
        s->ended += " [event " + std::to_string(int(ev->type)) + " on connection " +
                    std::to_string(ev->connection_id) + ": " + pipes_status_string(ev->status) +
                    "]";
        return;
    }
    if (ev->type != PIPES_EVENT_MESSAGE)
        return;
    uint32_t tag = 0, seq = 0;
    if (!pt_msg_check(ev->data, ev->size, 1, &tag, &seq) || tag >= s->seen_tags.size() ||
        ev->size != MessageSize(tag, seq)) {
        ++s->bad;
        return;
    }
    {
        std::lock_guard<std::mutex> lock(s->m);
        auto it = s->conns.find(ev->connection_id);
        if (it == s->conns.end())
            it = s->conns.emplace(ev->connection_id, std::make_pair(tag, 0u)).first;
        if (it->second.first != tag)
            ++s->wrong_tag;
        if (it->second.second != seq)
            ++s->out_of_order;
        it->second.second = seq + 1;
        ++s->seen_tags[tag];
    }
    s->bytes += ev->size;
    if (s->run->echo &&
        pipes_server_send(ev->server, ev->connection_id, ev->data, ev->size, nullptr) != PIPES_OK)
        ++s->echo_failed;
    if (++s->received == uint64_t(s->run->clients) * s->run->per_client)
        s->run->Notify();
}

// `clients` clients connect at the same time (from their own threads, so the server's listening
// instances are raced for and ERROR_PIPE_BUSY is retried) and each queues `per_client` messages.
void RunManyClients(int clients, uint32_t per_client, bool echo)
{
    LiveCounters base = Baseline();
    const std::wstring name = UniquePipeName();
    Run run;
    run.clients = clients;
    run.per_client = per_client;
    run.echo = echo;
    ServerSide server_side;
    server_side.run = &run;
    server_side.seen_tags.assign(size_t(clients), 0);
    std::vector<std::unique_ptr<ClientSide>> sides;
    for (int i = 0; i < clients; ++i) {
        sides.emplace_back(new ClientSide);
        sides.back()->run = &run;
        sides.back()->tag = static_cast<uint32_t>(i);
    }
    const uint64_t total = uint64_t(clients) * per_client;
    {
        ServerGuard server;
        pipes_server_config scfg = ServerConfig(name, nullptr);
        scfg.on_event = ServerCallback;
        scfg.user_data = &server_side;
        ASSERT_EQ(pipes_server_start(&scfg, server.Out()), PIPES_OK);

        auto t0 = Clock::now();
        std::atomic<int> connect_failed{0}, send_refused{0};
        std::vector<std::thread> threads;
        for (int i = 0; i < clients; ++i) {
            threads.emplace_back([&, i] {
                ClientSide *c = sides[i].get();
                pipes_client_config ccfg = ClientConfig(name, nullptr);
                ccfg.on_event = ClientCallback;
                ccfg.user_data = c;
                ccfg.connect_timeout_ms = 120000; // a hang guard: connects wait behind the flood of the clients already in
                pipes_status st = pipes_client_connect(&ccfg, c->client.Out());
                if (st != PIPES_OK) {
                    ++connect_failed;
                    pipes_stats ss = ServerStats(server.get());
                    std::string errors;
                    for (int k = 0; k < PIPES_STATUS_COUNT; ++k)
                        if (ss.errors_by_status[k])
                            errors += std::string(" ") + pipes_status_string(pipes_status(k)) +
                                      "=" + std::to_string(ss.errors_by_status[k]);
                    pipes_global_stats g = GlobalStats();
                    std::printf("[ info ] client %d: connect failed: %s (Win32 %lu); server: %llu "
                                "connects, %llu refused, errors:%s; ConnectNamedPipe calls %llu, "
                                "pending operations %lld, instances %lld; received %llu\n",
                                i, pipes_status_string(st), pipes_last_system_error(),
                                (unsigned long long)ss.connects, (unsigned long long)ss.refused,
                                errors.empty() ? " none" : errors.c_str(),
                                (unsigned long long)g.calls_connect_named_pipe,
                                (long long)g.pending_operations, (long long)g.live_instances,
                                (unsigned long long)server_side.received.load());
                    return;
                }
                std::vector<uint8_t> buf(256);
                for (uint32_t seq = 0; seq < per_client; ++seq) {
                    size_t size = MessageSize(c->tag, seq);
                    pt_msg_fill(buf.data(), size, c->tag, seq);
                    if (pipes_client_send(c->client.get(), buf.data(), size, c) != PIPES_OK)
                        ++send_refused;
                }
            });
        }
        for (auto &t : threads)
            t.join();
        double queued_s = SecondsSince(t0);
        ASSERT_EQ(connect_failed.load(), 0);
        EXPECT_EQ(send_refused.load(), 0);

        auto finished = [&] {
            if (server_side.received.load() < total)
                return false;
            for (auto &c : sides)
                if (c->sent_ok.load() < per_client || (echo && c->echoed.load() < per_client))
                    return false;
            return true;
        };
        auto broken = [&] {
            for (auto &c : sides)
                if (c->disconnected.load())
                    return true;
            return false;
        };
        bool done;
        {
            std::unique_lock<std::mutex> lock(run.m);
            done = run.cv.wait_for(lock, std::chrono::seconds(240),
                                   [&] { return finished() || broken(); });
        }
        double total_s = SecondsSince(t0);
        std::printf("[ info ] %d clients x %u messages%s: queued in %.2f s, done after %.2f s "
                    "(%.0f messages/s%s)\n",
                    clients, per_client, echo ? " echoed" : "", queued_s, total_s,
                    double(total) / total_s, echo ? " each way" : "");
        int dropped = 0;
        std::string why;
        for (size_t i = 0; i < sides.size(); ++i)
            if (sides[i]->disconnected.load()) {
                ++dropped;
                why += " [client " + std::to_string(i) + ": " +
                       pipes_status_string(pipes_status(sides[i]->disconnect_status.load())) +
                       ", " + std::to_string(sides[i]->echoed.load()) + " echoed]";
            }
        {
            std::lock_guard<std::mutex> lock(server_side.m);
            EXPECT_EQ(dropped, 0) << "clients whose connection ended:" << why
                                  << "; server saw:" << server_side.ended;
        }
        ASSERT_TRUE(done) << "server received " << server_side.received.load() << " of " << total;
        ASSERT_FALSE(broken());

        // Server side: every message arrived once, intact, in order, on the right connection.
        uint64_t expected_bytes = 0;
        for (int i = 0; i < clients; ++i)
            for (uint32_t seq = 0; seq < per_client; ++seq)
                expected_bytes += MessageSize(uint32_t(i), seq);
        EXPECT_EQ(server_side.received.load(), total);
        EXPECT_EQ(server_side.bytes.load(), expected_bytes);
        EXPECT_EQ(server_side.bad.load(), 0u);
        EXPECT_EQ(server_side.out_of_order.load(), 0u);
        EXPECT_EQ(server_side.wrong_tag.load(), 0u);
        EXPECT_EQ(server_side.echo_failed.load(), 0u);
        {
            std::lock_guard<std::mutex> lock(server_side.m);
            EXPECT_EQ(server_side.conns.size(), size_t(clients));
            for (int i = 0; i < clients; ++i)
                EXPECT_EQ(server_side.seen_tags[i], per_client) << "client " << i;
        }
        pipes_stats ss = ServerStats(server.get());
        EXPECT_EQ(ss.messages_in, total);
        EXPECT_EQ(ss.bytes_in, expected_bytes);
        EXPECT_EQ(ss.messages_out, echo ? total : 0u);
        EXPECT_EQ(ss.connects, uint64_t(clients));
        EXPECT_EQ(ss.current_connections, uint64_t(clients));

        // Client side: every send completed; with echo, every echo came back intact, in order.
        for (int i = 0; i < clients; ++i) {
            ClientSide *c = sides[i].get();
            SCOPED_TRACE("client " + std::to_string(i));
            EXPECT_EQ(c->sent_ok.load(), per_client);
            EXPECT_EQ(c->send_failed.load(), 0u);
            EXPECT_EQ(c->bad.load(), 0u);
            EXPECT_EQ(c->echoed.load(), echo ? per_client : 0u);
            pipes_stats cs = ClientStats(c->client.get());
            EXPECT_EQ(cs.messages_out, per_client);
            EXPECT_EQ(cs.messages_in, echo ? per_client : 0u);
        }
        for (auto &c : sides)
            EXPECT_EQ(c->client.Close(), PIPES_OK);
        EXPECT_EQ(server.Stop(), PIPES_OK);
    }
    PT_EXPECT_LIVE_COUNTERS_BACK(base);
}

// The figure: 64 clients, 2,000 messages each. One way, so that the run stays within a
// minute or two under Wine; the echo test below covers the server-to-client direction under load.
// Clients race for the listening instances (ERROR_PIPE_BUSY, WaitNamedPipeW) while the first
// ones already flood the server, so accepting must not wait behind the flood (READ_BURST).
TEST(LibConcurrency, SixtyFourClientsTwoThousandMessagesEachArriveIntactAndInOrder)
{
    RunManyClients(64, 2000, false);
}

// Full duplex: every message is echoed by the server and checked by its client.
TEST(LibConcurrency, SixteenClientsEchoedFullDuplexInOrder)
{
    RunManyClients(16, 500, true);
}

// 32 clients, each identified to the server by a hello message carrying its index. They connect
// back to back, which races fresh listening instances (a client that opens an instance before
// its ConnectNamedPipe was issued must be served like any other).
class LibThirtyTwoClients : public ::testing::Test {
protected:
    static constexpr int kN = 32;

    struct Receiver {
        EventLog log;
        uint32_t index = 0;
        ClientGuard client;
    };

    void SetUp() override
    {
        base_ = Baseline();
        name_ = UniquePipeName();
        pipes_server_config scfg = ServerConfig(name_, &slog_);
        ASSERT_EQ(pipes_server_start(&scfg, server_.Out()), PIPES_OK);
        for (int i = 0; i < kN; ++i) {
            rx_.emplace_back(new Receiver);
            Receiver &r = *rx_.back();
            r.index = uint32_t(i);
            pipes_client_config ccfg = ClientConfig(name_, &r.log);
            ASSERT_EQ(pipes_client_connect(&ccfg, r.client.Out()), PIPES_OK) << "client " << i;
            std::vector<uint8_t> hello = TestMessage(PT_MSG_HEADER_SIZE, r.index, 0);
            ASSERT_EQ(pipes_client_send(r.client.get(), hello.data(), hello.size(), nullptr),
                      PIPES_OK);
        }
        ASSERT_TRUE(slog_.WaitCount(PIPES_EVENT_MESSAGE, kN))
            << "hellos: " << slog_.Count(PIPES_EVENT_MESSAGE)
            << ", connected: " << slog_.Count(PIPES_EVENT_CONNECTED)
            << ", disconnected: " << slog_.Count(PIPES_EVENT_DISCONNECTED)
            << " (fewer than 32 connected: a client that raced a fresh instance was dropped)";
        for (const Event &e : slog_.Snapshot()) {
            uint32_t tag = 0;
            if (e.type == PIPES_EVENT_MESSAGE &&
                pt_msg_check(e.data.data(), e.data.size(), 1, &tag, nullptr))
                conn_of_[tag] = e.connection_id;
        }
        ASSERT_EQ(conn_of_.size(), size_t(kN));
    }

    void TearDown() override
    {
        for (auto &r : rx_)
            r->client.Close();
        server_.Stop();
        PT_EXPECT_LIVE_COUNTERS_BACK(base_);
    }

    // Checks that receiver r got exactly `count` test messages with `tag`, seq 0..count-1.
    static void ExpectSequence(Receiver &r, uint32_t tag, uint32_t count)
    {
        ASSERT_TRUE(r.log.WaitCount(PIPES_EVENT_MESSAGE, count)) << "client " << r.index;
        uint32_t next = 0;
        for (const Event &e : r.log.Snapshot()) {
            if (e.type != PIPES_EVENT_MESSAGE)
                continue;
            uint32_t t = 0, seq = 0;
            ASSERT_TRUE(pt_msg_check(e.data.data(), e.data.size(), 1, &t, &seq))
                << "client " << r.index << " got a corrupt message";
            EXPECT_EQ(t, tag) << "client " << r.index << " got another client's message";
            EXPECT_EQ(seq, next) << "client " << r.index << " out of order";
            next = seq + 1;
        }
        EXPECT_EQ(next, count);
    }

    LiveCounters base_;
    std::wstring name_;
    EventLog slog_;
    ServerGuard server_;
    std::vector<std::unique_ptr<Receiver>> rx_;
    std::map<uint32_t, uint64_t> conn_of_; // client index -> server connection id
};

TEST_F(LibThirtyTwoClients, ServerSendReachesOnlyTheAddressedClientInOrder)
{
    const uint32_t kPer = 100;
    for (uint32_t seq = 0; seq < kPer; ++seq) {
        for (int i = 0; i < kN; ++i) {
            std::vector<uint8_t> m = TestMessage(PT_MSG_HEADER_SIZE + (seq * 31 + i) % 900, i, seq);
            ASSERT_EQ(pipes_server_send(server_.get(), conn_of_[uint32_t(i)], m.data(), m.size(),
                                        nullptr),
                      PIPES_OK);
        }
    }
    for (auto &r : rx_)
        ExpectSequence(*r, r->index, kPer);
    EXPECT_EQ(ServerStats(server_.get()).messages_out, uint64_t(kN) * kPer);
}

TEST_F(LibThirtyTwoClients, BroadcastReachesEveryClientInOrder)
{
    const uint32_t kCount = 200;
    const uint32_t kTag = 0xB0;
    for (uint32_t seq = 0; seq < kCount; ++seq) {
        std::vector<uint8_t> m = TestMessage(PT_MSG_HEADER_SIZE + (seq * 97) % 5000, kTag, seq);
        unsigned delivered = 0;
        ASSERT_EQ(pipes_server_broadcast(server_.get(), m.data(), m.size(), &delivered), PIPES_OK);
        EXPECT_EQ(delivered, unsigned(kN));
    }
    for (auto &r : rx_)
        ExpectSequence(*r, kTag, kCount);
    EXPECT_EQ(ServerStats(server_.get()).messages_out, uint64_t(kN) * kCount);

    // A 0-byte broadcast is a message too.
    unsigned delivered = 0;
    ASSERT_EQ(pipes_server_broadcast(server_.get(), nullptr, 0, &delivered), PIPES_OK);
    EXPECT_EQ(delivered, unsigned(kN));
    for (auto &r : rx_) {
        ASSERT_TRUE(r->log.WaitCount(PIPES_EVENT_MESSAGE, kCount + 1));
        EXPECT_TRUE(r->log.Snapshot().back().data.empty());
    }

    // After one client leaves, a broadcast reaches the 31 others only.
    ASSERT_EQ(rx_[5]->client.Close(), PIPES_OK);
    ASSERT_TRUE(slog_.WaitCount(PIPES_EVENT_DISCONNECTED, 1));
    std::vector<uint8_t> last = TestMessage(64, kTag, kCount);
    ASSERT_EQ(pipes_server_broadcast(server_.get(), last.data(), last.size(), &delivered),
              PIPES_OK);
    EXPECT_EQ(delivered, unsigned(kN - 1));
    for (auto &r : rx_) {
        if (r->index == 5)
            continue;
        ASSERT_TRUE(r->log.WaitCount(PIPES_EVENT_MESSAGE, kCount + 2)) << "client " << r->index;
        EXPECT_EQ(r->log.Snapshot().back().data, last);
    }
}

} // namespace
