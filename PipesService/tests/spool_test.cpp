// spool_test.cpp - unit tests of the PipesService spool (spool.c): durability across reopen,
// one copy per id, acknowledgement rules per target, bounds, ttl expiry, damaged records.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "svc.h"

namespace {

std::wstring make_temp_dir()
{
    wchar_t base[MAX_PATH];
    GetTempPathW(MAX_PATH, base);
    static int counter = 0;
    wchar_t dir[MAX_PATH];
    swprintf(dir, MAX_PATH, L"%lsspooltest-%lu-%d", base, (unsigned long)GetCurrentProcessId(),
             ++counter);
    return dir;
}

void remove_tree(const std::wstring &dir)
{
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileW((dir + L"\\*").c_str(), &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            std::wstring name = fd.cFileName;
            if (name == L"." || name == L"..")
                continue;
            std::wstring path = dir + L"\\" + name;
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
                remove_tree(path);
            else
                DeleteFileW(path.c_str());
        } while (FindNextFileW(h, &fd));
        FindClose(h);
    }
    RemoveDirectoryW(dir.c_str());
}

std::vector<std::wstring> files(const std::wstring &dir, const wchar_t *pattern)
{
    std::vector<std::wstring> out;
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileW((dir + L"\\" + pattern).c_str(), &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do
            out.push_back(dir + L"\\" + fd.cFileName);
        while (FindNextFileW(h, &fd));
        FindClose(h);
    }
    return out;
}

class SpoolTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        dir_ = make_temp_dir();
        lim_.max_count = 100;
        lim_.max_bytes = 1 << 20;
        lim_.default_ttl = 3600;
        now_ = 1700000000000LL;
    }
    void TearDown() override
    {
        if (s_)
            spool_close(s_);
        remove_tree(dir_);
    }
    void open()
    {
        if (s_)
            spool_close(s_);
        s_ = nullptr;
        ASSERT_EQ(SPOOL_OK, spool_open(dir_.c_str(), nullptr, &lim_, now_, &s_, &info_));
    }
    spool_result add(const char *id, pipes_proto_target_kind kind = PIPES_PROTO_TARGET_SESSION,
                     uint32_t session = 1, const char *user = nullptr, uint32_t ttl = 0,
                     uint64_t *seq = nullptr)
    {
        pipes_proto_notification n;
        pipes_proto_notification_init(&n);
        EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "id", id, strlen(id)));
        EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "title", "t", 1));
        if (user) {
            EXPECT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "user", user, strlen(user)));
        } else {
            n.target = kind;
            n.target_session = session;
        }
        if (ttl) {
            n.has_ttl = 1;
            n.ttl = ttl;
        }
        uint64_t dummy;
        return spool_add(s_, &n, now_, seq ? seq : &dummy);
    }
    // Ids the session would get, oldest first, without acknowledging anything.
    std::vector<std::string> pending(uint32_t session, const char *user = "")
    {
        std::vector<std::string> out;
        spool_item item;
        uint64_t after = 0;
        while (spool_next(s_, after, session, user, &item)) {
            out.push_back(item.id);
            after = item.seq;
            free(item.msg);
        }
        return out;
    }

    std::wstring dir_;
    spool_limits lim_{};
    spool *s_ = nullptr;
    spool_open_info info_{};
    int64_t now_ = 0;
};

TEST_F(SpoolTest, RecordsSurviveReopenInAcceptanceOrder)
{
    open();
    ASSERT_EQ(SPOOL_OK, add("one"));
    ASSERT_EQ(SPOOL_OK, add("two"));
    ASSERT_EQ(SPOOL_OK, add("three"));
    EXPECT_EQ(3u, files(dir_, L"*.ntf").size());
    open();
    EXPECT_EQ(3u, info_.loaded);
    EXPECT_EQ(0u, info_.damaged);
    EXPECT_EQ((std::vector<std::string>{"one", "two", "three"}), pending(1));
    EXPECT_TRUE(pending(2).empty()); // targeted at session 1 only
    ASSERT_EQ(SPOOL_OK, add("four"));
    EXPECT_EQ((std::vector<std::string>{"one", "two", "three", "four"}), pending(1));
}

