/*
 * config.c - HKLM\SOFTWARE\Pipes\Service, read once at start. A missing
 * value takes its default; a present but invalid one (wrong type, out of
 * range, bad SDDL) is logged and replaced by its default, so a typo never
 * keeps the service from starting.
 */
#include "svc.h"

#include <sddl.h>
#include <string.h>
#include <wchar.h>

#include "messages.h"

typedef struct dword_setting {
    const wchar_t *name;
    uint32_t min, max, def;
    size_t offset;
} dword_setting;

#define FIELD(f) offsetof(svc_config, f)

static const dword_setting k_dwords[] = {
    {L"MaxSpoolCount", 1, 1000000, 10000, FIELD(max_spool_count)},
    {L"MaxSpoolMB", 1, 4096, 64, FIELD(max_spool_mb)},
    {L"DefaultTtlSeconds", 1, PIPES_PROTO_MAX_TTL, 86400, FIELD(default_ttl)},
    {L"RateLimitPerMinute", 0, 1000000, 600, FIELD(rate_per_minute)},
    {L"RateLimitBurst", 1, 1000000, 100, FIELD(rate_burst)},
    {L"LogMaxKB", 16, 1048576, 1024, FIELD(log_max_kb)},
    {L"StandardUserReach", 0, 1, 0, FIELD(standard_user_reach)},
    {L"MaxSpoolCountPerUser", 1, 1000000, 1000, FIELD(user_spool_count)},
    {L"MaxSpoolMBPerUser", 1, 4096, 8, FIELD(user_spool_mb)},
    {L"MaxUserTtlSeconds", 1, PIPES_PROTO_MAX_TTL, 86400, FIELD(user_max_ttl)},
    {L"AbsentSessionTtlSeconds", 1, PIPES_PROTO_MAX_TTL, 300, FIELD(absent_session_ttl)},
    {L"MaxConnections", 16, 16384, 1024, FIELD(max_connections)},
    {L"MaxConnectionsPerProcess", 1, 16384, 16, FIELD(conns_per_process)},
    {L"MaxConnectionsPerSession", 1, 16384, 256, FIELD(conns_per_session)},
    {L"MaxConnectionsPerUser", 1, 16384, 64, FIELD(conns_per_user)},
    {L"FirstMessageTimeoutSeconds", 1, 3600, 10, FIELD(first_message_timeout)},
    {L"IdleTimeoutSeconds", 1, 86400, 120, FIELD(idle_timeout)},
};

/* Problems are kept until svc_config_report: the log file's location is
 * itself configuration, so it opens after loading. */
#define MAX_PROBLEMS 16
static wchar_t g_problems[MAX_PROBLEMS][3][SVC_MAX_SDDL];
static size_t g_problem_count;

static void invalid(const wchar_t *name, const wchar_t *why, const wchar_t *def)
{
    if (g_problem_count < MAX_PROBLEMS) {
        wcsncpy(g_problems[g_problem_count][0], name, SVC_MAX_SDDL - 1);
        wcsncpy(g_problems[g_problem_count][1], why, SVC_MAX_SDDL - 1);
        wcsncpy(g_problems[g_problem_count][2], def, SVC_MAX_SDDL - 1);
        g_problem_count++;
    }
}

void svc_config_report(void)
{
    size_t i;
    for (i = 0; i < g_problem_count; i++)
        svc_event(EVENTLOG_WARNING_TYPE, MSG_CONFIG_INVALID, g_problems[i][0], g_problems[i][1],
                  g_problems[i][2]);
    g_problem_count = 0;
}

void svc_config_defaults(svc_config *cfg)
{
    size_t i;
    wchar_t base[MAX_PATH];
    DWORD n;

    memset(cfg, 0, sizeof *cfg);
    for (i = 0; i < sizeof k_dwords / sizeof k_dwords[0]; i++)
        *(uint32_t *)((char *)cfg + k_dwords[i].offset) = k_dwords[i].def;
    wcscpy(cfg->submit_sddl, SVC_DEFAULT_SUBMIT_SDDL);
    wcscpy(cfg->submit_pipe, PIPES_PROTO_SERVICE_PIPE_W);
    n = GetEnvironmentVariableW(L"ProgramData", base, MAX_PATH);
    if (n == 0 || n >= MAX_PATH - 32)
        wcscpy(base, L"C:\\ProgramData");
    swprintf(cfg->data_dir, MAX_PATH, L"%ls\\Pipes", base);
    svc_fleet_defaults(&cfg->fleet);
}

