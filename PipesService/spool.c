/*
 * spool.c - the durable store behind "accepted".
 *
 * One file per notification, <dir>\<seq as 16 hex digits>.ntf:
 *   header (56 bytes, little-endian)
 *     0  "PSP1"            magic and format version
 *     4  u32 header size (56)
 *     8  u64 seq           acceptance order; also the file name
 *     16 i64 accept_ms     Unix ms
 *     24 i64 expire_ms     accept_ms + ttl
 *     32 u32 target kind   pipes_proto_target_kind
 *     36 u32 target session
 *     40 u32 user_len      target user bytes (UTF-8) that follow
 *     44 u32 msg_len       the tray message (PROTOCOL.md JSON) that follows
 *     48 u32 crc32         over the header (this field zero), user and msg
 *     52 u32 reserved (0)
 *   user bytes, msg bytes
 *   then any number of 8-byte trailers appended later, never flushed (losing
 *   one only means a repeat delivery, which trays de-duplicate):
 *     "ACK1" u32 session   that session's tray acknowledged it
 *     "RST1" u32 session   that session logged off: forget its ACK1
 *
 * A new record is written to <seq>.tmp, flushed (FlushFileBuffers) and
 * renamed to .ntf (MOVEFILE_WRITE_THROUGH) before spool_add returns, so a
 * crash leaves either no record or a whole one; stray .tmp files were never
 * acknowledged and are deleted at load. A .ntf that fails its checks is
 * moved to <dir>\damaged and logged; the rest load normally.
 */
#include "svc.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "messages.h"

#define HDR_SIZE 56u
#define MAX_FILE (HDR_SIZE + PIPES_PROTO_MAX_USER + PIPES_PROTO_MAX_MESSAGE + 8u * 4096u)

typedef struct rec {
    uint64_t seq;
    char id[PIPES_PROTO_MAX_ID + 1];
    int64_t accept_ms, expire_ms;
    uint32_t kind, session;
    char user[PIPES_PROTO_MAX_USER + 1];
    char *msg;
    size_t msg_len;
    uint32_t acked[SVC_MAX_SESSIONS];
    size_t acked_n;
} rec;

struct spool {
    SRWLOCK lock;
    wchar_t dir[MAX_PATH];
    spool_limits lim;
    rec **recs; /* sorted by seq */
    size_t n, cap;
    uint64_t next_seq;
    uint64_t bytes;
};

/* ---- encoding helpers ---------------------------------------------------- */

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    size_t i;
    int k;
    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void rec_path(const spool *s, uint64_t seq, const wchar_t *ext, wchar_t *out)
{
    swprintf(out, MAX_PATH, L"%ls\\%016llx.%ls", s->dir, (unsigned long long)seq, ext);
}

static void rec_free(rec *r)
{
    if (r) {
        free(r->msg);
        free(r);
    }
}

static int rec_has_ack(const rec *r, uint32_t session)
{
    size_t i;
    for (i = 0; i < r->acked_n; i++)
        if (r->acked[i] == session)
            return 1;
    return 0;
}

static void rec_apply_trailer(rec *r, const uint8_t *t)
{
    uint32_t session = get32(t + 4);
    size_t i;
    if (memcmp(t, "ACK1", 4) == 0) {
        if (!rec_has_ack(r, session) && r->acked_n < SVC_MAX_SESSIONS)
            r->acked[r->acked_n++] = session;
    } else if (memcmp(t, "RST1", 4) == 0) {
        for (i = 0; i < r->acked_n; i++)
            if (r->acked[i] == session) {
                r->acked[i] = r->acked[--r->acked_n];
                break;
            }
    }
}

/* ---- the index ----------------------------------------------------------- */

static size_t find_first_after(const spool *s, uint64_t seq)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->recs[mid]->seq <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static rec *find_seq(const spool *s, uint64_t seq, size_t *index)
{
    size_t i = find_first_after(s, seq);
    if (i == 0 || s->recs[i - 1]->seq != seq)
        return NULL;
    if (index)
        *index = i - 1;
    return s->recs[i - 1];
}

