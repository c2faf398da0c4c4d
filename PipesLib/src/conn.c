/*
 * conn.c - a connection's read chain, write queue and close (see conn.h for
 * the locking and reference rules).
 */
#include "conn.h"

#include <string.h>

#include "runtime.h"

#define READ_BUFFER_INITIAL 4096u
/* A read buffer grown past READ_BUFFER_KEEP for a large message is kept
 * while large messages keep coming (each then takes one read), and freed
 * after READ_SHRINK_AFTER smaller ones in a row, so a connection that saw
 * one big message does not hold its buffer for ever. */
#define READ_BUFFER_KEEP (64u * 1024u)
#define READ_SHRINK_AFTER 8u
#define READ_BURST 64u /* reads completed at once in a row before yielding (run_read_chain) */

static void on_read(pipes_req *req, DWORD error, DWORD bytes);
static void on_write(pipes_req *req, DWORD error, DWORD bytes);

/* ---- buffers and items ------------------------------------------------ */

pipes_wbuf *pipes_wbuf_create(const void *data, size_t size)
{
    pipes_wbuf *b = (pipes_wbuf *)pipes_mem_alloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->refs = 1;
    b->size = size;
    if (size)
        memcpy(b->data, data, size);
    return b;
}

void pipes_wbuf_release(pipes_wbuf *b)
{
    if (b && InterlockedDecrement(&b->refs) == 0)
        pipes_mem_free(b);
}

pipes_witem *pipes_witem_create(pipes_wbuf *buf, void *send_context, pipes_send_waiter *waiter)
{
    pipes_witem *item = (pipes_witem *)pipes_mem_alloc(sizeof *item);
    if (!item)
        return NULL;
    InterlockedIncrement(&buf->refs);
    item->buf = buf;
    item->send_context = send_context;
    item->waiter = waiter;
    return item;
}

void pipes_witem_complete(pipes_endpoint *ep, pipes_witem *item, pipes_status status,
                          int inline_event)
{
    if (status != PIPES_OK)
        pipes_endpoint_count_error(ep, status);
    if (item->send_context) {
        if (inline_event) {
            pipes_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = PIPES_EVENT_SEND_COMPLETE;
            ev.status = status;
            ev.send_context = item->send_context;
            pipes_endpoint_deliver(ep, &ev);
        } else {
            pipes_endpoint_post_event(ep, PIPES_EVENT_SEND_COMPLETE, status, 0,
                                      item->send_context);
        }
    }
    if (item->waiter) {
        pipes_send_waiter *w = item->waiter;
        AcquireSRWLockExclusive(&w->lock);
        w->done = 1;
        w->status = status;
        WakeAllConditionVariable(&w->cv);
        ReleaseSRWLockExclusive(&w->lock);
    }
    pipes_wbuf_release(item->buf);
    pipes_mem_free(item);
}

/* ---- the queue ---------------------------------------------------------- */

void pipes_wqueue_init(pipes_wqueue *wq, SRWLOCK *lock)
{
    memset(wq, 0, sizeof *wq);
    wq->lock = lock;
    InitializeConditionVariable(&wq->room_cv);
}

pipes_status pipes_wqueue_push_locked(pipes_endpoint *ep, pipes_wqueue *wq, pipes_witem *item,
                                      int *report_limit)
{
    size_t size = item->buf->size;
    /* One message always fits an empty queue, whatever its size, so a
     * message up to max_message_size can be sent with small queue bounds. */
    if (wq->count >= ep->max_queued_messages ||
        (wq->count > 0 && wq->bytes + size > ep->max_queued_bytes)) {
        if (!wq->full_reported) {
            wq->full_reported = 1;
            *report_limit = 1;
        }
        return PIPES_ERR_QUEUE_FULL;
    }
    item->next = NULL;
    if (wq->tail)
        wq->tail->next = item;
    else
        wq->head = item;
    wq->tail = item;
    wq->count++;
    wq->bytes += size;
    return PIPES_OK;
}

static pipes_witem *wqueue_pop_locked(pipes_endpoint *ep, pipes_wqueue *wq)
{
    pipes_witem *item = wq->head;
    if (!item)
        return NULL;
    wq->head = item->next;
    if (!wq->head)
        wq->tail = NULL;
    wq->count--;
    wq->bytes -= item->buf->size;
    if (wq->full_reported && wq->count <= ep->max_queued_messages / 2 &&
        wq->bytes <= ep->max_queued_bytes / 2)
        wq->full_reported = 0;
    WakeAllConditionVariable(&wq->room_cv);
    return item;
}

