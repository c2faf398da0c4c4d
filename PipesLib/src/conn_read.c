/*
 * conn_read.c - a connection's read chain (conn.h).
 *
 * At most one read is outstanding. Each result delivers a MESSAGE, grows
 * the buffer (ERROR_MORE_DATA, sized with PeekNamedPipe) or throws a piece
 * of an oversized message away, and the next read is issued. A read that
 * completes in the call (skip mode, engine.h) is handled by the same loop
 * with the same handler as a packet, never by recursion. The chain ends
 * (error, cancel, close) in CLOSED or ABANDONED; then DISCONNECTED is
 * delivered if due and the owner's on_read_ended hook runs, exactly once,
 * after the last MESSAGE event. Only the chain touches rbuf, rcap, rlen and
 * the discard fields, and only one thread runs it at a time: the one that
 * holds its request's result.
 */
#include "conn.h"

#include <string.h>

#include "pipes_chaos.h"
#include "runtime.h"

/* The read buffer. An idle connection has a read outstanding, and that
 * read pins its buffer: READ_BUFFER_SMALL keeps an idle connection small
 * (docs/PERFORMANCE.md: memory per idle connection) while requests,
 * replies and notifications of a few hundred bytes still take one read. A
 * larger message grows the buffer to its size (ERROR_MORE_DATA,
 * PeekNamedPipe); the grown buffer is kept while larger messages keep
 * coming (each then takes one read again) and given back after
 * READ_SHRINK_AFTER small ones in a row. READ_BUFFER_DRAIN is what an
 * oversized message being thrown away is read through. */
#define READ_BUFFER_SMALL 256u
#define READ_BUFFER_DRAIN (64u * 1024u)
#define READ_SHRINK_AFTER 8u
/* Reads completed at once in a row before yielding. A new client's connect
 * completion waits behind one burst of every busy connection, so this bounds
 * how long a flood delays accepting (LibConcurrency.SixtyFour...: with 64,
 * 40 busy connections made 2,560 messages go before each round of accepts);
 * a yield costs one PostQueuedCompletionStatus per burst. */
#define READ_BURST 16u

void pipes_conn_on_read(pipes_req *req, DWORD error, DWORD bytes);

