// sec_identity_test.cpp - peer identity both ways: a client that requires another server
// session or user is refused with PIPES_ERR_SERVER_IDENTITY_MISMATCH (and the right ones are
// accepted); the server's authorize callback sees the right identity and can refuse a client
// cleanly without disturbing the others.
#include "sec_util.h"

#include <sddl.h>

#include <atomic>
#include <mutex>

using namespace sec;

namespace {

struct EchoServer {
    EventLog log;
    pipes_server *server = nullptr;
    EchoServer(const std::wstring &name, pipes_engine *engine)
    {
        MakeEcho(&log);
        pipes_server_config cfg = ServerConfig(name, engine, &log);
        EXPECT_EQ(pipes_server_start(&cfg, &server), PIPES_OK);
    }
    ~EchoServer()
    {
        if (server) {
            EXPECT_EQ(pipes_server_stop(server), PIPES_OK);
        }
    }
};

pipes_status ConnectRequiring(const std::wstring &name, pipes_engine *engine, bool session,
                              uint32_t session_id, const wchar_t *sid)
{
    EventLog log;
    pipes_client_config cfg = ClientConfig(name, engine, &log);
    if (session) {
        cfg.flags |= PIPES_CLIENT_REQUIRE_SESSION;
        cfg.required_server_session = session_id;
    }
    cfg.required_server_sid = sid;
    pipes_client *client = nullptr;
    pipes_status st = pipes_client_connect(&cfg, &client);
    if (st == PIPES_OK) {
        // Accepted: prove the connection is real with a round trip.
        std::vector<uint8_t> msg = {'i', 'd'};
        EXPECT_EQ(pipes_client_send_wait(client, msg.data(), msg.size(), 5000), PIPES_OK);
        EXPECT_TRUE(log.WaitMessage(msg, 5000));
        pipes_client_close(client);
    } else {
        EXPECT_EQ(client, nullptr);
    }
    return st;
}

}  // namespace

TEST(SecServerIdentity, WrongSessionIsMismatchRightSessionConnects)
{
    Engine eng;
    std::wstring name = UniquePipeName("session");
    EchoServer srv(name, eng.engine);
    ASSERT_NE(srv.server, nullptr);
    DWORD session = CurrentSessionId();
    pipes_global_stats before = GlobalStats();
    EXPECT_EQ(ConnectRequiring(name, eng.engine, true, session + 1, nullptr),
              PIPES_ERR_SERVER_IDENTITY_MISMATCH);
    EXPECT_EQ(ConnectRequiring(name, eng.engine, true, session == 0 ? 7 : 0, nullptr),
              PIPES_ERR_SERVER_IDENTITY_MISMATCH);
    EXPECT_EQ(ConnectRequiring(name, eng.engine, true, session, nullptr), PIPES_OK);
    // A refused client leaves no client object behind.
    EXPECT_EQ(GlobalStats().live_clients, before.live_clients);
}

TEST(SecServerIdentity, WrongSidIsMismatchRightSidConnects)
{
    Engine eng;
    std::wstring name = UniquePipeName("sid");
    EchoServer srv(name, eng.engine);
    ASSERT_NE(srv.server, nullptr);
    std::wstring me = CurrentUserSid();
    ASSERT_FALSE(me.empty());
    ASSERT_NE(me, L"S-1-5-18");
    // LocalSystem is what the tray requires of the service; this test server is not it.
    EXPECT_EQ(ConnectRequiring(name, eng.engine, false, 0, L"S-1-5-18"),
              PIPES_ERR_SERVER_IDENTITY_MISMATCH);
    std::wstring other = me + L"1";  // same prefix, different RID
    EXPECT_EQ(ConnectRequiring(name, eng.engine, false, 0, other.c_str()),
              PIPES_ERR_SERVER_IDENTITY_MISMATCH);
    EXPECT_EQ(ConnectRequiring(name, eng.engine, false, 0, L"not a sid"),
              PIPES_ERR_SERVER_IDENTITY_MISMATCH);
    EXPECT_EQ(ConnectRequiring(name, eng.engine, false, 0, me.c_str()), PIPES_OK);
    // Both requirements at once: each must hold.
    EXPECT_EQ(ConnectRequiring(name, eng.engine, true, CurrentSessionId(), me.c_str()),
              PIPES_OK);
    EXPECT_EQ(ConnectRequiring(name, eng.engine, true, CurrentSessionId() + 1, me.c_str()),
              PIPES_ERR_SERVER_IDENTITY_MISMATCH);
    EXPECT_EQ(ConnectRequiring(name, eng.engine, true, CurrentSessionId(), L"S-1-5-18"),
              PIPES_ERR_SERVER_IDENTITY_MISMATCH);
}

