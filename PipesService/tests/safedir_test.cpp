// safedir_test.cpp - unit tests of the data folders' checks (safedir.c) and of the spool's file
// handling through them: the service's SID, which accounts are trusted, folders created with
// their descriptor, folders (or folders above them) whose DACL lets others write refused with
// nothing changed, and files that are hard links never written through (a planted .tmp, an
// acknowledged record). What Wine cannot make from a Windows program (symbolic links: Wine's
// CreateSymbolicLinkW stores nothing) and foreign owners (Wine derives the owner from the Unix
// owner) are tested by run_service_tests.sh, which makes them on the Unix side.
#include <gtest/gtest.h>

#include <aclapi.h>
#include <bcrypt.h>
#include <sddl.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "spoolint.h"
#include "test_util.h"

namespace {

// "S-1-5-80-" and the SHA-1 of the upper-case name in UTF-16LE as five little-endian numbers:
// how Windows derives a service's SID (what `sc showsid NAME` prints).
std::wstring service_sid_of(const wchar_t *upper_name)
{
    BCRYPT_ALG_HANDLE alg = nullptr;
    UCHAR hash[20] = {};
    if (BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA1_ALGORITHM, nullptr, 0) != 0)
        return L"(no SHA-1)";
    BCryptHash(alg, nullptr, 0, (PUCHAR)upper_name, (ULONG)(wcslen(upper_name) * sizeof(wchar_t)),
               hash, sizeof hash);
    BCryptCloseAlgorithmProvider(alg, 0);
    std::wstring sid = L"S-1-5-80";
    for (int i = 0; i < 5; i++) {
        unsigned long v = (unsigned long)hash[4 * i] | (unsigned long)hash[4 * i + 1] << 8 |
                          (unsigned long)hash[4 * i + 2] << 16 | (unsigned long)hash[4 * i + 3] << 24;
        sid += L"-" + std::to_wstring(v);
    }
    return sid;
}

bool trusted(const wchar_t *sid_string)
{
    PSID sid = nullptr;
    if (!ConvertStringSidToSidW(sid_string, &sid))
        return false;
    bool t = safedir_sid_trusted(sid) != 0;
    LocalFree(sid);
    return t;
}

std::wstring my_sid()
{
    HANDLE token;
    union {
        TOKEN_USER user;
        BYTE bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } info;
    DWORD len = 0;
    wchar_t *s = nullptr;
    std::wstring out;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
        if (GetTokenInformation(token, TokenUser, &info, sizeof info, &len) &&
            ConvertSidToStringSidW(info.user.User.Sid, &s)) {
            out = s;
            LocalFree(s);
        }
        CloseHandle(token);
    }
    return out;
}

// The DACL of path as SDDL (what Wine reports: it derives the DACL from the Unix mode).
std::wstring dacl_of(const std::wstring &path)
{
    PSECURITY_DESCRIPTOR sd = nullptr;
    wchar_t *s = nullptr;
    std::wstring out;
    if (GetNamedSecurityInfoW(path.c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, nullptr,
                              nullptr, nullptr, nullptr, &sd) == ERROR_SUCCESS &&
        ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1,
                                                             DACL_SECURITY_INFORMATION, &s,
                                                             nullptr)) {
        out = s;
        LocalFree(s);
    }
    LocalFree(sd);
    return out;
}

bool set_dacl(const std::wstring &path, const wchar_t *sddl)
{
    PSECURITY_DESCRIPTOR sd = nullptr;
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = nullptr;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, nullptr))
        return false;
    GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted);
    DWORD rc = SetNamedSecurityInfoW((LPWSTR)path.c_str(), SE_FILE_OBJECT,
                                     DACL_SECURITY_INFORMATION |
                                         PROTECTED_DACL_SECURITY_INFORMATION,
                                     nullptr, nullptr, dacl, nullptr);
    LocalFree(sd);
    return rc == ERROR_SUCCESS;
}

void write_file(const std::wstring &path, const char *text)
{
    HANDLE h = CreateFileW(path.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, 0, nullptr);
    ASSERT_NE(INVALID_HANDLE_VALUE, h);
    DWORD w = 0;
    WriteFile(h, text, (DWORD)strlen(text), &w, nullptr);
    CloseHandle(h);
}

