/*
 * conn.c - a connection's life, state and close, and writing from its
 * queue (see conn.h for the state, locking and reference rules; the read
 * chain is in conn_read.c).
 */
#include "conn.h"

#include <string.h>

#include "pipes_chaos.h"
#include "runtime.h"

static void on_write(pipes_req *req, DWORD error, DWORD bytes);
void pipes_conn_on_read(pipes_req *req, DWORD error, DWORD bytes); /* conn_read.c */

/* ---- life of a connection --------------------------------------------- */

pipes_conn *pipes_conn_create(pipes_endpoint *ep, const pipes_conn_hooks *hooks, HANDLE pipe,
                              SRWLOCK *lock, pipes_wqueue *wq)
{
    pipes_conn *c = (pipes_conn *)pipes_mem_alloc(sizeof *c);
    if (!c)
        return NULL;
    c->ep = ep;
    c->hooks = hooks;
    c->pipe = pipe;
    c->refs = 1;
    c->state = PIPES_CONN_PENDING;
    if (lock) {
        c->lock = lock;
        c->wq = wq;
    } else {
        InitializeSRWLock(&c->own_lock);
        c->lock = &c->own_lock;
        pipes_wqueue_init(&c->own_wq, c->lock);
        c->wq = &c->own_wq;
    }
    c->read_req.complete = pipes_conn_on_read;
    c->read_req.file = pipe;
    /* complete: set by the owner for the connect, on_write once OPEN */
    c->connect_then_write.connect_req.file = pipe;
    pipes_endpoint_addref(ep);
    PIPES_COUNT_INC(live_connections);
    PIPES_COUNT_INC(live_instances);
    return c;
}

void pipes_conn_addref(pipes_conn *c)
{
    LONG r = InterlockedIncrement(&c->refs);
    PIPES_ASSERT(r > 1); /* nobody may revive a connection that reached zero */
    (void)r;
}

void pipes_conn_release(pipes_conn *c)
{
    pipes_endpoint *ep;
    LONG r = InterlockedDecrement(&c->refs);
    PIPES_ASSERT(r >= 0);
    if (r != 0)
        return;
    /* No request is in the kernel any more: the handle can go. */
    PIPES_ASSERT(c->writing == NULL);
    ep = c->ep;
    if (c->client_token)
        CloseHandle(c->client_token);
    PIPES_COUNT_DEC(live_instances);
    if (!c->hooks->reuse_pipe || !c->hooks->reuse_pipe(c))
        CloseHandle(c->pipe);
    if (c->wq == &c->own_wq)
        pipes_witem_complete_list(ep, pipes_wqueue_take_all_locked(&c->own_wq),
                                  PIPES_ERR_LOCAL_CLOSED);
    pipes_mem_free(c->rbuf);
    pipes_mem_free(c);
    PIPES_COUNT_DEC(live_connections);
    PIPES_CHAOS_POINT("conn.freed");
    pipes_endpoint_release(ep);
}

void pipes_conn_io_begin(pipes_conn *c)
{
    pipes_conn_addref(c);
    PIPES_COUNT_INC(pending_operations);
}

void pipes_conn_io_no_packet(pipes_conn *c)
{
    LONG r;
    PIPES_COUNT_DEC(pending_operations);
    r = InterlockedDecrement(&c->refs);
    PIPES_ASSERT(r > 0); /* the issuer holds a reference of its own */
    (void)r;
}

int pipes_conn_open(pipes_conn *c)
{
    int opened;
    AcquireSRWLockExclusive(c->lock);
    PIPES_ASSERT(c->state == PIPES_CONN_PENDING || c->state == PIPES_CONN_ABANDONED);
    opened = c->state == PIPES_CONN_PENDING;
    if (opened) {
        c->state = PIPES_CONN_OPEN;
        /* The connect request is done: from here it is the write request. */
        c->connect_then_write.write_req.complete = on_write;
    }
    ReleaseSRWLockExclusive(c->lock);
    return opened;
}

