/*
 * spoolfile.c - the spool's on-disk records (docs/SERVICE.md "Spool").
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
 *     "ACK1" u32 session   that session's tray acknowledged it (displayed)
 *     "REJ1" u32 session   that session's tray refused it for good
 *     "RST1" u32 session   that session logged off: forget its ACK1/REJ1
 *
 * A new record is written to <seq>.tmp (a new file: CREATE_NEW), flushed
 * (FlushFileBuffers) and renamed to .ntf through the same handle before
 * spool_add returns. The flush makes the data durable, but on NTFS a
 * same-volume rename is a metadata change that may still be lost at a power
 * cut: the flushed .tmp can then be the only copy of an accepted record. So
 * at open a .tmp that passes every check (it was flushed whole) and has no
 * .ntf is renamed to .ntf, and only the others (cut short: never accepted)
 * are deleted. A .ntf that fails its checks is moved to <dir>\damaged and
 * logged.
 *
 * Every file is opened, deleted and renamed through a checked handle of the
 * spool folder (safedir.h): a name an unprivileged user turned into a link
 * or a hard link is refused, never followed.
 */
#include "spoolint.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "messages.h"

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

void spoolfile_path(const wchar_t *dir, uint64_t seq, const wchar_t *ext, wchar_t *out)
{
    swprintf(out, MAX_PATH, L"%ls\\%016llx.%ls", dir, (unsigned long long)seq, ext);
}

void spoolfile_name(uint64_t seq, const wchar_t *ext, wchar_t *out)
{
    swprintf(out, SPOOL_NAME_SIZE, L"%016llx.%ls", (unsigned long long)seq, ext);
}

/* The CRC of a header (its crc field is taken as zero), user and message. */
static uint32_t record_crc(const uint8_t *hdr, const uint8_t *rest, size_t rest_len)
{
    uint8_t h[SPOOL_HDR_SIZE];
    memcpy(h, hdr, SPOOL_HDR_SIZE);
    put32(h + 48, 0);
    return crc32_update(crc32_update(0, h, SPOOL_HDR_SIZE), rest, rest_len);
}

size_t spoolfile_encode(const spool_rec *r, uint8_t *out, size_t cap)
{
    size_t size = SPOOL_HDR_SIZE + (size_t)r->user_len + r->msg_len;
    if (cap < size)
        return 0;
    memcpy(out, "PSP1", 4);
    put32(out + 4, SPOOL_HDR_SIZE);
    put64(out + 8, r->seq);
    put64(out + 16, (uint64_t)r->accept_ms);
    put64(out + 24, (uint64_t)r->expire_ms);
    put32(out + 32, r->kind);
    put32(out + 36, r->session);
    put32(out + 40, r->user_len);
    put32(out + 44, r->msg_len);
    put32(out + 52, 0);
    memcpy(out + SPOOL_HDR_SIZE, SPOOL_REC_USER(r), r->user_len);
    memcpy(out + SPOOL_HDR_SIZE + r->user_len, SPOOL_REC_MSG(r), r->msg_len);
    put32(out + 48, record_crc(out, out + SPOOL_HDR_SIZE, size - SPOOL_HDR_SIZE));
    return size;
}

int spoolfile_put(const safedir *dir, uint64_t seq, const wchar_t *tmp_ext,
                  const wchar_t *ext, const void *data, size_t size)
{
    wchar_t tmp[SPOOL_NAME_SIZE], final[SPOOL_NAME_SIZE];
    HANDLE h;
    DWORD w = 0;
    int ok;

    spoolfile_name(seq, tmp_ext, tmp);
    spoolfile_name(seq, ext, final);
    /* A new file, never an existing one truncated: a leftover of this name
     * (a failed delete) is removed first, through a checked handle. */
    h = safedir_open_file(dir, tmp, GENERIC_WRITE, 0, CREATE_NEW);
    if (h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_FILE_EXISTS &&
        safedir_delete(dir, tmp))
        h = safedir_open_file(dir, tmp, GENERIC_WRITE, 0, CREATE_NEW);
    if (h == INVALID_HANDLE_VALUE)
        return 0;
    ok = WriteFile(h, data, (DWORD)size, &w, NULL) && w == size;
    /* The data must be on disk before we say "accepted". */
    ok = ok && FlushFileBuffers(h) && safedir_rename_open(h, dir, final);
    if (!ok) {
        DWORD e = GetLastError();
        safedir_delete_open(h);
        SetLastError(e);
    }
    CloseHandle(h);
    return ok;
}

int spoolfile_write(const safedir *dir, const spool_rec *r)
{
    size_t cap = SPOOL_HDR_SIZE + (size_t)r->user_len + r->msg_len;
    uint8_t *buf = (uint8_t *)malloc(cap);
    size_t size = buf ? spoolfile_encode(r, buf, cap) : 0;
    int ok;

    if (!size) {
        free(buf);
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return 0;
    }
    ok = spoolfile_put(dir, r->seq, L"tmp", L"ntf", buf, size);
    free(buf);
    return ok;
}

