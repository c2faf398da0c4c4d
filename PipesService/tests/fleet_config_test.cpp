// fleet_config_test.cpp - unit tests of the broker settings (fleetconfig.c): off by default with the
// documented defaults, values taken when valid, invalid ones replaced by their default (an invalid
// BrokerUrl leaves the bridge off), and the DPAPI machine-scope round trip of the password as the
// fleet-password verb stores it; the client certificate's thumbprint (BrokerClientCertificate) as
// certlm.msc shows it. The key is deleted before and after each test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <cwchar>

#include "svc.h"

namespace {

class FleetConfigTest : public ::testing::Test {
protected:
    void SetUp() override { RegDeleteTreeW(HKEY_LOCAL_MACHINE, SVC_CONFIG_KEY); }
    void TearDown() override { RegDeleteTreeW(HKEY_LOCAL_MACHINE, SVC_CONFIG_KEY); }

    void set(const wchar_t *name, DWORD type, const void *data, DWORD size)
    {
        HKEY k = nullptr;
        ASSERT_EQ(ERROR_SUCCESS, RegCreateKeyExW(HKEY_LOCAL_MACHINE, SVC_CONFIG_KEY, 0, nullptr, 0,
                                                 KEY_SET_VALUE, nullptr, &k, nullptr));
        ASSERT_EQ(ERROR_SUCCESS,
                  RegSetValueExW(k, name, 0, type, static_cast<const BYTE *>(data), size));
        RegCloseKey(k);
    }
    void set_string(const wchar_t *name, const wchar_t *v)
    {
        set(name, REG_SZ, v, static_cast<DWORD>((wcslen(v) + 1) * sizeof(wchar_t)));
    }
    void set_dword(const wchar_t *name, DWORD v) { set(name, REG_DWORD, &v, sizeof v); }
};

TEST_F(FleetConfigTest, OffByDefaultWithTheDocumentedDefaults)
{
    svc_config c;
    svc_config_load(&c);
    const svc_fleet_config &f = c.fleet;
    EXPECT_EQ(0, f.enabled);
    EXPECT_STREQ(L"", f.url);
    EXPECT_EQ(0u, f.allow_plain);
    EXPECT_STREQ("pipes/v1", f.prefix);
    EXPECT_EQ(60u, f.keep_alive);
    EXPECT_EQ(0u, f.password_blob_len);
    EXPECT_STREQ(L"", f.ca_file);
    EXPECT_EQ(0, f.has_client_cert);
    ASSERT_GT(strlen(f.computer), 0u);
    for (const char *p = f.computer; *p; p++)
        EXPECT_FALSE(*p >= 'A' && *p <= 'Z') << "computer name not in lower case: " << f.computer;
    EXPECT_EQ(std::string("pipes-") + f.computer, f.client_id);
}

TEST_F(FleetConfigTest, ValidValuesAreTaken)
{
    set_string(L"BrokerUrl", L"mqtts://broker.example:8883");
    set_dword(L"BrokerAllowPlainText", 1);
    set_string(L"BrokerClientId", L"desk-42");
    set_string(L"BrokerUserName", L"pipes");
    set_string(L"BrokerCaFile", L"C:\\ca.pem");
    set_string(L"BrokerTopicPrefix", L"corp/pipes");
    set_dword(L"BrokerKeepAliveSeconds", 30);
    svc_config c;
    svc_config_load(&c);
    EXPECT_EQ(1, c.fleet.enabled);
    EXPECT_STREQ(L"mqtts://broker.example:8883", c.fleet.url);
    EXPECT_EQ(1u, c.fleet.allow_plain);
    EXPECT_STREQ("desk-42", c.fleet.client_id);
    EXPECT_STREQ("pipes", c.fleet.user_name);
    EXPECT_STREQ(L"C:\\ca.pem", c.fleet.ca_file);
    EXPECT_STREQ("corp/pipes", c.fleet.prefix);
    EXPECT_EQ(30u, c.fleet.keep_alive);
}

TEST_F(FleetConfigTest, InvalidValuesFallBackAndABadUrlLeavesTheBridgeOff)
{
    set_string(L"BrokerUrl", L"https://broker.example");
    set_dword(L"BrokerAllowPlainText", 2);
    set_string(L"BrokerTopicPrefix", L"pipes/#");
    set_dword(L"BrokerKeepAliveSeconds", 5);
    set_string(L"BrokerPassword", L"clear text is not a DPAPI blob");
    svc_config c;
    svc_config_load(&c);
    EXPECT_EQ(0, c.fleet.enabled);
    EXPECT_STREQ(L"", c.fleet.url);
    EXPECT_EQ(0u, c.fleet.allow_plain);
    EXPECT_STREQ("pipes/v1", c.fleet.prefix);
    EXPECT_EQ(60u, c.fleet.keep_alive);
    EXPECT_EQ(0u, c.fleet.password_blob_len);
    set_string(L"BrokerTopicPrefix", L"/pipes/v1");
    svc_config_load(&c);
    EXPECT_STREQ("pipes/v1", c.fleet.prefix);
}

TEST_F(FleetConfigTest, PasswordRoundTripsThroughDpapiMachineScope)
{
    static const char pw[] = "s3cret! with spaces";
    BYTE *blob = nullptr;
    DWORD blob_len = 0;
    ASSERT_EQ(static_cast<DWORD>(ERROR_SUCCESS),
              svc_fleet_protect(pw, sizeof pw - 1, &blob, &blob_len));
    ASSERT_GT(blob_len, sizeof pw);
    // The clear text is not in the blob.
    EXPECT_EQ(blob + blob_len, std::search(blob, blob + blob_len, pw, pw + sizeof pw - 1));
    set(L"BrokerPassword", REG_BINARY, blob, blob_len);
    LocalFree(blob);

    svc_config c;
    svc_config_load(&c);
    ASSERT_EQ(blob_len, c.fleet.password_blob_len);
    char out[512];
    size_t len = 0;
    ASSERT_EQ(static_cast<DWORD>(ERROR_SUCCESS),
              svc_fleet_unprotect(c.fleet.password_blob, c.fleet.password_blob_len, out,
                                  sizeof out, &len));
    EXPECT_EQ(std::string(pw), std::string(out, len));

    // A damaged blob does not decrypt (the bridge then stays off, logged).
    c.fleet.password_blob[c.fleet.password_blob_len / 2] ^= 0x55;
    EXPECT_NE(static_cast<DWORD>(ERROR_SUCCESS),
              svc_fleet_unprotect(c.fleet.password_blob, c.fleet.password_blob_len, out,
                                  sizeof out, &len));
}

static const uint8_t k_thumb[20] = {0x13, 0x67, 0x95, 0xc6, 0x21, 0x2e, 0x31, 0x91, 0xa5, 0x08,
                                    0x1f, 0x30, 0x62, 0x8a, 0xf9, 0xe7, 0x0f, 0xc0, 0x87, 0xf9};

TEST_F(FleetConfigTest, ThumbprintParsesAsCertlmShowsItSpacedOrNotEitherCase)
{
    uint8_t out[20];
    const wchar_t *good[] = {L"136795c6212e3191a5081f30628af9e70fc087f9",
                             L"136795C6212E3191A5081F30628AF9E70FC087F9",
                             L"13 67 95 c6 21 2e 31 91 a5 08 1f 30 62 8a f9 e7 0f c0 87 f9",
                             L"  136795c6 212e3191a5081f30628af9e70fc087f9 "};
    for (const wchar_t *text : good) {
        memset(out, 0, sizeof out);
        ASSERT_EQ(1, svc_fleet_parse_thumbprint(text, out)) << text;
        EXPECT_EQ(0, memcmp(k_thumb, out, sizeof out)) << text;
    }
    const wchar_t *bad[] = {L"",
                            L"    ",
                            L"136795c6212e3191a5081f30628af9e70fc087f",   // 39 digits
                            L"136795c6212e3191a5081f30628af9e70fc087f9a", // 41 digits
                            L"136795c6212e3191a5081f30628af9e70fc087fg",  // not hex
                            L"13:67:95:c6:21:2e:31:91:a5:08:1f:30:62:8a:f9:e7:0f:c0:87:f9",
                            L"136795c6212e3191a5081f30628af9e70fc087f9 sha1"};
    for (const wchar_t *text : bad)
        EXPECT_EQ(0, svc_fleet_parse_thumbprint(text, out)) << text;
}

TEST_F(FleetConfigTest, ClientCertificateThumbprintIsTakenAndAnInvalidOneMeansNone)
{
    set_string(L"BrokerClientCertificate", L"13 67 95 C6 21 2E 31 91 A5 08 1F 30 62 8A F9 E7 0F C0 87 F9");
    svc_config c;
    svc_config_load(&c);
    ASSERT_EQ(1, c.fleet.has_client_cert);
    EXPECT_EQ(0, memcmp(k_thumb, c.fleet.client_cert, sizeof k_thumb));

    set_string(L"BrokerClientCertificate", L"CN=pipes-client"); // a subject is not a thumbprint
    svc_config_load(&c);
    EXPECT_EQ(0, c.fleet.has_client_cert);
    set(L"BrokerClientCertificate", REG_BINARY, k_thumb, sizeof k_thumb);
    svc_config_load(&c);
    EXPECT_EQ(0, c.fleet.has_client_cert);
}

} // namespace
