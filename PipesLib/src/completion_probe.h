/*
 * completion_probe.h - finds out, once per process, whether the engine can
 * use FILE_SKIP_COMPLETION_PORT_ON_SUCCESS and how an immediate
 * ERROR_MORE_DATA read behaves under it (engine.h, WHICH RESULTS QUEUE A
 * PACKET).
 */
#ifndef PIPES_COMPLETION_PROBE_H
#define PIPES_COMPLETION_PROBE_H

/* *skip_mode: nonzero if skip mode works as documented for immediate
 * successes. *more_data_queues: nonzero if, in skip mode, a read failing at
 * once with ERROR_MORE_DATA still queues a packet. Thread-safe; the first
 * call runs the probe, later calls return its answer. Any surprise during
 * the probe answers "no skip mode", which is always correct. */
void pipes_probe_completion_modes(int *skip_mode, int *more_data_queues);

#endif /* PIPES_COMPLETION_PROBE_H */
