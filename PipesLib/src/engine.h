/*
 * engine.h - the I/O completion port, its worker threads, and the request
 * record every asynchronous operation embeds.
 *
 * OWNERSHIP OF A REQUEST (pipes_req)
 *   A request is owned by whoever issues it until the issuing call returns.
 *   If that call queued a completion packet, the request belongs to the
 *   kernel until a worker dequeues that packet and calls req->complete;
 *   from then on it belongs to the completion function again. A request is
 *   never freed or reused while it belongs to the kernel: the owner's
 *   pending count (conn.h) includes it, and teardown waits for that count
 *   to reach zero.
 *
 * WHICH RESULTS QUEUE A PACKET
 *   ERROR_IO_PENDING always does; an immediate failure never does. When the
 *   engine uses FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (engine->skip_mode,
 *   set on every handle it binds), an immediate success does not either:
 *   the issuer handles it at once, which saves a dequeue and, above all,
 *   the wake-up of a second worker for a write that completed in the call.
 *   An immediate ERROR_MORE_DATA is the odd one: Windows still queues a
 *   packet (the status is a warning, not a success), Wine 8 does not. A
 *   probe on a private pipe pair settles which, once per process, before
 *   skip mode is used; pipes_engine_completed_at_once() gives the answer
 *   for each call, so no code path guesses.
 */
#ifndef PIPES_ENGINE_H
#define PIPES_ENGINE_H

#include <windows.h>

#include "pipes.h"

typedef struct pipes_req pipes_req;

/* Called on a worker thread after the request's packet was dequeued.
 * win32_error is 0 on success (ERROR_MORE_DATA, ERROR_OPERATION_ABORTED,
 * ERROR_BROKEN_PIPE ... otherwise); bytes is the transfer count. */
typedef void (*pipes_req_fn)(pipes_req *req, DWORD win32_error, DWORD bytes);

struct pipes_req {
    OVERLAPPED ov;          /* zeroed before each use */
    pipes_req_fn complete;  /* dispatch target */
    HANDLE file;            /* the handle the I/O was issued on, or NULL */
};

/* A request that can be kept on a worker instead of posted to the port
 * (pipes_engine_post_local); `next` links a worker's list of them. */
typedef struct pipes_local_req {
    pipes_req req;
    struct pipes_local_req *next;
} pipes_local_req;

/* What a worker thread keeps in TLS: its engine, which endpoint's callback
 * it is running (endpoint.c uses it to let stop() be called from a
 * callback), and the batch it is dispatching (engine.c's hand-off). One per
 * worker, in the engine's `workers` array from before the thread starts
 * until the engine is freed, so a stealer can look at every slot at any
 * time without registering. */
typedef struct pipes_worker_ctx {
    struct pipes_engine *engine;
    void *in_callback_of;    /* pipes_endpoint* or NULL */
    int released_own_slot;   /* stop() from its own callback gave up the gate slot */
    int suspended_slot;      /* stop() of another object is waiting: our slot is lent out */
    OVERLAPPED_ENTRY *batch; /* the batch being dispatched, or NULL */
    ULONG batch_count;
    ULONG batch_next;        /* first entry not yet dispatched */
    int shared;              /* the rest may be stolen (under steal_lock) */
    int large_batches;       /* the last full-size dequeue found more than one packet */
    unsigned small_dequeues; /* dequeues asking for one packet (engine.c, BATCH SIZE) */
    /* Requests kept on this worker by pipes_engine_post_local, in order
     * (localreq.c, LOCAL PACKETS). Only this thread touches them. */
    pipes_local_req *local_head, *local_tail;
    /* The list as it stood when user code was entered, offered to stealers
     * while shared (under steal_lock; localreq.c, LOCAL PACKETS). */
    pipes_local_req *shared_local, *shared_local_tail;
    int running_local;       /* pipes_engine_run_local is on the stack */
    /* Busy with a packet (standby.c, ONE WORKER ON THE PORT): the count of
     * packets started is this thread's; busy_state, (packets << 1) | busy,
     * is read by the watcher (interlocked). */
    unsigned packets;
    LONG busy_state;
    LONG watched_state, covered_state; /* the watcher's, under standby_lock */
} pipes_worker_ctx;

