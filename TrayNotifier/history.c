/*
 * history.c - the notification history store (see history.h for the file
 * format and the durability rules).
 */
#include "history.h"

#include <shlobj.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY_FILE L"history.jsonl"
#define HISTORY_TEMP L"history.jsonl.tmp"
#define HISTORY_SLACK 64u                 /* one receiver batch (TRAY_BATCH_MAX) */
#define HISTORY_MAX_FILE (64u << 20)      /* larger than any sane history: corrupt */
#define HISTORY_LINE_CAP (PIPES_PROTO_MAX_MESSAGE + 2u)

static uint32_t id_hash(const char *id)
{
    /* FNV-1a: cheap, and only used to skip most strcmp calls. */
    uint32_t h = 2166136261u;
    for (; *id; ++id) {
        h ^= (unsigned char)*id;
        h *= 16777619u;
    }
    return h;
}

static char *dup_text(const char *s, size_t len)
{
    char *copy = (char *)malloc(len + 1);
    if (copy) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

static void entry_free(tray_entry *e)
{
    free(e->title);
    free(e->body);
    free(e->source);
    free(e->from);
    free(e->line);
    free(e->answer_line);
    memset(e, 0, sizeof(*e));
}

static tray_entry *slot(const tray_history *h, size_t i_from_oldest)
{
    return &h->ring[(h->head + i_from_oldest) % h->ring_size];
}

static void drop_oldest(tray_history *h)
{
    entry_free(slot(h, 0));
    h->head = (h->head + 1) % h->ring_size;
    --h->count;
}

static void drop_newest(tray_history *h)
{
    entry_free(slot(h, h->count - 1));
    --h->count;
}

/* A newer entry of the same sender and tag supersedes the older ones. */
static void supersede(tray_history *h, const tray_entry *newer)
{
    size_t i;
    for (i = 0; i + 1 < h->count; ++i) {
        tray_entry *e = slot(h, i);
        if (e->tag_state == TRAY_TAG_CURRENT && strcmp(e->tag, newer->tag) == 0 &&
            strcmp(e->sid, newer->sid) == 0) {
            e->tag_state = newer->is_clear ? TRAY_TAG_CLEARED : TRAY_TAG_REPLACED;
        }
    }
}

/* Adds a copy of n (stored as line) to memory; the oldest entry makes room
 * when full. */
static const tray_entry *remember(tray_history *h, const pipes_proto_notification *n,
                                  const char *line, size_t line_len)
{
    tray_entry e;
    tray_entry *added;
    memset(&e, 0, sizeof(e));
    memcpy(e.id, n->id, n->id_len + 1);
    e.id_hash = id_hash(e.id);
    e.level = n->level;
    e.time_ms = n->time_ms;
    e.title = dup_text(n->title, n->title_len);
    e.body = dup_text(n->body, n->body_len);
    e.source = dup_text(n->source, n->source_len);
    e.from = dup_text(n->sender.account, n->sender.account_len);
    e.line = dup_text(line, line_len);
    memcpy(e.sid, n->sender.sid, n->sender.sid_len + 1);
    memcpy(e.tag, n->tag, n->tag_len + 1);
    e.is_clear = n->clear != 0;
    e.has_actions = n->action_count > 0;
    e.tag_state = n->tag_len == 0 ? TRAY_TAG_NONE
                  : n->clear      ? TRAY_TAG_CLEARED
                                  : TRAY_TAG_CURRENT;
    if (!e.title || !e.body || !e.source || !e.from || !e.line) {
        entry_free(&e);
        return NULL;
    }
    if (h->count == h->ring_size) {
        drop_oldest(h);
    }
    ++h->count;
    added = slot(h, h->count - 1);
    *added = e;
    if (added->tag[0]) {
        supersede(h, added);
    }
    return added;
}

/* Records answer a (stored as line) on e; the label comes from e's actions. */
static int attach_answer(tray_history *h, tray_entry *e, const pipes_proto_answer *a,
                         const char *line, size_t line_len)
{
    unsigned i;
    char *copy = dup_text(line, line_len);
    if (!copy) {
        return 0;
    }
    free(e->answer_line);
    e->answer_line = copy;
    e->answer = *a;
    e->answer_label[0] = '\0';
    if (a->type == PIPES_PROTO_TYPE_WITHDRAW) {
        e->tag_state = TRAY_TAG_WITHDRAWN;
    }
    if (a->result == PIPES_PROTO_RESULT_ACTION &&
        pipes_proto_parse_notification(e->line, strlen(e->line), h->scratch, NULL) ==
            PIPES_PROTO_OK) {
        for (i = 0; i < h->scratch->action_count; ++i) {
            if (strcmp(h->scratch->actions[i].id, a->action) == 0) {
                memcpy(e->answer_label, h->scratch->actions[i].label,
                       h->scratch->actions[i].label_len + 1);
            }
        }
    }
    return 1;
}

/* Whether answer a may be stored on e: the first answer, or a "withdraw"
 * after this session's own "response". The service withdraws a question
 * from every session but the one whose answer it took first (PROTOCOL.md
 * 5a), so a withdraw that finds a response here means that response raced
 * the winner and lost: the history shows the answer that counts. Anything
 * else (a second response, a withdraw sent again) leaves e as it is.
 * Answers carry no sender, so an id that a direct sender's question shares
 * with a question of the service's is one question here (find_question);
 * only this desktop's user (and LocalSystem, administrators) can write to
 * the tray's pipe directly, so such a collision affects only that user's
 * own history. */
static int answer_may_replace(const tray_entry *e, const pipes_proto_answer *a)
{
    return e->answer.type == 0 ||
           (e->answer.type == PIPES_PROTO_TYPE_RESPONSE && a->type == PIPES_PROTO_TYPE_WITHDRAW);
}

static tray_entry *find_question(const tray_history *h, const char *id)
{
    size_t i;
    uint32_t hash = id_hash(id);
    for (i = h->count; i-- > 0;) {
        tray_entry *e = slot(h, i);
        if (e->has_actions && e->id_hash == hash && strcmp(e->id, id) == 0) {
            return e;
        }
    }
    return NULL;
}

static BOOL write_all(HANDLE f, const void *data, size_t size)
{
    DWORD done = 0;
    return size <= MAXDWORD && WriteFile(f, data, (DWORD)size, &done, NULL) && done == size;
}

static BOOL file_position(HANDLE f, LARGE_INTEGER *pos)
{
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    return SetFilePointerEx(f, zero, pos, FILE_CURRENT);
}

static BOOL truncate_at(HANDLE f, LARGE_INTEGER pos)
{
    return SetFilePointerEx(f, pos, NULL, FILE_BEGIN) && SetEndOfFile(f);
}

static HANDLE open_history_file(const wchar_t *path, DWORD disposition)
{
    /* Readers (tests, the user) may look while we run; nobody else writes. */
    return CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, NULL, disposition,
                       FILE_ATTRIBUTE_NORMAL, NULL);
}