int pipes_wqueue_withdraw_locked(pipes_wqueue *wq, pipes_witem *item)
{
    pipes_witem *prev = NULL, *it;
    for (it = wq->head; it; prev = it, it = it->next) {
        if (it != item)
            continue;
        if (prev)
            prev->next = it->next;
        else
            wq->head = it->next;
        if (wq->tail == it)
            wq->tail = prev;
        wq->count--;
        wq->bytes -= it->buf->size;
        WakeAllConditionVariable(&wq->room_cv);
        return 1;
    }
    return 0;
}

/* Detaches every queued item (lock held); complete them after unlocking. */
static pipes_witem *wqueue_take_all_locked(pipes_wqueue *wq)
{
    pipes_witem *all = wq->head;
    wq->head = wq->tail = NULL;
    wq->count = 0;
    wq->bytes = 0;
    wq->full_reported = 0;
    WakeAllConditionVariable(&wq->room_cv);
    return all;
}

static void complete_list(pipes_endpoint *ep, pipes_witem *list, pipes_status status)
{
    while (list) {
        pipes_witem *next = list->next;
        pipes_witem_complete(ep, list, status, 0);
        list = next;
    }
}

void pipes_wqueue_fail_all(pipes_endpoint *ep, pipes_wqueue *wq, pipes_status status)
{
    pipes_witem *all;
    AcquireSRWLockExclusive(wq->lock);
    all = wqueue_take_all_locked(wq);
    ReleaseSRWLockExclusive(wq->lock);
    complete_list(ep, all, status);
}

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
    if (lock) {
        c->lock = lock;
        c->wq = wq;
    } else {
        InitializeSRWLock(&c->own_lock);
        c->lock = &c->own_lock;
        pipes_wqueue_init(&c->own_wq, c->lock);
        c->wq = &c->own_wq;
    }
    c->read_req.complete = on_read;
    c->read_req.file = pipe;
    c->write_req.complete = on_write;
    c->write_req.file = pipe;
    c->connect_req.file = pipe;
    pipes_endpoint_addref(ep);
    PIPES_COUNT_INC(live_connections);
    PIPES_COUNT_INC(live_instances);
    return c;
}

void pipes_conn_addref(pipes_conn *c)
{
    InterlockedIncrement(&c->refs);
}

void pipes_conn_release(pipes_conn *c)
{
    pipes_endpoint *ep;
    if (InterlockedDecrement(&c->refs) != 0)
        return;
    /* No request is in the kernel any more: the handle can go. */
    ep = c->ep;
    CloseHandle(c->pipe);
    PIPES_COUNT_DEC(live_instances);
    if (c->wq == &c->own_wq)
        complete_list(ep, wqueue_take_all_locked(&c->own_wq), PIPES_ERR_LOCAL_CLOSED);
    pipes_mem_free(c->rbuf);
    pipes_mem_free(c);
    PIPES_COUNT_DEC(live_connections);
    pipes_endpoint_release(ep);
}

void pipes_conn_close(pipes_conn *c, pipes_status reason)
{
    pipes_witem *failed = NULL;
    AcquireSRWLockExclusive(c->lock);
    if (c->closing) {
        ReleaseSRWLockExclusive(c->lock);
        return;
    }
    c->closing = 1;
    c->close_reason = reason;
    /* Under the lock, so no I/O can be issued after this cancel. */
    CancelIoEx(c->pipe, NULL);
    if (!(c->hooks->keeps_queue && c->hooks->keeps_queue(c)))
        failed = wqueue_take_all_locked(c->wq);
    ReleaseSRWLockExclusive(c->lock);
    complete_list(c->ep, failed, reason);
}

void pipes_conn_write_failed(pipes_conn *c, pipes_status status)
{
    pipes_witem *failed = NULL;
    if (status != PIPES_ERR_PEER_CLOSED) {
        pipes_conn_close(c, status);
        return;
    }
    AcquireSRWLockExclusive(c->lock);
    if (c->closing) {
        ReleaseSRWLockExclusive(c->lock);
        return;
    }
    if (!(c->hooks->keeps_queue && c->hooks->keeps_queue(c)))
        failed = wqueue_take_all_locked(c->wq);
    ReleaseSRWLockExclusive(c->lock);
    complete_list(c->ep, failed, status);
}

