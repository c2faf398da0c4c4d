/*
 * fleetconfig.c - the broker settings: the Broker* values of
 * HKLM\SOFTWARE\Pipes\Service (docs/FLEET.md, docs/SERVICE.md), and the
 * broker password, kept there only as a DPAPI blob with machine scope.
 * Read once at start, like the rest of the configuration; an invalid value
 * is reported (svc_config_report) and replaced by its default, and an
 * invalid BrokerUrl leaves the bridge off rather than the service down.
 */
#include "svc.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <wincrypt.h>

/* Ties a blob to this use: a DPAPI blob made for something else on the
 * machine does not decrypt as the broker password. */
static const char k_entropy[] = "PipesService.BrokerPassword.v1";
#define DEFAULT_PREFIX "pipes/v1"
#define DEFAULT_KEEP_ALIVE 60u

void svc_fleet_defaults(svc_fleet_config *f)
{
    wchar_t name[MAX_COMPUTERNAME_LENGTH + 1];
    DWORD n = MAX_COMPUTERNAME_LENGTH + 1, i;

    memset(f, 0, sizeof *f);
    strcpy(f->prefix, DEFAULT_PREFIX);
    f->keep_alive = DEFAULT_KEEP_ALIVE;
    if (!GetComputerNameW(name, &n))
        wcscpy(name, L"unknown");
    /* Topics are case-sensitive and Windows names are not: one spelling. */
    for (i = 0; name[i]; i++)
        name[i] = (wchar_t)towlower(name[i]);
    if (svc_to_utf8(name, f->computer, sizeof f->computer) < 0)
        strcpy(f->computer, "unknown");
    snprintf(f->client_id, sizeof f->client_id, "pipes-%s", f->computer);
}

/* A UTF-8 string value into out; reports it and returns 0 when unusable or
 * when check (optional) refuses it. */
static int read_utf8(HKEY key, const wchar_t *name, char *out, size_t cap,
                     int (*check)(const char *), const wchar_t *rule)
{
    wchar_t text[SVC_MAX_SDDL];
    char tmp[1024];
    int r = svc_config_read_string(key, name, text, SVC_MAX_SDDL);
    if (r == 0)
        return 0;
    if (r < 0 || svc_to_utf8(text, tmp, sizeof tmp) < 0 || strlen(tmp) >= cap ||
        (check && !check(tmp))) {
        svc_config_invalid(name, rule, L"(default)");
        return 0;
    }
    strcpy(out, tmp);
    return 1;
}

/* A topic prefix: 1..127 bytes, no wildcard, no U+0000, no leading or
 * trailing '/' (the bridge adds the separators). */
static int prefix_ok(const char *p)
{
    size_t n = strlen(p);
    return n > 0 && !strpbrk(p, "+#") && p[0] != '/' && p[n - 1] != '/';
}

static int client_id_ok(const char *p)
{
    return p[0] != '\0';
}

static int url_ok(const wchar_t *u)
{
    return _wcsnicmp(u, L"mqtts://", 8) == 0 || _wcsnicmp(u, L"mqtt://", 7) == 0;
}

int svc_fleet_parse_thumbprint(const wchar_t *text, uint8_t sha1[20])
{
    size_t digits = 0;
    for (const wchar_t *p = text; *p; p++) {
        int v;
        if (*p == L' ')
            continue;
        if (*p >= L'0' && *p <= L'9')
            v = *p - L'0';
        else if (*p >= L'a' && *p <= L'f')
            v = *p - L'a' + 10;
        else if (*p >= L'A' && *p <= L'F')
            v = *p - L'A' + 10;
        else
            return 0;
        if (digits == 40)
            return 0;
        if (digits % 2 == 0)
            sha1[digits / 2] = (uint8_t)(v << 4);
        else
            sha1[digits / 2] |= (uint8_t)v;
        digits++;
    }
    return digits == 40;
}