static rec *find_id(const spool *s, const char *id)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        if (s->recs[i]->id[0] == id[0] && strcmp(s->recs[i]->id, id) == 0)
            return s->recs[i];
    return NULL;
}

static int index_append(spool *s, rec *r)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        rec **p = (rec **)realloc(s->recs, cap * sizeof *p);
        if (!p)
            return 0;
        s->recs = p;
        s->cap = cap;
    }
    s->recs[s->n++] = r;
    s->bytes += r->msg_len;
    return 1;
}

static void index_remove_at(spool *s, size_t i)
{
    rec *r = s->recs[i];
    wchar_t path[MAX_PATH];
    rec_path(s, r->seq, L"ntf", path);
    DeleteFileW(path);
    s->bytes -= r->msg_len;
    memmove(&s->recs[i], &s->recs[i + 1], (s->n - i - 1) * sizeof s->recs[0]);
    s->n--;
    rec_free(r);
}

static int cmp_rec(const void *a, const void *b)
{
    uint64_t x = (*(rec *const *)a)->seq, y = (*(rec *const *)b)->seq;
    return x < y ? -1 : x > y;
}

/* ---- loading ------------------------------------------------------------- */

/* Parses one file's bytes; returns NULL and a reason when damaged. */
static rec *decode(const uint8_t *buf, size_t size, uint64_t name_seq, const char **why)
{
    uint8_t hdr[HDR_SIZE];
    uint32_t user_len, msg_len, crc;
    size_t body_end, off;
    rec *r;
    pipes_proto_notification *n;
    pipes_proto_error err;

    if (size < HDR_SIZE) {
        *why = "truncated header";
        return NULL;
    }
    if (memcmp(buf, "PSP1", 4) != 0 || get32(buf + 4) != HDR_SIZE) {
        *why = "bad magic";
        return NULL;
    }
    user_len = get32(buf + 40);
    msg_len = get32(buf + 44);
    if (user_len > PIPES_PROTO_MAX_USER || msg_len == 0 || msg_len > PIPES_PROTO_MAX_MESSAGE) {
        *why = "bad lengths";
        return NULL;
    }
    body_end = HDR_SIZE + (size_t)user_len + msg_len;
    if (size < body_end) {
        *why = "truncated body";
        return NULL;
    }
    memcpy(hdr, buf, HDR_SIZE);
    put32(hdr + 48, 0);
    crc = crc32_update(0, hdr, HDR_SIZE);
    crc = crc32_update(crc, buf + HDR_SIZE, (size_t)user_len + msg_len);
    if (crc != get32(buf + 48)) {
        *why = "checksum mismatch";
        return NULL;
    }
    if (get64(buf + 8) != name_seq) {
        *why = "sequence number does not match the file name";
        return NULL;
    }
    r = (rec *)calloc(1, sizeof *r);
    n = (pipes_proto_notification *)malloc(sizeof *n);
    if (!r || !n || !(r->msg = (char *)malloc(msg_len + 1))) {
        free(n);
        rec_free(r);
        *why = "out of memory";
        return NULL;
    }
    memcpy(r->msg, buf + HDR_SIZE + user_len, msg_len);
    r->msg[msg_len] = '\0';
    r->msg_len = msg_len;
    if (pipes_proto_parse_notification(r->msg, msg_len, n, &err) != PIPES_PROTO_OK) {
        free(n);
        rec_free(r);
        *why = "the stored notification does not parse";
        return NULL;
    }
    memcpy(r->id, n->id, n->id_len + 1);
    free(n);
    r->seq = name_seq;
    r->accept_ms = (int64_t)get64(buf + 16);
    r->expire_ms = (int64_t)get64(buf + 24);
    r->kind = get32(buf + 32);
    r->session = get32(buf + 36);
    memcpy(r->user, buf + HDR_SIZE, user_len);
    r->user[user_len] = '\0';
    if (r->kind > PIPES_PROTO_TARGET_USER || (r->kind == PIPES_PROTO_TARGET_USER && !user_len)) {
        rec_free(r);
        *why = "bad target";
        return NULL;
    }
    /* Trailers: a cut last one (crash while appending) is ignored. */
    for (off = body_end; off + 8 <= size; off += 8)
        rec_apply_trailer(r, buf + off);
    return r;
}