TEST(SecServerIdentity, ServerInAnotherProcessIsCheckedToo)
{
    // The identity comes from the process serving the pipe, not from our own process.
    Engine eng;
    std::wstring name = UniquePipeName("peerid");
    Peer peer;
    std::string error;
    ASSERT_TRUE(peer.StartServer(L"serve", name, {}, &error)) << error;
    EXPECT_EQ(ConnectRequiring(name, eng.engine, true, CurrentSessionId() + 1, nullptr),
              PIPES_ERR_SERVER_IDENTITY_MISMATCH);
    EXPECT_EQ(ConnectRequiring(name, eng.engine, false, 0, L"S-1-5-18"),
              PIPES_ERR_SERVER_IDENTITY_MISMATCH);
    std::wstring me = CurrentUserSid();
    EXPECT_EQ(ConnectRequiring(name, eng.engine, true, CurrentSessionId(), me.c_str()),
              PIPES_OK);
    EXPECT_EQ(peer.Quit(), 0u);
}

TEST(SecServerIdentity, ClientReportsTheServingProcess)
{
    // pipes_client_get_server names the process at the other end (here another process),
    // so a caller can hold the server to its own rule, e.g. "the service manager's process".
    Engine eng;
    std::wstring name = UniquePipeName("whoserves");
    Peer peer;
    std::string error;
    ASSERT_TRUE(peer.StartServer(L"serve", name, {}, &error)) << error;
    EventLog log;
    pipes_client_config cfg = ClientConfig(name, eng.engine, &log);
    pipes_client *client = nullptr;
    ASSERT_EQ(pipes_client_connect(&cfg, &client), PIPES_OK);
    pipes_peer_identity server;
    ASSERT_EQ(pipes_client_get_server(client, &server), PIPES_OK);
    EXPECT_EQ(server.process_id, peer.pid());
    EXPECT_NE(server.process_id, GetCurrentProcessId());
    EXPECT_EQ(server.session_id, CurrentSessionId());
    EXPECT_EQ(std::wstring(server.user_sid), CurrentUserSid());
    EXPECT_EQ(pipes_client_get_server(nullptr, &server), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_client_get_server(client, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_client_close(client), PIPES_OK);
    EXPECT_EQ(peer.Quit(), 0u);
}

TEST(SecServerIdentity, ReconnectingClientNeverConnectsToTheWrongServer)
{
    // In reconnect mode a mismatch is not returned, but the client must keep refusing: no
    // CONNECTED event, nothing sent, the mismatches counted.
    Engine eng;
    std::wstring name = UniquePipeName("recid");
    EchoServer srv(name, eng.engine);
    ASSERT_NE(srv.server, nullptr);
    EventLog log;
    pipes_client_config cfg = ClientConfig(name, eng.engine, &log);
    cfg.flags = PIPES_CLIENT_RECONNECT | PIPES_CLIENT_REQUIRE_SESSION;
    cfg.required_server_session = CurrentSessionId() + 1;
    cfg.reconnect_min_ms = 10;
    cfg.reconnect_max_ms = 40;
    pipes_client *client = nullptr;
    ASSERT_EQ(pipes_client_connect(&cfg, &client), PIPES_OK);
    const char msg[] = "must not reach the wrong server";
    EXPECT_EQ(pipes_client_send(client, msg, sizeof msg, nullptr), PIPES_OK);
    EXPECT_TRUE(WaitUntil(
        [&] {
            return ClientStats(client).errors_by_status[PIPES_ERR_SERVER_IDENTITY_MISMATCH] >= 3;
        },
        5000));
    EXPECT_EQ(log.Count(PIPES_EVENT_CONNECTED), 0u);
    EXPECT_EQ(ClientStats(client).connects, 0u);
    EXPECT_EQ(ClientStats(client).queued_messages, 1u);
    EXPECT_EQ(srv.log.Count(PIPES_EVENT_MESSAGE), 0u);
    EXPECT_EQ(pipes_client_close(client), PIPES_OK);
}

// ---- authorize --------------------------------------------------------------------------

namespace {

struct AuthState {
    std::mutex mu;
    std::vector<pipes_peer_identity> seen;
    int refuse_call = -1;  // refuse the n-th call (0-based)
};

// user_data is the server's EventLog, so the authorize state is reached through this.
AuthState *g_auth = nullptr;

int PIPES_CALL Authorize(const pipes_peer_identity *peer, void *user_data)
{
    (void)user_data;
    std::lock_guard<std::mutex> lock(g_auth->mu);
    int call = static_cast<int>(g_auth->seen.size());
    g_auth->seen.push_back(*peer);
    return call != g_auth->refuse_call;
}

}  // namespace

TEST(SecAuthorize, RefusedClientSeesCleanEndServerCountsOthersUnaffected)
{
    AuthState auth;
    auth.refuse_call = 1;  // the second client
    g_auth = &auth;
    Engine eng;
    std::wstring name = UniquePipeName("auth");
    EventLog slog;
    MakeEcho(&slog);
    pipes_server_config scfg = ServerConfig(name, eng.engine, &slog);
    scfg.authorize = Authorize;
    ServerGuard guard;
    ASSERT_EQ(pipes_server_start(&scfg, &guard.server), PIPES_OK);
    pipes_server *server = guard.server;

    EventLog log_a, log_b, log_c;
    pipes_client_config ca = ClientConfig(name, eng.engine, &log_a);
    pipes_client_config cb = ClientConfig(name, eng.engine, &log_b);
    pipes_client_config cc = ClientConfig(name, eng.engine, &log_c);
    pipes_client *a = nullptr, *b = nullptr, *c = nullptr;
    ASSERT_EQ(pipes_client_connect(&ca, &a), PIPES_OK);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 1, 5000));
    // The refused client: the pipe accepted it, then the server drops it.
    EXPECT_EQ(ConnectDroppedByServer(cb, &log_b, &b), "");
    ASSERT_EQ(pipes_client_connect(&cc, &c), PIPES_OK);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 2, 5000));

    // Refused and connected anyway: sends fail with a status, no crash.
    if (b) {
        const char hello[] = "hello?";
        EXPECT_EQ(pipes_client_send(b, hello, sizeof hello, nullptr), PIPES_ERR_NOT_CONNECTED);
        EXPECT_NE(pipes_client_send_wait(b, hello, sizeof hello, 1000), PIPES_OK);
    }

    // The others are unaffected.
    for (pipes_client *cl : {a, c}) {
        EventLog &lg = cl == a ? log_a : log_c;
        for (int i = 0; i < 20; i++) {
            std::vector<uint8_t> msg = {static_cast<uint8_t>(cl == a ? 'a' : 'c'),
                                        static_cast<uint8_t>(i)};
            ASSERT_EQ(pipes_client_send_wait(cl, msg.data(), msg.size(), 5000), PIPES_OK);
            ASSERT_TRUE(lg.WaitMessage(msg, 5000)) << i;
        }
    }

    // Counted: one refusal, as REFUSED; two accepted; no CONNECTED event for the refused one.
    pipes_stats st = ServerStats(server);
    EXPECT_EQ(st.refused, 1u);
    EXPECT_EQ(st.errors_by_status[PIPES_ERR_REFUSED], 1u);
    EXPECT_EQ(st.connects, 2u);
    EXPECT_EQ(st.current_connections, 2u);
    EXPECT_EQ(slog.Count(PIPES_EVENT_CONNECTED), 2u);
    EXPECT_EQ(slog.Count(PIPES_EVENT_DISCONNECTED), 0u);

    // The identity authorize saw is ours, for every call: process and session as the pipe
    // recorded them; no user yet (pipes.h: known once a message was read).
    {
        std::lock_guard<std::mutex> lock(auth.mu);
        ASSERT_EQ(auth.seen.size(), 3u);
        for (const pipes_peer_identity &p : auth.seen) {
            EXPECT_EQ(p.process_id, GetCurrentProcessId());
            EXPECT_EQ(p.session_id, CurrentSessionId());
            EXPECT_EQ(std::wstring(p.user_sid), L"");
        }
    }
    // The CONNECTED events carry the same identity, and get_peer, after the clients' messages
    // were read, also the user.
    for (const Recorded &r : slog.Snapshot()) {
        if (r.type != PIPES_EVENT_CONNECTED)
            continue;
        ASSERT_TRUE(r.has_peer);
        EXPECT_EQ(r.peer.process_id, GetCurrentProcessId());
        pipes_peer_identity got{};
        ASSERT_EQ(pipes_server_get_peer(server, r.connection_id, &got), PIPES_OK);
        EXPECT_EQ(got.process_id, GetCurrentProcessId());
        EXPECT_EQ(std::wstring(got.user_sid), CurrentUserSid());
    }

    pipes_client_close(a);
    if (b)
        pipes_client_close(b);
    pipes_client_close(c);
    guard.server = nullptr;
    EXPECT_EQ(pipes_server_stop(server), PIPES_OK);
    g_auth = nullptr;
}

