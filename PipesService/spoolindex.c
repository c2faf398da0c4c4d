/*
 * spoolindex.c - the spool's records in memory (see spool_index in
 * spoolint.h): every operation the spool does per submission, ack or
 * delivery step is O(1) or O(log n) here, so MaxSpoolCount's maximum
 * (1,000,000) costs memory, not time. The per-SID counters (owners) are
 * what the per-user quotas are checked against.
 */
#include "spoolint.h"

#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 1024u
#define MIN_OWNER_BUCKETS 64u
#define MIN_SLOTS 256u

/* ---- records ---------------------------------------------------------------- */

spool_rec *spool_rec_new(const spool_rec_texts *t)
{
    spool_rec *r;
    if (t->id_len > PIPES_PROTO_MAX_ID || t->sid_len > PIPES_PROTO_MAX_SID ||
        t->user_len > PIPES_PROTO_MAX_USER || t->msg_len > PIPES_PROTO_MAX_MESSAGE ||
        t->tag_len > PIPES_PROTO_MAX_TAG)
        return NULL;
    r = (spool_rec *)calloc(1, sizeof *r + t->id_len + t->user_len + t->msg_len + t->sid_len +
                                   t->tag_len + 5);
    if (!r)
        return NULL;
    r->id_len = (uint8_t)t->id_len;
    r->sid_len = (uint8_t)t->sid_len;
    r->tag_len = (uint8_t)t->tag_len;
    r->user_len = (uint16_t)t->user_len;
    r->msg_len = (uint32_t)t->msg_len;
    memcpy(SPOOL_REC_ID(r), t->id, t->id_len);
    memcpy(SPOOL_REC_USER(r), t->user, t->user_len);
    memcpy(SPOOL_REC_MSG(r), t->msg, t->msg_len);
    memcpy(SPOOL_REC_SID(r), t->sid, t->sid_len);
    memcpy(SPOOL_REC_TAG(r), t->tag, t->tag_len);
    return r;
}

void spool_rec_free(spool_rec *r)
{
    if (r) {
        free(r->acked);
        free(r->answer);
        free(r);
    }
}

size_t spool_rec_memory(const spool_rec *r)
{
    return sizeof *r + r->id_len + r->user_len + r->msg_len + r->sid_len + r->tag_len + 5 +
           (size_t)r->acked_cap * sizeof r->acked[0];
}

int spool_rec_has_ack(const spool_rec *r, uint32_t session)
{
    size_t i;
    for (i = 0; i < r->acked_n; i++)
        if (r->acked[i] == session)
            return 1;
    return 0;
}

int spool_rec_add_ack(spool_rec *r, uint32_t session)
{
    if (r->acked_n == r->acked_cap) {
        size_t cap = r->acked_cap ? (size_t)r->acked_cap * 2 : 1;
        uint32_t *p;
        if (cap > SVC_MAX_SESSIONS)
            return 0;
        p = (uint32_t *)realloc(r->acked, cap * sizeof *p);
        if (!p)
            return 0;
        r->acked = p;
        r->acked_cap = (uint8_t)cap;
    }
    r->acked[r->acked_n++] = session;
    return 1;
}

int spool_rec_drop_ack(spool_rec *r, uint32_t session)
{
    size_t i;
    for (i = 0; i < r->acked_n; i++)
        if (r->acked[i] == session) {
            r->acked[i] = r->acked[--r->acked_n];
            return 1;
        }
    return 0;
}

/* ---- the (SID, id) hash table ------------------------------------------------ */

static uint64_t fnv(uint64_t h, const char *s)
{
    while (*s) {
        h ^= (uint8_t)*s++;
        h *= 0x100000001b3ull;
    }
    return h;
}

#define FNV_BASIS 0xcbf29ce484222325ull

/* SID, a byte neither holds (both are ASCII), id: no two keys run together. */
static uint64_t hash_key(const char *sid, const char *id)
{
    uint64_t h = fnv(FNV_BASIS, sid);
    h ^= 0xFFu;
    h *= 0x100000001b3ull;
    return fnv(h, id);
}