static void set_aside(spool *s, const wchar_t *name, const char *why, spool_open_info *info)
{
    wchar_t from[MAX_PATH], dir[MAX_PATH], to[MAX_PATH], wwhy[128];
    swprintf(from, MAX_PATH, L"%ls\\%ls", s->dir, name);
    swprintf(dir, MAX_PATH, L"%ls\\damaged", s->dir);
    swprintf(to, MAX_PATH, L"%ls\\%ls", dir, name);
    CreateDirectoryW(dir, NULL);
    if (!MoveFileExW(from, to, MOVEFILE_REPLACE_EXISTING))
        DeleteFileW(from); /* never load it again either way */
    svc_to_wide(why, strlen(why), wwhy, 128);
    svc_event(EVENTLOG_ERROR_TYPE, MSG_SPOOL_DAMAGED, from, to, wwhy);
    info->damaged++;
}

static void load_one(spool *s, const WIN32_FIND_DATAW *fd, int64_t now, spool_open_info *info)
{
    wchar_t path[MAX_PATH];
    wchar_t *end = NULL;
    unsigned long long seq = wcstoull(fd->cFileName, &end, 16);
    HANDLE h;
    uint8_t *buf;
    DWORD got = 0;
    const char *why = "unreadable";
    rec *r = NULL;

    if (!end || wcscmp(end, L".ntf") != 0 || end - fd->cFileName != 16) {
        set_aside(s, fd->cFileName, "unexpected file name", info);
        return;
    }
    if (fd->nFileSizeHigh || fd->nFileSizeLow > MAX_FILE) {
        set_aside(s, fd->cFileName, "file too large", info);
        return;
    }
    swprintf(path, MAX_PATH, L"%ls\\%ls", s->dir, fd->cFileName);
    h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    buf = (uint8_t *)malloc(fd->nFileSizeLow + 1);
    if (h != INVALID_HANDLE_VALUE && buf && ReadFile(h, buf, fd->nFileSizeLow, &got, NULL))
        r = decode(buf, got, seq, &why);
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    free(buf);
    if (!r) {
        set_aside(s, fd->cFileName, why, info);
        return;
    }
    if (seq >= s->next_seq)
        s->next_seq = seq + 1;
    if (r->expire_ms <= now) {
        DeleteFileW(path);
        info->expired++;
        rec_free(r);
        return;
    }
    if (!index_append(s, r)) {
        rec_free(r);
        return;
    }
    info->loaded++;
}

