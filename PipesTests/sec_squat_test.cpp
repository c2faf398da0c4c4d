// sec_squat_test.cpp - a pipe name already served by another process is refused with
// PIPES_ERR_NAME_IN_USE, and the other process's server keeps working.
#include "sec_util.h"

using namespace sec;

namespace {

// Opens the pipe with raw Win32 and returns the pid of the process serving it (0 on failure).
DWORD RawServerPid(const std::wstring &name)
{
    if (!WaitNamedPipeW(name.c_str(), 2000))
        return 0;
    HANDLE h = OpenPipeRaw(name);
    if (h == INVALID_HANDLE_VALUE)
        return 0;
    ULONG pid = 0;
    GetNamedPipeServerProcessId(h, &pid);
    CloseHandle(h);
    return pid;
}

// One echo round trip through the library client; true if the echo came back intact.
bool EchoRoundTrip(const std::wstring &name, pipes_engine *engine)
{
    EventLog log;
    pipes_client_config cfg = ClientConfig(name, engine, &log);
    pipes_client *client = nullptr;
    if (pipes_client_connect(&cfg, &client) != PIPES_OK)
        return false;
    std::vector<uint8_t> msg = {'s', 't', 'i', 'l', 'l', ' ', 'h', 'e', 'r', 'e'};
    bool ok = pipes_client_send_wait(client, msg.data(), msg.size(), 5000) == PIPES_OK &&
              log.WaitMessage(msg, 5000);
    pipes_client_close(client);
    return ok;
}

}  // namespace

TEST(SecSquat, NameServedByAnotherProcessIsNameInUseAndTheOwnerIsUnharmed)
{
    Engine eng;
    std::wstring name = UniquePipeName("owned");
    Peer peer;
    std::string error;
    ASSERT_TRUE(peer.StartServer(L"serve", name, {}, &error)) << error;

    pipes_global_stats before = GlobalStats();
    EventLog log;
    pipes_server_config cfg = ServerConfig(name, eng.engine, &log);
    pipes_server *server = nullptr;
    EXPECT_EQ(pipes_server_start(&cfg, &server), PIPES_ERR_NAME_IN_USE);
    EXPECT_EQ(server, nullptr);
    // The refused start left nothing behind: no server, no pipe instance of ours.
    pipes_global_stats after = GlobalStats();
    EXPECT_EQ(after.live_servers, before.live_servers);
    EXPECT_EQ(after.live_instances, before.live_instances);
    EXPECT_EQ(after.live_connections, before.live_connections);

    // The name is still the peer's, and its server still answers.
    EXPECT_EQ(RawServerPid(name), peer.pid());
    EXPECT_TRUE(EchoRoundTrip(name, eng.engine));
    // Several clients after the failed start, to be sure no instance of ours is mixed in.
    for (int i = 0; i < 5; i++)
        EXPECT_EQ(RawServerPid(name), peer.pid()) << "attempt " << i;
    EXPECT_EQ(peer.Quit(), 0u);
}

TEST(SecSquat, RawSquatterThatNeverListensIsNameInUse)
{
    // A hostile process that created an instance with default security and never listens:
    // the server must not join it (its clients would reach the squatter).
    Engine eng;
    std::wstring name = UniquePipeName("squat");
    Peer peer;
    std::string error;
    ASSERT_TRUE(peer.StartServer(L"squat", name, {}, &error)) << error;

    EventLog log;
    pipes_server_config cfg = ServerConfig(name, eng.engine, &log);
    pipes_server *server = nullptr;
    EXPECT_EQ(pipes_server_start(&cfg, &server), PIPES_ERR_NAME_IN_USE);
    EXPECT_EQ(server, nullptr);
    EXPECT_EQ(peer.Quit(), 0u);
}

TEST(SecSquat, NameIsFreeAgainOnceTheOtherServerHasGone)
{
    // The refusal is about a live owner, not a name remembered forever.
    Engine eng;
    std::wstring name = UniquePipeName("freed");
    {
        Peer peer;
        std::string error;
        ASSERT_TRUE(peer.StartServer(L"serve", name, {}, &error)) << error;
        EventLog log;
        pipes_server_config cfg = ServerConfig(name, eng.engine, &log);
        pipes_server *server = nullptr;
        ASSERT_EQ(pipes_server_start(&cfg, &server), PIPES_ERR_NAME_IN_USE);
        EXPECT_EQ(peer.Quit(), 0u);
    }
    EventLog log;
    MakeEcho(&log);
    pipes_server_config cfg = ServerConfig(name, eng.engine, &log);
    ServerGuard guard;
    ASSERT_EQ(pipes_server_start(&cfg, &guard.server), PIPES_OK);
    pipes_server *server = guard.server;
    EXPECT_EQ(RawServerPid(name), GetCurrentProcessId());
    EXPECT_TRUE(EchoRoundTrip(name, eng.engine));
    guard.server = nullptr;
    EXPECT_EQ(pipes_server_stop(server), PIPES_OK);
}

TEST(SecSquat, SecondServerInTheSameProcessIsNameInUse)
{
    // The same check guards a second start in one process (e.g. a service started twice
    // inside one host): the first server keeps its clients.
    Engine eng;
    std::wstring name = UniquePipeName("twice");
    EventLog log1, log2;
    MakeEcho(&log1);
    pipes_server_config cfg1 = ServerConfig(name, eng.engine, &log1);
    pipes_server_config cfg2 = ServerConfig(name, eng.engine, &log2);
    pipes_server *first = nullptr, *second = nullptr;
    ASSERT_EQ(pipes_server_start(&cfg1, &first), PIPES_OK);
    EXPECT_EQ(pipes_server_start(&cfg2, &second), PIPES_ERR_NAME_IN_USE);
    EXPECT_TRUE(EchoRoundTrip(name, eng.engine));
    EXPECT_EQ(log1.Count(PIPES_EVENT_CONNECTED), 1u);
    EXPECT_EQ(log2.Count(PIPES_EVENT_CONNECTED), 0u);
    EXPECT_EQ(pipes_server_stop(first), PIPES_OK);
}