static spool_rec **bucket_of(const spool_index *x, const char *sid, const char *id)
{
    return &x->buckets[hash_key(sid, id) & (x->bucket_n - 1)];
}

/* Doubles the table when records outnumber buckets: chains stay short. */
static int grow_buckets(spool_index *x)
{
    size_t n = x->bucket_n ? x->bucket_n * 2 : MIN_BUCKETS, i;
    spool_rec **old = x->buckets;
    size_t old_n = x->bucket_n;
    x->buckets = (spool_rec **)calloc(n, sizeof *x->buckets);
    if (!x->buckets) {
        x->buckets = old;
        return 0;
    }
    x->bucket_n = n;
    for (i = 0; i < old_n; i++) {
        spool_rec *r = old[i], *next;
        for (; r; r = next) {
            spool_rec **b = bucket_of(x, SPOOL_REC_SID(r), SPOOL_REC_ID(r));
            next = r->id_next;
            r->id_next = *b;
            *b = r;
        }
    }
    free(old);
    return 1;
}

spool_rec *spool_index_find_id(spool_index *x, const char *sid, const char *id)
{
    spool_rec *r;
    if (!x->bucket_n)
        return NULL;
    for (r = *bucket_of(x, sid, id); r; r = r->id_next) {
        x->id_compares++;
        if (strcmp(SPOOL_REC_ID(r), id) == 0 && strcmp(SPOOL_REC_SID(r), sid) == 0)
            return r;
    }
    return NULL;
}

/* ---- owners: the counters per SID --------------------------------------------- */

static spool_owner **owner_bucket(const spool_index *x, const char *sid)
{
    return &x->owners[fnv(FNV_BASIS, sid) & (x->owner_bucket_n - 1)];
}

const spool_owner *spool_index_owner(const spool_index *x, const char *sid)
{
    spool_owner *o;
    if (!x->owner_bucket_n)
        return NULL;
    for (o = *owner_bucket(x, sid); o; o = o->next)
        if (strcmp(o->sid, sid) == 0)
            return o;
    return NULL;
}

/* Doubles the owner table when owners outnumber its buckets. */
static int grow_owners(spool_index *x)
{
    size_t n = x->owner_bucket_n ? x->owner_bucket_n * 2 : MIN_OWNER_BUCKETS, i;
    spool_owner **old = x->owners;
    size_t old_n = x->owner_bucket_n;
    x->owners = (spool_owner **)calloc(n, sizeof *x->owners);
    if (!x->owners) {
        x->owners = old;
        return 0;
    }
    x->owner_bucket_n = n;
    for (i = 0; i < old_n; i++) {
        spool_owner *o = old[i], *next;
        for (; o; o = next) {
            spool_owner **b = owner_bucket(x, o->sid);
            next = o->next;
            o->next = *b;
            *b = o;
        }
    }
    free(old);
    return 1;
}

/* The owner of sid, created when it has none yet; NULL when out of memory. */
static spool_owner *owner_get(spool_index *x, const char *sid)
{
    spool_owner *o = (spool_owner *)spool_index_owner(x, sid), **b;
    if (o)
        return o;
    if (x->owner_n + 1 > x->owner_bucket_n && !grow_owners(x))
        return NULL;
    o = (spool_owner *)calloc(1, sizeof *o);
    if (!o)
        return NULL;
    strcpy(o->sid, sid);
    b = owner_bucket(x, sid);
    o->next = *b;
    *b = o;
    x->owner_n++;
    x->memory += sizeof *o;
    return o;
}

static void owner_put(spool_index *x, spool_owner *o)
{
    spool_owner **pp;
    if (--o->count > 0)
        return;
    for (pp = owner_bucket(x, o->sid); *pp != o; pp = &(*pp)->next)
        ;
    *pp = o->next;
    x->owner_n--;
    x->memory -= sizeof *o;
    free(o);
}

static void owner_pending(spool_rec *r, int add)
{
    if (add) {
        r->owner->pending++;
        r->owner->pending_bytes += r->msg_len;
    } else {
        r->owner->pending--;
        r->owner->pending_bytes -= r->msg_len;
    }
}

