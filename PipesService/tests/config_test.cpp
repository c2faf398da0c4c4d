// config_test.cpp - unit tests of the PipesService configuration (config.c): the documented
// defaults when HKLM\SOFTWARE\Pipes\Service is absent, values taken when valid, and each kind of
// invalid value (wrong type, out of range, bad SDDL, bad path, bad pipe name) replaced by its
// default. The key is deleted before and after each test (this suite's own Wine prefix).
#include <gtest/gtest.h>

#include <cwchar>
#include <string>

#include "svc.h"

namespace {

class ConfigTest : public ::testing::Test {
protected:
    void SetUp() override { RegDeleteTreeW(HKEY_LOCAL_MACHINE, SVC_CONFIG_KEY); }
    void TearDown() override { RegDeleteTreeW(HKEY_LOCAL_MACHINE, SVC_CONFIG_KEY); }

    HKEY key(const wchar_t *path = SVC_CONFIG_KEY)
    {
        HKEY k = nullptr;
        EXPECT_EQ(ERROR_SUCCESS, RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, nullptr, 0,
                                                 KEY_SET_VALUE, nullptr, &k, nullptr));
        return k;
    }
    void set_dword(const wchar_t *name, DWORD v)
    {
        HKEY k = key();
        ASSERT_EQ(ERROR_SUCCESS,
                  RegSetValueExW(k, name, 0, REG_DWORD, reinterpret_cast<const BYTE *>(&v),
                                 sizeof v));
        RegCloseKey(k);
    }
    void set_string(const wchar_t *name, const wchar_t *v, DWORD type = REG_SZ,
                    const wchar_t *path = SVC_CONFIG_KEY)
    {
        HKEY k = key(path);
        ASSERT_EQ(ERROR_SUCCESS,
                  RegSetValueExW(k, name, 0, type, reinterpret_cast<const BYTE *>(v),
                                 static_cast<DWORD>((wcslen(v) + 1) * sizeof(wchar_t))));
        RegCloseKey(k);
    }
};

void expect_defaults(const svc_config &c)
{
    EXPECT_EQ(10000u, c.max_spool_count);
    EXPECT_EQ(64u, c.max_spool_mb);
    EXPECT_EQ(86400u, c.default_ttl);
    EXPECT_EQ(600u, c.rate_per_minute);
    EXPECT_EQ(100u, c.rate_burst);
    EXPECT_EQ(1024u, c.log_max_kb);
    EXPECT_STREQ(L"D:P(A;;FA;;;S-1-5-80-3957959930-3555412087-1735592967-3833301536-2774221309)"
                 L"(A;;FA;;;BA)(A;;0x0012019b;;;AU)",
                 c.submit_sddl);
    EXPECT_STREQ(L"\\\\.\\pipe\\Pipes.Service", c.submit_pipe);
    EXPECT_EQ(0, c.has_session_override);
}

TEST_F(ConfigTest, AbsentKeyGivesTheDocumentedDefaults)
{
    svc_config c;
    svc_config_load(&c);
    expect_defaults(c);
    wchar_t pd[MAX_PATH];
    ASSERT_GT(GetEnvironmentVariableW(L"ProgramData", pd, MAX_PATH), 0u);
    EXPECT_EQ(std::wstring(pd) + L"\\Pipes", c.data_dir);
    EXPECT_EQ(std::wstring(pd) + L"\\Pipes\\spool", c.spool_dir);
    EXPECT_EQ(std::wstring(pd) + L"\\Pipes\\logs", c.log_dir);
    svc_config_report();
}

TEST_F(ConfigTest, EmptyKeyGivesTheDefaultsToo)
{
    RegCloseKey(key());
    svc_config c;
    svc_config_load(&c);
    expect_defaults(c);
}

TEST_F(ConfigTest, ValidValuesAreTaken)
{
    set_dword(L"MaxSpoolCount", 1);
    set_dword(L"MaxSpoolMB", 4096);
    set_dword(L"DefaultTtlSeconds", 31536000);
    set_dword(L"RateLimitPerMinute", 0); // 0 = no limit is valid
    set_dword(L"RateLimitBurst", 7);
    set_dword(L"LogMaxKB", 16);
    set_string(L"SubmitSddl", L"D:P(A;;FA;;;SY)");
    set_string(L"SubmitPipe", L"\\\\.\\pipe\\Pipes.Other");
    set_string(L"DataDirectory", L"C:\\PipesData");
    set_dword(L"RequiredServerSessionOverride", 3);
    svc_config c;
    svc_config_load(&c);
    EXPECT_EQ(1u, c.max_spool_count);
    EXPECT_EQ(4096u, c.max_spool_mb);
    EXPECT_EQ(31536000u, c.default_ttl);
    EXPECT_EQ(0u, c.rate_per_minute);
    EXPECT_EQ(7u, c.rate_burst);
    EXPECT_EQ(16u, c.log_max_kb);
    EXPECT_STREQ(L"D:P(A;;FA;;;SY)", c.submit_sddl);
    EXPECT_STREQ(L"\\\\.\\pipe\\Pipes.Other", c.submit_pipe);
    EXPECT_STREQ(L"C:\\PipesData\\spool", c.spool_dir);
    EXPECT_EQ(1, c.has_session_override);
    EXPECT_EQ(3u, c.session_override);
}