void spoolfile_append_trailer(const safedir *dir, uint64_t seq, const char tag[4],
                              uint32_t session)
{
    spoolfile_append_trailer_to(dir, seq, L"ntf", tag, session);
}

void spoolfile_append_trailer_to(const safedir *dir, uint64_t seq, const wchar_t *ext,
                                 const char tag[4], uint32_t session)
{
    wchar_t name[SPOOL_NAME_SIZE];
    uint8_t t[8];
    DWORD w;
    HANDLE h;
    spoolfile_name(seq, ext, name);
    h = safedir_open_file(dir, name, FILE_APPEND_DATA | SYNCHRONIZE, FILE_SHARE_READ,
                          OPEN_EXISTING);
    if (h == INVALID_HANDLE_VALUE)
        return;
    memcpy(t, tag, 4);
    put32(t + 4, session);
    WriteFile(h, t, 8, &w, NULL);
    CloseHandle(h);
}

void spoolfile_delete(const safedir *dir, uint64_t seq)
{
    wchar_t name[SPOOL_NAME_SIZE];
    spoolfile_name(seq, L"ntf", name);
    safedir_delete(dir, name);
}

/* ---- reading -------------------------------------------------------------- */

static void apply_trailer(spool_rec *r, const uint8_t *t)
{
    uint32_t session = get32(t + 4);
    int ack = memcmp(t, "ACK1", 4) == 0;
    if (ack || memcmp(t, "REJ1", 4) == 0) {
        r->delivered = 1;
        if (ack && !r->displayed) {
            r->displayed = 1;
            r->displayed_session = session;
        }
        if (!spool_rec_has_ack(r, session))
            spool_rec_add_ack(r, session); /* out of memory: a repeat delivery at worst */
    } else if (memcmp(t, "RST1", 4) == 0) {
        spool_rec_drop_ack(r, session);
    } else if (memcmp(t, "RPL1", 4) == 0) {
        r->replaced = 1; /* a newer state of its tag came (spool_index_take_tag) */
        r->delivered = 1;
    }
}

/* Parses one file's bytes; returns NULL and a reason when damaged. */
static spool_rec *decode(const uint8_t *buf, size_t size, uint64_t name_seq, const char **why)
{
    uint32_t user_len, msg_len, kind;
    size_t body_end, off;
    pipes_proto_notification *n;
    pipes_proto_error err;
    const char *msg;
    spool_rec *r;

    if (size < SPOOL_HDR_SIZE) {
        *why = "truncated header";
        return NULL;
    }
    if (memcmp(buf, "PSP1", 4) != 0 || get32(buf + 4) != SPOOL_HDR_SIZE) {
        *why = "bad magic";
        return NULL;
    }
    user_len = get32(buf + 40);
    msg_len = get32(buf + 44);
    if (user_len > PIPES_PROTO_MAX_USER || msg_len == 0 || msg_len > PIPES_PROTO_MAX_MESSAGE) {
        *why = "bad lengths";
        return NULL;
    }
    body_end = SPOOL_HDR_SIZE + (size_t)user_len + msg_len;
    if (size < body_end) {
        *why = "truncated body";
        return NULL;
    }
    if (record_crc(buf, buf + SPOOL_HDR_SIZE, body_end - SPOOL_HDR_SIZE) != get32(buf + 48)) {
        *why = "checksum mismatch";
        return NULL;
    }
    if (get64(buf + 8) != name_seq) {
        *why = "sequence number does not match the file name";
        return NULL;
    }
    kind = get32(buf + 32);
    if (kind > PIPES_PROTO_TARGET_USER || (kind == PIPES_PROTO_TARGET_USER && !user_len)) {
        *why = "bad target";
        return NULL;
    }
    /* The id lives in the message: parse it where it is (the parser takes
     * data and size; no NUL needed). */
    msg = (const char *)buf + SPOOL_HDR_SIZE + user_len;
    n = (pipes_proto_notification *)malloc(sizeof *n);
    if (!n) {
        *why = "out of memory";
        return NULL;
    }
    if (pipes_proto_parse_notification(msg, msg_len, n, &err) != PIPES_PROTO_OK) {
        free(n);
        *why = "the stored notification does not parse";
        return NULL;
    }
    /* The sender the service wrote into the message keys its id again. */
    {
        spool_rec_texts t = {n->id, n->sender.sid, (const char *)buf + SPOOL_HDR_SIZE, msg, n->tag,
                             n->id_len, n->sender.sid_len, user_len, msg_len, n->tag_len};
        r = spool_rec_new(&t);
    }
    if (r)
        r->question = n->action_count > 0;
    free(n);
    if (!r) {
        *why = "out of memory";
        return NULL;
    }
    r->seq = name_seq;
    r->accept_ms = (int64_t)get64(buf + 16);
    r->expire_ms = (int64_t)get64(buf + 24);
    r->kind = kind;
    r->session = get32(buf + 36);
    /* Trailers: a cut last one (crash while appending) is ignored. */
    for (off = body_end; off + 8 <= size; off += 8)
        apply_trailer(r, buf + off);
    return r;
}