/* Renames the corrupt file out of the way and starts an empty one. */
static tray_history_open_result set_aside(tray_history *h)
{
    SYSTEMTIME now;
    unsigned attempt;
    CloseHandle(h->file);
    h->file = INVALID_HANDLE_VALUE;
    GetSystemTime(&now);
    for (attempt = 0; attempt < 100; ++attempt) {
        wchar_t suffix[8] = L"";
        if (attempt > 0) {
            swprintf(suffix, 8, L"-%u", attempt);
        }
        swprintf(h->aside, MAX_PATH, L"%ls\\history.corrupt-%04u%02u%02uT%02u%02u%02uZ%ls.jsonl",
                 h->dir, now.wYear, now.wMonth, now.wDay, now.wHour, now.wMinute, now.wSecond,
                 suffix);
        if (MoveFileExW(h->path, h->aside, MOVEFILE_WRITE_THROUGH)) {
            h->file = open_history_file(h->path, CREATE_ALWAYS);
            return h->file == INVALID_HANDLE_VALUE ? TRAY_HISTORY_FAILED : TRAY_HISTORY_SET_ASIDE;
        }
        if (GetLastError() != ERROR_ALREADY_EXISTS && GetLastError() != ERROR_FILE_EXISTS) {
            break;
        }
    }
    /* Could not move it: keep it untouched and run from memory. */
    h->aside[0] = L'\0';
    return TRAY_HISTORY_FAILED;
}