TEST_F(ConfigTest, InvalidValuesFallBackToTheirDefaults)
{
    set_string(L"MaxSpoolCount", L"lots");       // wrong type
    set_dword(L"MaxSpoolMB", 0);                 // below the range
    set_dword(L"DefaultTtlSeconds", 31536001);   // above the range
    set_dword(L"RateLimitPerMinute", 1000001);   // above the range
    set_dword(L"RateLimitBurst", 0);             // below the range
    set_dword(L"LogMaxKB", 15);                  // below the range
    set_string(L"SubmitSddl", L"D:(this is not SDDL");
    set_string(L"SubmitPipe", L"Pipes.Service"); // not \\.\pipe\<name>
    set_string(L"DataDirectory", L"relative\\dir");
    svc_config c;
    svc_config_load(&c);
    expect_defaults(c);
    wchar_t pd[MAX_PATH];
    ASSERT_GT(GetEnvironmentVariableW(L"ProgramData", pd, MAX_PATH), 0u);
    EXPECT_EQ(std::wstring(pd) + L"\\Pipes\\spool", c.spool_dir);
    svc_config_report(); // before svc_log_init: to stderr; the end-to-end suite checks the log
}

TEST_F(ConfigTest, ExpandSzDataDirectoryIsExpanded)
{
    set_string(L"DataDirectory", L"%ProgramData%\\PipesX", REG_EXPAND_SZ);
    svc_config c;
    svc_config_load(&c);
    wchar_t pd[MAX_PATH];
    ASSERT_GT(GetEnvironmentVariableW(L"ProgramData", pd, MAX_PATH), 0u);
    EXPECT_EQ(std::wstring(pd) + L"\\PipesX\\logs", c.log_dir);
}

} // namespace

// ---- senders, isolation and abuse (docs/SERVICE.md "Who may notify whom", "Per-user limits",
// "Connections") --------------------------------------------------------------------------------

namespace {

class LimitsConfigTest : public ConfigTest {
protected:
    void set_rate(const wchar_t *name, const wchar_t *value)
    {
        set_string(name, value, REG_SZ, SVC_CONFIG_KEY L"\\RateLimits");
    }
};

TEST_F(LimitsConfigTest, TheDefaultsAreTheDocumentedOnes)
{
    svc_config c;
    svc_config_load(&c);
    EXPECT_EQ(0u, c.standard_user_reach);
    EXPECT_EQ(1000u, c.user_spool_count);
    EXPECT_EQ(8u, c.user_spool_mb);
    EXPECT_EQ(86400u, c.user_max_ttl);
    EXPECT_EQ(300u, c.absent_session_ttl);
    EXPECT_EQ(1024u, c.max_connections);
    EXPECT_EQ(16u, c.conns_per_process);
    EXPECT_EQ(256u, c.conns_per_session);
    EXPECT_EQ(64u, c.conns_per_user);
    EXPECT_EQ(10u, c.first_message_timeout);
    EXPECT_EQ(120u, c.idle_timeout);
    EXPECT_EQ(0u, c.rate_override_n);
    EXPECT_STREQ("", c.tray_user_override) << "never read from the registry";
}

TEST_F(LimitsConfigTest, ValuesAreTakenAndBadOnesFallBack)
{
    set_dword(L"StandardUserReach", 1);
    set_dword(L"MaxSpoolCountPerUser", 5);
    set_dword(L"MaxConnectionsPerProcess", 2);
    set_dword(L"FirstMessageTimeoutSeconds", 0); // below the range
    set_dword(L"MaxConnections", 8);             // below the range
    svc_config c;
    svc_config_load(&c);
    EXPECT_EQ(1u, c.standard_user_reach);
    EXPECT_EQ(5u, c.user_spool_count);
    EXPECT_EQ(2u, c.conns_per_process);
    EXPECT_EQ(10u, c.first_message_timeout);
    EXPECT_EQ(1024u, c.max_connections);
    svc_config_report();
}

// RateLimits\<SID> = "PER_MINUTE,BURST": that account's limits; every other account the defaults.
TEST_F(LimitsConfigTest, RateLimitsPerAccount)
{
    set_dword(L"RateLimitPerMinute", 60);
    set_dword(L"RateLimitBurst", 10);
    set_rate(L"S-1-5-18", L"6000,500");
    set_rate(L"S-1-5-80-1-2-3-4-5", L"0,1"); // no limit for that service
    set_rate(L"S-1-5-21-1-2-3-1001", L"lots");   // ignored
    set_rate(L"not-a-sid", L"1,1");              // ignored
    set_rate(L"S-1-5-21-1-2-3-1002", L"5,0");    // burst below 1: ignored
    svc_config c;
    svc_config_load(&c);
    EXPECT_EQ(2u, c.rate_override_n);
    uint32_t pm = 0, burst = 0;
    svc_config_rate(&c, "S-1-5-18", &pm, &burst);
    EXPECT_EQ(6000u, pm);
    EXPECT_EQ(500u, burst);
    svc_config_rate(&c, "S-1-5-80-1-2-3-4-5", &pm, &burst);
    EXPECT_EQ(0u, pm);
    svc_config_rate(&c, "S-1-5-21-1-2-3-1001", &pm, &burst);
    EXPECT_EQ(60u, pm);
    EXPECT_EQ(10u, burst);
    svc_config_report();
}

} // namespace
