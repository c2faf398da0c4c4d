/*
 * ratelimit.c - per-client token buckets: each key (the client's user SID,
 * or its process id when the SID is unknown) may submit `burst` at once
 * and `per_minute` on average. A fixed table; when it is full the bucket
 * that has been idle longest is reused (it would be full again by then, or
 * nearly so).
 */
#include "svc.h"

#include <stdlib.h>
#include <wchar.h>

#define RL_SLOTS 256
#define RL_SCALE 60000u /* one token = 60000 units: per_minute units per ms */

typedef struct rl_bucket {
    wchar_t key[PIPES_MAX_SID_STRING];
    uint64_t units;  /* tokens * RL_SCALE */
    uint64_t last_ms;
    int used;
} rl_bucket;

struct ratelimit {
    SRWLOCK lock;
    uint32_t per_minute, burst;
    rl_bucket slots[RL_SLOTS];
};

ratelimit *ratelimit_create(uint32_t per_minute, uint32_t burst)
{
    ratelimit *r = (ratelimit *)calloc(1, sizeof *r);
    if (!r)
        return NULL;
    InitializeSRWLock(&r->lock);
    r->per_minute = per_minute;
    r->burst = burst ? burst : 1;
    return r;
}

void ratelimit_destroy(ratelimit *r)
{
    free(r);
}

int ratelimit_take(ratelimit *r, const wchar_t *key, uint64_t now_ms)
{
    rl_bucket *b = NULL, *oldest = NULL;
    uint64_t cap;
    int allowed;
    size_t i;

    if (!r || r->per_minute == 0)
        return 1; /* no limit configured */
    cap = (uint64_t)r->burst * RL_SCALE;
    AcquireSRWLockExclusive(&r->lock);
    for (i = 0; i < RL_SLOTS; i++) {
        rl_bucket *s = &r->slots[i];
        if (s->used && wcscmp(s->key, key) == 0) {
            b = s;
            break;
        }
        if (!oldest || !s->used || (oldest->used && s->last_ms < oldest->last_ms))
            oldest = s;
    }
    if (!b) {
        b = oldest;
        b->used = 1;
        wcsncpy(b->key, key, PIPES_MAX_SID_STRING - 1);
        b->key[PIPES_MAX_SID_STRING - 1] = L'\0';
        b->units = cap;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        uint64_t add = (now_ms - b->last_ms) * r->per_minute;
        b->units = (cap - b->units < add) ? cap : b->units + add;
        b->last_ms = now_ms;
    }
    allowed = b->units >= RL_SCALE;
    if (allowed)
        b->units -= RL_SCALE;
    ReleaseSRWLockExclusive(&r->lock);
    return allowed;
}