int pipes_conn_writable_locked(const pipes_conn *c)
{
    return !c->closing && !c->writes_broken;
}

static pipes_status reason_for(pipes_conn *c, DWORD error)
{
    pipes_status reason;
    AcquireSRWLockShared(c->lock);
    reason = c->closing ? c->close_reason : pipes_status_from_win32(error);
    ReleaseSRWLockShared(c->lock);
    return reason;
}

/* ---- reading ------------------------------------------------------------ */

void pipes_conn_deliver(pipes_conn *c, pipes_event *ev)
{
    if (pipes_endpoint_deliver(c->ep, ev) == PIPES_DELIVERY_POST_FAILED)
        pipes_conn_close(c, PIPES_ERR_POST_FAILED);
}

static void read_ended(pipes_conn *c)
{
    if (c->connected) {
        pipes_event ev;
        pipes_status reason = reason_for(c, ERROR_BROKEN_PIPE);
        c->connected = 0;
        pipes_endpoint_count_disconnect(c->ep, reason);
        memset(&ev, 0, sizeof ev);
        ev.type = PIPES_EVENT_DISCONNECTED;
        ev.connection_id = c->id;
        ev.status = reason;
        pipes_endpoint_deliver(c->ep, &ev);
    }
    c->hooks->on_read_ended(c);
}

static int ensure_read_capacity(pipes_conn *c, size_t need)
{
    uint8_t *n;
    if (need <= c->rcap)
        return 1;
    n = (uint8_t *)pipes_mem_realloc(c->rbuf, need);
    if (!n)
        return 0;
    c->rbuf = n;
    c->rcap = need;
    return 1;
}

static void deliver_message(pipes_conn *c)
{
    pipes_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = PIPES_EVENT_MESSAGE;
    ev.connection_id = c->id;
    ev.data = c->rlen ? c->rbuf : NULL;
    ev.size = c->rlen;
    InterlockedIncrement64(&c->ep->stats.messages_in);
    InterlockedExchangeAdd64(&c->ep->stats.bytes_in, (LONG64)c->rlen);
    pipes_conn_deliver(c, &ev);
}

/* Issues the next read of the chain. Returns 1 if it completed at once
 * without a packet (skip mode; *error and *bytes say how): the request's
 * reference and pending count are then still held, and the caller handles
 * the result. Returns 0 if a packet will come, or if the chain ended here
 * (closing, or the read failed at once). */
static int issue_read(pipes_conn *c, DWORD *error, DWORD *bytes)
{
    BOOL ok;
    DWORD e;
    /* max+1 bytes make a message one byte too large complete as a whole,
     * so it is caught below without waiting for more data. */
    size_t first = c->ep->max_message_size + 1;
    if (first > READ_BUFFER_INITIAL)
        first = READ_BUFFER_INITIAL;

    AcquireSRWLockExclusive(c->lock);
    if (c->closing) {
        ReleaseSRWLockExclusive(c->lock);
        read_ended(c);
        return 0;
    }
    if (!ensure_read_capacity(c, first)) {
        ReleaseSRWLockExclusive(c->lock);
        pipes_conn_close(c, PIPES_ERR_OUT_OF_MEMORY);
        read_ended(c);
        return 0;
    }
    memset(&c->read_req.ov, 0, sizeof c->read_req.ov);
    pipes_conn_addref(c);
    PIPES_COUNT_INC(pending_operations);
    PIPES_COUNT_INC(calls_read_file);
    ok = ReadFile(c->pipe, c->rbuf + c->rlen, (DWORD)(c->rcap - c->rlen), NULL, &c->read_req.ov);
    e = ok ? 0 : GetLastError();
    if (!ok && e != ERROR_IO_PENDING && e != ERROR_MORE_DATA) {
        /* Failed at once: no packet will come, the request is ours again. */
        PIPES_COUNT_DEC(pending_operations);
        ReleaseSRWLockExclusive(c->lock);
        pipes_conn_close(c, pipes_status_from_win32(e));
        read_ended(c);
        pipes_conn_release(c);
        return 0;
    }
    ReleaseSRWLockExclusive(c->lock);
    if (!pipes_engine_completed_at_once(c->ep->engine, ok, e))
        return 0;
    /* Only this thread touches the request now: no packet is coming. */
    *bytes = 0;
    *error = GetOverlappedResult(c->pipe, &c->read_req.ov, bytes, FALSE) ? 0 : GetLastError();
    return 1;
}