TEST(SecAuthorize, ClientInAnotherProcessIsIdentifiedAndRefusedByPid)
{
    AuthState auth;
    g_auth = &auth;
    Engine eng;
    std::wstring name = UniquePipeName("authpid");
    EventLog slog;
    MakeEcho(&slog);
    pipes_server_config scfg = ServerConfig(name, eng.engine, &slog);
    scfg.authorize = Authorize;
    ServerGuard guard;
    ASSERT_EQ(pipes_server_start(&scfg, &guard.server), PIPES_OK);
    pipes_server *server = guard.server;

    // First the peer is accepted: its identity must be its own pid, not ours.
    Peer ok_peer;
    ASSERT_TRUE(ok_peer.Launch(L"echo-client " + name + L" 5"));
    EXPECT_EQ(ok_peer.Wait(20000), 0u) << "the accepted peer's echoes failed";
    {
        std::lock_guard<std::mutex> lock(auth.mu);
        ASSERT_EQ(auth.seen.size(), 1u);
        EXPECT_EQ(auth.seen[0].process_id, ok_peer.pid());
        EXPECT_NE(auth.seen[0].process_id, GetCurrentProcessId());
        DWORD peer_session = 0;
        ProcessIdToSessionId(ok_peer.pid(), &peer_session);
        EXPECT_EQ(auth.seen[0].session_id, peer_session);
        EXPECT_EQ(std::wstring(auth.seen[0].user_sid), L"");  // not known before a message
    }

    // Then the next connection is refused: the peer must end cleanly (exit 3: connection
    // ended), not crash or hang; authorize saw that peer's pid.
    {
        std::lock_guard<std::mutex> lock(auth.mu);
        auth.refuse_call = static_cast<int>(auth.seen.size());
    }
    Peer bad_peer;
    ASSERT_TRUE(bad_peer.Launch(L"echo-client " + name + L" 5"));
    EXPECT_EQ(bad_peer.Wait(20000), 3u) << "the refused peer should see its connection end";
    {
        std::lock_guard<std::mutex> lock(auth.mu);
        ASSERT_EQ(auth.seen.size(), 2u);
        EXPECT_EQ(auth.seen[1].process_id, bad_peer.pid());
    }
    pipes_stats st = ServerStats(server);
    EXPECT_EQ(st.refused, 1u);
    EXPECT_EQ(st.connects, 1u);
    // A client of ours still gets in and is served.
    EventLog clog;
    pipes_client_config ccfg = ClientConfig(name, eng.engine, &clog);
    pipes_client *cl = nullptr;
    ASSERT_EQ(pipes_client_connect(&ccfg, &cl), PIPES_OK);
    std::vector<uint8_t> msg = {'o', 'k'};
    EXPECT_EQ(pipes_client_send_wait(cl, msg.data(), msg.size(), 5000), PIPES_OK);
    EXPECT_TRUE(clog.WaitMessage(msg, 5000));
    pipes_client_close(cl);
    guard.server = nullptr;
    EXPECT_EQ(pipes_server_stop(server), PIPES_OK);
    g_auth = nullptr;
}

