/*
 * conns.c - the submit pipe's connections as the service counts them
 * (docs/SERVICE.md "Connections"): which process and session each comes
 * from (the pipe's record, read by the library at connect), its submitter
 * from its first message on (svc_identity, from the pipe's token), when it
 * last sent, and whether it waits for `displayed`. The caps: a process may
 * hold per_process connections and a session per_session from the moment
 * they connect (before anyone knows the user: a less privileged service
 * cannot read another user's process token), a submitter per_user once its
 * first message identified it. The idle timeouts close what sends nothing.
 *
 * A compact array scanned linearly: at 1,024 entries a scan is a few
 * microseconds, less than the pipe I/O around it. Its room is twice
 * `capacity` (MaxConnections, the library's own bound), since a connection
 * the library has let go stays here until its DISCONNECTED event is
 * handled. Identities are allocated when a connection is identified. One
 * lock covers everything.
 */
#include "svc.h"

#include <stdlib.h>
#include <string.h>

#include "pipes_chaos.h"

typedef struct conn_entry {
    uint64_t id;
    uint32_t pid, session;
    int64_t last_ms;     /* connected, or the last message */
    int waits;           /* `displayed` replies it waits for */
    int closing;         /* refused or due: its messages are ignored */
    svc_identity *who;   /* NULL until its first message */
} conn_entry;

struct svc_conns {
    SRWLOCK lock;
    conn_limits lim;
    conn_entry *e;
    size_t n, room;
};

svc_conns *conns_create(const conn_limits *lim)
{
    svc_conns *c = (svc_conns *)calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->room = 2 * (size_t)(lim->capacity ? lim->capacity : 1);
    c->e = (conn_entry *)calloc(c->room, sizeof *c->e);
    if (!c->e) {
        free(c);
        return NULL;
    }
    InitializeSRWLock(&c->lock);
    c->lim = *lim;
    return c;
}

void conns_destroy(svc_conns *c)
{
    size_t i;
    if (!c)
        return;
    for (i = 0; i < c->n; i++)
        free(c->e[i].who);
    free(c->e);
    free(c);
}

/* Called with the lock held. */
static conn_entry *find(svc_conns *c, uint64_t id)
{
    size_t i;
    for (i = 0; i < c->n; i++)
        if (c->e[i].id == id)
            return &c->e[i];
    return NULL;
}

conn_verdict conns_add(svc_conns *c, uint64_t id, uint32_t pid, uint32_t session, int64_t now_ms)
{
    size_t i, by_pid = 0, by_session = 0;
    conn_verdict v = CONN_OK;
    AcquireSRWLockExclusive(&c->lock);
    for (i = 0; i < c->n; i++) {
        by_pid += c->e[i].pid == pid;
        by_session += c->e[i].session == session;
    }
    if (by_pid >= c->lim.per_process)
        v = CONN_PROCESS_FULL;
    else if (by_session >= c->lim.per_session)
        v = CONN_SESSION_FULL;
    else if (c->n >= c->room)
        v = CONN_TABLE_FULL;
    if (v == CONN_OK) {
        conn_entry *e = &c->e[c->n++];
        memset(e, 0, sizeof *e);
        e->id = id;
        e->pid = pid;
        e->session = session;
        e->last_ms = now_ms;
    }
    ReleaseSRWLockExclusive(&c->lock);
    PIPES_CHAOS_POINT("conns.add.unlocked");
    return v;
}

int conns_message(svc_conns *c, uint64_t id, int64_t now_ms, svc_identity *who)
{
    conn_entry *e;
    int r = -1;
    AcquireSRWLockExclusive(&c->lock);
    e = find(c, id);
    if (e && !e->closing) {
        e->last_ms = now_ms;
        r = e->who != NULL;
        if (r)
            *who = *e->who;
    }
    ReleaseSRWLockExclusive(&c->lock);
    return r;
}

conn_verdict conns_identify(svc_conns *c, uint64_t id, const svc_identity *who)
{
    svc_identity *copy = (svc_identity *)malloc(sizeof *copy);
    conn_verdict v = CONN_OK;
    conn_entry *e;
    size_t i, same = 0;
    if (copy)
        *copy = *who;
    AcquireSRWLockExclusive(&c->lock);
    e = find(c, id);
    for (i = 0; i < c->n; i++)
        same += c->e[i].who && !c->e[i].closing && strcmp(c->e[i].who->key, who->key) == 0;
    if (!e || !copy) {
        v = CONN_TABLE_FULL; /* gone meanwhile, or out of memory: close it */
    } else if (same >= c->lim.per_user) {
        v = CONN_USER_FULL;
        e->closing = 1;
    } else {
        e->who = copy;
        copy = NULL;
    }
    ReleaseSRWLockExclusive(&c->lock);
    PIPES_CHAOS_POINT("conns.identify.unlocked");
    free(copy);
    return v;
}

void conns_closing(svc_conns *c, uint64_t id)
{
    conn_entry *e;
    AcquireSRWLockExclusive(&c->lock);
    e = find(c, id);
    if (e)
        e->closing = 1;
    ReleaseSRWLockExclusive(&c->lock);
}

void conns_wait(svc_conns *c, uint64_t id, int delta)
{
    conn_entry *e;
    AcquireSRWLockExclusive(&c->lock);
    e = find(c, id);
    if (e)
        e->waits += delta;
    ReleaseSRWLockExclusive(&c->lock);
}

void conns_remove(svc_conns *c, uint64_t id)
{
    conn_entry *e;
    svc_identity *who = NULL;
    AcquireSRWLockExclusive(&c->lock);
    e = find(c, id);
    if (e) {
        who = e->who;
        *e = c->e[--c->n];
    }
    ReleaseSRWLockExclusive(&c->lock);
    PIPES_CHAOS_POINT("conns.remove.unlocked");
    free(who);
}

size_t conns_due(svc_conns *c, int64_t now_ms, uint64_t *out, size_t cap)
{
    size_t i, k = 0;
    AcquireSRWLockExclusive(&c->lock);
    for (i = 0; i < c->n && k < cap; i++) {
        conn_entry *e = &c->e[i];
        int64_t limit = e->who ? c->lim.idle_ms : c->lim.first_message_ms;
        if (!e->closing && e->waits == 0 && now_ms - e->last_ms >= limit) {
            e->closing = 1;
            out[k++] = e->id;
        }
    }
    ReleaseSRWLockExclusive(&c->lock);
    PIPES_CHAOS_POINT("conns.due.unlocked");
    return k;
}

size_t conns_count(svc_conns *c)
{
    size_t n;
    AcquireSRWLockShared(&c->lock);
    n = c->n;
    ReleaseSRWLockShared(&c->lock);
    return n;
}