/* An oversized message on an endpoint that discards them (pipes.h,
 * PIPES_SERVER_DISCARD_OVERSIZED) is read on through the buffer it has and
 * thrown away; its end is reported in message order with a LIMIT event.
 * Returns 1 (the chain goes on). */
static int discard_piece(pipes_conn *c, DWORD error)
{
    c->discarded += c->rlen;
    c->rlen = 0;
    if (error == 0) {
        pipes_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = PIPES_EVENT_LIMIT;
        ev.status = PIPES_ERR_MESSAGE_TOO_LARGE;
        ev.connection_id = c->id;
        ev.size = c->discarded;
        c->discarded = 0;
        c->discarding = 0;
        pipes_endpoint_count_error(c->ep, PIPES_ERR_MESSAGE_TOO_LARGE);
        pipes_conn_deliver(c, &ev);
    }
    return 1;
}

/* A message is larger than max_message_size: discarded, or the end of c. */
static int too_large(pipes_conn *c, DWORD error)
{
    if (!c->ep->discard_oversized) {
        pipes_conn_close(c, PIPES_ERR_MESSAGE_TOO_LARGE);
        return 0;
    }
    c->discarding = 1;
    /* Drain in large reads; a failure only means smaller ones. */
    ensure_read_capacity(c, READ_BUFFER_KEEP);
    return discard_piece(c, error);
}

/* Handles one read result; returns 1 if the chain goes on with another
 * read, 0 if it ended (DISCONNECTED delivered, on_read_ended run). */
static int read_done(pipes_conn *c, DWORD error, DWORD bytes)
{
    size_t max = c->ep->max_message_size;

    if (error == 0 || error == ERROR_MORE_DATA)
        c->rlen += bytes;
    if (c->discarding && (error == 0 || error == ERROR_MORE_DATA))
        return discard_piece(c, error);
    if (error == 0 && c->rlen > max) {
        if (too_large(c, error))
            return 1;
    } else if (error == 0) {
        deliver_message(c);
        if (c->rlen > READ_BUFFER_KEEP)
            c->small_in_a_row = 0;
        else if (c->rcap > READ_BUFFER_KEEP && ++c->small_in_a_row >= READ_SHRINK_AFTER) {
            pipes_mem_free(c->rbuf);
            c->rbuf = NULL;
            c->rcap = 0;
            c->small_in_a_row = 0;
        }
        c->rlen = 0;
        return 1;
    } else if (error == ERROR_MORE_DATA) {
        DWORD left = 0;
        PIPES_COUNT_INC(calls_peek_named_pipe);
        if (!PeekNamedPipe(c->pipe, NULL, 0, NULL, NULL, &left)) {
            pipes_conn_close(c, pipes_status_from_win32(GetLastError()));
        } else {
            size_t need;
            if (left == 0)
                left = (DWORD)(c->rcap ? c->rcap : READ_BUFFER_INITIAL);
            need = c->rlen + left;
            if (need > max) {
                if (too_large(c, error))
                    return 1;
            } else if (!ensure_read_capacity(c, need)) {
                pipes_conn_close(c, PIPES_ERR_OUT_OF_MEMORY);
            } else {
                return 1;
            }
        }
    } else {
        pipes_conn_close(c, pipes_status_from_win32(error));
    }
    read_ended(c);
    return 0;
}

/* Runs the chain from a read result for as long as reads complete at once
 * (a loop, not recursion: a fast writer must not grow the stack), then
 * drops the reference of the request that brought `error`/`bytes`.
 * Fairness: a connection whose peer writes without pause would keep its
 * worker here for ever, and completions of other connections (new clients
 * among them) would wait behind it. After READ_BURST reads in a row, the
 * result of the last one goes through the port like any completion
 * (pipes_engine_requeue), behind whatever else is waiting there. */