static char *read_whole(HANDLE f, size_t *size)
{
    LARGE_INTEGER len;
    char *buf;
    size_t got = 0;
    if (!GetFileSizeEx(f, &len) || len.QuadPart > (LONGLONG)HISTORY_MAX_FILE) {
        return NULL;
    }
    buf = (char *)malloc((size_t)len.QuadPart + 1);
    if (!buf) {
        return NULL;
    }
    while (got < (size_t)len.QuadPart) {
        DWORD n = 0;
        if (!ReadFile(f, buf + got, (DWORD)((size_t)len.QuadPart - got), &n, NULL) || n == 0) {
            free(buf);
            return NULL;
        }
        got += n;
    }
    *size = got;
    return buf;
}

/* One line of the file into memory: a notification, or the answer to the
 * entry before it. Returns 0 for a line that is neither (corrupt). */
static int load_line(tray_history *h, const char *line, size_t len)
{
    pipes_proto_type type;
    pipes_proto_answer a;
    tray_entry *e;
    if (pipes_proto_parse_type(line, len, &type, NULL) != PIPES_PROTO_OK) {
        return 0;
    }
    if (type == PIPES_PROTO_TYPE_NOTIFY) {
        return pipes_proto_parse_notification(line, len, h->scratch, NULL) == PIPES_PROTO_OK &&
               h->scratch->has_time && remember(h, h->scratch, line, len) != NULL;
    }
    if ((type != PIPES_PROTO_TYPE_RESPONSE && type != PIPES_PROTO_TYPE_WITHDRAW) ||
        pipes_proto_parse_answer(line, len, &a, NULL) != PIPES_PROTO_OK) {
        return 0;
    }
    e = find_question(h, a.id);
    /* An answer whose entry was trimmed away with the limit is simply dropped,
     * and so is one the rule of tray_history_answer would not have stored. */
    return e == NULL || !answer_may_replace(e, &a) || attach_answer(h, e, &a, line, len);
}

/* Parses the file into memory. Returns OPENED, TAIL_CUT or SET_ASIDE. */
static tray_history_open_result load(tray_history *h)
{
    size_t size = 0, pos = 0;
    tray_history_open_result result = TRAY_HISTORY_OPENED;
    char *data = read_whole(h->file, &size);
    if (!data) {
        return set_aside(h);
    }
    while (pos < size) {
        const char *line = data + pos;
        const char *nl = (const char *)memchr(line, '\n', size - pos);
        size_t len;
        if (!nl) {
            /* A write cut short by a crash. It was never committed, so never
             * acknowledged: drop it. */
            LARGE_INTEGER at;
            at.QuadPart = (LONGLONG)pos;
            if (!truncate_at(h->file, at)) {
                free(data);
                return set_aside(h);
            }
            result = TRAY_HISTORY_TAIL_CUT;
            break;
        }
        len = (size_t)(nl - line);
        if (!load_line(h, line, len)) {
            free(data);
            while (h->count > 0) {
                drop_oldest(h);
            }
            h->file_lines = 0;
            return set_aside(h);
        }
        if (h->count > h->capacity) {
            drop_oldest(h);
        }
        ++h->file_lines;
        pos += len + 1;
    }
    free(data);
    return result;
}