TEST_F(SpoolTest, TheTrayMessageHasNoTargetAndGetsTheAcceptanceTime)
{
    open();
    ASSERT_EQ(SPOOL_OK, add("x", PIPES_PROTO_TARGET_SESSION, 1, nullptr, 60));
    spool_item item;
    ASSERT_TRUE(spool_next(s_, 0, 1, "", &item));
    std::string msg(item.msg, item.msg_len);
    free(item.msg);
    EXPECT_EQ(std::string::npos, msg.find("target"));
    EXPECT_EQ(std::string::npos, msg.find("ttl"));
    EXPECT_NE(std::string::npos, msg.find("\"time\":\"2023-11-14T22:13:20Z\"")) << msg;
}

TEST_F(SpoolTest, SameIdKeepsOneCopy)
{
    open();
    uint64_t a = 0, b = 0;
    ASSERT_EQ(SPOOL_OK, add("dup", PIPES_PROTO_TARGET_SESSION, 1, nullptr, 0, &a));
    EXPECT_EQ(SPOOL_DUPLICATE, add("dup", PIPES_PROTO_TARGET_SESSION, 1, nullptr, 0, &b));
    EXPECT_EQ(a, b);
    EXPECT_EQ(1u, files(dir_, L"*.ntf").size());
}

TEST_F(SpoolTest, AckRemovesASessionTargetedRecord)
{
    open();
    uint64_t seq = 0;
    ASSERT_EQ(SPOOL_OK, add("s1", PIPES_PROTO_TARGET_SESSION, 1, nullptr, 0, &seq));
    EXPECT_EQ(SPOOL_OK, spool_ack(s_, seq, 1));
    EXPECT_TRUE(pending(1).empty());
    EXPECT_TRUE(files(dir_, L"*.ntf").empty());
    EXPECT_EQ(SPOOL_NOT_FOUND, spool_ack(s_, seq, 1));
}

TEST_F(SpoolTest, BroadcastStaysForLaterSessionsAndRemembersAcksAcrossReopen)
{
    open();
    uint64_t seq = 0;
    ASSERT_EQ(SPOOL_OK, add("all", PIPES_PROTO_TARGET_ALL, 0, nullptr, 0, &seq));
    EXPECT_EQ(SPOOL_OK, spool_ack(s_, seq, 1));
    EXPECT_TRUE(pending(1).empty());
    EXPECT_EQ(std::vector<std::string>{"all"}, pending(2)); // a session that logs on later
    spool_stats st;
    spool_get_stats(s_, &st);
    EXPECT_EQ(1u, st.count);
    EXPECT_EQ(0u, st.pending_deliveries);
    open(); // the ACK1 trailer was persisted
    EXPECT_TRUE(pending(1).empty());
    spool_session_reset(s_, 1); // session 1 logged off: a new desktop there gets it again
    EXPECT_EQ(std::vector<std::string>{"all"}, pending(1));
    open();
    EXPECT_EQ(std::vector<std::string>{"all"}, pending(1));
}

TEST_F(SpoolTest, UserTargetMatchesNameOrDomainAndNameIgnoringCase)
{
    open();
    ASSERT_EQ(SPOOL_OK, add("u1", PIPES_PROTO_TARGET_USER, 0, "bob"));
    ASSERT_EQ(SPOOL_OK, add("u2", PIPES_PROTO_TARGET_USER, 0, "CORP\\Bob"));
    EXPECT_EQ((std::vector<std::string>{"u1", "u2"}), pending(3, "corp\\BOB"));
    EXPECT_EQ((std::vector<std::string>{"u1"}), pending(3, "HOME\\bob"));
    EXPECT_TRUE(pending(3, "CORP\\alice").empty());
    EXPECT_TRUE(pending(3, "").empty());
}

TEST_F(SpoolTest, BoundsRejectWithoutEvicting)
{
    lim_.max_count = 2;
    open();
    ASSERT_EQ(SPOOL_OK, add("a"));
    ASSERT_EQ(SPOOL_OK, add("b"));
    EXPECT_EQ(SPOOL_FULL, add("c"));
    EXPECT_EQ((std::vector<std::string>{"a", "b"}), pending(1));
    lim_.max_count = 100;
    lim_.max_bytes = 50; // smaller than one message
    open();
    EXPECT_EQ(SPOOL_FULL, add("d"));
}