std::string read_file(const std::wstring &path)
{
    HANDLE h = CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                           OPEN_EXISTING, 0, nullptr);
    if (h == INVALID_HANDLE_VALUE)
        return "(missing)";
    char buf[4096];
    DWORD got = 0;
    ReadFile(h, buf, sizeof buf, &got, nullptr);
    CloseHandle(h);
    return std::string(buf, got);
}

bool exists(const std::wstring &path)
{
    return GetFileAttributesW(path.c_str()) != INVALID_FILE_ATTRIBUTES;
}

// Everyone (WD) gets write rights in this DACL string.
bool everyone_writes(const std::wstring &dacl)
{
    return dacl.find(L";;;WD)") != std::wstring::npos &&
           dacl.find(L"(A;OICI;0x1200a9;;;WD)") == std::wstring::npos &&
           dacl.find(L"(A;;0x1200a9;;;WD)") == std::wstring::npos;
}

class SafedirTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        base_ = make_temp_dir(L"safedirtest");
        ASSERT_TRUE(CreateDirectoryW(base_.c_str(), nullptr));
    }
    void TearDown() override
    {
        safedir_close(&d_);
        remove_tree(base_);
    }
    std::wstring base_;
    safedir d_{INVALID_HANDLE_VALUE, {}, {}};
    safedir_report why_{};
};

TEST(SafedirSid, TheServiceSidIsDerivedFromTheServiceNameAsWindowsDoes)
{
    EXPECT_EQ(service_sid_of(L"PIPESSERVICE"), std::wstring(SAFEDIR_SERVICE_SID));
    // The same derivation gives the well-known SID of TrustedInstaller: the method is right.
    EXPECT_EQ(service_sid_of(L"TRUSTEDINSTALLER"), std::wstring(SAFEDIR_TRUSTED_INSTALLER_SID));
}

TEST(SafedirSid, TrustedAreSystemAdministratorsTrustedInstallerTheServiceAndThisAccount)
{
    EXPECT_TRUE(trusted(L"S-1-5-18"));
    EXPECT_TRUE(trusted(L"S-1-5-32-544"));
    EXPECT_TRUE(trusted(SAFEDIR_TRUSTED_INSTALLER_SID));
    EXPECT_TRUE(trusted(SAFEDIR_SERVICE_SID));
    EXPECT_TRUE(trusted(my_sid().c_str()));
    EXPECT_FALSE(trusted(L"S-1-1-0"));      // Everyone
    EXPECT_FALSE(trusted(L"S-1-5-11"));     // Authenticated Users
    EXPECT_FALSE(trusted(L"S-1-5-32-545")); // Users
    EXPECT_FALSE(trusted(L"S-1-5-7"));      // Anonymous (Wine's owner of other Unix users' files)
    EXPECT_FALSE(trusted(L"S-1-5-21-1-2-3-1001"));
    EXPECT_FALSE(trusted(L"S-1-5-80-1-2-3-4-5")); // another service
}

TEST_F(SafedirTest, MissingFoldersAreCreatedWithTheGivenDescriptor)
{
    std::wstring dir = base_ + L"\\Pipes\\spool";
    ASSERT_TRUE(safedir_open(&d_, dir.c_str(), SVC_DATA_DIR_SDDL, 0, &why_))
        << why_.problem << " " << why_.error;
    EXPECT_TRUE(exists(dir));
    // The descriptor was given at creation: nothing for Everyone, on both created folders
    // (a folder made without it gets Everyone read from Wine's default mode, see below).
    EXPECT_EQ(std::wstring::npos, dacl_of(dir).find(L";;;WD)")) << dacl_of(dir);
    EXPECT_EQ(std::wstring::npos, dacl_of(base_ + L"\\Pipes").find(L";;;WD)"));
    std::wstring plain = base_ + L"\\plain";
    CreateDirectoryW(plain.c_str(), nullptr);
    EXPECT_NE(std::wstring::npos, dacl_of(plain).find(L";;;WD)")) << dacl_of(plain);
    // Its final path is the path.
    EXPECT_EQ(0, _wcsicmp(d_.final_path, dir.c_str()));
}