static void derive_paths(svc_config *cfg)
{
    swprintf(cfg->spool_dir, MAX_PATH, L"%ls\\spool", cfg->data_dir);
    swprintf(cfg->log_dir, MAX_PATH, L"%ls\\logs", cfg->data_dir);
}

/* Reads a REG_SZ/REG_EXPAND_SZ value into out (cap chars). Returns 1 when
 * present and valid, 0 when absent, -1 when present but unusable. */
static int read_string(HKEY key, const wchar_t *name, wchar_t *out, size_t cap)
{
    DWORD type = 0, size = (DWORD)(cap * sizeof(wchar_t));
    wchar_t raw[SVC_MAX_SDDL];
    LSTATUS rc;

    size = sizeof raw - sizeof(wchar_t);
    rc = RegQueryValueExW(key, name, NULL, &type, (BYTE *)raw, &size);
    if (rc == ERROR_FILE_NOT_FOUND)
        return 0;
    if (rc != ERROR_SUCCESS || (type != REG_SZ && type != REG_EXPAND_SZ))
        return -1;
    raw[size / sizeof(wchar_t)] = L'\0';
    if (raw[0] == L'\0')
        return -1;
    if (type == REG_EXPAND_SZ) {
        DWORD n = ExpandEnvironmentStringsW(raw, out, (DWORD)cap);
        return (n == 0 || n > cap) ? -1 : 1;
    }
    if (wcslen(raw) >= cap)
        return -1;
    wcscpy(out, raw);
    return 1;
}

void svc_config_rate(const svc_config *cfg, const char *sid, uint32_t *per_minute,
                     uint32_t *burst)
{
    size_t i;
    for (i = 0; i < cfg->rate_override_n; i++) {
        if (_stricmp(cfg->rate_overrides[i].sid, sid) == 0) {
            *per_minute = cfg->rate_overrides[i].per_minute;
            *burst = cfg->rate_overrides[i].burst;
            return;
        }
    }
    *per_minute = cfg->rate_per_minute;
    *burst = cfg->rate_burst;
}

/* RateLimits: one REG_SZ value per account, named by its SID, holding
 * "PER_MINUTE,BURST" (the ranges of RateLimitPerMinute and RateLimitBurst). */
static void load_rate_overrides(HKEY parent, svc_config *cfg)
{
    HKEY key;
    DWORD i;
    if (RegOpenKeyExW(parent, L"RateLimits", 0, KEY_QUERY_VALUE, &key) != ERROR_SUCCESS)
        return;
    for (i = 0;; i++) {
        wchar_t name[PIPES_PROTO_MAX_SID + 2], data[64], full[PIPES_PROTO_MAX_SID + 16];
        DWORD nn = PIPES_PROTO_MAX_SID + 2, size = sizeof data - sizeof(wchar_t), type = 0;
        unsigned long pm = 0, burst = 0;
        wchar_t end = 0;
        svc_rate_override *o = &cfg->rate_overrides[cfg->rate_override_n];
        LSTATUS rc = RegEnumValueW(key, i, name, &nn, NULL, &type, (BYTE *)data, &size);
        if (rc == ERROR_NO_MORE_ITEMS)
            break;
        swprintf(full, sizeof full / sizeof full[0], L"RateLimits\\%ls",
                 rc == ERROR_SUCCESS ? name : L"?");
        if (rc != ERROR_SUCCESS || type != REG_SZ) {
            invalid(full, L"not a REG_SZ \"PER_MINUTE,BURST\" named by an account SID",
                    L"(ignored)");
            continue;
        }
        data[size / sizeof(wchar_t)] = L'\0';
        if (svc_to_utf8(name, o->sid, sizeof o->sid) <= 0 ||
            !pipes_proto_sid_valid(o->sid, strlen(o->sid)) ||
            swscanf(data, L"%lu,%lu%lc", &pm, &burst, &end) != 2 || pm > 1000000 || burst < 1 ||
            burst > 1000000) {
            invalid(full, L"not \"PER_MINUTE,BURST\" (0..1000000, 1..1000000) named by a SID",
                    L"(ignored)");
            continue;
        }
        if (cfg->rate_override_n == SVC_MAX_RATE_OVERRIDES) {
            invalid(full, L"more than 64 RateLimits values", L"(ignored)");
            break;
        }
        o->per_minute = (uint32_t)pm;
        o->burst = (uint32_t)burst;
        cfg->rate_override_n++;
    }
    RegCloseKey(key);
}

