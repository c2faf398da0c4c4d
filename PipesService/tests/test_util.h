// test_util.h - what the service's unit tests share: temporary directories (a new one per call,
// removed with everything in it) and a spool in one.
#ifndef PIPES_SVC_TEST_UTIL_H
#define PIPES_SVC_TEST_UTIL_H

#include "svc.h" // windows.h first

#include <gtest/gtest.h>

#include <cstdlib>
#include <cwchar>
#include <string>
#include <vector>

// %TEMP%\<what>-<pid>-<n>, not created.
inline std::wstring make_temp_dir(const wchar_t *what)
{
    static int counter = 0;
    wchar_t base[MAX_PATH], dir[MAX_PATH];
    GetTempPathW(MAX_PATH, base);
    swprintf(dir, MAX_PATH, L"%ls%ls-%lu-%d", base, what, (unsigned long)GetCurrentProcessId(),
             ++counter);
    return dir;
}

inline void remove_tree(const std::wstring &dir)
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

// A spool in dir (created) for 100 records, 1 MiB and an hour's ttl; NULL if it does not open.
inline spool *open_test_spool(const std::wstring &dir)
{
    spool_limits lim{};
    lim.max_count = 100;
    lim.max_bytes = 1 << 20;
    lim.default_ttl = 3600;
    spool_open_info info{};
    spool *s = nullptr;
    if (spool_open(dir.c_str(), nullptr, &lim, svc_now_ms(), &s, &info) != SPOOL_OK)
        return nullptr;
    return s;
}

// A session asking the spool for its next record (spool_next).
inline spool_viewer viewer_of(uint32_t session, const char *user = "", const char *user_sid = "")
{
    spool_viewer v;
    v.session = session;
    v.user = user;
    v.user_sid = user_sid;
    return v;
}

// A record the spool would send a viewer now (spool_next), copied.
struct SpoolEntry {
    uint64_t seq;
    std::string id, sid, msg;
};

// Everything the spool would send this viewer now, oldest first; nothing is acknowledged.
inline std::vector<SpoolEntry> spool_entries(spool *s, const spool_viewer &v)
{
    std::vector<SpoolEntry> out;
    spool_item item;
    uint64_t after = 0;
    while (spool_next(s, after, &v, &item)) {
        out.push_back(SpoolEntry{item.seq, item.id, item.sid, std::string(item.msg, item.msg_len)});
        after = item.seq;
        free(item.msg);
    }
    return out;
}

// The ids of spool_entries.
inline std::vector<std::string> spool_ids(spool *s, const spool_viewer &v)
{
    std::vector<std::string> ids;
    for (const SpoolEntry &e : spool_entries(s, v))
        ids.push_back(e.id);
    return ids;
}

// A spool of its own in a temporary folder, reopened with open() (as after a restart): the
// fixture of the tests that add records and look at them again. `what` names the folder.
class SpoolFixture : public ::testing::Test {
protected:
    void Start(const wchar_t *what)
    {
        dir_ = make_temp_dir(what);
        lim_.max_count = 100;
        lim_.max_bytes = 1 << 20;
        lim_.default_ttl = 3600;
        open();
    }
    void TearDown() override
    {
        spool_close(s_);
        remove_tree(dir_);
    }
    void open()
    {
        spool_close(s_);
        s_ = nullptr;
        ASSERT_EQ(SPOOL_OK, spool_open(dir_.c_str(), nullptr, &lim_, now_, &s_, &info_));
    }

    std::wstring dir_;
    spool_limits lim_{};
    spool *s_ = nullptr;
    spool_open_info info_{};
    int64_t now_ = 1700000000000LL;
};

#endif
