/*
 * spoolanswer.c - the answers to questions (records with actions), kept
 * with their record in the spool (docs/PROTOCOL.md 5a, docs/SERVICE.md
 * "Answers").
 *
 * First answer wins per question, a question being one record: (submitter
 * SID, id). The first answer a tray sends is written to <seq>.ans beside
 * the record's <seq>.ntf (temp file, flush, rename: durable before the
 * tray gets its `ack`) and lives exactly as long as the record (ttl,
 * eviction). An answered record goes to no new session; every session that
 * acknowledged it, other than the one that answered, is owed a `withdraw`
 * until its tray acknowledges one. The answered records that still owe one
 * are on a list (s->owing), so looking for withdraws costs nothing while
 * none is owed.
 *
 * <seq>.ans:
 *   "PSA1", u32 length (little-endian), the answer as a `response` message
 *   (PROTOCOL.md JSON, the service's session and time), then 8-byte
 *   trailers appended unflushed: "WDR1" u32 session (that session's tray
 *   acknowledged the withdraw; losing one repeats a withdraw, which a tray
 *   acknowledges again) and "LAT1" u32 session (that session's answer came
 *   late: a record for the log).
 *
 * Everything here runs with the spool's lock held, as spool.c does.
 */
#include "spoolint.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "pipes_chaos.h"

#define ANS_HDR 8u
#define ANS_MAX_FILE (ANS_HDR + 2048u + 8u * 1024u)