// The client's token as the pipe knows it: not before the connection's first message (Windows
// lets a server impersonate only after a read), from its first MESSAGE event on a duplicate the
// caller owns, whose user is the client's user and whose groups can be checked; gone with the
// connection. get_peer's user SID comes from it when the process token gave none.
TEST(SecPeerToken, TheClientTokenIsReadWithTheFirstMessage)
{
    Engine eng;
    std::wstring name = UniquePipeName("token");
    EventLog slog;
    std::mutex mu;
    std::wstring token_user, peer_user;
    pipes_status in_callback = PIPES_ERR_SYSTEM;
    BOOL member = FALSE, check = FALSE;
    pipes_status before = PIPES_ERR_SYSTEM;
    slog.hook = [&](const pipes_event &ev) {
        if (ev.type == PIPES_EVENT_CONNECTED) {
            void *t = nullptr;
            std::lock_guard<std::mutex> lock(mu);
            before = pipes_server_get_peer_token(ev.server, ev.connection_id, &t);
            EXPECT_EQ(t, nullptr);
        } else if (ev.type == PIPES_EVENT_MESSAGE) {
            void *t = nullptr;
            pipes_status st = pipes_server_get_peer_token(ev.server, ev.connection_id, &t);
            wchar_t sid[PIPES_MAX_SID_STRING] = L"";
            BYTE info[512];
            DWORD len = 0;
            if (st == PIPES_OK &&
                GetTokenInformation(static_cast<HANDLE>(t), TokenUser, info, sizeof info, &len)) {
                LPWSTR text = nullptr;
                if (ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER *>(info)->User.Sid, &text)) {
                    wcsncpy(sid, text, PIPES_MAX_SID_STRING - 1);
                    LocalFree(text);
                }
            }
            // An identification token answers group membership (Everyone: S-1-1-0).
            SID_IDENTIFIER_AUTHORITY world = SECURITY_WORLD_SID_AUTHORITY;
            PSID everyone = nullptr;
            BOOL is_member = FALSE, checked = FALSE;
            if (st == PIPES_OK &&
                AllocateAndInitializeSid(&world, 1, SECURITY_WORLD_RID, 0, 0, 0, 0, 0, 0, 0, &everyone)) {
                HANDLE imp = nullptr;
                // CheckTokenMembership needs an impersonation-type token: duplicate as one.
                if (DuplicateToken(static_cast<HANDLE>(t), SecurityIdentification, &imp)) {
                    checked = CheckTokenMembership(imp, everyone, &is_member);
                    CloseHandle(imp);
                }
                FreeSid(everyone);
            }
            if (t)
                CloseHandle(static_cast<HANDLE>(t));
            pipes_peer_identity peer;
            pipes_status pst = pipes_server_get_peer(ev.server, ev.connection_id, &peer);
            std::lock_guard<std::mutex> lock(mu);
            in_callback = st;
            token_user = sid;
            member = is_member;
            check = checked;
            if (pst == PIPES_OK)
                peer_user = peer.user_sid;
        }
    };
    pipes_server_config scfg = ServerConfig(name, eng.engine, &slog);
    ServerGuard guard;
    ASSERT_EQ(pipes_server_start(&scfg, &guard.server), PIPES_OK);
    EventLog clog;
    pipes_client_config ccfg = ClientConfig(name, eng.engine, &clog);
    pipes_client *cl = nullptr;
    ASSERT_EQ(pipes_client_connect(&ccfg, &cl), PIPES_OK);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_CONNECTED, 1, 5000));
    std::vector<uint8_t> msg = {'t'};
    ASSERT_EQ(pipes_client_send_wait(cl, msg.data(), msg.size(), 5000), PIPES_OK);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_MESSAGE, 1, 5000));
    uint64_t id = slog.Snapshot()[0].connection_id;
    {
        std::lock_guard<std::mutex> lock(mu);
        EXPECT_EQ(before, PIPES_ERR_NOT_FOUND) << "a token before any message was read";
        EXPECT_EQ(in_callback, PIPES_OK) << "pipes_last_system_error " << pipes_last_system_error();
        EXPECT_EQ(token_user, CurrentUserSid());
        EXPECT_EQ(peer_user, CurrentUserSid());
        EXPECT_TRUE(check);
        EXPECT_TRUE(member);
    }
    void *t = nullptr;
    EXPECT_EQ(pipes_server_get_peer_token(guard.server, 0, &t), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_server_get_peer_token(guard.server, id, nullptr), PIPES_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(pipes_server_get_peer_token(nullptr, id, &t), PIPES_ERR_INVALID_ARGUMENT);
    pipes_client_close(cl);
    ASSERT_TRUE(slog.WaitCount(PIPES_EVENT_DISCONNECTED, 1, 5000));
    EXPECT_EQ(pipes_server_get_peer_token(guard.server, id, &t), PIPES_ERR_NOT_CONNECTED);
    EXPECT_EQ(t, nullptr);
}