spool_result spool_open(const wchar_t *dir, const wchar_t *dir_sddl, const spool_limits *limits,
                        int64_t now_ms, spool **out, spool_open_info *info)
{
    spool *s;
    wchar_t pattern[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE find;
    size_t i;
    DWORD rc;

    memset(info, 0, sizeof *info);
    if (wcslen(dir) >= MAX_PATH - 32)
        return SPOOL_IO_ERROR;
    rc = svc_make_dir(dir, dir_sddl);
    if (rc != ERROR_SUCCESS) {
        SetLastError(rc);
        return SPOOL_IO_ERROR;
    }
    s = (spool *)calloc(1, sizeof *s);
    if (!s)
        return SPOOL_NO_MEMORY;
    InitializeSRWLock(&s->lock);
    wcscpy(s->dir, dir);
    s->lim = *limits;
    s->next_seq = 1;

    swprintf(pattern, MAX_PATH, L"%ls\\*.tmp", dir);
    find = FindFirstFileW(pattern, &fd);
    if (find != INVALID_HANDLE_VALUE) {
        do {
            wchar_t path[MAX_PATH];
            swprintf(path, MAX_PATH, L"%ls\\%ls", dir, fd.cFileName);
            if (DeleteFileW(path))
                info->temp_removed++;
        } while (FindNextFileW(find, &fd));
        FindClose(find);
    }
    swprintf(pattern, MAX_PATH, L"%ls\\*.ntf", dir);
    find = FindFirstFileW(pattern, &fd);
    if (find != INVALID_HANDLE_VALUE) {
        do {
            if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))
                load_one(s, &fd, now_ms, info);
        } while (FindNextFileW(find, &fd));
        FindClose(find);
    }
    qsort(s->recs, s->n, sizeof s->recs[0], cmp_rec);
    /* One copy per id: a duplicate can only come from an older crash. */
    for (i = 1; i < s->n;) {
        size_t j;
        int dup = 0;
        for (j = 0; j < i && !dup; j++)
            dup = strcmp(s->recs[j]->id, s->recs[i]->id) == 0;
        if (dup) {
            index_remove_at(s, i);
            info->loaded--;
        } else {
            i++;
        }
    }
    *out = s;
    return SPOOL_OK;
}

void spool_close(spool *s)
{
    size_t i;
    if (!s)
        return;
    for (i = 0; i < s->n; i++)
        rec_free(s->recs[i]);
    free(s->recs);
    free(s);
}

/* ---- writing ------------------------------------------------------------- */