TEST_F(SafedirTest, AFolderWhoseDaclLetsEveryoneWriteIsRefusedAndLeftAsItWas)
{
    std::wstring dir = base_ + L"\\open";
    ASSERT_TRUE(CreateDirectoryW(dir.c_str(), nullptr));
    ASSERT_TRUE(set_dacl(dir, L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)"));
    std::wstring before = dacl_of(dir);
    ASSERT_TRUE(everyone_writes(before)) << before;

    EXPECT_FALSE(safedir_open(&d_, dir.c_str(), SVC_DATA_DIR_SDDL, 0, &why_));
    EXPECT_EQ(SAFEDIR_OPEN_DACL, why_.problem);
    EXPECT_EQ(0, _wcsicmp(why_.path, dir.c_str()));
    EXPECT_NE(nullptr, wcsstr(why_.who, L"S-1-1-0")) << why_.who;
    EXPECT_EQ(before, dacl_of(dir)); // no repair attempt
    wchar_t text[1024];
    safedir_describe(&why_, text, 1024);
    EXPECT_NE(nullptr, wcsstr(text, L"S-1-1-0")) << text;
    EXPECT_NE(nullptr, wcsstr(text, dir.c_str())) << text;

    // A spool there is refused too, and nothing is written into the folder.
    spool_limits lim{100, 1 << 20, 3600};
    spool_open_info info{};
    spool *s = nullptr;
    EXPECT_EQ(SPOOL_IO_ERROR, spool_open(dir.c_str(), SVC_DATA_DIR_SDDL, &lim, svc_now_ms(), &s,
                                         &info));
    EXPECT_EQ(ERROR_ACCESS_DENIED, GetLastError());
    WIN32_FIND_DATAW fd;
    HANDLE find = FindFirstFileW((dir + L"\\*").c_str(), &fd);
    int entries = 0;
    if (find != INVALID_HANDLE_VALUE) {
        do
            entries += wcscmp(fd.cFileName, L".") && wcscmp(fd.cFileName, L"..");
        while (FindNextFileW(find, &fd));
        FindClose(find);
    }
    EXPECT_EQ(0, entries);
}

TEST_F(SafedirTest, AFolderAboveWhoseDaclLetsEveryoneMoveItIsRefusedBeforeAnythingIsCreated)
{
    std::wstring above = base_ + L"\\above";
    ASSERT_TRUE(CreateDirectoryW(above.c_str(), nullptr));
    ASSERT_TRUE(set_dacl(above, L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)"));
    std::wstring dir = above + L"\\Pipes\\spool";
    EXPECT_FALSE(safedir_open(&d_, dir.c_str(), SVC_DATA_DIR_SDDL, 0, &why_));
    EXPECT_EQ(SAFEDIR_OPEN_DACL, why_.problem);
    EXPECT_EQ(0, _wcsicmp(why_.path, above.c_str())) << why_.path;
    EXPECT_FALSE(exists(above + L"\\Pipes"));
    // Read access for Everyone on the folder above is fine (C:\ProgramData gives users more).
    ASSERT_TRUE(set_dacl(above, L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;WD)"));
    EXPECT_TRUE(safedir_open(&d_, dir.c_str(), SVC_DATA_DIR_SDDL, 0, &why_))
        << why_.problem << " " << why_.path;
}

TEST_F(SafedirTest, AFileInsteadOfAFolderIsRefused)
{
    std::wstring path = base_ + L"\\file";
    write_file(path, "x");
    EXPECT_FALSE(safedir_open(&d_, path.c_str(), SVC_DATA_DIR_SDDL, 0, &why_));
    EXPECT_EQ(SAFEDIR_NOT_DIRECTORY, why_.problem);
    EXPECT_EQ("x", read_file(path));
}

TEST_F(SafedirTest, FilesAreOpenedByPlainNamesOnlyAndCreateNewNeverTruncates)
{
    ASSERT_TRUE(safedir_open(&d_, base_.c_str(), nullptr, 0, &why_));
    EXPECT_EQ(INVALID_HANDLE_VALUE,
              safedir_open_file(&d_, L"..\\x", GENERIC_READ, 0, OPEN_EXISTING));
    EXPECT_EQ(ERROR_BAD_PATHNAME, GetLastError());
    EXPECT_EQ(INVALID_HANDLE_VALUE, safedir_open_file(&d_, L"x", GENERIC_WRITE, 0, CREATE_ALWAYS));
    EXPECT_EQ(ERROR_INVALID_PARAMETER, GetLastError());
    write_file(base_ + L"\\kept", "kept");
    EXPECT_EQ(INVALID_HANDLE_VALUE, safedir_open_file(&d_, L"kept", GENERIC_WRITE, 0, CREATE_NEW));
    EXPECT_EQ(ERROR_FILE_EXISTS, GetLastError());
    EXPECT_EQ("kept", read_file(base_ + L"\\kept"));
    HANDLE h = safedir_open_file(&d_, L"new", GENERIC_WRITE, 0, CREATE_NEW);
    ASSERT_NE(INVALID_HANDLE_VALUE, h);
    EXPECT_TRUE(safedir_rename_open(h, &d_, L"renamed"));
    CloseHandle(h);
    EXPECT_FALSE(exists(base_ + L"\\new"));
    EXPECT_TRUE(exists(base_ + L"\\renamed"));
    EXPECT_TRUE(safedir_delete(&d_, L"renamed"));
    EXPECT_FALSE(exists(base_ + L"\\renamed"));
}

TEST_F(SafedirTest, AHardLinkIsNeverOpenedButItsNameMayBeDeleted)
{
    std::wstring victim = base_ + L"\\victim.txt";
    std::wstring dir = base_ + L"\\data";
    write_file(victim, "precious");
    ASSERT_TRUE(safedir_open(&d_, dir.c_str(), SVC_DATA_DIR_SDDL, 0, &why_));
    ASSERT_TRUE(CreateHardLinkW((dir + L"\\log.txt").c_str(), victim.c_str(), nullptr));
    EXPECT_EQ(INVALID_HANDLE_VALUE,
              safedir_open_file(&d_, L"log.txt", FILE_APPEND_DATA, 0, OPEN_ALWAYS));
    EXPECT_EQ(ERROR_TOO_MANY_LINKS, GetLastError());
    EXPECT_EQ(INVALID_HANDLE_VALUE, safedir_open_file(&d_, L"log.txt", GENERIC_READ, 0, OPEN_EXISTING));
    EXPECT_FALSE(safedir_rename(&d_, L"log.txt", &d_, L"moved.txt"));
    EXPECT_EQ("precious", read_file(victim));
    EXPECT_TRUE(safedir_delete(&d_, L"log.txt"));
    EXPECT_FALSE(exists(dir + L"\\log.txt"));
    EXPECT_EQ("precious", read_file(victim));
}

TEST_F(SafedirTest, LockGivesTheFolderAndItsFilesTheDescriptor)
{
    std::wstring dir = base_ + L"\\old";
    ASSERT_TRUE(CreateDirectoryW(dir.c_str(), nullptr));
    write_file(dir + L"\\0000000000000001.ntf", "record");
    ASSERT_TRUE(set_dacl(dir, L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)"));
    ASSERT_TRUE(set_dacl(dir + L"\\0000000000000001.ntf", L"D:P(A;;FA;;;SY)(A;;FA;;;WD)"));
    ASSERT_TRUE(everyone_writes(dacl_of(dir + L"\\0000000000000001.ntf")));
    ASSERT_TRUE(safedir_open(&d_, dir.c_str(), SVC_DATA_DIR_LOCK_SDDL, SAFEDIR_FOR_LOCK, &why_))
        << why_.problem;
    wchar_t name[MAX_PATH];
    EXPECT_EQ((DWORD)ERROR_SUCCESS, safedir_lock(&d_, SVC_DATA_DIR_LOCK_SDDL, 1, name, MAX_PATH));
    safedir_close(&d_);
    // Wine maps a DACL set on an existing file onto its Unix mode and keeps the others' read
    // bit, so what shows here is that Everyone lost write (the exact DACL: Windows only).
    EXPECT_FALSE(everyone_writes(dacl_of(dir))) << dacl_of(dir);
    EXPECT_FALSE(everyone_writes(dacl_of(dir + L"\\0000000000000001.ntf")));
    EXPECT_EQ("record", read_file(dir + L"\\0000000000000001.ntf"));
    // Locked, it passes the service's check.
    EXPECT_TRUE(safedir_open(&d_, dir.c_str(), SVC_DATA_DIR_SDDL, 0, &why_)) << why_.problem;
}

TEST_F(SafedirTest, LockRefusesAHardLinkAmongTheFilesAndNamesIt)
{
    std::wstring victim = base_ + L"\\victim.txt";
    std::wstring dir = base_ + L"\\old";
    write_file(victim, "precious");
    ASSERT_TRUE(CreateDirectoryW(dir.c_str(), nullptr));
    ASSERT_TRUE(CreateHardLinkW((dir + L"\\x.ntf").c_str(), victim.c_str(), nullptr));
    std::wstring victim_dacl = dacl_of(victim);
    ASSERT_TRUE(safedir_open(&d_, dir.c_str(), SVC_DATA_DIR_LOCK_SDDL, SAFEDIR_FOR_LOCK, &why_));
    wchar_t name[MAX_PATH];
    EXPECT_EQ((DWORD)ERROR_TOO_MANY_LINKS,
              safedir_lock(&d_, SVC_DATA_DIR_LOCK_SDDL, 1, name, MAX_PATH));
    EXPECT_STREQ(L"x.ntf", name);
    EXPECT_EQ(victim_dacl, dacl_of(victim));
}

// ---- the install folder (pipes-lockdir.dll: lock the folder alone, then check what it holds) --

TEST_F(SafedirTest, LockWithoutFilesLeavesTheFilesAsTheyAre)
{
    std::wstring dir = base_ + L"\\app";
    ASSERT_TRUE(CreateDirectoryW(dir.c_str(), nullptr));
    write_file(dir + L"\\planted.dll", "planted");
    ASSERT_TRUE(set_dacl(dir + L"\\planted.dll", L"D:P(A;;FA;;;SY)(A;;FA;;;WD)"));
    std::wstring file_dacl = dacl_of(dir + L"\\planted.dll");
    ASSERT_TRUE(safedir_open(&d_, dir.c_str(), SVC_DATA_DIR_LOCK_SDDL, SAFEDIR_FOR_LOCK, &why_));
    EXPECT_EQ((DWORD)ERROR_SUCCESS, safedir_lock(&d_, SVC_DATA_DIR_LOCK_SDDL, 0, nullptr, 0));
    EXPECT_FALSE(everyone_writes(dacl_of(dir))) << dacl_of(dir);
    EXPECT_EQ(file_dacl, dacl_of(dir + L"\\planted.dll"));
}

TEST_F(SafedirTest, CheckTreePassesPlainFilesAndFoldersOthersCannotChange)
{
    std::wstring dir = base_ + L"\\app";
    ASSERT_TRUE(safedir_open(&d_, (dir + L"\\docs").c_str(), SVC_DATA_DIR_SDDL, 0, &why_));
    safedir_close(&d_);
    write_file(dir + L"\\PipesService.exe", "exe");
    write_file(dir + L"\\docs\\SDK.md", "doc");
    ASSERT_TRUE(safedir_open(&d_, dir.c_str(), nullptr, 0, &why_)) << why_.problem;
    EXPECT_TRUE(safedir_check_tree(&d_, &why_)) << why_.problem << " " << why_.path;
    EXPECT_EQ(SAFEDIR_OK, why_.problem);
}

// A file (here one level down) that Everyone may change is named, and left as it is.
TEST_F(SafedirTest, CheckTreeRefusesAFileOthersMayChangeAndNamesIt)
{
    std::wstring dir = base_ + L"\\app";
    ASSERT_TRUE(safedir_open(&d_, (dir + L"\\lib").c_str(), SVC_DATA_DIR_SDDL, 0, &why_));
    safedir_close(&d_);
    std::wstring planted = dir + L"\\lib\\version.dll";
    write_file(planted, "planted");
    ASSERT_TRUE(set_dacl(planted, L"D:P(A;;FA;;;SY)(A;;FA;;;WD)"));
    std::wstring before = dacl_of(planted);
    ASSERT_TRUE(safedir_open(&d_, dir.c_str(), nullptr, 0, &why_));
    EXPECT_FALSE(safedir_check_tree(&d_, &why_));
    EXPECT_EQ(SAFEDIR_OPEN_DACL, why_.problem);
    EXPECT_EQ(0, _wcsicmp(why_.path, planted.c_str())) << why_.path;
    EXPECT_NE(nullptr, wcsstr(why_.who, L"S-1-1-0")) << why_.who;
    EXPECT_EQ(before, dacl_of(planted));
    EXPECT_EQ("planted", read_file(planted));
}

// A hard link in the install folder could be a file someone else can change under another name.
TEST_F(SafedirTest, CheckTreeRefusesAHardLink)
{
    std::wstring victim = base_ + L"\\elsewhere.dll";
    std::wstring dir = base_ + L"\\app";
    write_file(victim, "other");
    ASSERT_TRUE(safedir_open(&d_, dir.c_str(), SVC_DATA_DIR_SDDL, 0, &why_));
    ASSERT_TRUE(CreateHardLinkW((dir + L"\\pipes.dll").c_str(), victim.c_str(), nullptr));
    EXPECT_FALSE(safedir_check_tree(&d_, &why_));
    EXPECT_EQ(SAFEDIR_ERROR, why_.problem);
    EXPECT_EQ((DWORD)ERROR_TOO_MANY_LINKS, why_.error);
    EXPECT_EQ(0, _wcsicmp(why_.path, (dir + L"\\pipes.dll").c_str())) << why_.path;
    EXPECT_EQ("other", read_file(victim));
}

// ---- the spool through safedir -----------------------------------------------------------

class SpoolLinkTest : public SafedirTest {
protected:
    void add(const char *id, pipes_proto_target_kind kind = PIPES_PROTO_TARGET_SESSION)
    {
        pipes_proto_notification n;
        pipes_proto_notification_init(&n);
        ASSERT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "id", id, strlen(id)));
        ASSERT_EQ(PIPES_PROTO_OK, pipes_proto_notification_set(&n, "title", "t", 1));
        n.target = kind;
        n.target_session = kind == PIPES_PROTO_TARGET_SESSION ? 1 : 0;
        spool_added added{};
        ASSERT_EQ(SPOOL_OK, spool_add(s_, &n, nullptr, svc_now_ms(), &added));
        seq_ = added.seq;
    }
    void TearDown() override
    {
        spool_close(s_);
        SafedirTest::TearDown();
    }
    spool *s_ = nullptr;
    uint64_t seq_ = 0;
};

// Before: spoolfile_write opened <seq>.tmp with CREATE_ALWAYS, so a hard link planted under the
// next record's name had its target truncated and overwritten with the record.
TEST_F(SpoolLinkTest, APlantedTempHardLinkIsNotWrittenThrough)
{
    std::wstring victim = base_ + L"\\victim.txt";
    std::wstring dir = base_ + L"\\spool";
    write_file(victim, "precious");
    s_ = open_test_spool(dir);
    ASSERT_NE(nullptr, s_);
    ASSERT_TRUE(CreateHardLinkW((dir + L"\\0000000000000001.tmp").c_str(), victim.c_str(), nullptr));
    add("planted-1");
    EXPECT_EQ(1u, seq_);
    EXPECT_EQ("precious", read_file(victim));
    EXPECT_NE("precious", read_file(dir + L"\\0000000000000001.ntf"));
    // The record is whole: it loads after a reopen.
    spool_close(s_);
    s_ = open_test_spool(dir);
    ASSERT_NE(nullptr, s_);
    spool_stats st;
    spool_get_stats(s_, &st);
    EXPECT_EQ(1u, st.count);
}

// Before: the ACK1 trailer of a broadcast (which stays for later sessions) was appended to
// whatever <seq>.ntf named, a hard link included.
TEST_F(SpoolLinkTest, AnAcknowledgementIsNotAppendedThroughAHardLink)
{
    std::wstring victim = base_ + L"\\victim.txt";
    std::wstring dir = base_ + L"\\spool";
    write_file(victim, "precious");
    s_ = open_test_spool(dir);
    ASSERT_NE(nullptr, s_);
    add("linked-1", PIPES_PROTO_TARGET_ALL);
    std::wstring ntf = dir + L"\\0000000000000001.ntf";
    ASSERT_TRUE(DeleteFileW(ntf.c_str()));
    ASSERT_TRUE(CreateHardLinkW(ntf.c_str(), victim.c_str(), nullptr));
    spool_ack(s_, seq_, 1, 1);
    EXPECT_EQ("precious", read_file(victim));
}

// A hard-linked record is refused before it is read (before, its target was read and parsed),
// and only its name is removed: the target keeps its content.
TEST_F(SpoolLinkTest, AHardLinkedRecordIsNotLoadedAndItsTargetKeepsItsContent)
{
    std::wstring victim = base_ + L"\\victim.txt";
    std::wstring dir = base_ + L"\\spool";
    write_file(victim, "precious");
    s_ = open_test_spool(dir);
    ASSERT_NE(nullptr, s_);
    spool_close(s_);
    s_ = nullptr;
    ASSERT_TRUE(CreateHardLinkW((dir + L"\\0000000000000007.ntf").c_str(), victim.c_str(), nullptr));
    s_ = open_test_spool(dir);
    ASSERT_NE(nullptr, s_);
    spool_stats st;
    spool_get_stats(s_, &st);
    EXPECT_EQ(0u, st.count);
    EXPECT_EQ("precious", read_file(victim));
    EXPECT_FALSE(exists(dir + L"\\damaged\\0000000000000007.ntf"));
}

} // namespace