struct pipes_engine {
    HANDLE port;
    HANDLE *threads;
    unsigned thread_count;   /* threads started (and to join) */
    unsigned worker_slots;   /* entries of `workers` */
    pipes_worker_ctx *workers;
    SRWLOCK lock;
    CONDITION_VARIABLE freed_cv; /* signalled when `alive` drops */
    LONG attached; /* servers and clients whose handle the caller still holds */
    LONG alive;    /* servers and clients not yet freed (incl. draining ones) */
    int skip_mode;       /* handles skip the port on immediate success */
    int more_data_queues; /* skip mode: an immediate ERROR_MORE_DATA still queues */
    LONG idle_workers;   /* workers about to sleep or asleep in the dequeue */
    LONG wake_pending;   /* a wake packet is in the port (engine.c, SHARED BATCHES) */
    SRWLOCK steal_lock;  /* guards shared_batches and the workers' shared rests */
    LONG shared_batches; /* workers whose batch rest may be stolen */
    /* Requests waiting for any worker, carried by one packet (carrier_req,
     * in the port while carrier_posted): localreq.c, CARRIED REQUESTS. Under
     * steal_lock. */
    pipes_req carrier_req;
    pipes_local_req *carried_head, *carried_tail;
    int carrier_posted;
    /* ONE WORKER ON THE PORT (standby.c) */
    LONG blocker;        /* a running worker blocks in the dequeue (engine.c) */
    SRWLOCK standby_lock; /* guards the fields below it */
    CONDITION_VARIABLE standby_cv; /* standby workers but the watcher wait here */
    CONDITION_VARIABLE watch_cv;   /* the watcher waits here */
    LONG standing_by;    /* workers standing by, the watcher included (also read without the lock) */
    unsigned tickets;    /* promotions not yet taken */
    int watcher_taken;   /* a standby worker is the watcher */
    int quitting;        /* the engine is being destroyed */
    LONG watcher_asleep; /* the watcher waits for a packet to start (interlocked) */
};

/* NULL on threads that are not engine workers. */
pipes_worker_ctx *pipes_engine_worker_ctx(void);

/* Lets other workers take what this worker holds while it runs user code:
 * the undispatched rest of its batch and its local list as it stands
 * (engine.c, SHARED BATCHES; localreq.c, LOCAL PACKETS). Returns nonzero if it shared
 * something; pass that to pipes_engine_unshare once the user code returned,
 * which takes back what nobody stole (the local list first, before what
 * the user code added). A no-op returning 0 for ctx NULL, nothing to
 * share, or a share already in place. */
int pipes_engine_share(pipes_worker_ctx *ctx);
void pipes_engine_unshare(pipes_worker_ctx *ctx, int shared);

/* The engine a config names, or the process-wide default (created on first
 * use, lives until the process exits). NULL only if creating it failed. */
pipes_engine *pipes_engine_resolve(pipes_engine *configured);

/* Associates a handle with the port (completion key 0), in skip mode if
 * the engine uses it. */
BOOL pipes_engine_bind(pipes_engine *engine, HANDLE file);

/* For an I/O call on a bound handle that returned `ok` (and GetLastError()
 * = `error` when it failed): nonzero if it completed at once and queued no
 * packet, so the issuer must complete it itself. Never true for
 * ERROR_IO_PENDING or a failure other than ERROR_MORE_DATA. */
int pipes_engine_completed_at_once(const pipes_engine *engine, BOOL ok, DWORD error);

/* Queues req for a worker as if an I/O on it had completed with no error.
 * Counts as a pending operation until dequeued. */
BOOL pipes_engine_post(pipes_engine *engine, pipes_req *req);

/* Completes req as its packet's dispatch does: gives back its pending
 * operation, then runs its completion function (engine.c). */
void pipes_engine_complete(pipes_req *req, DWORD error, DWORD bytes);

/* Sets up engine's carrier packet (localreq.c, CARRIED REQUESTS); once, at
 * creation. */
void pipes_engine_init_carrier(pipes_engine *engine);

/* Queues lr for any worker, carried with the other requests waiting by one
 * packet (localreq.c, CARRIED REQUESTS); it completes with success, never
 * inside this call, and counts as a pending operation until it completes.
 * If the carrier cannot be posted, lr and the others carried with it
 * complete at once, on this thread, with the Win32 error: their completion
 * functions must then run no user code. */
void pipes_engine_post_carried(pipes_engine *engine, pipes_local_req *lr);

/* As pipes_engine_post_carried, but on one of engine's workers while it
 * dispatches a packet, the request is kept on that worker's list, without
 * a trip through the port (localreq.c, LOCAL PACKETS): pipes_engine_run_local
 * completes it on that thread, never inside its poster's call. */
void pipes_engine_post_local(pipes_engine *engine, pipes_local_req *lr);

/* Completes the requests on ctx's local list, those their completions add
 * included, up to PIPES_ENGINE_LOCAL_RUN; the rest go to the port
 * (CARRIED REQUESTS). Called
 * by the worker after each packet's completion function. Nothing for ctx
 * NULL, and nothing when called again from inside one of those
 * completions (the running call takes what they add). */
#define PIPES_ENGINE_LOCAL_RUN 64u
void pipes_engine_run_local(pipes_worker_ctx *ctx);

/* Queues the packet of an I/O on req that completed at once (skip mode),
 * keeping its result (status in req->ov, `bytes` transferred): dispatch
 * then completes it like a packet the kernel queued. The request stays a
 * pending operation until dequeued. FALSE if posting failed (the caller
 * still owns the result). */
BOOL pipes_engine_requeue(pipes_engine *engine, pipes_req *req, DWORD bytes);

/* Life of a server or client on an engine: attach at creation; release
 * when the caller gives up the handle (stop/close); freed once its memory
 * is gone. destroy refuses while any is attached and waits for the freed. */
void pipes_engine_attach(pipes_engine *engine);
void pipes_engine_release(pipes_engine *engine);
void pipes_engine_freed(pipes_engine *engine);

#endif /* PIPES_ENGINE_H */