static void read_ended(pipes_conn *c)
{
    pipes_status reason;
    int due;
    AcquireSRWLockShared(c->lock);
    PIPES_ASSERT(c->state == PIPES_CONN_CLOSED || c->state == PIPES_CONN_ABANDONED);
    due = c->state == PIPES_CONN_CLOSED;
    reason = c->close_reason;
    ReleaseSRWLockShared(c->lock);
    if (c->hooks->on_read_ending)
        c->hooks->on_read_ending(c);
    if (due) {
        pipes_event ev;
        pipes_endpoint_count_disconnect(c->ep, reason);
        memset(&ev, 0, sizeof ev);
        ev.type = PIPES_EVENT_DISCONNECTED;
        ev.connection_id = c->id;
        ev.status = reason;
        pipes_endpoint_deliver(c->ep, &ev);
        PIPES_CHAOS_POINT("conn.disconnected_delivered");
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
    if (!c->message_read) {
        /* From now on the pipe can tell who the client is (conn.h). */
        AcquireSRWLockExclusive(c->lock);
        c->message_read = 1;
        ReleaseSRWLockExclusive(c->lock);
    }
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
 * (closed, or the read failed at once). */
static int issue_read(pipes_conn *c, DWORD *error, DWORD *bytes)
{
    BOOL ok;
    DWORD e;
    /* max+1 bytes make a message one byte too large complete as a whole,
     * so it is caught below without waiting for more data. */
    size_t first = c->ep->max_message_size + 1;
    if (first > READ_BUFFER_SMALL)
        first = READ_BUFFER_SMALL;

    AcquireSRWLockExclusive(c->lock);
    if (!pipes_conn_is_live_locked(c)) {
        ReleaseSRWLockExclusive(c->lock);
        read_ended(c);
        return 0;
    }
    if (!ensure_read_capacity(c, first)) {
        ReleaseSRWLockExclusive(c->lock);
        pipes_conn_close_from_read_chain(c, PIPES_ERR_OUT_OF_MEMORY);
        read_ended(c);
        return 0;
    }
    memset(&c->read_req.ov, 0, sizeof c->read_req.ov);
    pipes_conn_io_begin(c);
    PIPES_COUNT_INC(calls_read_file);
    ok = ReadFile(c->pipe, c->rbuf + c->rlen, (DWORD)(c->rcap - c->rlen), NULL, &c->read_req.ov);
    e = ok ? 0 : GetLastError();
    if (!ok && e != ERROR_IO_PENDING && e != ERROR_MORE_DATA) {
        /* Failed at once: no packet will come, the request is ours again. */
        pipes_conn_io_no_packet(c);
        ReleaseSRWLockExclusive(c->lock);
        pipes_conn_close_from_read_chain(c, pipes_status_from_win32(e));
        read_ended(c);
        return 0;
    }
    ReleaseSRWLockExclusive(c->lock);
    PIPES_CHAOS_POINT("conn.read_issued");
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
        pipes_conn_close_from_read_chain(c, PIPES_ERR_MESSAGE_TOO_LARGE);
        return 0;
    }
    c->discarding = 1;
    /* Drain in large reads; a failure only means smaller ones. */
    ensure_read_capacity(c, READ_BUFFER_DRAIN);
    return discard_piece(c, error);
}

/* The buffer after a delivered message: kept while larger messages come,
 * given back after READ_SHRINK_AFTER small ones (the next read allocates
 * READ_BUFFER_SMALL again). */
static void after_message(pipes_conn *c)
{
    if (c->rlen > READ_BUFFER_SMALL) {
        c->small_in_a_row = 0;
    } else if (c->rcap > READ_BUFFER_SMALL && ++c->small_in_a_row >= READ_SHRINK_AFTER) {
        pipes_mem_free(c->rbuf);
        c->rbuf = NULL;
        c->rcap = 0;
        c->small_in_a_row = 0;
    }
    c->rlen = 0;
}

/* ERROR_MORE_DATA: grows the buffer to the whole message. Returns 1 to read
 * on, 0 when c was closed. */
static int more_data(pipes_conn *c)
{
    DWORD left = 0;
    size_t need;
    PIPES_COUNT_INC(calls_peek_named_pipe);
    if (!PeekNamedPipe(c->pipe, NULL, 0, NULL, NULL, &left)) {
        pipes_conn_close_from_read_chain(c, pipes_status_from_win32(GetLastError()));
        return 0;
    }
    if (left == 0)
        left = (DWORD)(c->rcap ? c->rcap : READ_BUFFER_SMALL);
    need = c->rlen + left;
    if (need > c->ep->max_message_size)
        return too_large(c, ERROR_MORE_DATA);
    if (!ensure_read_capacity(c, need)) {
        pipes_conn_close_from_read_chain(c, PIPES_ERR_OUT_OF_MEMORY);
        return 0;
    }
    return 1;
}

/* Handles one read result; returns 1 if the chain goes on with another
 * read, 0 if it ended (DISCONNECTED delivered, on_read_ended run). */
static int read_done(pipes_conn *c, DWORD error, DWORD bytes)
{
    int go_on = 0;
    if (error == 0 || error == ERROR_MORE_DATA)
        c->rlen += bytes;
    if (c->discarding && (error == 0 || error == ERROR_MORE_DATA)) {
        go_on = discard_piece(c, error);
    } else if (error == 0 && c->rlen > c->ep->max_message_size) {
        go_on = too_large(c, error);
    } else if (error == 0) {
        deliver_message(c);
        after_message(c);
        go_on = 1;
    } else if (error == ERROR_MORE_DATA) {
        go_on = more_data(c);
    } else {
        pipes_conn_close_from_read_chain(c, pipes_status_from_win32(error));
    }
    if (!go_on)
        read_ended(c);
    return go_on;
}

/* Issues reads and handles those that complete at once, until one is left
 * pending (its packet goes on from there) or the chain ends. The caller
 * holds a reference for the chain while it runs here.
 * Fairness: a connection whose peer writes without pause would keep its
 * worker here for ever, and completions of other connections (new clients
 * among them) would wait behind it. After READ_BURST reads in a row, the
 * result of the last one goes through the port like any completion
 * (pipes_engine_requeue), behind whatever else is waiting there. */
static void chain_reads(pipes_conn *c)
{
    unsigned burst = 0;
    DWORD error, bytes;
    while (issue_read(c, &error, &bytes)) {
        /* Completed in the call: handed to the port, the request keeps its
         * reference and pending count; handled here, it needs neither. */
        if (++burst >= READ_BURST && pipes_engine_requeue(c->ep->engine, &c->read_req, bytes))
            return;
        pipes_conn_io_no_packet(c);
        if (!read_done(c, error, bytes))
            return;
    }
}

void pipes_conn_read(pipes_conn *c)
{
    chain_reads(c);
}

void pipes_conn_on_read(pipes_req *req, DWORD error, DWORD bytes)
{
    pipes_conn *c = CONTAINING_RECORD(req, pipes_conn, read_req);
    /* The packet's reference is the chain's while it runs here. */
    if (read_done(c, error, bytes))
        chain_reads(c);
    pipes_conn_release(c);
}