struct spool_answer {
    struct spool_answer *prev, *next; /* s->owing, while owing */
    spool_rec *rec;                   /* whose answer */
    int owing;
    pipes_proto_answer a;             /* type RESPONSE */
    uint32_t withdrawn[SVC_MAX_SESSIONS]; /* sessions that acknowledged its withdraw */
    size_t withdrawn_n;
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int was_withdrawn(const struct spool_answer *an, uint32_t session)
{
    size_t i;
    for (i = 0; i < an->withdrawn_n; i++)
        if (an->withdrawn[i] == session)
            return 1;
    return 0;
}

/* Does session still need a withdraw of r? */
static int owes_to(const spool_rec *r, uint32_t session)
{
    const struct spool_answer *an = r->answer;
    return an && session != an->a.session && spool_rec_has_ack(r, session) &&
           !was_withdrawn(an, session);
}

void spool_answer_acks_changed_locked(spool *s, spool_rec *r)
{
    struct spool_answer *an = r->answer;
    size_t i;
    int owing = 0;
    if (!an)
        return;
    for (i = 0; i < r->acked_n && !owing; i++)
        owing = owes_to(r, r->acked[i]);
    if (owing && !an->owing) {
        an->prev = NULL;
        an->next = s->owing;
        if (s->owing)
            s->owing->prev = an;
        s->owing = an;
    } else if (!owing && an->owing) {
        if (an->prev)
            an->prev->next = an->next;
        else
            s->owing = an->next;
        if (an->next)
            an->next->prev = an->prev;
    }
    an->owing = owing;
}

void spool_answer_forget_locked(spool *s, spool_rec *r)
{
    wchar_t name[SPOOL_NAME_SIZE];
    if (!r->answer)
        return;
    r->acked_n = 0; /* owes nothing now: off the list */
    spool_answer_acks_changed_locked(s, r);
    free(r->answer);
    r->answer = NULL;
    spoolfile_name(r->seq, L"ans", name);
    safedir_delete(&s->dir, name);
}

int spool_answer_get_locked(const spool_rec *r, pipes_proto_answer *out)
{
    if (!r->answer)
        return 0;
    *out = r->answer->a;
    return 1;
}

/* ---- a tray's response -------------------------------------------------------- */

/* Is action one of the actions of r's stored notification? */
static int has_action(const spool_rec *r, const char *action)
{
    pipes_proto_notification *n = (pipes_proto_notification *)malloc(sizeof *n);
    int found = 0;
    unsigned i;
    if (n && pipes_proto_parse_notification(SPOOL_REC_MSG(r), r->msg_len, n, NULL) ==
                 PIPES_PROTO_OK)
        for (i = 0; i < n->action_count && !found; i++)
            found = strcmp(n->actions[i].id, action) == 0;
    free(n);
    return found;
}

/* The question a response of v's session for id answers (see spool_answer). */
static spool_rec *question_for(spool *s, const spool_viewer *v, const char *id, int *any_id)
{
    spool_rec *best = NULL;
    int best_score = -1;
    size_t i;
    *any_id = 0;
    /* Every record: a response names only the id, not the submitter. Answers
     * come from people clicking, so a scan per answer is affordable. */
    for (i = 0; i < s->idx.len; i++) {
        spool_rec *r = s->idx.slots[i].rec;
        int score;
        if (!r || strcmp(SPOOL_REC_ID(r), id) != 0)
            continue;
        *any_id = 1;
        if (!r->question || !spool_rec_reaches(r, v))
            continue;
        score = (spool_rec_has_ack(r, v->session) ? 2 : 0) +
                (!r->answer || r->answer->a.session == v->session ? 1 : 0);
        if (score > best_score) { /* slots are in seq order: the oldest of a score wins */
            best = r;
            best_score = score;
        }
    }
    return best;
}

/* Writes r's new answer file: header and the response. */
static int write_answer(spool *s, const spool_rec *r, const pipes_proto_answer *a)
{
    uint8_t buf[ANS_HDR + 2048];
    size_t len = 0;
    if (pipes_proto_write_answer(a, (char *)buf + ANS_HDR, sizeof buf - ANS_HDR, &len) !=
        PIPES_PROTO_OK) {
        SetLastError(ERROR_INVALID_DATA);
        return 0;
    }
    memcpy(buf, "PSA1", 4);
    put32(buf + 4, (uint32_t)len);
    return spoolfile_put(&s->dir, r->seq, L"atmp", L"ans", buf, ANS_HDR + len);
}

/* Stores a as r's first answer. */
static spool_result store_first(spool *s, spool_rec *r, const pipes_proto_answer *a,
                                uint32_t session)
{
    struct spool_answer *an = (struct spool_answer *)calloc(1, sizeof *an);
    if (!an)
        return SPOOL_NO_MEMORY;
    an->a = *a;
    an->rec = r;
    if (!write_answer(s, r, &an->a)) {
        free(an);
        return SPOOL_IO_ERROR;
    }
    r->answer = an;
    s->answers++;
    /* It answered, so it has it: not sent there again, and pending for nobody. */
    if (!r->delivered)
        spool_index_set_delivered(&s->idx, r);
    if (!r->displayed) {
        r->displayed = 1;
        r->displayed_session = session;
    }
    if (!spool_rec_has_ack(r, session) && spool_index_add_ack(&s->idx, r, session))
        spoolfile_append_trailer(&s->dir, r->seq, "ACK1", session);
    spool_answer_acks_changed_locked(s, r);
    return SPOOL_OK;
}

spool_result spool_answer(spool *s, const spool_viewer *v, const pipes_proto_answer *a,
                          int64_t now_ms, spool_answered *out, const char **why)
{
    pipes_proto_answer mine = *a;
    spool_result res = SPOOL_OK;
    spool_rec *r;
    int any_id;

    memset(out, 0, sizeof *out);
    *why = NULL;
    /* The session is the connection's, never the tray's claim. */
    mine.type = PIPES_PROTO_TYPE_RESPONSE;
    mine.has_session = 1;
    mine.session = v->session;
    if (!mine.has_time) {
        mine.has_time = 1;
        mine.time_ms = now_ms;
    }
    AcquireSRWLockExclusive(&s->lock);
    r = question_for(s, v, a->id, &any_id);
    if (!r) {
        *why = any_id ? "no notification with actions and this id reached this session"
                      : "no notification with this id is held (expired, or never sent here)";
        res = SPOOL_NOT_FOUND;
    } else if (!r->answer && mine.result == PIPES_PROTO_RESULT_ACTION &&
               !has_action(r, mine.action)) {
        *why = "the action is not one of the notification's actions";
        res = SPOOL_NOT_FOUND;
    } else {
        out->seq = r->seq;
        memcpy(out->sid, SPOOL_REC_SID(r), r->sid_len + 1);
        memcpy(out->id, SPOOL_REC_ID(r), r->id_len + 1);
        if (r->answer) {
            out->outcome = r->answer->a.session == v->session ? SPOOL_ANSWER_REPEAT
                                                             : SPOOL_ANSWER_LATE;
            if (out->outcome == SPOOL_ANSWER_LATE) {
                s->answers_late++;
                spoolfile_append_trailer_to(&s->dir, r->seq, L"ans", "LAT1", v->session);
            }
        } else {
            res = store_first(s, r, &mine, v->session);
            out->outcome = SPOOL_ANSWER_WON;
        }
        if (res == SPOOL_OK)
            out->winner = r->answer->a;
    }
    ReleaseSRWLockExclusive(&s->lock);
    PIPES_CHAOS_POINT("spool.answer.unlocked");
    return res;
}

/* ---- withdraws ------------------------------------------------------------------ */

static int skipped(uint64_t seq, const uint64_t *skip, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (skip[i] == seq)
            return 1;
    return 0;
}

int spool_next_withdraw(spool *s, uint32_t session, const uint64_t *skip, size_t n_skip,
                        spool_withdraw *out)
{
    const struct spool_answer *an;
    int found = 0;
    AcquireSRWLockShared(&s->lock);
    for (an = s->owing; an && !found; an = an->next) {
        const spool_rec *r = an->rec;
        if (!owes_to(r, session) || skipped(r->seq, skip, n_skip))
            continue;
        out->seq = r->seq;
        out->msg = an->a;
        out->msg.type = PIPES_PROTO_TYPE_WITHDRAW;
        found = 1;
    }
    ReleaseSRWLockShared(&s->lock);
    PIPES_CHAOS_POINT("spool.next_withdraw.unlocked");
    return found;
}

void spool_withdrawn(spool *s, uint64_t seq, uint32_t session)
{
    spool_rec *r;
    AcquireSRWLockExclusive(&s->lock);
    r = spool_index_find_seq(&s->idx, seq);
    if (r && owes_to(r, session) && r->answer->withdrawn_n < SVC_MAX_SESSIONS) {
        r->answer->withdrawn[r->answer->withdrawn_n++] = session;
        spoolfile_append_trailer_to(&s->dir, seq, L"ans", "WDR1", session);
        spool_answer_acks_changed_locked(s, r);
    }
    ReleaseSRWLockExclusive(&s->lock);
    PIPES_CHAOS_POINT("spool.withdrawn.unlocked");
}

/* ---- query -------------------------------------------------------------------- */

void spool_state(spool *s, const char *sid, const char *id, pipes_proto_answer *out)
{
    spool_rec *r;
    pipes_proto_answer_init(out, PIPES_PROTO_TYPE_STATE, id);
    out->state = PIPES_PROTO_STATE_UNKNOWN;
    AcquireSRWLockShared(&s->lock);
    r = spool_index_find_id(&s->idx, sid, id);
    if (r && r->answer) {
        *out = r->answer->a;
        out->type = PIPES_PROTO_TYPE_STATE;
        out->state = PIPES_PROTO_STATE_ANSWERED;
    } else if (r && r->displayed) {
        out->state = PIPES_PROTO_STATE_DISPLAYED;
        out->has_session = 1;
        out->session = r->displayed_session;
    } else if (r && r->replaced) {
        out->state = PIPES_PROTO_STATE_REPLACED;
    } else if (r) {
        out->state = PIPES_PROTO_STATE_PENDING;
    }
    ReleaseSRWLockShared(&s->lock);
    PIPES_CHAOS_POINT("spool.state.unlocked");
}

/* ---- loading ------------------------------------------------------------------ */

/* One <seq>.ans: its answer (and trailers) onto its record, or NULL and *why. */
static struct spool_answer *read_answer(const safedir *dir, const wchar_t *name, DWORD size,
                                        const char **why)
{
    uint8_t *buf = (uint8_t *)malloc(size + 1u);
    struct spool_answer *an = NULL;
    HANDLE h;
    DWORD got = 0;
    uint32_t len;
    size_t off;

    *why = "unreadable";
    /* Through a checked handle: a link planted as <seq>.ans is not read. */
    h = spoolfile_open_read(dir, name, why);
    if (h != INVALID_HANDLE_VALUE && buf && ReadFile(h, buf, size, &got, NULL) && got >= ANS_HDR &&
        memcmp(buf, "PSA1", 4) == 0 && (len = get32(buf + 4)) <= got - ANS_HDR) {
        an = (struct spool_answer *)calloc(1, sizeof *an);
        *why = "the stored response does not parse";
        if (an && (pipes_proto_parse_answer(buf + ANS_HDR, len, &an->a, NULL) != PIPES_PROTO_OK ||
                   an->a.type != PIPES_PROTO_TYPE_RESPONSE || !an->a.has_session)) {
            free(an);
            an = NULL;
        }
        /* Trailers: a cut last one (crash while appending) is ignored. */
        for (off = ANS_HDR + len; an && off + 8 <= got; off += 8)
            if (memcmp(buf + off, "WDR1", 4) == 0 && an->withdrawn_n < SVC_MAX_SESSIONS &&
                !was_withdrawn(an, get32(buf + off + 4)))
                an->withdrawn[an->withdrawn_n++] = get32(buf + off + 4);
    } else if (got) {
        *why = "bad header";
    }
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    free(buf);
    return an;
}

/* Deletes every <dir>\*.<ext> (through checked handles): unfinished answer temps. */
static void delete_all(const safedir *dir, const wchar_t *ext)
{
    wchar_t pattern[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE find;
    swprintf(pattern, MAX_PATH, L"%ls\\*.%ls", dir->path, ext);
    find = FindFirstFileW(pattern, &fd);
    if (find == INVALID_HANDLE_VALUE)
        return;
    do {
        safedir_delete(dir, fd.cFileName);
    } while (FindNextFileW(find, &fd));
    FindClose(find);
}

void spool_answers_load(spool *s)
{
    wchar_t pattern[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE find;

    /* A temp never renamed was never acknowledged: the tray sends it again. */
    delete_all(&s->dir, L"atmp");
    swprintf(pattern, MAX_PATH, L"%ls\\*.ans", s->dir.path);
    find = FindFirstFileW(pattern, &fd);
    if (find == INVALID_HANDLE_VALUE)
        return;
    do {
        uint64_t seq = spoolfile_name_seq(fd.cFileName, L"ans");
        spool_rec *r = seq ? spool_index_find_seq(&s->idx, seq) : NULL;
        const char *why = "file too large";
        struct spool_answer *an = NULL;
        if (r && !r->answer && !fd.nFileSizeHigh && fd.nFileSizeLow <= ANS_MAX_FILE)
            an = read_answer(&s->dir, fd.cFileName, fd.nFileSizeLow, &why);
        if (an) {
            an->rec = r;
            r->answer = an;
            spool_answer_acks_changed_locked(s, r);
        } else if (r) {
            spoolfile_set_aside(&s->dir, fd.cFileName, why); /* damaged: logged */
        } else {
            safedir_delete(&s->dir, fd.cFileName); /* its record expired or was removed meanwhile */
        }
    } while (FindNextFileW(find, &fd));
    FindClose(find);
}
