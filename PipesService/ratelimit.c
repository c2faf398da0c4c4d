/*
 * ratelimit.c - per-submitter token buckets: each key (a svc_identity key:
 * the submitter's SID, or for the system accounts SID and program, so one
 * chatty LocalSystem program does not starve the others) may submit
 * `burst` at once and `per_minute` on average, the limits of its account
 * (svc_config_rate). Every message counts, malformed ones too. A fixed
 * table; when it is full the bucket that has been idle longest is reused
 * (it would be full again by then, or nearly so).
 */
#include "svc.h"

#include <stdlib.h>
#include <string.h>

#define RL_SLOTS 256
#define RL_SCALE 60000u /* one token = 60000 units: per_minute units per ms */

typedef struct rl_bucket {
    char key[SVC_KEY_MAX];
    uint64_t units; /* tokens * RL_SCALE */
    uint64_t last_ms;
    int used;
} rl_bucket;

struct ratelimit {
    SRWLOCK lock;
    rl_bucket slots[RL_SLOTS];
};

ratelimit *ratelimit_create(void)
{
    ratelimit *r = (ratelimit *)calloc(1, sizeof *r);
    if (!r)
        return NULL;
    InitializeSRWLock(&r->lock);
    return r;
}

void ratelimit_destroy(ratelimit *r)
{
    free(r);
}

int ratelimit_take(ratelimit *r, const char *key, uint32_t per_minute, uint32_t burst,
                   uint64_t now_ms)
{
    rl_bucket *b = NULL, *oldest = NULL;
    uint64_t cap;
    int allowed;
    size_t i;

    if (!r || per_minute == 0)
        return 1; /* no limit configured */
    cap = (uint64_t)(burst ? burst : 1) * RL_SCALE;
    AcquireSRWLockExclusive(&r->lock);
    for (i = 0; i < RL_SLOTS; i++) {
        rl_bucket *s = &r->slots[i];
        if (s->used && strcmp(s->key, key) == 0) {
            b = s;
            break;
        }
        if (!oldest || !s->used || (oldest->used && s->last_ms < oldest->last_ms))
            oldest = s;
    }
    if (!b) {
        b = oldest;
        b->used = 1;
        strncpy(b->key, key, SVC_KEY_MAX - 1);
        b->key[SVC_KEY_MAX - 1] = '\0';
        b->units = cap;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        uint64_t add = (now_ms - b->last_ms) * per_minute;
        b->units = (cap - b->units < add) ? cap : b->units + add;
        b->last_ms = now_ms;
    }
    allowed = b->units >= RL_SCALE;
    if (allowed)
        b->units -= RL_SCALE;
    ReleaseSRWLockExclusive(&r->lock);
    return allowed;
}
