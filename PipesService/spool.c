/*
 * spool.c - the durable store behind "accepted" (docs/SERVICE.md "Spool"):
 * what is accepted, what each session gets next, what acknowledgements
 * change, and what goes when (ttl, eviction). The files are spoolfile.c's,
 * the in-memory index spoolindex.c's.
 *
 * Bounds: only records no tray has taken yet (pending) can make spool_add
 * answer SPOOL_FULL. Records already delivered stay for de-duplication,
 * `displayed` answers and sessions that log on later within their ttl, but
 * when a new record needs room the earliest delivered go first; so what was
 * delivered never crowds out new work. A submitter's quota counts its
 * pending records the same way (SPOOL_QUOTA), so no one SID can take the
 * whole bound.
 *
 * Ids are per submitter: a record's key is (SID of its sender, id), so one
 * submitter's id never answers for, or hides, another's.
 */
#include "spoolint.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "pipes_chaos.h"

/* ---- opening ------------------------------------------------------------------ */

static int cmp_rec(const void *a, const void *b)
{
    uint64_t x = (*(spool_rec *const *)a)->seq, y = (*(spool_rec *const *)b)->seq;
    return x < y ? -1 : x > y;
}

/* Every valid, unexpired .ntf of s->dir into *recs (unsorted). */
static spool_result load_files(spool *s, int64_t now, spool_rec ***recs, size_t *n,
                               spool_open_info *info)
{
    wchar_t pattern[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE find;
    size_t cap = 0;
    spool_result res = SPOOL_OK;

    swprintf(pattern, MAX_PATH, L"%ls\\*.ntf", s->dir.path);
    find = FindFirstFileW(pattern, &fd);
    if (find == INVALID_HANDLE_VALUE)
        return SPOOL_OK;
    do {
        uint64_t seq = 0;
        const char *why = NULL;
        spool_rec *r;
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
            continue;
        r = spoolfile_load(&s->dir, &fd, &seq, &why);
        if (seq >= s->next_seq)
            s->next_seq = seq + 1; /* damaged ones too: their numbers are never reused */
        if (!r) {
            spoolfile_set_aside(&s->dir, fd.cFileName, why);
            info->damaged++;
        } else if (r->expire_ms <= now) {
            spoolfile_delete(&s->dir, r->seq);
            spool_rec_free(r);
            info->expired++;
        } else {
            if (*n == cap) {
                spool_rec **p;
                cap = cap ? cap * 2 : 1024;
                p = (spool_rec **)realloc(*recs, cap * sizeof *p);
                if (!p) {
                    spool_rec_free(r);
                    res = SPOOL_NO_MEMORY;
                    break;
                }
                *recs = p;
            }
            (*recs)[(*n)++] = r;
        }
    } while (FindNextFileW(find, &fd));
    FindClose(find);
    return res;
}

/* r (just appended) is the latest state of its tag: the one it replaces is
 * marked so in its file too, so a restart never brings it back after r has
 * gone (acknowledged, expired, evicted). Unflushed, like an ACK1: only a
 * power loss can lose it. With the lock held exclusively (or at open). */
static void take_tag(spool *s, spool_rec *r)
{
    spool_rec *old = spool_index_take_tag(&s->idx, r);
    if (old)
        spoolfile_append_trailer(&s->dir, old->seq, "RPL1", 0);
}

spool_result spool_open(const wchar_t *dir, const wchar_t *dir_sddl, const spool_limits *limits,
                        int64_t now_ms, spool **out, spool_open_info *info)
{
    spool *s;
    spool_rec **recs = NULL;
    size_t n = 0, i;
    spool_result res;
    safedir_report why;

    memset(info, 0, sizeof *info);
    if (wcslen(dir) >= MAX_PATH - 32)
        return SPOOL_IO_ERROR;
    s = (spool *)calloc(1, sizeof *s);
    if (!s)
        return SPOOL_NO_MEMORY;
    if (!safedir_open(&s->dir, dir, dir_sddl, 0, &why)) {
        free(s);
        SetLastError(why.problem == SAFEDIR_ERROR ? why.error : ERROR_ACCESS_DENIED);
        return SPOOL_IO_ERROR;
    }
    InitializeSRWLock(&s->lock);
    s->lim = *limits;
    s->next_seq = 1;
    s->next_expiry = INT64_MAX;
    spool_index_init(&s->idx);

    spoolfile_recover_temps(&s->dir, info);
    res = load_files(s, now_ms, &recs, &n, info);
    qsort(recs, n, sizeof recs[0], cmp_rec);
    for (i = 0; i < n; i++) {
        spool_rec *r = recs[i];
        if (res != SPOOL_OK) {
            spool_rec_free(r);
        } else if (spool_index_find_id(&s->idx, SPOOL_REC_SID(r), SPOOL_REC_ID(r))) {
            /* One copy per (SID, id), the first accepted: a second only comes from a crash. */
            spoolfile_delete(&s->dir, r->seq);
            spool_rec_free(r);
        } else if (!spool_index_append(&s->idx, r)) {
            spool_rec_free(r);
            res = SPOOL_NO_MEMORY;
        } else {
            take_tag(s, r); /* again for a record whose RPL1 was lost */
            if (r->expire_ms < s->next_expiry)
                s->next_expiry = r->expire_ms;
            info->loaded++;
        }
    }
    free(recs);
    if (res == SPOOL_OK)
        spool_answers_load(s);
    if (res != SPOOL_OK) {
        spool_close(s);
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return res;
    }
    *out = s;
    return SPOOL_OK;
}

void spool_close(spool *s)
{
    if (!s)
        return;
    spool_index_free(&s->idx);
    safedir_close(&s->dir);
    free(s);
}

/* ---- adding ------------------------------------------------------------------- */

/* The record for n: its tray message is n without target/wait/ttl, with the
 * acceptance time when the submitter gave none (PROTOCOL.md 6), and with
 * n's sender (the service's, never the submitter's). */
static spool_rec *record_for(const pipes_proto_notification *n, int64_t now_ms, uint32_t ttl)
{
    pipes_proto_notification *tray = (pipes_proto_notification *)malloc(sizeof *tray);
    char *msg = (char *)malloc(PIPES_PROTO_MAX_MESSAGE + 1); /* only while writing it */
    size_t msg_len = 0, user_len = 0;
    spool_rec *r = NULL;

    if (tray && msg) {
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
        if (n->target == PIPES_PROTO_TARGET_USER)
            user_len = n->target_user_len;
        if (pipes_proto_write_notification(tray, msg, PIPES_PROTO_MAX_MESSAGE + 1, &msg_len) ==
            PIPES_PROTO_OK)
        {
            spool_rec_texts t = {n->id, n->sender.sid, n->target_user, msg, n->tag,
                                 n->id_len, n->sender.sid_len, user_len, msg_len, n->tag_len};
            r = spool_rec_new(&t);
        }
    }
    free(tray);
    free(msg);
    if (r) {
        r->accept_ms = now_ms;
        r->expire_ms = now_ms + (int64_t)ttl * 1000;
        r->kind = (uint32_t)n->target;
        r->session = n->target == PIPES_PROTO_TARGET_SESSION ? n->target_session : 0;
        r->question = n->action_count > 0;
    }
    return r;
}

/* Removes r and its file. Called with the lock held exclusively. */
static void drop_locked(spool *s, spool_rec *r)
{
    spool_answer_forget_locked(s, r);
    spoolfile_delete(&s->dir, r->seq);
    spool_index_remove(&s->idx, r);
}

/* Would r take its submitter over quota q? Called with the lock held. */
static int over_quota(const spool_index *x, const spool_rec *r, const spool_quota *q)
{
    const spool_owner *o = spool_index_owner(x, SPOOL_REC_SID(r));
    size_t pending = o ? o->pending : 0;
    uint64_t bytes = o ? o->pending_bytes : 0;
    return pending >= q->max_pending || bytes + r->msg_len > q->max_pending_bytes;
}

spool_result spool_add(spool *s, const pipes_proto_notification *n, const spool_quota *quota,
                       int64_t now_ms, spool_added *out)
{
    uint32_t ttl = n->has_ttl ? n->ttl : s->lim.default_ttl;
    spool_rec *r = record_for(n, now_ms, ttl), *held;
    spool_index *x = &s->idx;
    spool_result res = SPOOL_OK;

    memset(out, 0, sizeof *out);
    if (!r)
        return SPOOL_NO_MEMORY;
    AcquireSRWLockExclusive(&s->lock);
    held = spool_index_find_id(x, SPOOL_REC_SID(r), n->id);
    if (held) {
        out->seq = held->seq;
        out->displayed = held->displayed;
        out->displayed_session = held->displayed_session;
        out->answered = spool_answer_get_locked(held, &out->answer);
        res = SPOOL_DUPLICATE;
    } else if (x->pending >= s->lim.max_count ||
               x->pending_bytes + r->msg_len > s->lim.max_bytes) {
        res = SPOOL_FULL;
    } else if (quota && over_quota(x, r, quota)) {
        s->quota_refusals++;
        res = SPOOL_QUOTA;
    } else {
        r->seq = s->next_seq++;
        if (!spoolfile_write(&s->dir, r)) {
            res = SPOOL_IO_ERROR;
        } else if (!spool_index_append(x, r)) {
            spoolfile_delete(&s->dir, r->seq);
            res = SPOOL_NO_MEMORY;
        } else {
            out->seq = r->seq;
            take_tag(s, r);
            if (r->expire_ms < s->next_expiry)
                s->next_expiry = r->expire_ms;
            r = NULL;
            /* Room after the write, so a failed write evicts nothing. The
             * pending records alone fit, so delivered ones remain to evict. */
            while ((x->count > s->lim.max_count || x->bytes > s->lim.max_bytes) &&
                   x->oldest_delivered) {
                drop_locked(s, x->oldest_delivered);
                s->evicted++;
            }
            spool_index_compact(x);
        }
    }
    ReleaseSRWLockExclusive(&s->lock);
    PIPES_CHAOS_POINT("spool.add.unlocked");
    spool_rec_free(r);
    return res;
}

/* ---- delivery side -------------------------------------------------------------- */

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

/* A target user "S-1-..." is a SID (the policy restricts a standard user's
 * notifications to his own sessions that way); anything else a name. */
static int target_matches(const char *target, const spool_viewer *v)
{
    if (strncmp(target, "S-1-", 4) == 0)
        return v->user_sid && v->user_sid[0] && _stricmp(target, v->user_sid) == 0;
    return v->user && v->user[0] && user_matches(target, v->user);
}

int spool_rec_reaches(const spool_rec *r, const spool_viewer *v)
{
    switch (r->kind) {
    case PIPES_PROTO_TARGET_SESSION: return r->session == v->session;
    case PIPES_PROTO_TARGET_USER: return target_matches(SPOOL_REC_USER(r), v);
    default: return 1;
    }
}

/* An answered question goes nowhere new: the first answer won (PROTOCOL.md 5a);
 * nor does a replaced tag state: its newer record will (PROTOCOL.md 2.1). */
static int rec_wanted(const spool_rec *r, const spool_viewer *v)
{
    return !r->answer && !r->replaced && !spool_rec_has_ack(r, v->session) &&
           spool_rec_reaches(r, v);
}

int spool_next(spool *s, uint64_t after, const spool_viewer *v, spool_item *out)
{
    size_t i;
    int found = 0;
    AcquireSRWLockShared(&s->lock);
    for (i = spool_index_pos_after(&s->idx, after); i < s->idx.len; i++) {
        const spool_rec *r = s->idx.slots[i].rec;
        if (!r || !rec_wanted(r, v))
            continue;
        out->msg = (char *)malloc(r->msg_len + 1);
        if (out->msg) {
            memcpy(out->msg, SPOOL_REC_MSG(r), r->msg_len + 1);
            out->msg_len = r->msg_len;
            out->seq = r->seq;
            memcpy(out->id, SPOOL_REC_ID(r), r->id_len + 1);
            memcpy(out->sid, SPOOL_REC_SID(r), r->sid_len + 1);
            found = 1;
        }
        break;
    }
    ReleaseSRWLockShared(&s->lock);
    PIPES_CHAOS_POINT("spool.next.unlocked");
    return found;
}

spool_result spool_ack(spool *s, uint64_t seq, uint32_t session, int displayed)
{
    spool_rec *r;
    spool_result res = SPOOL_OK;
    AcquireSRWLockExclusive(&s->lock);
    r = spool_index_find_seq(&s->idx, seq);
    if (!r) {
        res = SPOOL_NOT_FOUND;
    } else {
        spool_index_set_delivered(&s->idx, r);
        if (displayed && !r->displayed) {
            r->displayed = 1;
            r->displayed_session = session;
        }
        if (r->kind == PIPES_PROTO_TARGET_SESSION && r->session == session && !r->question) {
            drop_locked(s, r); /* its only destination has it (a question waits for its answer) */
            spool_index_compact(&s->idx);
        } else if (!spool_rec_has_ack(r, session) && spool_index_add_ack(&s->idx, r, session)) {
            spoolfile_append_trailer(&s->dir, seq, displayed ? "ACK1" : "REJ1", session);
            spool_answer_acks_changed_locked(s, r); /* answered meanwhile: it owes a withdraw */
        }
    }
    ReleaseSRWLockExclusive(&s->lock);
    PIPES_CHAOS_POINT("spool.ack.unlocked");
    return res;
}

void spool_session_reset(spool *s, uint32_t session)
{
    size_t i;
    AcquireSRWLockExclusive(&s->lock);
    for (i = 0; i < s->idx.len; i++) {
        spool_rec *r = s->idx.slots[i].rec;
        if (r && spool_rec_drop_ack(r, session)) {
            spoolfile_append_trailer(&s->dir, r->seq, "RST1", session);
            spool_answer_acks_changed_locked(s, r);
        }
    }
    ReleaseSRWLockExclusive(&s->lock);
    PIPES_CHAOS_POINT("spool.reset.unlocked");
}

uint32_t spool_expire(spool *s, int64_t now_ms, uint32_t *undelivered, int64_t *next_ms)
{
    size_t i;
    uint32_t removed = 0, lost = 0;
    int64_t next = INT64_MAX;
    AcquireSRWLockExclusive(&s->lock);
    if (now_ms < s->next_expiry) {
        next = s->next_expiry; /* nothing is due: no scan */
    } else {
        for (i = 0; i < s->idx.len; i++) {
            spool_rec *r = s->idx.slots[i].rec;
            if (!r)
                continue;
            if (r->expire_ms <= now_ms) {
                if (!r->delivered)
                    lost++;
                drop_locked(s, r);
                removed++;
            } else if (r->expire_ms < next) {
                next = r->expire_ms;
            }
        }
        s->next_expiry = next;
        spool_index_compact(&s->idx);
    }
    ReleaseSRWLockExclusive(&s->lock);
    PIPES_CHAOS_POINT("spool.expire.unlocked");
    if (undelivered)
        *undelivered = lost;
    if (next_ms)
        *next_ms = next;
    return removed;
}

void spool_get_stats(spool *s, spool_stats *out)
{
    memset(out, 0, sizeof *out);
    AcquireSRWLockShared(&s->lock);
    out->count = s->idx.count;
    out->bytes = s->idx.bytes;
    out->pending_deliveries = s->idx.pending;
    out->evicted = s->evicted;
    out->record_memory = s->idx.memory;
    out->id_compares = s->idx.id_compares;
    out->submitters = s->idx.owner_n;
    out->quota_refusals = s->quota_refusals;
    out->answers = s->answers;
    out->answers_late = s->answers_late;
    ReleaseSRWLockShared(&s->lock);
    PIPES_CHAOS_POINT("spool.stats.unlocked");
}