int pipes_conn_is_live_locked(const pipes_conn *c)
{
    return c->state == PIPES_CONN_OPEN || c->state == PIPES_CONN_DRAINING;
}

int pipes_conn_writable_locked(const pipes_conn *c)
{
    return c->state == PIPES_CONN_PENDING || c->state == PIPES_CONN_OPEN;
}

void pipes_conn_deliver(pipes_conn *c, pipes_event *ev)
{
    if (pipes_endpoint_deliver(c->ep, ev) == PIPES_DELIVERY_POST_FAILED)
        pipes_conn_close(c, PIPES_ERR_POST_FAILED);
}

static int keeps_queue_locked(pipes_conn *c)
{
    return c->hooks->keeps_queue && c->hooks->keeps_queue(c);
}

/* reads_idle: the caller is the read chain, so no read is outstanding. */
static void close_conn(pipes_conn *c, pipes_status reason, int reads_idle)
{
    pipes_witem *failed = NULL;
    AcquireSRWLockExclusive(c->lock);
    if (c->state == PIPES_CONN_CLOSED || c->state == PIPES_CONN_ABANDONED) {
        ReleaseSRWLockExclusive(c->lock);
        return;
    }
    c->state = c->state == PIPES_CONN_PENDING ? PIPES_CONN_ABANDONED : PIPES_CONN_CLOSED;
    c->close_reason = reason;
    /* Under the lock, so no I/O can be issued after this cancel; skipped
     * when nothing can be outstanding (a system call saved per ended
     * connection). */
    if (!reads_idle || c->writing)
        CancelIoEx(c->pipe, NULL);
    if (!keeps_queue_locked(c))
        failed = pipes_wqueue_take_all_locked(c->wq);
    ReleaseSRWLockExclusive(c->lock);
    PIPES_CHAOS_POINT("conn.closed");
    pipes_witem_complete_list(c->ep, failed, reason);
}

void pipes_conn_close(pipes_conn *c, pipes_status reason)
{
    close_conn(c, reason, 0);
}

void pipes_conn_close_from_read_chain(pipes_conn *c, pipes_status reason)
{
    close_conn(c, reason, 1);
}

pipes_status pipes_conn_reason(pipes_conn *c, DWORD win32_error)
{
    pipes_status reason;
    AcquireSRWLockShared(c->lock);
    reason = c->state == PIPES_CONN_CLOSED || c->state == PIPES_CONN_ABANDONED
                 ? c->close_reason
                 : pipes_status_from_win32(win32_error);
    ReleaseSRWLockShared(c->lock);
    return reason;
}

/* ---- writing -------------------------------------------------------------- */

/* A write failed (lock held): no other write may start, whatever the
 * failure. Set where the failure is seen, before the lock is released, so
 * no second write starts before write_failed runs. */
static void stop_writing_locked(pipes_conn *c)
{
    if (c->state == PIPES_CONN_OPEN)
        c->state = PIPES_CONN_DRAINING;
}

/* After stop_writing_locked, without the lock. If the peer closed its end,
 * messages it wrote before closing may still wait in the pipe: writing
 * stops (queued writes fail unless the owner keeps them) but the read chain
 * goes on and ends by itself after delivering them. Any other failure
 * closes c. */
static void write_failed(pipes_conn *c, pipes_status status)
{
    pipes_witem *failed = NULL;
    if (status != PIPES_ERR_PEER_CLOSED) {
        pipes_conn_close(c, status);
        return;
    }
    AcquireSRWLockExclusive(c->lock);
    if (c->state == PIPES_CONN_DRAINING && !keeps_queue_locked(c))
        failed = pipes_wqueue_take_all_locked(c->wq);
    ReleaseSRWLockExclusive(c->lock);
    pipes_witem_complete_list(c->ep, failed, status);
}

