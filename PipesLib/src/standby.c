/*
 * standby.c - ONE WORKER ON THE PORT.
 *
 *   Of an engine's workers, the *running* ones dequeue and dispatch; the
 *   others *stand by* on a condition variable (no kernel object: under Wine
 *   no wineserver request either). Of the running workers at most one
 *   blocks in the dequeue: it holds engine->blocker (engine.c, next_batch),
 *   taken before it blocks and given back as soon as the dequeue returns. A
 *   running worker that finds blocker taken dequeues without waiting and,
 *   if that finds nothing, stands by here.
 *   Why: a completion packet wakes one thread blocked on the port. Wine
 *   wakes the one that has waited longest, and finishes an overlapped read
 *   on the thread that issued it, so with two workers blocked on the port
 *   every request-and-reply message woke both (docs/PERFORMANCE.md: 1.6x
 *   the time of one thread in raw IOCP). Windows wakes the most recent
 *   waiter, so there the rule changes little.
 *
 *   A standby worker runs again when *promoted*:
 *   - by a running worker whose dequeue found more than one I/O packet
 *     (work queues up: use another processor), pipes_standby_promote. A
 *     worker that keeps finding one packet asks for a full batch every 8th
 *     dequeue (engine.c, BATCH SIZE), so a queue is seen within 8 packets;
 *     a promotion asked while the other workers are between the port and
 *     standing by is lost (a matter of speed only: the watcher still
 *     covers a worker that stays on one packet);
 *   - by the *watcher*, when a worker has been busy with one packet (its
 *     completion function, the callbacks it runs, the local packets after
 *     it) since its previous look, a tick (WATCH_TICK_MS) or more ago: a
 *     callback that blocks, or a read chain that delivers many messages,
 *     must not hold up the other connections. The watcher is one of the
 *     standby workers; it promotes itself (and hands the watch to another
 *     standby worker, if there is one). Each stuck packet is covered once:
 *     one look promotes one worker.
 *   So a blocked callback holds up the other connections for one to two
 *   ticks, rarely three (when the watch changes hands meanwhile), where a
 *   second worker blocked on the port used to take over at once; a tick is
 *   5 ms, or as long as the system timer makes it (up to 15.6 ms on
 *   Windows by default). With every worker stuck, as before, nothing runs
 *   until one goes on.
 *
 * NO LOST WATCH
 *   Every worker stands by here, so while the engine runs, some standby
 *   worker is the watcher unless every worker runs. The watcher ticks while
 *   a worker is busy with a packet not yet covered or a worker's state
 *   changed during its last tick, and otherwise (no packet handled, or
 *   only covered ones) sleeps until a packet starts: it
 *   announces (watcher_asleep) and looks once more; a worker starting a
 *   packet publishes busy_state and then reads watcher_asleep (interlocked,
 *   full barriers), so one of the two sees the other. The waker takes
 *   standby_lock and reads watcher_asleep again before it wakes: the
 *   watcher sets and clears it only under that lock, so the wake cannot
 *   fall between the watcher's look and its wait, nor cut short a tick the
 *   watcher started after seeing the waker busy.
 *   A false alarm (a wait that ended early and made a short packet look
 *   long) promotes a worker that finds nothing to do and stands by, and
 *   uses up that packet's cover: if the packet then does block, no other
 *   worker is started for it, but the one started stays on the port while
 *   the blocked one holds nothing (it stands by only when another worker
 *   waits on the port), so the rest is served.
 */
#include "standby.h"

#include "pipes_chaos.h"

#define WATCH_TICK_MS 5u
#define PACKETS_MASK 0x3fffffffu /* keeps (packets << 1) | 1 a positive LONG */

void pipes_standby_init(pipes_engine *engine)
{
    InitializeSRWLock(&engine->standby_lock);
    InitializeConditionVariable(&engine->standby_cv);
    InitializeConditionVariable(&engine->watch_cv);
}

void pipes_standby_busy(pipes_worker_ctx *ctx)
{
    pipes_engine *engine = ctx->engine;
    ctx->packets = (ctx->packets + 1u) & PACKETS_MASK;
    InterlockedExchange(&ctx->busy_state, (LONG)((ctx->packets << 1) | 1u));
    PIPES_CHAOS_POINT("standby.busy_published");
    /* Publish, then look (NO LOST WATCH). */
    if (InterlockedCompareExchange(&engine->watcher_asleep, 0, 0) != 0) {
        AcquireSRWLockExclusive(&engine->standby_lock);
        if (engine->watcher_asleep)
            WakeConditionVariable(&engine->watch_cv);
        ReleaseSRWLockExclusive(&engine->standby_lock);
    }
}

void pipes_standby_idle(pipes_worker_ctx *ctx)
{
    InterlockedExchange(&ctx->busy_state, (LONG)(ctx->packets << 1));
}

/* What the watcher sees of the other workers (under standby_lock, which
 * guards the watched and covered snapshots). */