tray_history_open_result tray_history_open(tray_history *h, const wchar_t *dir, size_t capacity)
{
    tray_history_open_result result;
    int rc;
    memset(h, 0, sizeof(*h));
    h->file = INVALID_HANDLE_VALUE;
    h->capacity = capacity ? capacity : 1;
    h->ring_size = h->capacity + HISTORY_SLACK;
    h->ring = (tray_entry *)calloc(h->ring_size, sizeof(tray_entry));
    h->line = (char *)malloc(HISTORY_LINE_CAP);
    h->scratch = (pipes_proto_notification *)malloc(sizeof(pipes_proto_notification));
    if (!h->ring || !h->line || !h->scratch ||
        swprintf(h->dir, MAX_PATH, L"%ls", dir) < 0 ||
        swprintf(h->path, MAX_PATH, L"%ls\\" HISTORY_FILE, dir) < 0) {
        return TRAY_HISTORY_FAILED;
    }
    rc = SHCreateDirectoryExW(NULL, h->dir, NULL);
    if (rc != ERROR_SUCCESS && rc != ERROR_ALREADY_EXISTS && rc != ERROR_FILE_EXISTS) {
        return TRAY_HISTORY_FAILED;
    }
    h->file = open_history_file(h->path, OPEN_ALWAYS);
    if (h->file == INVALID_HANDLE_VALUE) {
        return TRAY_HISTORY_FAILED;
    }
    result = load(h);
    if (h->file != INVALID_HANDLE_VALUE) {
        LARGE_INTEGER zero;
        zero.QuadPart = 0;
        if (!SetFilePointerEx(h->file, zero, &h->committed_end, FILE_END)) {
            CloseHandle(h->file);
            h->file = INVALID_HANDLE_VALUE;
            result = TRAY_HISTORY_FAILED;
        }
    }
    return result;
}

const tray_entry *tray_history_find(const tray_history *h, const char *sid, const char *id)
{
    uint32_t hash = id_hash(id);
    size_t i;
    for (i = h->count; i-- > 0;) {
        const tray_entry *e = slot(h, i);
        if (e->id_hash == hash && strcmp(e->id, id) == 0 && strcmp(e->sid, sid) == 0) {
            return e;
        }
    }
    return NULL;
}

int tray_history_contains(const tray_history *h, const char *sid, const char *id)
{
    uint32_t hash = id_hash(id);
    size_t i;
    for (i = 0; i < h->count; ++i) {
        const tray_entry *e = slot(h, i);
        /* An entry stored before senders were recorded (no SID) matches any
         * sender: a repeat of it must not be shown twice after an upgrade. */
        if (e->id_hash == hash && strcmp(e->id, id) == 0 && (!e->sid[0] || !strcmp(e->sid, sid))) {
            return 1;
        }
    }
    return 0;
}

const tray_entry *tray_history_find_question(const tray_history *h, const char *id)
{
    return find_question(h, id);
}

const tray_entry *tray_history_append(tray_history *h, const pipes_proto_notification *n)
{
    const tray_entry *e;
    size_t len = 0;
    if (!h->ring || !n->has_time) {
        return NULL;
    }
    if (h->file != INVALID_HANDLE_VALUE) {
        LARGE_INTEGER before;
        if (pipes_proto_write_notification(n, h->line, HISTORY_LINE_CAP - 1, &len) !=
                PIPES_PROTO_OK ||
            !file_position(h->file, &before)) {
            return NULL;
        }
        h->line[len] = '\n';
        if (!write_all(h->file, h->line, len + 1)) {
            truncate_at(h->file, before); /* never leave half a line behind */
            return NULL;
        }
        e = remember(h, n, h->line, len);
        if (!e) {
            truncate_at(h->file, before);
            return NULL;
        }
    } else {
        if (pipes_proto_write_notification(n, h->line, HISTORY_LINE_CAP - 1, &len) !=
            PIPES_PROTO_OK) {
            return NULL;
        }
        e = remember(h, n, h->line, len);
        if (!e) {
            return NULL;
        }
    }
    ++h->uncommitted;
    return e;
}