void svc_config_load(svc_config *cfg)
{
    HKEY key;
    size_t i;
    wchar_t text[SVC_MAX_SDDL], def[64];

    svc_config_defaults(cfg);
    g_problem_count = 0;
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, SVC_CONFIG_KEY, 0, KEY_QUERY_VALUE, &key) !=
        ERROR_SUCCESS) {
        derive_paths(cfg);
        return;
    }
    for (i = 0; i < sizeof k_dwords / sizeof k_dwords[0]; i++) {
        const dword_setting *s = &k_dwords[i];
        DWORD type = 0, value = 0, size = sizeof value;
        LSTATUS rc = RegQueryValueExW(key, s->name, NULL, &type, (BYTE *)&value, &size);
        if (rc == ERROR_FILE_NOT_FOUND)
            continue;
        swprintf(def, 64, L"%lu", (unsigned long)s->def);
        if (rc != ERROR_SUCCESS || type != REG_DWORD || size != sizeof value) {
            invalid(s->name, L"not a REG_DWORD", def);
            continue;
        }
        if (value < s->min || value > s->max) {
            swprintf(text, SVC_MAX_SDDL, L"%lu is outside %lu..%lu", (unsigned long)value,
                     (unsigned long)s->min, (unsigned long)s->max);
            invalid(s->name, text, def);
            continue;
        }
        *(uint32_t *)((char *)cfg + s->offset) = value;
    }

    switch (read_string(key, L"SubmitSddl", text, SVC_MAX_SDDL)) {
    case 1: {
        PSECURITY_DESCRIPTOR sd = NULL;
        if (ConvertStringSecurityDescriptorToSecurityDescriptorW(text, SDDL_REVISION_1, &sd,
                                                                 NULL)) {
            LocalFree(sd);
            wcscpy(cfg->submit_sddl, text);
        } else {
            invalid(L"SubmitSddl", L"not a valid SDDL string", SVC_DEFAULT_SUBMIT_SDDL);
        }
        break;
    }
    case -1: invalid(L"SubmitSddl", L"not a non-empty REG_SZ", SVC_DEFAULT_SUBMIT_SDDL); break;
    default: break;
    }

    switch (read_string(key, L"DataDirectory", text, MAX_PATH - 32)) {
    case 1:
        if (text[0] != L'\0' && text[1] == L':' && text[2] == L'\\')
            wcscpy(cfg->data_dir, text);
        else
            invalid(L"DataDirectory", L"not an absolute path", cfg->data_dir);
        break;
    case -1: invalid(L"DataDirectory", L"not a usable path string", cfg->data_dir); break;
    default: break;
    }

    switch (read_string(key, L"SubmitPipe", text, PIPES_MAX_PIPE_NAME)) {
    case 1:
        if (_wcsnicmp(text, L"\\\\.\\pipe\\", 9) == 0 && text[9] != L'\0')
            wcscpy(cfg->submit_pipe, text);
        else
            invalid(L"SubmitPipe", L"not \\\\.\\pipe\\<name>", PIPES_PROTO_SERVICE_PIPE_W);
        break;
    case -1: invalid(L"SubmitPipe", L"not a non-empty REG_SZ", PIPES_PROTO_SERVICE_PIPE_W); break;
    default: break;
    }

    {
        /* Test hook: require tray servers to run in this session instead of
         * the session they serve, to prove the identity check refuses. */
        DWORD type = 0, value = 0, size = sizeof value;
        LSTATUS rc = RegQueryValueExW(key, L"RequiredServerSessionOverride", NULL, &type,
                                      (BYTE *)&value, &size);
        if (rc == ERROR_SUCCESS && type == REG_DWORD && size == sizeof value) {
            cfg->has_session_override = 1;
            cfg->session_override = value;
        } else if (rc != ERROR_FILE_NOT_FOUND) {
            invalid(L"RequiredServerSessionOverride", L"not a REG_DWORD", L"(none)");
        }
    }
    load_rate_overrides(key, cfg);
    svc_fleet_load(key, &cfg->fleet);
    RegCloseKey(key);
    derive_paths(cfg);
}

void svc_config_invalid(const wchar_t *name, const wchar_t *why, const wchar_t *def)
{
    invalid(name, why, def);
}

int svc_config_read_string(HKEY key, const wchar_t *name, wchar_t *out, size_t cap)
{
    return read_string(key, name, out, cap);
}