void svc_fleet_load(HKEY key, svc_fleet_config *f)
{
    wchar_t thumbprint[128];
    DWORD type = 0, value = 0, size = sizeof value;
    LSTATUS rc;

    switch (svc_config_read_string(key, L"BrokerUrl", f->url, 512)) {
    case 1:
        if (url_ok(f->url))
            f->enabled = 1;
        else
            svc_config_invalid(L"BrokerUrl", L"not mqtts://host[:port] or mqtt://host[:port]",
                               L"(no broker)");
        break;
    case -1: svc_config_invalid(L"BrokerUrl", L"not a non-empty REG_SZ", L"(no broker)"); break;
    default: break;
    }
    if (!f->enabled)
        f->url[0] = L'\0';

    rc = RegQueryValueExW(key, L"BrokerAllowPlainText", NULL, &type, (BYTE *)&value, &size);
    if (rc == ERROR_SUCCESS && type == REG_DWORD && size == sizeof value && value <= 1)
        f->allow_plain = value;
    else if (rc != ERROR_FILE_NOT_FOUND)
        svc_config_invalid(L"BrokerAllowPlainText", L"not a REG_DWORD 0 or 1", L"0");

    type = 0;
    size = sizeof value;
    rc = RegQueryValueExW(key, L"BrokerKeepAliveSeconds", NULL, &type, (BYTE *)&value, &size);
    if (rc == ERROR_SUCCESS && type == REG_DWORD && size == sizeof value && value >= 10 &&
        value <= 3600)
        f->keep_alive = value;
    else if (rc != ERROR_FILE_NOT_FOUND)
        svc_config_invalid(L"BrokerKeepAliveSeconds", L"not a REG_DWORD in 10..3600", L"60");

    read_utf8(key, L"BrokerClientId", f->client_id, sizeof f->client_id, client_id_ok,
              L"not a REG_SZ of 1..127 bytes");
    read_utf8(key, L"BrokerUserName", f->user_name, sizeof f->user_name, NULL,
              L"not a REG_SZ of 1..255 bytes");
    read_utf8(key, L"BrokerTopicPrefix", f->prefix, sizeof f->prefix, prefix_ok,
              L"not a REG_SZ of 1..127 bytes without + # or a leading or trailing /");
    if (svc_config_read_string(key, L"BrokerCaFile", f->ca_file, MAX_PATH) < 0) {
        f->ca_file[0] = L'\0';
        svc_config_invalid(L"BrokerCaFile", L"not a usable path string",
                           L"(the machine's trusted roots)");
    }

    /* Only the thumbprint is configuration: the certificate and its private
     * key stay in the machine's store (mqtt_clientcert.c opens them). */
    int r = svc_config_read_string(key, L"BrokerClientCertificate", thumbprint, 128);
    if (r == 1)
        f->has_client_cert = svc_fleet_parse_thumbprint(thumbprint, f->client_cert);
    if (r < 0 || (r == 1 && !f->has_client_cert))
        svc_config_invalid(L"BrokerClientCertificate",
                           L"not a SHA-1 thumbprint (40 hex digits, spaces allowed)",
                           L"(no client certificate)");

    type = 0;
    size = sizeof f->password_blob;
    rc = RegQueryValueExW(key, L"BrokerPassword", NULL, &type, f->password_blob, &size);
    if (rc == ERROR_SUCCESS && type == REG_BINARY && size > 0) {
        f->password_blob_len = size;
    } else if (rc != ERROR_FILE_NOT_FOUND) {
        svc_config_invalid(L"BrokerPassword",
                           L"not a REG_BINARY of at most 1024 bytes (set it with "
                           L"PipesService fleet-password)",
                           L"(no password)");
    }
}

DWORD svc_fleet_protect(const void *clear, size_t len, BYTE **blob, DWORD *blob_len)
{
    DATA_BLOB in, out, ent;
    in.pbData = (BYTE *)clear;
    in.cbData = (DWORD)len;
    ent.pbData = (BYTE *)k_entropy;
    ent.cbData = (DWORD)(sizeof k_entropy - 1);
    if (!CryptProtectData(&in, L"Pipes broker password", &ent, NULL, NULL,
                          CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN, &out))
        return GetLastError();
    *blob = out.pbData;
    *blob_len = out.cbData;
    return ERROR_SUCCESS;
}

DWORD svc_fleet_unprotect(const BYTE *blob, DWORD blob_len, char *out, size_t cap, size_t *len)
{
    DATA_BLOB in, clear, ent;
    DWORD rc = ERROR_SUCCESS;
    in.pbData = (BYTE *)blob;
    in.cbData = blob_len;
    ent.pbData = (BYTE *)k_entropy;
    ent.cbData = (DWORD)(sizeof k_entropy - 1);
    if (!CryptUnprotectData(&in, NULL, &ent, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN, &clear))
        return GetLastError();
    if (clear.cbData > cap) {
        rc = ERROR_INSUFFICIENT_BUFFER;
    } else {
        memcpy(out, clear.pbData, clear.cbData);
        *len = clear.cbData;
    }
    SecureZeroMemory(clear.pbData, clear.cbData);
    LocalFree(clear.pbData);
    return rc;
}

int verb_fleet_password(void)
{
    char line[512];
    size_t n = 0;
    BYTE *blob = NULL;
    DWORD blob_len = 0, rc;
    HKEY key;

    if (!fgets(line, sizeof line, stdin))
        line[0] = '\0';
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    rc = RegCreateKeyExW(HKEY_LOCAL_MACHINE, SVC_CONFIG_KEY, 0, NULL, 0, KEY_SET_VALUE, NULL,
                         &key, NULL);
    if (rc == ERROR_SUCCESS) {
        if (n == 0) {
            rc = RegDeleteValueW(key, L"BrokerPassword");
            if (rc == ERROR_FILE_NOT_FOUND)
                rc = ERROR_SUCCESS;
        } else if ((rc = svc_fleet_protect(line, n, &blob, &blob_len)) == ERROR_SUCCESS) {
            rc = blob_len > 1024 ? ERROR_INSUFFICIENT_BUFFER
                                 : (DWORD)RegSetValueExW(key, L"BrokerPassword", 0, REG_BINARY,
                                                         blob, blob_len);
            LocalFree(blob);
        }
        RegCloseKey(key);
    }
    SecureZeroMemory(line, sizeof line);
    if (rc != ERROR_SUCCESS) {
        wchar_t text[256];
        svc_win32_text(rc, text, 256);
        fwprintf(stderr, L"PipesService: storing BrokerPassword failed: %ls (%lu)\n", text,
                 (unsigned long)rc);
        return rc == ERROR_ACCESS_DENIED ? SVC_EXIT_ACCESS_DENIED : SVC_EXIT_FAILED;
    }
    fwprintf(stderr, n ? L"PipesService: BrokerPassword stored (DPAPI, machine scope); "
                         L"restart the service to use it\n"
                       : L"PipesService: BrokerPassword removed\n");
    return SVC_EXIT_OK;
}