const tray_entry *tray_history_answer(tray_history *h, const pipes_proto_answer *a)
{
    tray_entry *e = h->ring ? find_question(h, a->id) : NULL;
    size_t len = 0;
    LARGE_INTEGER before;
    if (!e || !answer_may_replace(e, a) ||
        pipes_proto_write_answer(a, h->line, HISTORY_LINE_CAP - 1, &len) != PIPES_PROTO_OK) {
        return NULL;
    }
    if (h->file != INVALID_HANDLE_VALUE) {
        h->line[len] = '\n';
        /* A click, not a batch: durable at once (nothing else is uncommitted
         * here, the receiver commits each batch before returning). */
        if (!file_position(h->file, &before)) {
            return NULL;
        }
        if (!write_all(h->file, h->line, len + 1) || !FlushFileBuffers(h->file) ||
            !file_position(h->file, &h->committed_end)) {
            truncate_at(h->file, before); /* never leave half a line behind */
            return NULL;
        }
        ++h->file_lines;
    }
    return attach_answer(h, e, a, h->line, len) ? e : NULL;
}

/* Writes every entry in memory to a temp file and swaps it in. */
static BOOL compact(tray_history *h)
{
    wchar_t temp[MAX_PATH];
    HANDLE t;
    size_t i, lines = 0;
    BOOL ok = TRUE;
    LARGE_INTEGER zero;
    if (swprintf(temp, MAX_PATH, L"%ls\\" HISTORY_TEMP, h->dir) < 0) {
        return FALSE;
    }
    t = CreateFileW(temp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (t == INVALID_HANDLE_VALUE) {
        return FALSE;
    }
    for (i = 0; ok && i < h->count; ++i) {
        const tray_entry *e = slot(h, i);
        lines += e->answer_line ? 2u : 1u;
        ok = write_all(t, e->line, strlen(e->line)) && write_all(t, "\n", 1) &&
             (!e->answer_line ||
              (write_all(t, e->answer_line, strlen(e->answer_line)) && write_all(t, "\n", 1)));
    }
    ok = ok && FlushFileBuffers(t);
    CloseHandle(t);
    if (!ok) {
        DeleteFileW(temp);
        return FALSE;
    }
    /* The open handle would block the replace: close, swap, reopen. */
    CloseHandle(h->file);
    ok = MoveFileExW(temp, h->path, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
    if (!ok) {
        DeleteFileW(temp);
    }
    h->file = open_history_file(h->path, OPEN_EXISTING);
    zero.QuadPart = 0;
    if (h->file == INVALID_HANDLE_VALUE ||
        !SetFilePointerEx(h->file, zero, &h->committed_end, FILE_END)) {
        if (h->file != INVALID_HANDLE_VALUE) {
            CloseHandle(h->file);
        }
        h->file = INVALID_HANDLE_VALUE;
        return FALSE;
    }
    if (ok) {
        h->file_lines = lines;
    }
    return ok;
}

BOOL tray_history_commit(tray_history *h)
{
    if (h->uncommitted == 0) {
        return TRUE;
    }
    if (h->file != INVALID_HANDLE_VALUE) {
        LARGE_INTEGER end;
        if (!FlushFileBuffers(h->file) || !file_position(h->file, &end)) {
            /* Not durable: undo the batch in the file and in memory. */
            truncate_at(h->file, h->committed_end);
            while (h->uncommitted > 0 && h->count > 0) {
                drop_newest(h);
                --h->uncommitted;
            }
            h->uncommitted = 0;
            return FALSE;
        }
        h->committed_end = end;
        h->file_lines += h->uncommitted;
    }
    h->uncommitted = 0;
    while (h->count > h->capacity) {
        drop_oldest(h);
    }
    if (h->file != INVALID_HANDLE_VALUE && h->file_lines > 2 * h->capacity) {
        compact(h); /* on failure the old log stays valid and keeps growing */
    }
    return TRUE;
}

size_t tray_history_count(const tray_history *h)
{
    return h->count;
}

const tray_entry *tray_history_newest(const tray_history *h, size_t i)
{
    return i < h->count ? slot(h, h->count - 1 - i) : NULL;
}

void tray_history_close(tray_history *h)
{
    while (h->count > 0) {
        drop_oldest(h);
    }
    if (h->file != INVALID_HANDLE_VALUE) {
        CloseHandle(h->file);
        h->file = INVALID_HANDLE_VALUE;
    }
    free(h->ring);
    free(h->line);
    free(h->scratch);
    h->ring = NULL;
    h->line = NULL;
    h->scratch = NULL;
}
