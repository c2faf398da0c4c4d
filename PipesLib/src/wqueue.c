/*
 * wqueue.c - write queues, their items and payloads (see wqueue.h for the
 * ownership rules).
 */
#include "wqueue.h"

#include <string.h>

#include "runtime.h"

/* ---- buffers and items ------------------------------------------------ */

/* A spare of owner that holds size bytes without being more than twice
 * too big, taken out of its slot; or NULL. */
static pipes_wbuf *take_spare(pipes_endpoint *owner, size_t size)
{
    unsigned i;
    for (i = 0; i < PIPES_WBUF_SPARES; i++) {
        pipes_wbuf *b = (pipes_wbuf *)InterlockedExchangePointer((PVOID volatile *)&owner->spares[i], NULL);
        if (!b)
            continue;
        if (b->cap >= size && b->cap / 2 <= size)
            return b;
        /* Not this size: back into its slot, or freed if that was taken. */
        if (InterlockedCompareExchangePointer((PVOID volatile *)&owner->spares[i], b, NULL) != NULL)
            pipes_mem_free(b);
    }
    return NULL;
}

pipes_wbuf *pipes_wbuf_create(pipes_endpoint *owner, const void *data, size_t size)
{
    pipes_wbuf *b = size >= PIPES_WBUF_SPARE_MIN ? take_spare(owner, size) : NULL;
    if (!b) {
        b = (pipes_wbuf *)pipes_mem_alloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->cap = size;
        b->owner = owner;
    }
    b->refs = 1;
    b->size = size;
    if (size)
        memcpy(b->data, data, size);
    return b;
}

void pipes_wbuf_release(pipes_wbuf *b)
{
    unsigned i;
    if (!b || InterlockedDecrement(&b->refs) != 0)
        return;
    if (b->cap >= PIPES_WBUF_SPARE_MIN) {
        for (i = 0; i < PIPES_WBUF_SPARES; i++)
            if (InterlockedCompareExchangePointer((PVOID volatile *)&b->owner->spares[i], b, NULL) ==
                NULL)
                return;
    }
    pipes_mem_free(b);
}

void pipes_wbuf_free_spares(pipes_endpoint *owner)
{
    unsigned i;
    for (i = 0; i < PIPES_WBUF_SPARES; i++)
        pipes_mem_free(InterlockedExchangePointer((PVOID volatile *)&owner->spares[i], NULL));
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

int pipes_wqueue_has_room_locked(const pipes_endpoint *ep, const pipes_wqueue *wq, size_t size)
{
    /* One message always fits an empty queue, whatever its size, so a
     * message up to max_message_size can be sent with small queue bounds. */
    return wq->count < ep->max_queued_messages &&
           (wq->count == 0 || wq->bytes + size <= ep->max_queued_bytes);
}

pipes_status pipes_wqueue_push_locked(pipes_endpoint *ep, pipes_wqueue *wq, pipes_witem *item,
                                      int *first_full)
{
    size_t size = item->buf->size;
    if (!pipes_wqueue_has_room_locked(ep, wq, size)) {
        if (!wq->full_reported) {
            wq->full_reported = 1;
            *first_full = 1;
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

pipes_witem *pipes_wqueue_pop_locked(pipes_endpoint *ep, pipes_wqueue *wq)
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

pipes_witem *pipes_wqueue_take_all_locked(pipes_wqueue *wq)
{
    pipes_witem *all = wq->head;
    wq->head = wq->tail = NULL;
    wq->count = 0;
    wq->bytes = 0;
    wq->full_reported = 0;
    WakeAllConditionVariable(&wq->room_cv);
    return all;
}

void pipes_witem_complete_list(pipes_endpoint *ep, pipes_witem *list, pipes_status status)
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
    all = pipes_wqueue_take_all_locked(wq);
    ReleaseSRWLockExclusive(wq->lock);
    pipes_witem_complete_list(ep, all, status);
}