typedef struct watch_look {
    int busy;    /* a worker is busy with a packet not covered yet */
    int changed; /* a packet started or ended since the previous look */
    int stuck;   /* a worker is busy with the packet it had at the previous look */
} watch_look;

/* `ticked`: a tick has passed since the previous look, so a worker busy
 * with the same packet then and now has been on it that long. The first
 * stuck packet found is covered: its worker is not taken over twice, and
 * another stuck one is taken over at a later look. */
static watch_look look_at_workers(pipes_worker_ctx *self, int ticked)
{
    pipes_engine *engine = self->engine;
    watch_look look = {0, 0, 0};
    unsigned w;
    for (w = 0; w < engine->worker_slots; w++) {
        pipes_worker_ctx *other = &engine->workers[w];
        LONG state;
        if (other == self)
            continue;
        state = InterlockedCompareExchange(&other->busy_state, 0, 0);
        if (state != other->covered_state)
            other->covered_state = 0; /* that packet is over: the count may come round again */
        if (state != other->watched_state)
            look.changed = 1;
        if ((state & 1) && state != other->covered_state) {
            look.busy = 1;
            if (ticked && !look.stuck && state == other->watched_state) {
                other->covered_state = state;
                look.stuck = 1;
            }
        }
        other->watched_state = state;
    }
    return look;
}

/* One round of the watcher, under standby_lock. Returns 1 if a worker is
 * stuck on a packet (the watcher then runs in its place); otherwise it has
 * waited: a tick, or until a packet starts. *ticked says which. */
static int watch(pipes_worker_ctx *self, int *ticked)
{
    pipes_engine *engine = self->engine;
    watch_look look = look_at_workers(self, *ticked);
    if (look.stuck)
        return 1;
    if (look.busy || look.changed) {
        SleepConditionVariableSRW(&engine->watch_cv, &engine->standby_lock, WATCH_TICK_MS, 0);
        *ticked = 1;
        return 0;
    }
    /* Quiet for a whole tick: sleep until a packet starts. Announce, then
     * look once more (NO LOST WATCH). */
    InterlockedExchange(&engine->watcher_asleep, 1);
    look = look_at_workers(self, 0);
    if (!look.busy && !look.changed)
        SleepConditionVariableSRW(&engine->watch_cv, &engine->standby_lock, INFINITE, 0);
    InterlockedExchange(&engine->watcher_asleep, 0);
    *ticked = 0;
    return 0;
}

int pipes_standby_wait(pipes_worker_ctx *ctx)
{
    pipes_engine *engine = ctx->engine;
    int watching = 0, ticked = 0, run = 0;

    AcquireSRWLockExclusive(&engine->standby_lock);
    InterlockedIncrement(&engine->standing_by);
    for (;;) {
        if (engine->quitting) {
            run = 0;
            break;
        }
        if (engine->tickets > 0) {
            engine->tickets--;
            run = 1;
            break;
        }
        if (!engine->watcher_taken) {
            engine->watcher_taken = 1;
            watching = 1;
        }
        if (!watching) {
            SleepConditionVariableSRW(&engine->standby_cv, &engine->standby_lock, INFINITE, 0);
            continue;
        }
        if (watch(ctx, &ticked)) {
            /* A ticket the other standby workers cannot all take is ours
             * too: it would wake one of them for nothing. */
            if ((LONG)engine->tickets > engine->standing_by - 1)
                engine->tickets--;
            run = 1;
            break;
        }
    }
    InterlockedDecrement(&engine->standing_by);
    if (watching) {
        /* Hand the watch on (NO LOST WATCH). */
        engine->watcher_taken = 0;
        if (engine->standing_by > 0)
            WakeConditionVariable(&engine->standby_cv);
    }
    ReleaseSRWLockExclusive(&engine->standby_lock);
    PIPES_CHAOS_POINT("standby.left");
    return run;
}

void pipes_standby_promote(pipes_engine *engine)
{
    LONG standing;
    if (InterlockedCompareExchange(&engine->standing_by, 0, 0) == 0)
        return;
    AcquireSRWLockExclusive(&engine->standby_lock);
    standing = engine->standing_by;
    if (standing > (LONG)engine->tickets) {
        LONG plain = standing - (engine->watcher_taken ? 1 : 0);
        engine->tickets++;
        /* A plain standby worker takes it; the watcher too if there are
         * more tickets than plain workers (an early wake cuts the watcher's
         * tick short, which costs at most a false alarm). Whoever wakes
         * takes any ticket before anything else. */
        if (plain > 0)
            WakeConditionVariable(&engine->standby_cv);
        if ((LONG)engine->tickets > plain)
            WakeConditionVariable(&engine->watch_cv);
    }
    ReleaseSRWLockExclusive(&engine->standby_lock);
}

void pipes_standby_quit(pipes_engine *engine)
{
    AcquireSRWLockExclusive(&engine->standby_lock);
    engine->quitting = 1;
    WakeAllConditionVariable(&engine->standby_cv);
    WakeAllConditionVariable(&engine->watch_cv);
    ReleaseSRWLockExclusive(&engine->standby_lock);
}