uint64_t spoolfile_name_seq(const wchar_t *name, const wchar_t *ext)
{
    wchar_t *end = NULL;
    unsigned long long seq = wcstoull(name, &end, 16);
    if (!end || end - name != 16 || end[0] != L'.' || wcscmp(end + 1, ext) != 0)
        return 0;
    return seq;
}

HANDLE spoolfile_open_read(const safedir *dir, const wchar_t *name, const char **why)
{
    HANDLE h = safedir_open_file(dir, name, GENERIC_READ, FILE_SHARE_READ, OPEN_EXISTING);
    if (h == INVALID_HANDLE_VALUE)
        *why = GetLastError() == ERROR_FILE_NOT_FOUND ? "unreadable"
                                                      : "not a plain file of the spool (a link)";
    return h;
}

/* Reads and decodes one file of dir. */
static spool_rec *read_record(const safedir *dir, const WIN32_FIND_DATAW *fd, uint64_t seq,
                              const char **why)
{
    HANDLE h;
    uint8_t *buf;
    DWORD got = 0;
    spool_rec *r = NULL;

    *why = "unreadable";
    if (fd->nFileSizeHigh || fd->nFileSizeLow > SPOOL_MAX_FILE) {
        *why = "file too large";
        return NULL;
    }
    h = spoolfile_open_read(dir, fd->cFileName, why);
    if (h == INVALID_HANDLE_VALUE)
        return NULL;
    buf = (uint8_t *)malloc(fd->nFileSizeLow + 1);
    if (buf && ReadFile(h, buf, fd->nFileSizeLow, &got, NULL))
        r = decode(buf, got, seq, why);
    CloseHandle(h);
    free(buf);
    return r;
}

spool_rec *spoolfile_load(const safedir *dir, const WIN32_FIND_DATAW *fd, uint64_t *seq_out,
                          const char **why)
{
    uint64_t seq = spoolfile_name_seq(fd->cFileName, L"ntf");
    *seq_out = seq;
    if (!seq) {
        *why = "unexpected file name";
        return NULL;
    }
    return read_record(dir, fd, seq, why);
}

void spoolfile_set_aside(const safedir *dir, const wchar_t *name, const char *why)
{
    wchar_t from[MAX_PATH + 64], damaged_path[MAX_PATH], to[MAX_PATH + 80], wwhy[128];
    safedir damaged;
    safedir_report report;
    int moved = 0, deleted = 0;
    swprintf(from, MAX_PATH + 64, L"%ls\\%ls", dir->path, name);
    swprintf(damaged_path, MAX_PATH, L"%ls\\damaged", dir->path);
    if (safedir_open(&damaged, damaged_path, SVC_DATA_DIR_SDDL, 0, &report)) {
        moved = safedir_rename(dir, name, &damaged, name);
        safedir_close(&damaged);
    }
    /* Never load it again either way; a link that cannot be removed through
     * a checked handle stays where it is: refused at every load, and logged. */
    if (!moved)
        deleted = safedir_delete(dir, name);
    swprintf(to, MAX_PATH + 80, L"moved to %ls\\%ls", damaged_path, name);
    svc_to_wide(why, strlen(why), wwhy, 128);
    svc_event(EVENTLOG_ERROR_TYPE, MSG_SPOOL_DAMAGED, from,
              moved ? to : deleted ? L"deleted" : L"left where it is (not a plain file)", wwhy);
}

void spoolfile_recover_temps(const safedir *dir, spool_open_info *info)
{
    wchar_t pattern[MAX_PATH + 8], ntf[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE find;

    swprintf(pattern, MAX_PATH + 8, L"%ls\\*.tmp", dir->path);
    find = FindFirstFileW(pattern, &fd);
    if (find == INVALID_HANDLE_VALUE)
        return;
    do {
        uint64_t seq = spoolfile_name_seq(fd.cFileName, L"tmp");
        const char *why;
        spool_rec *r = NULL;
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
            continue;
        if (seq) {
            spoolfile_path(dir->path, seq, L"ntf", ntf);
            if (GetFileAttributesW(ntf) == INVALID_FILE_ATTRIBUTES)
                r = read_record(dir, &fd, seq, &why);
        }
        if (r) {
            /* Should the rename fail, the file stays for the next start. */
            spoolfile_name(seq, L"ntf", ntf);
            if (safedir_rename(dir, fd.cFileName, dir, ntf))
                info->temp_promoted++;
        } else if (safedir_delete(dir, fd.cFileName)) {
            info->temp_removed++;
        }
        spool_rec_free(r);
    } while (FindNextFileW(find, &fd));
    FindClose(find);
}
