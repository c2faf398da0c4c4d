/*
 * standby.h - which of an engine's workers run and which stand by
 * (standby.c, ONE WORKER ON THE PORT).
 */
#ifndef PIPES_STANDBY_H
#define PIPES_STANDBY_H

#include "engine.h"

/* Before any worker starts. */
void pipes_standby_init(pipes_engine *engine);

/* A running worker with nothing to do while another one waits on the port
 * stands by here. Returns 1 when promoted (run again), 0 when the engine
 * quits (pipes_standby_quit). */
int pipes_standby_wait(pipes_worker_ctx *ctx);

/* Starts one more standby worker, while standby workers outnumber the
 * promotions not yet taken. Cheap when none stands by (one interlocked
 * read). */
void pipes_standby_promote(pipes_engine *engine);

/* A worker starts a packet (a dequeued completion, or a local one) / goes
 * back to the dequeue: what the watcher looks at. */
void pipes_standby_busy(pipes_worker_ctx *ctx);
void pipes_standby_idle(pipes_worker_ctx *ctx);

/* Engine teardown: every standby worker returns 0 from pipes_standby_wait,
 * now or when it next stands by. */
void pipes_standby_quit(pipes_engine *engine);

#endif /* PIPES_STANDBY_H */
