/*
 * pipes_chaos.h - hook points of the race-widening ("chaos") build.
 *
 * IOCP code fails in interleavings that a normal run almost never hits: a
 * completion dispatched on another worker between a lock release and the
 * next line, a timer callback running while its owner is being closed. In
 * a build with PIPES_CHAOS defined (cmake -DPIPES_CHAOS_TESTS=ON builds such
 * variants beside the normal ones; ./build.sh chaos runs them), every
 * PIPES_CHAOS_POINT may yield or sleep 0-2 ms at random, so those windows
 * open in every run. In a normal build a point compiles to nothing.
 *
 * Place a point right after a lock is released, a reference dropped, an
 * I/O or timer armed, and before a completion or callback is dispatched:
 * wherever another thread may act in between. The name ("engine.dispatch")
 * says where; tests can use it to force one interleaving deterministically
 * (pipes_chaos_set_hook below).
 */
#ifndef PIPES_CHAOS_H
#define PIPES_CHAOS_H

#ifdef PIPES_CHAOS

#ifdef __cplusplus
extern "C" {
#endif

/* Called at every point: a random yield or sleep of 0-2 ms, then the test
 * hook if one is installed. Thread-safe. */
void pipes_chaos_point(const char *where);

/* A test's hook: runs at every point, on the thread that reached it, after
 * the random delay. NULL removes it. Lets a test hold one thread at one named
 * point (say, until another thread got somewhere) to force an interleaving.
 * Each binary that compiles pipes_chaos.c has its own hook: pipes.dll
 * exports its setter as pipes_chaos_set_hook (chaos builds only; tests find
 * it with GetProcAddress); a static library's points use the copy linked
 * into the program. */
typedef void (*pipes_chaos_hook_fn)(const char *where);
void pipes_chaos_set_hook_local(pipes_chaos_hook_fn hook);

#ifdef __cplusplus
}
#endif

#define PIPES_CHAOS_POINT(where) pipes_chaos_point(where)

#else

#define PIPES_CHAOS_POINT(where) ((void)0)

#endif /* PIPES_CHAOS */

#endif /* PIPES_CHAOS_H */