TEST_F(SpoolTest, ExpiredRecordsGoAtTheirTtl)
{
    open();
    ASSERT_EQ(SPOOL_OK, add("short", PIPES_PROTO_TARGET_SESSION, 1, nullptr, 1));
    ASSERT_EQ(SPOOL_OK, add("long", PIPES_PROTO_TARGET_SESSION, 1, nullptr, 100));
    uint32_t lost = 0;
    int64_t next = 0;
    EXPECT_EQ(0u, spool_expire(s_, now_ + 500, &lost, &next));
    EXPECT_EQ(now_ + 1000, next);
    EXPECT_EQ(1u, spool_expire(s_, now_ + 1000, &lost, &next));
    EXPECT_EQ(1u, lost);
    EXPECT_EQ(now_ + 100000, next);
    EXPECT_EQ(std::vector<std::string>{"long"}, pending(1));
    now_ += 200000; // reopen after the rest expired while stopped
    open();
    EXPECT_EQ(1u, info_.expired);
    EXPECT_EQ(0u, info_.loaded);
    EXPECT_TRUE(files(dir_, L"*.ntf").empty());
}

TEST_F(SpoolTest, DamagedRecordsAreSetAsideAndTheRestLoad)
{
    open();
    for (const char *id : {"d0", "d1", "d2", "d3", "d4"})
        ASSERT_EQ(SPOOL_OK, add(id));
    spool_close(s_);
    s_ = nullptr;
    std::vector<std::wstring> f = files(dir_, L"*.ntf");
    ASSERT_EQ(5u, f.size());
    // d1: garbage over the whole file; d2: one flipped payload byte; d3: cut short.
    FILE *fp = _wfopen(f[1].c_str(), L"wb");
    ASSERT_NE(nullptr, fp);
    fputs("garbage garbage garbage garbage garbage garbage garbage garbage garbage", fp);
    fclose(fp);
    fp = _wfopen(f[2].c_str(), L"r+b");
    ASSERT_NE(nullptr, fp);
    fseek(fp, 70, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, 70, SEEK_SET);
    fputc(c ^ 0x20, fp);
    fclose(fp);
    HANDLE h = CreateFileW(f[3].c_str(), GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    ASSERT_NE(INVALID_HANDLE_VALUE, h);
    SetFilePointer(h, 60, nullptr, FILE_BEGIN);
    SetEndOfFile(h);
    CloseHandle(h);
    // A half-written temporary file from a crash before "accepted".
    fp = _wfopen((dir_ + L"\\00000000000000ff.tmp").c_str(), L"wb");
    ASSERT_NE(nullptr, fp);
    fputs("PSP1", fp);
    fclose(fp);

    open();
    EXPECT_EQ(3u, info_.damaged);
    EXPECT_EQ(2u, info_.loaded);
    EXPECT_EQ(1u, info_.temp_removed);
    EXPECT_EQ((std::vector<std::string>{"d0", "d4"}), pending(1));
    EXPECT_EQ(3u, files(dir_ + L"\\damaged", L"*.ntf").size());
    EXPECT_TRUE(files(dir_, L"*.tmp").empty());
    // New records get sequence numbers after every one seen, damaged ones included.
    uint64_t seq = 0;
    ASSERT_EQ(SPOOL_OK, add("d5", PIPES_PROTO_TARGET_SESSION, 1, nullptr, 0, &seq));
    EXPECT_GT(seq, 5u);
    open();
    EXPECT_EQ((std::vector<std::string>{"d0", "d4", "d5"}), pending(1));
}

TEST_F(SpoolTest, ACutAckTrailerIsIgnored)
{
    open();
    uint64_t seq = 0;
    ASSERT_EQ(SPOOL_OK, add("b", PIPES_PROTO_TARGET_ALL, 0, nullptr, 0, &seq));
    ASSERT_EQ(SPOOL_OK, spool_ack(s_, seq, 1));
    spool_close(s_);
    s_ = nullptr;
    std::vector<std::wstring> f = files(dir_, L"*.ntf");
    ASSERT_EQ(1u, f.size());
    FILE *fp = _wfopen(f[0].c_str(), L"ab");
    ASSERT_NE(nullptr, fp);
    fputs("ACK", fp); // a crash in the middle of appending the next trailer
    fclose(fp);
    open();
    EXPECT_EQ(0u, info_.damaged);
    EXPECT_TRUE(pending(1).empty());
    EXPECT_EQ(std::vector<std::string>{"b"}, pending(2));
}

} // namespace
