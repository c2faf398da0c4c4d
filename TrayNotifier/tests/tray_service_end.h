/*
 * tray_service_end.h - the service's end of a tray connection, for the
 * tray tests (tray_service_end.c).
 */
#ifndef TRAY_SERVICE_END_H
#define TRAY_SERVICE_END_H

#include <windows.h>

/* How responses are acknowledged. */
#define TRAY_SERVICE_END_ACK 0         /* each one, as the service does */
#define TRAY_SERVICE_END_BREAK_FIRST 1 /* not the first: the connection is made again instead */
#define TRAY_SERVICE_END_NO_ACK 2      /* none */

/* Runs until the file `until` exists; the exit code for tray_sender. */
int tray_service_end_run(const wchar_t *pipe, const char *out, const char *spool,
                         const char *until, int mode);

#endif /* TRAY_SERVICE_END_H */
