/*
 * settings.c - what the user sets in the tray, kept in <data dir>\settings.ini:
 *
 *   [Window]  AllInWindow=0|1   show every notification in the Pipes window
 *   [Muted]   Count=N, SourceK=<source>, UntilK=<Unix ms, 0 = until unmuted>
 *
 * The file is created UTF-16 (with a byte order mark), so the profile API
 * keeps sources in any language. Muted sources' notifications are stored and
 * acknowledged as usual but not shown (urgent ones are); an expired mute is
 * dropped when it is next looked at.
 *
 * GUI thread only.
 */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ini_path(tray_app *app, wchar_t *out)
{
    swprintf(out, MAX_PATH, L"%ls\\settings.ini", app->data_dir);
}

int64_t settings_now_ms(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    return pipes_proto_time_from_filetime(((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime);
}

void settings_load(tray_app *app)
{
    wchar_t path[MAX_PATH], key[32], value[32];
    unsigned i, count;
    ini_path(app, path);
    app->all_in_window = (int)GetPrivateProfileIntW(L"Window", L"AllInWindow", 0, path) != 0;
    count = GetPrivateProfileIntW(L"Muted", L"Count", 0, path);
    app->mute_count = 0;
    for (i = 1; i <= count && app->mute_count < TRAY_MUTE_MAX; ++i) {
        tray_mute *m = &app->mutes[app->mute_count];
        swprintf(key, ARRAYSIZE(key), L"Source%u", i);
        if (!GetPrivateProfileStringW(L"Muted", key, L"", m->source, ARRAYSIZE(m->source), path)) {
            continue;
        }
        swprintf(key, ARRAYSIZE(key), L"Until%u", i);
        GetPrivateProfileStringW(L"Muted", key, L"0", value, ARRAYSIZE(value), path);
        m->until_ms = _wtoi64(value);
        ++app->mute_count;
    }
}

void settings_save(tray_app *app)
{
    wchar_t path[MAX_PATH], key[32], value[32];
    unsigned i;
    HANDLE f;
    ini_path(app, path);
    /* A new file starts with a UTF-16 byte order mark: the profile API then
     * writes it as UTF-16 and keeps any character. */
    f = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    if (f != INVALID_HANDLE_VALUE) {
        static const unsigned char bom[2] = {0xFF, 0xFE};
        DWORD done;
        WriteFile(f, bom, sizeof(bom), &done, NULL);
        CloseHandle(f);
    }
    WritePrivateProfileStringW(L"Window", L"AllInWindow", app->all_in_window ? L"1" : L"0", path);
    WritePrivateProfileStringW(L"Muted", NULL, NULL, path); /* rewrite the section whole */
    swprintf(value, ARRAYSIZE(value), L"%u", app->mute_count);
    WritePrivateProfileStringW(L"Muted", L"Count", value, path);
    for (i = 0; i < app->mute_count; ++i) {
        swprintf(key, ARRAYSIZE(key), L"Source%u", i + 1);
        WritePrivateProfileStringW(L"Muted", key, app->mutes[i].source, path);
        swprintf(key, ARRAYSIZE(key), L"Until%u", i + 1);
        swprintf(value, ARRAYSIZE(value), L"%lld", (long long)app->mutes[i].until_ms);
        WritePrivateProfileStringW(L"Muted", key, value, path);
    }
    WritePrivateProfileStringW(NULL, NULL, NULL, path); /* flush the profile cache */
}

static int find(tray_app *app, const wchar_t *source)
{
    unsigned i;
    for (i = 0; i < app->mute_count; ++i) {
        if (wcscmp(app->mutes[i].source, source) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int settings_is_muted(tray_app *app, const char *source_utf8)
{
    wchar_t source[PIPES_PROTO_MAX_SOURCE + 1];
    int i;
    if (!source_utf8[0]) {
        return 0;
    }
    text_utf8_to_wide_buf(source_utf8, strlen(source_utf8), source, ARRAYSIZE(source));
    i = find(app, source);
    if (i < 0) {
        return 0;
    }
    if (app->mutes[i].until_ms != 0 && app->mutes[i].until_ms <= settings_now_ms()) {
        char *name = text_wide_to_utf8(source);
        app_log(app, "mute of %s ended", name ? name : "?");
        free(name);
        settings_unmute(app, (unsigned)i);
        return 0;
    }
    return 1;
}

void settings_mute(tray_app *app, const char *source_utf8, int64_t until_ms)
{
    wchar_t source[PIPES_PROTO_MAX_SOURCE + 1];
    int i;
    text_utf8_to_wide_buf(source_utf8, strlen(source_utf8), source, ARRAYSIZE(source));
    i = find(app, source);
    if (i < 0) {
        if (app->mute_count == TRAY_MUTE_MAX) {
            settings_unmute(app, 0); /* the oldest mute makes room */
        }
        i = (int)app->mute_count++;
        wcscpy(app->mutes[i].source, source);
    }
    app->mutes[i].until_ms = until_ms;
    app_log(app, "muted %s until %lld", source_utf8, (long long)until_ms);
    settings_save(app);
}

void settings_unmute(tray_app *app, unsigned index)
{
    char *name;
    if (index >= app->mute_count) {
        return;
    }
    name = text_wide_to_utf8(app->mutes[index].source);
    app_log(app, "unmuted %s", name ? name : "?");
    free(name);
    memmove(&app->mutes[index], &app->mutes[index + 1],
            (app->mute_count - index - 1) * sizeof(app->mutes[0]));
    --app->mute_count;
    settings_save(app);
}