/* ---- slots in sequence order ------------------------------------------------ */

size_t spool_index_pos_after(const spool_index *x, uint64_t seq)
{
    size_t lo = 0, hi = x->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->slots[mid].seq <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t pos_of(const spool_index *x, uint64_t seq)
{
    size_t i = spool_index_pos_after(x, seq);
    return i > 0 && x->slots[i - 1].seq == seq ? i - 1 : x->len;
}

spool_rec *spool_index_find_seq(const spool_index *x, uint64_t seq)
{
    size_t i = pos_of(x, seq);
    return i < x->len ? x->slots[i].rec : NULL;
}

void spool_index_compact(spool_index *x)
{
    size_t i, j = 0;
    if (x->len - x->count <= x->count || x->len < MIN_SLOTS)
        return;
    for (i = 0; i < x->len; i++)
        if (x->slots[i].rec)
            x->slots[j++] = x->slots[i];
    x->len = j;
}

/* ---- the index ---------------------------------------------------------------- */

void spool_index_init(spool_index *x)
{
    memset(x, 0, sizeof *x);
}

void spool_index_free(spool_index *x)
{
    size_t i;
    for (i = 0; i < x->len; i++)
        spool_rec_free(x->slots[i].rec);
    for (i = 0; i < x->owner_bucket_n; i++) {
        spool_owner *o = x->owners[i], *next;
        for (; o; o = next) {
            next = o->next;
            free(o);
        }
    }
    free(x->slots);
    free(x->buckets);
    free(x->owners);
    free(x->tag_buckets);
    spool_index_init(x);
}

static void delivered_link(spool_index *x, spool_rec *r)
{
    r->older = x->newest_delivered;
    r->newer = NULL;
    if (x->newest_delivered)
        x->newest_delivered->newer = r;
    else
        x->oldest_delivered = r;
    x->newest_delivered = r;
}

static void delivered_unlink(spool_index *x, spool_rec *r)
{
    if (r->older)
        r->older->newer = r->newer;
    else
        x->oldest_delivered = r->newer;
    if (r->newer)
        r->newer->older = r->older;
    else
        x->newest_delivered = r->older;
    r->older = r->newer = NULL;
}

/* ---- tags: the latest record of each (submitter, tag, target) ------------------- */

static spool_rec **tag_bucket_of(const spool_index *x, const spool_rec *r)
{
    return &x->tag_buckets[hash_key(SPOOL_REC_SID(r), SPOOL_REC_TAG(r)) & (x->tag_bucket_n - 1)];
}

/* Doubles the tag table when its records outnumber its buckets. */
static int grow_tag_buckets(spool_index *x)
{
    size_t n = x->tag_bucket_n ? x->tag_bucket_n * 2 : MIN_OWNER_BUCKETS, i;
    spool_rec **old = x->tag_buckets;
    size_t old_n = x->tag_bucket_n;
    x->tag_buckets = (spool_rec **)calloc(n, sizeof *x->tag_buckets);
    if (!x->tag_buckets) {
        x->tag_buckets = old;
        return 0;
    }
    x->tag_bucket_n = n;
    for (i = 0; i < old_n; i++) {
        spool_rec *r = old[i], *next;
        for (; r; r = next) {
            spool_rec **b = tag_bucket_of(x, r);
            next = r->tag_next;
            r->tag_next = *b;
            *b = r;
        }
    }
    free(old);
    return 1;
}

/* Same submitter, tag and target: a state of the same notification. A tag
 * sent to another user or session is another user's notification (the
 * broker's records all carry one SID, so do SYSTEM's programs). */
static int same_tag_state(const spool_rec *a, const spool_rec *b)
{
    return a->tag_len == b->tag_len && a->kind == b->kind && a->session == b->session &&
           strcmp(SPOOL_REC_TAG(a), SPOOL_REC_TAG(b)) == 0 &&
           strcmp(SPOOL_REC_SID(a), SPOOL_REC_SID(b)) == 0 &&
           strcmp(SPOOL_REC_USER(a), SPOOL_REC_USER(b)) == 0;
}

/* r (tagged, not replaced) leaves the tag table; it may be missing from it
 * (no memory for the table when it came). */
static void tag_unlink(spool_index *x, spool_rec *r)
{
    spool_rec **pp;
    if (!x->tag_bucket_n)
        return;
    for (pp = tag_bucket_of(x, r); *pp && *pp != r; pp = &(*pp)->tag_next)
        ;
    if (*pp) {
        *pp = r->tag_next;
        r->tag_next = NULL;
        x->tag_n--;
    }
}

spool_rec *spool_index_take_tag(spool_index *x, spool_rec *r)
{
    spool_rec **pp, *old = NULL;
    if (!r->tag_len || r->replaced)
        return NULL;
    if (x->tag_n + 1 > x->tag_bucket_n && !grow_tag_buckets(x) && !x->tag_bucket_n)
        return NULL; /* out of memory before any table: no replacement (a repeat at worst) */
    for (pp = tag_bucket_of(x, r); *pp; pp = &(*pp)->tag_next) {
        if (same_tag_state(*pp, r)) {
            old = *pp;
            *pp = old->tag_next;
            old->tag_next = NULL;
            x->tag_n--;
            old->replaced = 1;
            spool_index_set_delivered(x, old);
            break;
        }
    }
    pp = tag_bucket_of(x, r);
    r->tag_next = *pp;
    *pp = r;
    x->tag_n++;
    return old;
}

int spool_index_append(spool_index *x, spool_rec *r)
{
    spool_rec **b;
    spool_owner *o;
    if (x->len == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : MIN_SLOTS;
        spool_slot *p = (spool_slot *)realloc(x->slots, cap * sizeof *p);
        if (!p)
            return 0;
        x->slots = p;
        x->cap = cap;
    }
    if (x->count + 1 > x->bucket_n && !grow_buckets(x))
        return 0;
    o = owner_get(x, SPOOL_REC_SID(r));
    if (!o)
        return 0;
    o->count++;
    r->owner = o;
    x->slots[x->len].seq = r->seq;
    x->slots[x->len].rec = r;
    x->len++;
    b = bucket_of(x, SPOOL_REC_SID(r), SPOOL_REC_ID(r));
    r->id_next = *b;
    *b = r;
    x->count++;
    x->bytes += r->msg_len;
    x->memory += spool_rec_memory(r);
    if (r->delivered) {
        delivered_link(x, r);
    } else {
        x->pending++;
        x->pending_bytes += r->msg_len;
        owner_pending(r, 1);
    }
    return 1;
}

void spool_index_remove(spool_index *x, spool_rec *r)
{
    spool_rec **pp = bucket_of(x, SPOOL_REC_SID(r), SPOOL_REC_ID(r));
    size_t i = pos_of(x, r->seq);
    while (*pp != r)
        pp = &(*pp)->id_next;
    *pp = r->id_next;
    if (i < x->len)
        x->slots[i].rec = NULL;
    if (r->delivered) {
        delivered_unlink(x, r);
    } else {
        x->pending--;
        x->pending_bytes -= r->msg_len;
        owner_pending(r, 0);
    }
    if (r->tag_len && !r->replaced)
        tag_unlink(x, r);
    x->count--;
    x->bytes -= r->msg_len;
    x->memory -= spool_rec_memory(r);
    owner_put(x, r->owner);
    spool_rec_free(r);
}

void spool_index_set_delivered(spool_index *x, spool_rec *r)
{
    if (r->delivered)
        return;
    r->delivered = 1;
    x->pending--;
    x->pending_bytes -= r->msg_len;
    owner_pending(r, 0);
    delivered_link(x, r);
}

int spool_index_add_ack(spool_index *x, spool_rec *r, uint32_t session)
{
    size_t before = spool_rec_memory(r);
    int ok = spool_rec_add_ack(r, session);
    x->memory += spool_rec_memory(r) - before;
    return ok;
}