void pipes_conn_kick_locked(pipes_conn *c, pipes_kick *k)
{
    /* Writes that complete in the call (skip mode, room in the pipe) are
     * collected in order and the next one is started at once. */
    pipes_witem **tail = &k->written;
    k->written = NULL;
    k->failed = NULL;
    k->failed_status = PIPES_OK;

    /* Written only once open: what is queued before goes out when the
     * opener kicks the queue after CONNECTED. */
    while (!c->writing && c->state == PIPES_CONN_OPEN && c->wq->head) {
        pipes_witem *item = pipes_wqueue_pop_locked(c->ep, c->wq);
        BOOL ok;
        DWORD error;
        c->writing = item;
        /* OPEN: the connect request is done and is the write request now */
        PIPES_ASSERT(c->connect_then_write.write_req.complete == on_write);
        memset(&c->connect_then_write.write_req.ov, 0, sizeof c->connect_then_write.write_req.ov);
        pipes_conn_io_begin(c);
        PIPES_COUNT_INC(calls_write_file);
        ok = WriteFile(c->pipe, item->buf->data, (DWORD)item->buf->size, NULL,
                       &c->connect_then_write.write_req.ov);
        error = ok ? 0 : GetLastError();
        if (!ok && error == ERROR_IO_PENDING)
            return; /* a packet will come */
        if (ok && !pipes_engine_completed_at_once(c->ep->engine, ok, error))
            return; /* likewise */
        /* Done or failed in the call: no packet, the request is ours again
         * and its item is finished here, as on_write would. */
        pipes_conn_io_no_packet(c);
        c->writing = NULL;
        if (!ok) {
            stop_writing_locked(c);
            k->failed = item;
            k->failed_status = pipes_status_from_win32(error);
            return;
        }
        item->next = NULL;
        *tail = item;
        tail = &item->next;
    }
}

static void count_written(pipes_conn *c, const pipes_witem *item)
{
    InterlockedIncrement64(&c->ep->stats.messages_out);
    InterlockedExchangeAdd64(&c->ep->stats.bytes_out, (LONG64)item->buf->size);
}

/* The writes *k finished: counted, their events posted, never run here:
 * from an application's call they must not run inside it; on a worker they
 * are listed on it (endpoint.c), so a callback that blocks before they run
 * shares them with a worker that takes over (localreq.c, LOCAL PACKETS).
 * Delivered inline one after another, the later ones waited for the first. */
static void report_written(pipes_conn *c, pipes_kick *k)
{
    while (k->written) {
        pipes_witem *next = k->written->next;
        count_written(c, k->written);
        pipes_witem_complete(c->ep, k->written, PIPES_OK, 0);
        k->written = next;
    }
}

/* The write *k saw fail, if any: reported, then the connection stops
 * writing or closes. */
static void report_failed(pipes_conn *c, pipes_kick *k)
{
    if (k->failed) {
        pipes_witem_complete(c->ep, k->failed, k->failed_status, 0);
        k->failed = NULL;
        write_failed(c, k->failed_status);
    }
}

void pipes_conn_kick_finish(pipes_conn *c, pipes_kick *k)
{
    report_written(c, k);
    report_failed(c, k);
}

static void on_write(pipes_req *req, DWORD error, DWORD bytes)
{
    pipes_conn *c = CONTAINING_RECORD(req, pipes_conn, connect_then_write.write_req);
    pipes_witem *done;
    pipes_kick k;
    pipes_status status = error ? pipes_conn_reason(c, error) : PIPES_OK;
    (void)bytes;

    AcquireSRWLockExclusive(c->lock);
    done = c->writing;
    PIPES_ASSERT(done != NULL);
    c->writing = NULL;
    if (status == PIPES_OK)
        pipes_conn_kick_locked(c, &k);
    else
        stop_writing_locked(c);
    ReleaseSRWLockExclusive(c->lock);

    /* The writes the kick finished are listed first, so that done's
     * callback, entering user code, shares their events; a failure the kick
     * saw is handled after done's event, as it came after done. */
    if (status == PIPES_OK) {
        report_written(c, &k);
        count_written(c, done);
    }
    pipes_witem_complete(c->ep, done, status, 1);
    if (status != PIPES_OK)
        write_failed(c, status);
    else
        report_failed(c, &k);
    pipes_conn_release(c); /* the write request's reference */
}