static void run_read_chain(pipes_conn *c, DWORD error, DWORD bytes)
{
    unsigned burst = 0;
    while (read_done(c, error, bytes) && issue_read(c, &error, &bytes)) {
        /* That read completed in the call and holds a reference and a
         * pending count: handed to the port, they go with it ... */
        if (++burst >= READ_BURST && pipes_engine_requeue(c->ep->engine, &c->read_req, bytes))
            break;
        /* ... handled here, it needs neither (the reference this loop
         * holds is not the last). */
        PIPES_COUNT_DEC(pending_operations);
        InterlockedDecrement(&c->refs);
    }
    pipes_conn_release(c);
}

void pipes_conn_read(pipes_conn *c)
{
    DWORD error, bytes;
    /* On a worker (conn.h), so a read that completed at once is handled
     * here, with the reference its request took. */
    if (issue_read(c, &error, &bytes)) {
        PIPES_COUNT_DEC(pending_operations);
        run_read_chain(c, error, bytes);
    }
}

static void on_read(pipes_req *req, DWORD error, DWORD bytes)
{
    run_read_chain(CONTAINING_RECORD(req, pipes_conn, read_req), error, bytes);
}

/* ---- writing -------------------------------------------------------------- */

void pipes_conn_kick_locked(pipes_conn *c, pipes_kick *k)
{
    /* Writes that complete in the call (skip mode, room in the pipe) are
     * collected in order and the next one is started at once. */
    pipes_witem **tail = &k->written;
    k->written = NULL;
    k->failed = NULL;
    k->failed_status = PIPES_OK;

    while (!c->writing && pipes_conn_writable_locked(c) && c->wq->head) {
        pipes_witem *item = wqueue_pop_locked(c->ep, c->wq);
        BOOL ok;
        DWORD error;
        c->writing = item;
        memset(&c->write_req.ov, 0, sizeof c->write_req.ov);
        pipes_conn_addref(c);
        PIPES_COUNT_INC(pending_operations);
        PIPES_COUNT_INC(calls_write_file);
        ok = WriteFile(c->pipe, item->buf->data, (DWORD)item->buf->size, NULL, &c->write_req.ov);
        error = ok ? 0 : GetLastError();
        if (!ok && error == ERROR_IO_PENDING)
            return; /* a packet will come */
        if (ok && !pipes_engine_completed_at_once(c->ep->engine, ok, error))
            return; /* likewise */
        /* Done or failed in the call: no packet, the request is ours again.
         * The caller holds its own reference, so this is not the last. */
        PIPES_COUNT_DEC(pending_operations);
        InterlockedDecrement(&c->refs);
        c->writing = NULL;
        if (!ok) {
            /* Under the lock where the failure is seen, so no other thread
             * starts a write between here and pipes_conn_write_failed. */
            c->writes_broken = 1;
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

void pipes_conn_kick_finish(pipes_conn *c, pipes_kick *k, int inline_event)
{
    while (k->written) {
        pipes_witem *next = k->written->next;
        count_written(c, k->written);
        pipes_witem_complete(c->ep, k->written, PIPES_OK, inline_event);
        k->written = next;
    }
    if (k->failed) {
        pipes_witem_complete(c->ep, k->failed, k->failed_status, inline_event);
        k->failed = NULL;
        pipes_conn_write_failed(c, k->failed_status);
    }
}

static void on_write(pipes_req *req, DWORD error, DWORD bytes)
{
    pipes_conn *c = CONTAINING_RECORD(req, pipes_conn, write_req);
    pipes_witem *done;
    pipes_kick k;
    pipes_status status = error ? reason_for(c, error) : PIPES_OK;
    (void)bytes;

    AcquireSRWLockExclusive(c->lock);
    done = c->writing;
    c->writing = NULL;
    if (status == PIPES_OK)
        pipes_conn_kick_locked(c, &k);
    else
        c->writes_broken = 1; /* as in pipes_conn_kick_locked */
    ReleaseSRWLockExclusive(c->lock);

    if (status == PIPES_OK)
        count_written(c, done);
    pipes_witem_complete(c->ep, done, status, 1);
    if (status != PIPES_OK)
        pipes_conn_write_failed(c, status);
    else
        pipes_conn_kick_finish(c, &k, 1);
    pipes_conn_release(c); /* the write request's reference */
}