static int write_durably(const wchar_t *tmp, const wchar_t *final, const uint8_t *a, size_t an,
                         const uint8_t *b, size_t bn, const uint8_t *c, size_t cn)
{
    HANDLE h = CreateFileW(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL,
                           NULL);
    DWORD w;
    int ok;
    if (h == INVALID_HANDLE_VALUE)
        return 0;
    ok = WriteFile(h, a, (DWORD)an, &w, NULL) && w == an;
    ok = ok && (bn == 0 || (WriteFile(h, b, (DWORD)bn, &w, NULL) && w == bn));
    ok = ok && (WriteFile(h, c, (DWORD)cn, &w, NULL) && w == cn);
    /* The data must be on disk before we say "accepted". */
    ok = ok && FlushFileBuffers(h);
    CloseHandle(h);
    ok = ok && MoveFileExW(tmp, final, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
    if (!ok) {
        DWORD e = GetLastError();
        DeleteFileW(tmp);
        SetLastError(e);
    }
    return ok;
}

spool_result spool_add(spool *s, const pipes_proto_notification *n, int64_t now_ms,
                       uint64_t *seq_out)
{
    pipes_proto_notification *tray;
    char *msg;
    size_t msg_len = 0;
    uint8_t hdr[HDR_SIZE];
    uint32_t crc, user_len;
    wchar_t tmp[MAX_PATH], final[MAX_PATH];
    rec *r, *dup;
    spool_result res = SPOOL_OK;
    uint32_t ttl = n->has_ttl ? n->ttl : s->lim.default_ttl;

    /* The tray gets the notification without target/wait/ttl, with the
     * acceptance time when the submitter gave none (PROTOCOL.md 6). */
    tray = (pipes_proto_notification *)malloc(sizeof *tray);
    msg = (char *)malloc(PIPES_PROTO_MAX_MESSAGE + 1);
    r = (rec *)calloc(1, sizeof *r);
    if (!tray || !msg || !r) {
        free(tray);
        free(msg);
        free(r);
        return SPOOL_NO_MEMORY;
    }
    *tray = *n;
    tray->target = PIPES_PROTO_TARGET_ALL;
    tray->target_user[0] = '\0';
    tray->target_user_len = 0;
    tray->target_session = 0;
    tray->wait = 0;
    tray->has_ttl = 0;
    if (!tray->has_time) {
        tray->has_time = 1;
        tray->time_ms = now_ms;
    }
    if (pipes_proto_write_notification(tray, msg, PIPES_PROTO_MAX_MESSAGE + 1, &msg_len) !=
        PIPES_PROTO_OK) {
        free(tray);
        free(msg);
        free(r);
        return SPOOL_IO_ERROR;
    }
    free(tray);

    user_len = n->target == PIPES_PROTO_TARGET_USER ? (uint32_t)n->target_user_len : 0;
    AcquireSRWLockExclusive(&s->lock);
    dup = find_id(s, n->id);
    if (dup) {
        *seq_out = dup->seq;
        res = SPOOL_DUPLICATE;
    } else if (s->n >= s->lim.max_count || s->bytes + msg_len > s->lim.max_bytes) {
        res = SPOOL_FULL;
    } else {
        r->seq = s->next_seq++;
        memcpy(r->id, n->id, n->id_len + 1);
        r->accept_ms = now_ms;
        r->expire_ms = now_ms + (int64_t)ttl * 1000;
        r->kind = (uint32_t)n->target;
        r->session = n->target == PIPES_PROTO_TARGET_SESSION ? n->target_session : 0;
        memcpy(r->user, n->target_user, user_len);
        r->user[user_len] = '\0';
        r->msg = msg;
        r->msg_len = msg_len;

        memcpy(hdr, "PSP1", 4);
        put32(hdr + 4, HDR_SIZE);
        put64(hdr + 8, r->seq);
        put64(hdr + 16, (uint64_t)r->accept_ms);
        put64(hdr + 24, (uint64_t)r->expire_ms);
        put32(hdr + 32, r->kind);
        put32(hdr + 36, r->session);
        put32(hdr + 40, user_len);
        put32(hdr + 44, (uint32_t)msg_len);
        put32(hdr + 48, 0);
        put32(hdr + 52, 0);
        crc = crc32_update(0, hdr, HDR_SIZE);
        crc = crc32_update(crc, (const uint8_t *)r->user, user_len);
        crc = crc32_update(crc, (const uint8_t *)msg, msg_len);
        put32(hdr + 48, crc);
        rec_path(s, r->seq, L"tmp", tmp);
        rec_path(s, r->seq, L"ntf", final);
        if (!write_durably(tmp, final, hdr, HDR_SIZE, (const uint8_t *)r->user, user_len,
                           (const uint8_t *)msg, msg_len)) {
            res = SPOOL_IO_ERROR;
        } else if (!index_append(s, r)) {
            DeleteFileW(final);
            res = SPOOL_NO_MEMORY;
        } else {
            *seq_out = r->seq;
            msg = NULL;
            r = NULL;
        }
    }
    ReleaseSRWLockExclusive(&s->lock);
    if (r) {
        r->msg = NULL;
        rec_free(r);
    }
    free(msg);
    return res;
}

/* ---- delivery side ------------------------------------------------------- */

static int user_matches(const char *target, const char *session_user)
{
    wchar_t t[PIPES_PROTO_MAX_USER + 1], u[520];
    const wchar_t *cmp = u;
    int tn = svc_to_wide(target, strlen(target), t, PIPES_PROTO_MAX_USER + 1);
    int un = svc_to_wide(session_user, strlen(session_user), u, 520);
    if (tn <= 0 || un <= 0)
        return 0;
    if (!wcschr(t, L'\\')) {
        /* "user" matches the user part of "DOMAIN\user". */
        const wchar_t *slash = wcsrchr(u, L'\\');
        if (slash)
            cmp = slash + 1;
    }
    return CompareStringOrdinal(t, -1, cmp, -1, TRUE) == CSTR_EQUAL;
}

static int rec_wanted(const rec *r, uint32_t session, const char *user)
{
    if (rec_has_ack(r, session))
        return 0;
    switch (r->kind) {
    case PIPES_PROTO_TARGET_SESSION: return r->session == session;
    case PIPES_PROTO_TARGET_USER: return user && user[0] && user_matches(r->user, user);
    default: return 1;
    }
}

int spool_next(spool *s, uint64_t after, uint32_t session, const char *user, spool_item *out)
{
    size_t i;
    int found = 0;
    AcquireSRWLockShared(&s->lock);
    for (i = find_first_after(s, after); i < s->n; i++) {
        rec *r = s->recs[i];
        if (!rec_wanted(r, session, user))
            continue;
        out->msg = (char *)malloc(r->msg_len + 1);
        if (out->msg) {
            memcpy(out->msg, r->msg, r->msg_len + 1);
            out->msg_len = r->msg_len;
            out->seq = r->seq;
            memcpy(out->id, r->id, sizeof r->id);
            found = 1;
        }
        break;
    }
    ReleaseSRWLockShared(&s->lock);
    return found;
}

static void append_trailer(spool *s, uint64_t seq, const char tag[4], uint32_t session)
{
    wchar_t path[MAX_PATH];
    uint8_t t[8];
    DWORD w;
    HANDLE h;
    rec_path(s, seq, L"ntf", path);
    h = CreateFileW(path, FILE_APPEND_DATA | SYNCHRONIZE, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return;
    memcpy(t, tag, 4);
    put32(t + 4, session);
    WriteFile(h, t, 8, &w, NULL);
    CloseHandle(h);
}

spool_result spool_ack(spool *s, uint64_t seq, uint32_t session)
{
    size_t i;
    rec *r;
    spool_result res = SPOOL_OK;
    AcquireSRWLockExclusive(&s->lock);
    r = find_seq(s, seq, &i);
    if (!r) {
        res = SPOOL_NOT_FOUND;
    } else if (r->kind == PIPES_PROTO_TARGET_SESSION && r->session == session) {
        index_remove_at(s, i); /* its only destination has it */
    } else if (!rec_has_ack(r, session) && r->acked_n < SVC_MAX_SESSIONS) {
        r->acked[r->acked_n++] = session;
        append_trailer(s, seq, "ACK1", session);
    }
    ReleaseSRWLockExclusive(&s->lock);
    return res;
}

void spool_session_reset(spool *s, uint32_t session)
{
    size_t i, j;
    AcquireSRWLockExclusive(&s->lock);
    for (i = 0; i < s->n; i++) {
        rec *r = s->recs[i];
        for (j = 0; j < r->acked_n; j++)
            if (r->acked[j] == session) {
                r->acked[j] = r->acked[--r->acked_n];
                append_trailer(s, r->seq, "RST1", session);
                break;
            }
    }
    ReleaseSRWLockExclusive(&s->lock);
}

uint32_t spool_expire(spool *s, int64_t now_ms, uint32_t *undelivered, int64_t *next_ms)
{
    size_t i;
    uint32_t removed = 0, lost = 0;
    int64_t next = INT64_MAX;
    AcquireSRWLockExclusive(&s->lock);
    for (i = 0; i < s->n;) {
        rec *r = s->recs[i];
        if (r->expire_ms <= now_ms) {
            if (r->acked_n == 0)
                lost++;
            index_remove_at(s, i);
            removed++;
        } else {
            if (r->expire_ms < next)
                next = r->expire_ms;
            i++;
        }
    }
    ReleaseSRWLockExclusive(&s->lock);
    if (undelivered)
        *undelivered = lost;
    if (next_ms)
        *next_ms = next;
    return removed;
}

void spool_get_stats(spool *s, spool_stats *out)
{
    size_t i;
    memset(out, 0, sizeof *out);
    AcquireSRWLockShared(&s->lock);
    out->count = s->n;
    out->bytes = s->bytes;
    for (i = 0; i < s->n; i++)
        if (s->recs[i]->acked_n == 0)
            out->pending_deliveries++;
    ReleaseSRWLockShared(&s->lock);
}
